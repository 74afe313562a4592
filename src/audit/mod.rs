//! The audit log: every connection, request, dialog step, answer and error as one
//! record with a level and the ids of its connection and request, written as one UTF-8
//! `key=value` line (or a JSON line) to a file and/or as RFC 5424 messages to syslog.
//! See README.md, "Audit log".
//!
//! Never recorded: passwords, PINs, document contents, keys, signatures. Recorded of a
//! request: its module and method and sizes; of the dialog: what was asked and what the
//! person answered (the key file's path or the token's label, yes or no), never a secret.
//!
//! Records are queued for one writer thread ([`sink`]): recording never waits and
//! never fails a request. Without `--audit-log` and `--syslog` nothing is recorded.
//!
//! Where events come from: [`Conn`] (made by the server for each connection: opened,
//! closed, refused frames, WebSocket errors); [`Conn::request`] around each request's
//! handling in the protocol dispatcher (received, answered, protocol errors); the
//! signing core's outcome ([`outcome`]: signatures produced, errors); and
//! [`watch`], a [`Prompter`] wrapping the real one (every dialog question and
//! answer). A request is handled on one blocking thread from start to end, so the
//! dialog's records find their request through a thread-local.

mod dialog;
pub mod format;
pub mod sink;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use format::{Facility, Record};
use sink::{Output, Queue, SyslogTarget};

use crate::signing::{Outcome, SigningError};
use crate::ui::Prompter;

/// The audit flags of `qoltanba serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuditArgs {
    /// Append audit records (one `key=value` line each) to FILE (created 0600).
    #[arg(long, value_name = "FILE", env = "QOLTANBA_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// Write the audit log as JSON lines (same fields) instead of `key=value`.
    #[arg(long, requires = "audit_log")]
    pub audit_json: bool,

    /// Also send audit records to syslog (RFC 5424): udp://HOST:PORT, unix:/path, or
    /// `default` (/dev/log) when given without a value.
    #[arg(long, value_name = "TARGET", num_args = 0..=1, default_missing_value = "default")]
    pub syslog: Option<String>,

    /// The syslog facility.
    #[arg(long, value_name = "user|local0", default_value = "user")]
    pub syslog_facility: Facility,
}

/// How grave an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }

    /// The syslog severity (RFC 5424 §6.2.1).
    pub fn severity(self) -> u8 {
        match self {
            Self::Debug => 7,
            Self::Info => 6,
            Self::Warn => 4,
            Self::Error => 3,
        }
    }
}

