//! The command line: `qoltanba [serve] [options]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ui::AutoAnswer;

/// qoltanba: an NCALayer-compatible signing service for Kazakhstan's electronic signature.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, the default command.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
// Parsed once at start: the size of the `serve` options does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run the signing service on wss://127.0.0.1:13579 (the default).
    Serve(ServeArgs),
    /// Look into key files.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check signatures.
    #[command(subcommand)]
    Verify(VerifyCommand),
}

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Check every signer of a CMS signature (DER, PEM or base64): exit status 1 if any
    /// signature is invalid.
    Cms(VerifyCmsArgs),
    /// Check every XML signature in a document: exit status 1 if any is invalid.
    Xml(VerifyXmlArgs),
}

#[derive(Debug, Args, Clone)]
pub struct VerifyXmlArgs {
    /// The signed XML file.
    pub file: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct VerifyCmsArgs {
    /// The CMS file.
    pub file: PathBuf,
    /// The signed document, for a detached signature.
    #[arg(long, value_name = "DATA")]
    pub content: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print what NCALayer's getKeyInfo reports for each key in a key file.
    Info(KeysInfoArgs),
}

#[derive(Debug, Args, Clone)]
pub struct KeysInfoArgs {
    /// The key file (.p12 as NCA RK issues it, or a PEM bundle).
    pub file: PathBuf,
    /// Read the password from the first line of standard input instead of asking.
    #[arg(long)]
    pub password_stdin: bool,
    /// Print exactly the JSON getKeyInfo puts in `responseObject` (an array if the
    /// file holds several keys).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on; repeat for several. Default: 127.0.0.1:13579 and `[::1]:13579`.
    #[arg(long = "listen", value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,

    /// Directory for the local CA, the demo key and settings.
    /// Default: the user's configuration directory + /qoltanba.
    #[arg(long, value_name = "DIR", env = "QOLTANBA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Serve plain ws:// instead of wss:// (for tests only; browsers' pages need wss).
    #[arg(long)]
    pub insecure_ws: bool,

    /// Demo mode: sign with a generated DEMO key (not a legal signature) without asking.
    #[arg(long)]
    pub demo: bool,

    /// Headless answerer (tests, CI): key file used for every request.
    #[arg(long, value_name = "FILE", env = "QOLTANBA_AUTO_KEY")]
    pub auto_key: Option<PathBuf>,

    /// Headless answerer: password of --auto-key.
    #[arg(long, value_name = "PW", env = "QOLTANBA_AUTO_PASSWORD", hide_env_values = true)]
    pub auto_password: Option<String>,

    /// Headless answerer: confirm every request, or cancel every request.
    #[arg(long, value_name = "confirm|cancel", env = "QOLTANBA_AUTO_ANSWER", default_value = "confirm")]
    pub auto_answer: AutoAnswer,

    /// Headless answerer: the file its file chooser picks.
    #[arg(long, value_name = "FILE", env = "QOLTANBA_AUTO_FILE")]
    pub auto_file: Option<PathBuf>,

    /// Headless answerer: wait this long before answering the key dialog, like a person.
    #[arg(long, value_name = "MS", env = "QOLTANBA_AUTO_DELAY_MS", default_value_t = 0)]
    pub auto_delay_ms: u64,

    /// The RFC 3161 timestamp authority (http://) for CAdES-T.
    #[arg(long, value_name = "URL", env = "QOLTANBA_TSA_URL", default_value = qoltanba_tsa_default())]
    pub tsa_url: String,

    /// Never download anything (NCA RK's CA certificates, CRLs); use only the cache.
    #[arg(long, env = "QOLTANBA_OFFLINE")]
    pub offline: bool,

    /// Where to download NCA RK's CA certificates from (repeatable; replaces the
    /// published addresses, e.g. for a local mirror).
    #[arg(long, value_name = "URL")]
    pub nca_ca_url: Vec<String>,

    /// Judge certificate validity and revocation at this Unix time instead of now
    /// (reproducible tests).
    #[arg(long, value_name = "UNIX_SECONDS", hide = true)]
    pub check_time: Option<i64>,

    /// Largest WebSocket message accepted, in bytes (default 128 MiB: a 96 MiB document).
    #[arg(long, value_name = "BYTES", default_value_t = crate::server::DEFAULT_MAX_MESSAGE)]
    pub max_message_size: usize,

    /// Bytes of messages all pages together may have in flight; a message that does not
    /// fit gets an error reply (default 256 MiB: two of the largest messages).
    #[arg(long, value_name = "BYTES", default_value_t = crate::server::DEFAULT_MEMORY_BUDGET, env = "QOLTANBA_MEMORY_BUDGET")]
    pub memory_budget: usize,

    /// Most simultaneous WebSocket connections (the longest-idle one makes room).
    #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Most simultaneous WebSocket connections from one site.
    #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_MAX_CONNECTIONS_PER_ORIGIN)]
    pub max_connections_per_origin: usize,

    /// Time for the TLS handshake and the HTTP request, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = crate::server::DEFAULT_HANDSHAKE_TIMEOUT_MS, env = "QOLTANBA_HANDSHAKE_TIMEOUT_MS")]
    pub handshake_timeout_ms: u64,

    /// Close a connection silent this long with no request pending (0: never; idle
    /// connections still make room when the limits are reached).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::server::DEFAULT_IDLE_TIMEOUT_SECS, env = "QOLTANBA_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: u64,
}

fn qoltanba_tsa_default() -> &'static str {
    crate::cms::tsp::DEFAULT_TSA_URL
}
