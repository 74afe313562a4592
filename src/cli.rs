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
    /// Sign local files with a key file (CAdES or XAdES, levels B, T, LT).
    Sign(SignArgs),
    /// Make this user's browsers trust qoltanba's local CA (or check, or undo).
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Start qoltanba when you log in (or stop doing so).
    #[command(subcommand)]
    Autostart(AutostartCommand),
    /// Check everything a page needs to reach qoltanba, and say what to fix.
    Doctor(DoctorArgs),
    /// The signing journal: every signing request (site, signer, document hashes,
    /// result), hash-chained; --verify checks the chain.
    Journal(JournalArgs),
    /// Hardware tokens (PKCS#11): what is plugged in and the keys on it.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Which sites may use qoltanba: list, allow, deny or forget a site's answer.
    #[command(subcommand)]
    Sites(SitesCommand),
    /// The dialog window of one request; started by the daemon, which talks to it on
    /// stdin and stdout.
    #[command(hide = true)]
    Dialog,
    /// Load one PKCS#11 module and answer the daemon on stdin and stdout (a vendor's
    /// library that crashes takes only this process down).
    #[command(hide = true, name = "pkcs11-helper")]
    Pkcs11Helper { module: PathBuf },
}

/// `qoltanba journal`.
#[derive(Debug, Args, Clone)]
pub struct JournalArgs {
    /// The data directory whose journal is read.
    #[arg(long, value_name = "DIR", env = "QOLTANBA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print the journal's lines as they are: one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Check the hash chain (across the rotated file too). Exit status: 0 intact, 1
    /// broken, naming the first line that fails.
    #[arg(long)]
    pub verify: bool,
    /// Only the latest N entries.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum SitesCommand {
    /// Every site allowed or denied, and since when.
    List(SitesArgs),
    /// Let a site use qoltanba without asking (its requests still need your approval).
    Allow(SiteArgs),
    /// Refuse a site's requests without asking.
    Deny(SiteArgs),
    /// Forget the answer for a site: it is asked again at its next request.
    Forget(SiteArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SitesArgs {
    /// The data directory whose sites are meant (a running daemon using it sees the
    /// change at once).
    #[arg(long, value_name = "DIR", env = "QOLTANBA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print JSON (an array) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SiteArgs {
    /// The site's origin as the browser sends it, e.g. https://sigex.kz
    pub origin: String,
    #[command(flatten)]
    pub common: SitesArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Modules, slots, tokens, and the keys' certificates with owner and expiry.
    List(TokensArgs),
    /// Change a token's user PIN (asked without echo; never a factory PIN).
    ChangePin(ChangePinArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ChangePinArgs {
    #[command(flatten)]
    pub modules: ModuleArgs,
    /// The token's label (needed when more than one token is plugged in).
    #[arg(long, value_name = "LABEL")]
    pub token: Option<String>,
    /// Read the old PIN, the new PIN and the new PIN again from three lines of
    /// standard input instead of asking.
    #[arg(long)]
    pub pin_stdin: bool,
}

#[derive(Debug, Args, Clone)]
pub struct TokensArgs {
    #[command(flatten)]
    pub modules: ModuleArgs,
    /// Print JSON (one object) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Which PKCS#11 modules to use besides the known vendor libraries found here.
#[derive(Debug, Args, Clone, Default)]
pub struct ModuleArgs {
    /// A PKCS#11 module, optionally with the NCALayer storage name pages know it by
    /// (`PATH=AKKaztokenStore`; default `PKCS11`). Repeatable; env
    /// QOLTANBA_PKCS11_MODULES (separated by `;`).
    #[arg(long = "pkcs11-module", value_name = "PATH[=STORAGE]")]
    pub pkcs11_module: Vec<String>,
}

impl ModuleArgs {
    /// The command line's modules, then the environment's.
    pub fn configured(&self) -> Vec<String> {
        let mut all = self.pkcs11_module.clone();
        if let Ok(value) = std::env::var("QOLTANBA_PKCS11_MODULES") {
            all.extend(crate::keys::pkcs11::from_env(&value));
        }
        all
    }
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Put the local CA (valid for 127.0.0.1, ::1 and localhost, TLS servers only) into
    /// every browser store of this user; with --system also into the system's store.
    Install(TrustArgs),
    /// List each store and whether the current local CA is trusted there.
    Status(TrustArgs),
    /// Take qoltanba's CAs (current and old) out of every store; nothing else.
    Remove(TrustArgs),
}

#[derive(Debug, Args, Clone)]
pub struct TrustArgs {
    /// Also the system's store (asks for administrator rights with sudo or pkexec).
    #[arg(long)]
    pub system: bool,
    /// Only the system's store (what --system runs with administrator rights).
    #[arg(long, hide = true)]
    pub system_only: bool,
    /// The data directory whose local CA is meant.
    #[arg(long, value_name = "DIR", env = "QOLTANBA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print JSON (one object) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AutostartCommand {
    /// Start qoltanba at login.
    Enable,
    /// Do not start qoltanba at login.
    Disable,
    /// Say whether qoltanba starts at login, and how.
    Status,
}

#[derive(Debug, Args, Clone)]
pub struct DoctorArgs {
    /// The data directory to check.
    #[arg(long, value_name = "DIR", env = "QOLTANBA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The port pages connect to.
    #[arg(long, value_name = "PORT", default_value_t = 13579)]
    pub port: u16,
    /// Do not ask a time server for the clock check.
    #[arg(long, env = "QOLTANBA_OFFLINE")]
    pub offline: bool,
    #[command(flatten)]
    pub modules: ModuleArgs,
    /// Print JSON (one object) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Check every signer of a CMS signature (DER, PEM or base64) as NCA RK's rules ask:
    /// signature, chain, validity, revocation, key usage. Exit status: 0 valid, 1 invalid,
    /// 2 not a CMS, 4 intact but a check could not be made.
    Cms(VerifyCmsArgs),
    /// Check every XML signature in a document, the same way.
    Xml(VerifyXmlArgs),
}

#[derive(Debug, Args, Clone)]
pub struct VerifyXmlArgs {
    /// The signed XML file.
    pub file: PathBuf,
    #[command(flatten)]
    pub checks: ValidationArgs,
}

#[derive(Debug, Args, Clone)]
pub struct VerifyCmsArgs {
    /// The CMS file.
    pub file: PathBuf,
    /// The signed document, for a detached signature.
    #[arg(long, value_name = "DATA")]
    pub content: Option<PathBuf>,
    #[command(flatten)]
    pub checks: ValidationArgs,
}

/// Trust anchors and revocation material, for checking and for long-term signatures.
#[derive(Debug, Args, Clone, Default)]
pub struct MaterialArgs {
    /// A trusted CA certificate (PEM or DER), besides NCA RK's production CAs; repeat
    /// for several (e.g. NCA RK's TEST root to check test signatures).
    #[arg(long, value_name = "CA_FILE")]
    pub trust: Vec<PathBuf>,
    /// A CRL or delta CRL to use (DER or PEM); repeatable.
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// An OCSP response (DER) to use, e.g. one obtained when signing; repeatable.
    #[arg(long, value_name = "FILE")]
    pub ocsp_response: Vec<PathBuf>,
    /// Never download anything (NCA RK's CA certificates, CRLs, OCSP); use only what is
    /// given and the cache.
    #[arg(long, env = "QOLTANBA_OFFLINE")]
    pub offline: bool,
    /// The data directory whose caches (CA certificates, CRLs, OCSP receipts) are used.
    #[arg(long, value_name = "DIR", env = "QOLTANBA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where to download NCA RK's CA certificates from (repeatable; replaces the
    /// published addresses, e.g. for a local mirror).
    #[arg(long, value_name = "URL")]
    pub nca_ca_url: Vec<String>,
}

/// What the checks beyond the signature itself may use.
#[derive(Debug, Args, Clone, Default)]
pub struct ValidationArgs {
    #[command(flatten)]
    pub material: MaterialArgs,
    /// Make the check as of this time instead of now: Unix seconds, `YYYY-MM-DD`
    /// (midnight in Astana) or RFC 3339 (`2026-12-02T10:00:00+05:00`).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The IIN the signer's certificate must carry.
    #[arg(long, value_name = "IIN")]
    pub expect_iin: Option<String>,
    /// The BIN the signer's certificate must carry.
    #[arg(long, value_name = "BIN")]
    pub expect_bin: Option<String>,
    /// What the certificate must be for: signing documents, or logging in.
    #[arg(long, value_name = "sign|auth", default_value = "sign")]
    pub usage: UsageArg,
    /// Print one JSON object per signer (one per line) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `qoltanba sign`.
#[derive(Debug, Args, Clone)]
pub struct SignArgs {
    /// The files to sign.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The key file (.p12 as NCA RK issues it).
    #[arg(long, value_name = "FILE.p12")]
    pub key: PathBuf,
    /// Read the password from the first line of standard input instead of asking
    /// (or set QOLTANBA_PASSWORD).
    #[arg(long)]
    pub password_stdin: bool,
    /// CAdES (a `.cms` file next to each file) or XAdES (XML files only: `NAME.signed.xml`).
    #[arg(long, value_name = "cades|xades", default_value = "cades")]
    pub format: SignFormat,
    /// CAdES only: leave the document out of the `.cms` (it is then needed to verify).
    #[arg(long)]
    pub detached: bool,
    /// Add a timestamp (level T at least).
    #[arg(long)]
    pub tsa: bool,
    /// The RFC 3161 timestamp authority (http://).
    #[arg(long, value_name = "URL", env = "QOLTANBA_TSA_URL", default_value = qoltanba_tsa_default())]
    pub tsa_url: String,
    /// B: signature only; T: with a timestamp; LT (CAdES): with a timestamp, the chain and
    /// the OCSP receipts or CRLs, checkable years later offline.
    #[arg(long, value_name = "B|T|LT", default_value = "B", ignore_case = true)]
    pub level: SignLevel,
    /// Write the signature here (one input file only).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace signature files that already exist.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub material: MaterialArgs,
}

/// `--format` of `sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignFormat {
    Cades,
    Xades,
}

/// `--level` of `sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum SignLevel {
    B,
    T,
    Lt,
}

/// `--usage`.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum UsageArg {
    #[default]
    Sign,
    Auth,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print what NCALayer's getKeyInfo reports for each key in a key file.
    Info(KeysInfoArgs),
    /// Keys used before that expire within 30 days (or have), with the renewal steps,
    /// and key files lying in Downloads, on the Desktop or in a synced folder.
    Reminders(RemindersArgs),
}

#[derive(Debug, Args, Clone)]
pub struct RemindersArgs {
    /// The data directory whose key files are meant.
    #[arg(long, value_name = "DIR", env = "QOLTANBA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Judge at this time (Unix seconds) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub check_time: Option<i64>,
    /// Also check now whether the certificates of the keys used were revoked (CRL or
    /// OCSP; the daemon does this weekly).
    #[arg(long)]
    pub revocation: bool,
    /// Never download (CRLs, OCSP): only what is cached.
    #[arg(long, env = "QOLTANBA_OFFLINE")]
    pub offline: bool,
    /// Print JSON (an object) instead of text.
    #[arg(long)]
    pub json: bool,
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

    /// Ask in this terminal even when a desktop is available.
    #[arg(long)]
    pub terminal: bool,

    /// Headless answerer (tests, CI): key file used for every request.
    #[arg(long, value_name = "FILE", env = "QOLTANBA_AUTO_KEY")]
    pub auto_key: Option<PathBuf>,

    /// Headless answerer: password of --auto-key.
    #[arg(long, value_name = "PW", env = "QOLTANBA_AUTO_PASSWORD", hide_env_values = true)]
    pub auto_password: Option<String>,

    /// Headless answerer: confirm every request, or cancel every request.
    #[arg(long, value_name = "confirm|cancel", env = "QOLTANBA_AUTO_ANSWER", default_value = "confirm")]
    pub auto_answer: AutoAnswer,

    /// Headless answerer: how to answer when a site not met before asks.
    #[arg(long, value_name = "once|always|never|cancel", env = "QOLTANBA_AUTO_SITE", default_value = "once")]
    pub auto_site: crate::ui::SiteAnswer,

    /// Headless answerer: the file its file chooser picks.
    #[arg(long, value_name = "FILE", env = "QOLTANBA_AUTO_FILE")]
    pub auto_file: Option<PathBuf>,

    /// Headless answerer: wait this long before answering the key dialog, like a person.
    #[arg(long, value_name = "MS", env = "QOLTANBA_AUTO_DELAY_MS", default_value_t = 0)]
    pub auto_delay_ms: u64,

    /// The RFC 3161 timestamp authority (http://) for CAdES-T; wins over the setting.
    /// Default: the setting, else NCA RK's (http://tsp.pki.gov.kz).
    #[arg(long, value_name = "URL", env = "QOLTANBA_TSA_URL")]
    pub tsa_url: Option<String>,

    /// Never download anything (NCA RK's CA certificates, CRLs); use only the cache.
    #[arg(long, env = "QOLTANBA_OFFLINE")]
    pub offline: bool,

    /// Where to download NCA RK's CA certificates from (repeatable; replaces the
    /// published addresses, e.g. for a local mirror).
    #[arg(long, value_name = "URL")]
    pub nca_ca_url: Vec<String>,

    #[command(flatten)]
    pub modules: ModuleArgs,

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

    #[command(flatten)]
    pub audit: crate::audit::AuditArgs,
}

fn qoltanba_tsa_default() -> &'static str {
    crate::cms::tsp::DEFAULT_TSA_URL
}