/// Fields of one event: fixed ASCII keys and their values.
pub type Fields = Vec<(&'static str, String)>;

/// The audit sink; cheap to clone.
#[derive(Clone)]
pub struct Audit {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Queue,
    /// Random per run: ids of different runs never collide.
    run: String,
    next_conn: AtomicU64,
    next_request: AtomicU64,
}

impl Audit {
    /// The sink the flags ask for; `None` when they ask for none.
    pub fn from_args(args: &AuditArgs) -> Result<Option<Self>, String> {
        let mut outputs = Vec::new();
        if let Some(path) = &args.audit_log {
            outputs.push(Output::file(path, args.audit_json)?);
        }
        if let Some(target) = &args.syslog {
            outputs.push(Output::syslog(&SyslogTarget::parse(target)?, args.syslog_facility)?);
        }
        if outputs.is_empty() {
            return Ok(None);
        }
        Self::with_outputs(outputs).map(Some)
    }

    /// A sink writing to `outputs`.
    pub fn with_outputs(outputs: Vec<Output>) -> Result<Self, String> {
        let run = getrandom::u32().unwrap_or_else(|_| std::process::id());
        let inner = Inner {
            queue: Queue::start(outputs)?,
            run: format!("{run:08x}"),
            next_conn: AtomicU64::new(1),
            next_request: AtomicU64::new(1),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Record one event (queued; never waits).
    pub fn event(&self, level: Level, event: &'static str, fields: Fields) {
        self.inner.queue.push(Record { time: SystemTime::now(), level, event, fields });
    }

    /// Records dropped so far in this run (the queue was full).
    pub fn dropped(&self) -> u64 {
        self.inner.queue.dropped()
    }

    /// Wait until every event recorded so far is written, at most `limit`.
    pub fn flush(&self, limit: Duration) {
        self.inner.queue.flush(limit);
    }

    fn id(&self, kind: char, counter: &AtomicU64) -> Arc<str> {
        format!("{kind}-{}-{}", self.inner.run, counter.fetch_add(1, Ordering::Relaxed)).into()
    }
}

static GLOBAL: OnceLock<Audit> = OnceLock::new();

/// Make `audit` the daemon's sink (once; later calls are ignored).
pub fn install(audit: Audit) {
    let _ = GLOBAL.set(audit);
}

fn global() -> Option<&'static Audit> {
    GLOBAL.get()
}

/// Start from the `serve` flags: install the sink they ask for (if any) and record
/// the daemon's start.
pub fn start(args: &AuditArgs) -> Result<(), String> {
    if let Some(audit) = Audit::from_args(args)? {
        let fields = vec![("version", env!("CARGO_PKG_VERSION").into()), ("pid", std::process::id().to_string())];
        audit.event(Level::Info, "daemon.started", fields);
        install(audit);
    }
    Ok(())
}

/// Record where the daemon listens.
pub fn listening(addresses: &[String]) {
    if let Some(audit) = global() {
        audit.event(Level::Info, "daemon.listening", vec![("listen", addresses.join(","))]);
    }
}

/// Record the daemon's stop and write out what is queued (at most a second).
pub fn stopped() {
    if let Some(audit) = global() {
        audit.event(Level::Info, "daemon.stopped", Vec::new());
        audit.flush(Duration::from_secs(1));
    }
}

/// A connection the server refused (no room, another user's process).
pub fn connection_refused(peer: SocketAddr, origin: Option<&str>, reason: &str) {
    if let Some(audit) = global() {
        let fields =
            vec![("peer", peer.to_string()), ("origin", origin.unwrap_or("-").into()), ("reason", reason.into())];
        audit.event(Level::Warn, "connection.refused", fields);
    }
}

/// One WebSocket connection: records its opening now and its closing when the last
/// clone is dropped (after its last request's records). Does nothing without a sink.
#[derive(Clone, Default)]
pub struct Conn {
    inner: Option<Arc<ConnInner>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.inner.as_ref().map_or("-", |c| &c.id))
    }
}

struct ConnInner {
    audit: Audit,
    id: Arc<str>,
    requests: AtomicU64,
}

impl Drop for ConnInner {
    fn drop(&mut self) {
        let fields =
            vec![("conn", self.id.to_string()), ("requests", self.requests.load(Ordering::Relaxed).to_string())];
        self.audit.event(Level::Info, "connection.closed", fields);
    }
}

impl Conn {
    /// A page connected from `peer` with `origin`.
    pub fn open(peer: Option<SocketAddr>, origin: Option<&str>) -> Self {
        Self::open_in(global(), peer, origin)
    }

    fn open_in(audit: Option<&Audit>, peer: Option<SocketAddr>, origin: Option<&str>) -> Self {
        let Some(audit) = audit else { return Self::default() };
        let id = audit.id('c', &audit.inner.next_conn);
        let peer = peer.map_or_else(|| "-".into(), |p| p.to_string());
        let fields = vec![("conn", id.to_string()), ("peer", peer), ("origin", origin.unwrap_or("-").into())];
        audit.event(Level::Info, "connection.opened", fields);
        Self { inner: Some(Arc::new(ConnInner { audit: audit.clone(), id, requests: AtomicU64::new(0) })) }
    }

