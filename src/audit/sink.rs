//! Where audit records go: a file (lines appended, created 0600) and syslog (UDP or a
//! Unix datagram socket). One writer thread writes; callers only put the record in a
//! bounded queue, so a slow or failing output never holds up a request: a full queue
//! drops the record (counted, reported once), a failing output logs one warning.

use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime};

use super::Level;
use super::format::{Facility, Record, header_field, json_line, kv_line, syslog_message};

/// Records waiting for the writer at most; more are dropped.
pub const QUEUE: usize = 4096;
/// How long one syslog send may take before it counts as failed.
#[cfg(unix)]
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Where syslog messages go.
#[derive(Debug)]
pub enum SyslogTarget {
    Udp(SocketAddr),
    #[cfg(unix)]
    Unix(PathBuf),
}

impl SyslogTarget {
    /// `udp://HOST:PORT`, `unix:/path`, or `default` (the system logger: `/dev/log`
    /// on Unix, UDP port 514 on this computer elsewhere).
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(address) = text.strip_prefix("udp://") {
            let address = address.trim_end_matches('/');
            return address
                .to_socket_addrs()
                .map_err(|e| format!("syslog address {address}: {e}"))?
                .next()
                .map(Self::Udp)
                .ok_or_else(|| format!("syslog address {address}: no address"));
        }
        #[cfg(unix)]
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("syslog: unix: needs a path".into());
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if text == "default" {
            #[cfg(unix)]
            return Ok(Self::Unix(PathBuf::from("/dev/log")));
            #[cfg(not(unix))]
            return Ok(Self::Udp(SocketAddr::from(([127, 0, 0, 1], 514))));
        }
        Err(format!("syslog target {text:?}: expected udp://HOST:PORT, unix:/path or default"))
    }
}

/// A syslog socket and where it sends.
pub enum Socket {
    Udp(UdpSocket, SocketAddr),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixDatagram, PathBuf),
}

/// One output.
pub enum Output {
    File { file: std::fs::File, json: bool, path: PathBuf },
    Syslog { socket: Socket, facility: Facility, hostname: String, procid: u32 },
}

impl Output {
    /// Open (create, 0600 on Unix) the audit log at `path` for appending.
    pub fn file(path: &Path, json: bool) -> Result<Self, String> {
        let file = crate::platform::private_file_options()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| format!("audit log {}: {e}", path.display()))?;
        Ok(Self::File { file, json, path: path.to_owned() })
    }

    /// A socket for `target`; messages are sent to it one datagram each.
    pub fn syslog(target: &SyslogTarget, facility: Facility) -> Result<Self, String> {
        let socket = match target {
            SyslogTarget::Udp(address) => {
                let local: SocketAddr = if address.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = UdpSocket::bind(local).map_err(|e| format!("syslog socket: {e}"))?;
                Socket::Udp(socket, *address)
            }
            #[cfg(unix)]
            SyslogTarget::Unix(path) => {
                let socket = std::os::unix::net::UnixDatagram::unbound().map_err(|e| format!("syslog socket: {e}"))?;
                let _ = socket.set_write_timeout(Some(SEND_TIMEOUT));
                Socket::Unix(socket, path.clone())
            }
        };
        Ok(Self::Syslog { socket, facility, hostname: header_field(&hostname(), 255), procid: std::process::id() })
    }

    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        match self {
            Self::File { file, json, .. } => {
                let mut line = if *json { json_line(record) } else { kv_line(record) };
                line.push('\n');
                // One write per line: appended whole, never interleaved.
                file.write_all(line.as_bytes())
            }
            Self::Syslog { socket, facility, hostname, procid } => {
                let message = syslog_message(record, *facility, hostname, *procid);
                match socket {
                    Socket::Udp(socket, address) => socket.send_to(&message, *address).map(drop),
                    // Addressed each time: a restarted logger's new socket is found.
                    #[cfg(unix)]
                    Socket::Unix(socket, path) => socket.send_to(&message, path).map(drop),
                }
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Self::File { path, .. } => path.display().to_string(),
            Self::Syslog { socket: Socket::Udp(_, address), .. } => format!("syslog udp://{address}"),
            #[cfg(unix)]
            Self::Syslog { socket: Socket::Unix(_, path), .. } => format!("syslog unix:{}", path.display()),
        }
    }
}

/// This computer's name for syslog's HOSTNAME.
fn hostname() -> String {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let name = from_kernel.or_else(|| std::env::var("HOSTNAME").ok()).or_else(|| std::env::var("COMPUTERNAME").ok());
    name.map(|n| n.trim().to_owned()).unwrap_or_default()
}

pub(super) enum Message {
    Record(Record),
    /// Answer when everything before is written.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The queue's sending side, shared by every clone of [`super::Audit`].
pub(super) struct Queue {
    tx: SyncSender<Message>,
    dropped: std::sync::Arc<AtomicU64>,
    /// Every record dropped in this run (the writer resets `dropped` when it reports).
    dropped_total: AtomicU64,
    warned: AtomicBool,
}

impl Queue {
    /// Start the writer thread over `outputs`.
    pub(super) fn start(outputs: Vec<Output>) -> Result<Self, String> {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let dropped = std::sync::Arc::new(AtomicU64::new(0));
        let counter = std::sync::Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || writer(rx, outputs, &counter))
            .map_err(|e| format!("audit writer: {e}"))?;
        Ok(Self { tx, dropped, dropped_total: AtomicU64::new(0), warned: AtomicBool::new(false) })
    }

    /// Queue `record`, never waiting: dropped (and counted) when the queue is full.
    pub(super) fn push(&self, record: Record) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(Message::Record(record)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.dropped_total.fetch_add(1, Ordering::Relaxed);
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!("the audit log cannot keep up: audit records are being dropped");
            }
        }
    }

    /// Records dropped in this run.
    pub fn dropped(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    /// Wait until what was queued before is written, at most `limit`.
    pub(super) fn flush(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let (done_tx, done) = std::sync::mpsc::channel();
        let mut message = Message::Flush(done_tx);
        loop {
            match self.tx.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    message = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        let _ = done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

fn writer(rx: Receiver<Message>, mut outputs: Vec<Output>, dropped: &AtomicU64) {
    let mut failed = vec![false; outputs.len()];
    let mut write = |record: &Record| {
        for (output, failed) in outputs.iter_mut().zip(failed.iter_mut()) {
            match output.write(record) {
                Ok(()) => *failed = false,
                Err(e) if !*failed => {
                    *failed = true;
                    tracing::warn!(output = %output.name(), error = %e, "audit output failed: its records are dropped until it works again");
                }
                Err(_) => {}
            }
        }
    };
    while let Ok(message) = rx.recv() {
        match message {
            Message::Record(record) => write(&record),
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let fields = vec![("count", lost.to_string())];
            write(&Record { time: SystemTime::now(), level: Level::Warn, event: "audit.dropped", fields });
        }
    }
}