    /// A frame refused unread (queue full, over the memory budget, too large, binary).
    pub fn refused(&self, why: &dyn std::fmt::Debug) {
        if let Some(c) = &self.inner {
            let fields =
                vec![("conn", c.id.to_string()), ("reason", format!("{why:?}").trim_matches('"').to_lowercase())];
            c.audit.event(Level::Warn, "request.refused", fields);
        }
    }

    /// The connection ended in an error (WebSocket protocol, size, I/O). A page that
    /// simply went away (a closed tab: the socket ends without a goodbye) is `info`.
    pub fn error(&self, error: &tokio_tungstenite::tungstenite::Error) {
        use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, UnexpectedEof};
        use tokio_tungstenite::tungstenite::Error;
        if let Some(c) = &self.inner {
            let gone = matches!(error, Error::Io(e) if matches!(e.kind(), UnexpectedEof | ConnectionReset | ConnectionAborted));
            let level = if gone { Level::Info } else { Level::Warn };
            c.audit.event(level, "connection.error", vec![("conn", c.id.to_string()), ("error", error.to_string())]);
        }
    }

    /// A request of `bytes` bytes starts being handled on this thread; the records of
    /// its dialog and outcome carry its id until [`RequestScope::finish`].
    pub fn request(&self, bytes: usize) -> RequestScope {
        let Some(c) = &self.inner else { return RequestScope { active: false } };
        c.requests.fetch_add(1, Ordering::Relaxed);
        let current = Current {
            audit: c.audit.clone(),
            id: c.audit.id('r', &c.audit.inner.next_request),
            conn: Arc::clone(&c.id),
            bytes,
            received: false,
            error: None,
        };
        CURRENT.with(|slot| *slot.borrow_mut() = Some(current));
        RequestScope { active: true }
    }
}

/// The request being handled on this thread.
struct Current {
    audit: Audit,
    id: Arc<str>,
    conn: Arc<str>,
    bytes: usize,
    received: bool,
    /// Why it failed, when it did.
    error: Option<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Record `event` for the request being handled on this thread (nothing outside one).
fn emit(level: Level, event: &'static str, fields: Fields) {
    CURRENT.with(|slot| {
        if let Some(current) = slot.borrow().as_ref() {
            let mut all = vec![("id", current.id.to_string()), ("conn", current.conn.to_string())];
            all.extend(fields);
            current.audit.event(level, event, all);
        }
    });
}

/// Note why the current request failed (its `request.answered` says so).
fn note_error(kind: String) {
    CURRENT.with(|slot| {
        if let Some(current) = slot.borrow_mut().as_mut() {
            current.error.get_or_insert(kind);
        }
    });
}

/// The error an NCALayer-shaped reply carries, if it is one: commonUtils and legacy
/// `code` other than 200, basics `status: false`, legacy `errorCode` other than
/// NONE. Only small replies are looked into (errors are small; signatures are not).
fn reply_error(reply: &str) -> Option<String> {
    if reply.len() > 4096 {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(reply).ok()?;
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    if value.get("status").and_then(|s| s.as_bool()) == Some(false) {
        return Some(text("code").unwrap_or_else(|| "status_false".into()));
    }
    if let Some(code) = text("code").filter(|c| c != "200") {
        return Some(text("message").unwrap_or(code));
    }
    text("errorCode").filter(|e| e != "NONE")
}

/// The request on this thread; see [`Conn::request`].
#[must_use]
pub struct RequestScope {
    active: bool,
}

impl RequestScope {
    /// The request is answered with `reply` (`None`: no reply); returns it.
    pub fn finish(self, reply: Option<String>) -> Option<String> {
        if self.active {
            let current = CURRENT.with(|slot| slot.borrow_mut().take());
            if let Some(current) = current {
                let id = || current.id.to_string();
                let conn = || current.conn.to_string();
                if !current.received {
                    let fields = vec![("id", id()), ("conn", conn()), ("bytes", current.bytes.to_string())];
                    current.audit.event(Level::Warn, "protocol.error", {
                        let mut f = fields;
                        f.push(("reason", "not a JSON request object".into()));
                        f
                    });
                }
                let mut fields = vec![("id", id()), ("conn", conn())];
                // An error the protocol answered by itself (an unknown method, bad
                // arguments) shows in the reply's shape.
                let error = current.error.clone().or_else(|| reply.as_deref().and_then(reply_error));
                match &error {
                    None => fields.push(("result", "ok".into())),
                    Some(kind) => {
                        fields.push(("result", "error".into()));
                        fields.push(("error", kind.clone()));
                    }
                }
                fields.push(("reply_bytes", reply.as_ref().map_or(0, String::len).to_string()));
                current.audit.event(Level::Info, "request.answered", fields);
            }
        }
        reply
    }
}

impl Drop for RequestScope {
    fn drop(&mut self) {
        // Not finished (a panic): the thread serves other requests next.
        if self.active {
            CURRENT.with(|slot| slot.borrow_mut().take());
        }
    }
}

/// The protocol read a request for `module` and `method`, `bytes` long in all.
pub fn received(module: &str, method: Option<&str>, known_module: bool) {
    let bytes = CURRENT.with(|slot| {
        // Once per request (a spliced message may be read twice).
        slot.borrow_mut().as_mut().filter(|c| !c.received).map(|c| {
            c.received = true;
            c.bytes
        })
    });
    let Some(bytes) = bytes else { return };
    let fields =
        vec![("module", module.into()), ("method", method.unwrap_or("-").into()), ("bytes", bytes.to_string())];
    emit(Level::Info, "request.received", fields);
    if !known_module {
        note_error("module_not_found".into());
    }
}

/// A request's frame could not be read as a request.
pub fn malformed(why: &str) {
    CURRENT.with(|slot| {
        if let Some(c) = slot.borrow_mut().as_mut() {
            c.received = true;
        }
    });
    emit(Level::Warn, "protocol.error", vec![("reason", why.into())]);
    note_error("malformed_request".into());
}

/// What the signing core did with the current request.
pub fn outcome(outcome: &Result<Outcome, SigningError>) {
    match outcome {
        Ok(Outcome::Signed { signatures, certificate, .. }) => {
            let algorithm = certificate.key_algorithm().map_or_else(|| "unknown".into(), |a| format!("{a:?}"));
            let fields = vec![
                ("count", signatures.len().to_string()),
                ("algorithm", algorithm),
                ("signer_serial", certificate.serial_hex()),
                ("signer", certificate.subject_cn()),
            ];
            emit(Level::Info, "signature.produced", fields);
        }
        Ok(Outcome::Timestamped(_)) => emit(Level::Info, "timestamp.added", Vec::new()),
        Ok(_) => {}
        Err(error) => {
            let kind = error.code();
            let level = if matches!(error, SigningError::Canceled) { Level::Info } else { Level::Warn };
            emit(level, "request.failed", vec![("error", kind.into()), ("detail", error_detail(error))]);
            note_error(kind.into());
        }
    }
}

/// What more an error says (why a document was rejected, a timestamp failed); never
/// document content (the core's error texts name no content).
fn error_detail(error: &SigningError) -> String {
    match error {
        // The kind only: a parser's words could quote the document.
        SigningError::Rejected(r) => format!("{r:?}").chars().take_while(char::is_ascii_alphanumeric).collect(),
        SigningError::Timestamp(e) => e.to_string(),
        SigningError::Token(why) => why.clone(),
        SigningError::TokenMechanism(algorithm) => algorithm.to_string(),
        SigningError::Failed(e) => e.to_string(),
        _ => String::new(),
    }
}

/// `prompter`, with every dialog question and answer recorded (itself when no sink is
/// installed).
pub fn watch(prompter: Arc<dyn Prompter>) -> Arc<dyn Prompter> {
    if global().is_none() {
        return prompter;
    }
    Arc::new(dialog::Watched(prompter))
}

#[cfg(test)]
mod tests;
