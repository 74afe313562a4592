//! Test-only helpers of the abuse suite: a raw WebSocket client that can send any
//! frame (masked or not, any opcode, RSV bits, lying lengths), a heartbeat monitor
//! that runs on its own thread during an attack, an RSS watchdog that is also the
//! kill switch (a daemon that balloons or hangs is killed, so the test fails instead
//! of eating the machine or hanging), and the checks every case ends with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;

use super::common::{self, Daemon, Io};

pub const COMMON: &str = "kz.gov.pki.knca.commonUtils";
pub const BASICS: &str = "kz.gov.pki.knca.basics";
pub const HEARTBEAT: &str = "--heartbeat--";
pub const MIB: u64 = 1024 * 1024;

/// Flags the lead adds for these tests (same names in the daemon).
pub const IDLE_TIMEOUT_FLAG: &str = "--idle-timeout-secs";
pub const HANDSHAKE_TIMEOUT_FLAG: &str = "--handshake-timeout-ms";

// ---------------------------------------------------------------------------------
// Serialising the cases: timing bounds (100 ms heartbeats) mean nothing when another
// case of this file hammers the same two cores.

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Hold for the whole case: the cases of this file run one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------------
// /proc numbers

fn status_field_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// Resident set size of `pid`, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field_kib(pid, "VmRSS:")
}

/// Peak resident set size of `pid` so far, KiB.
pub fn hwm_kib(pid: u32) -> Option<u64> {
    status_field_kib(pid, "VmHWM:")
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; look at its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

pub fn sigkill(pid: u32) {
    let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
}

// ---------------------------------------------------------------------------------
// The watchdog: RSS cap and deadline

/// SIGKILLs the daemon once and remembers why; shared by the watchdog and a
/// fail-fast heartbeat monitor.
#[derive(Clone)]
pub struct KillSwitch {
    pid: u32,
    reason: Arc<std::sync::Mutex<Option<String>>>,
}

impl KillSwitch {
    pub fn kill(&self, why: String) {
        eprintln!("{why}");
        sigkill(self.pid);
        self.reason.lock().unwrap().get_or_insert(why);
    }

    pub fn reason(&self) -> Option<String> {
        self.reason.lock().unwrap().clone()
    }
}

/// Polls the daemon's RSS every 5 ms; SIGKILLs it above `cap` or after `deadline`
/// (the kill switch: whatever the daemon does, the case ends). Also a hard
/// address-space limit (prlimit) so that even a burst between two polls cannot take
/// the machine.
pub struct Watchdog {
    pid: u32,
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    pub switch: KillSwitch,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn new(daemon: &Daemon, cap_mib: u64, deadline: Duration) -> Self {
        let pid = daemon.pid();
        // Backstop: 12 GiB of address space (threads and arenas reserve a lot of
        // virtual memory; the RSS cap below is the real limit).
        let _ = std::process::Command::new("prlimit")
            .args(["--pid", &pid.to_string(), &format!("--as={}", 12 * 1024 * MIB)])
            .status();
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let switch = KillSwitch { pid, reason: Arc::new(std::sync::Mutex::new(None)) };
        let (s, p, k) = (Arc::clone(&stop), Arc::clone(&peak_kib), switch.clone());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Some(rss) = rss_kib(pid) else { break };
                p.fetch_max(rss, Ordering::SeqCst);
                let why = if rss > cap_mib * 1024 {
                    Some(format!(
                        "watchdog: RSS {:.0} MiB over the case's {cap_mib} MiB cap at +{:?}: daemon SIGKILLed \
                         (ABUSE_NO_FAIL_FAST=1 raises memory-case caps to 4 GiB)",
                        mib(rss),
                        started.elapsed()
                    ))
                } else if started.elapsed() > deadline {
                    Some(format!("watchdog: case still running after {deadline:?}: daemon SIGKILLed (kill switch)"))
                } else {
                    None
                };
                if let Some(why) = why {
                    k.kill(why);
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Watchdog { pid, stop, peak_kib, switch, thread: Some(thread) }
    }

    /// Why the daemon was killed (watchdog or fail-fast monitor), if it was.
    pub fn killed(&self) -> Option<String> {
        self.switch.reason()
    }

    /// Highest RSS seen by polling, KiB (VmHWM is exact; this survives a kill).
    pub fn peak_kib(&self) -> u64 {
        self.peak_kib.load(Ordering::SeqCst).max(hwm_kib(self.pid).unwrap_or(0))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------
// A raw WebSocket client

/// TCP, then TLS when the daemon serves TLS, trusting only the daemon's CA.
pub async fn open_stream(daemon: &Target, within: Duration) -> Result<Box<dyn Io>, String> {
    let work = async {
        let tcp = TcpStream::connect(daemon.addr).await.map_err(|e| format!("TCP connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let Some(config) = &daemon.tls else {
            return Ok(Box::new(tcp) as Box<dyn Io>);
        };
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        Ok(Box::new(tls) as Box<dyn Io>)
    };
    tokio::time::timeout(within, work).await.map_err(|_| format!("no TLS connection within {within:?}"))?
}

/// The request head of a WebSocket upgrade.
pub fn upgrade_head(daemon: &Target, origin: Option<&str>) -> String {
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n",
        daemon.addr
    )
}

/// One frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Text(String),
    /// A text frame that is not UTF-8 (the daemon must never send one).
    BadText(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// Close with its code and reason (`None`: no code).
    Close(Option<u16>, String),
    /// The connection ended without a close frame.
    Eof,
    /// Nothing within the time asked.
    Timeout,
    /// A read error, or a frame we cannot make sense of.
    Error(String),
}

/// Reads server frames from any byte stream.
pub struct FrameReader<R> {
    io: R,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(io: R, already: Vec<u8>) -> Self {
        Self { io, buf: already }
    }

    async fn fill(&mut self, n: usize) -> Result<(), Event> {
        let mut chunk = vec![0u8; 64 * 1024];
        while self.buf.len() < n {
            match self.io.read(&mut chunk).await {
                Ok(0) => return Err(Event::Eof),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) => return Err(Event::Error(e.to_string())),
            }
        }
        Ok(())
    }

    async fn frame(&mut self) -> Result<(bool, u8, Vec<u8>), Event> {
        self.fill(2).await?;
        let (b0, b1) = (self.buf[0], self.buf[1]);
        let masked = b1 & 0x80 != 0;
        let (mut len, mut at) = ((b1 & 0x7f) as u64, 2usize);
        if len == 126 {
            self.fill(4).await?;
            len = u16::from_be_bytes([self.buf[2], self.buf[3]]) as u64;
            at = 4;
        } else if len == 127 {
            self.fill(10).await?;
            len = u64::from_be_bytes(self.buf[2..10].try_into().unwrap());
            at = 10;
        }
        if len > 600 * MIB {
            return Err(Event::Error(format!("server frame claims {len} bytes")));
        }
        let mask_at = at;
        if masked {
            at += 4;
        }
        self.fill(at + len as usize).await?;
        let mut payload: Vec<u8> = self.buf[at..at + len as usize].to_vec();
        if masked {
            let key: [u8; 4] = self.buf[mask_at..mask_at + 4].try_into().unwrap();
            payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= key[i % 4]);
        }
        self.buf.drain(..at + len as usize);
        Ok((b0 & 0x80 != 0, b0 & 0x0f, payload))
    }

    /// The next complete message (fragments joined) or control frame.
    pub async fn next(&mut self, within: Duration) -> Event {
        let work = async {
            let mut message: Option<(u8, Vec<u8>)> = None;
            loop {
                let (fin, opcode, payload) = match self.frame().await {
                    Ok(f) => f,
                    Err(e) => return e,
                };
                let (opcode, payload, fin) = match opcode {
                    0x0 => match message.take() {
                        Some((op, mut data)) => {
                            data.extend_from_slice(&payload);
                            (op, data, fin)
                        }
                        None => return Event::Error("continuation without a start".into()),
                    },
                    0x8 => {
                        let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                        let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned();
                        return Event::Close(code, reason);
                    }
                    0x9 => return Event::Ping(payload),
                    0xA => return Event::Pong(payload),
                    op => (op, payload, fin),
                };
                if !fin {
                    message = Some((opcode, payload));
                    continue;
                }
                return match opcode {
                    0x1 => match String::from_utf8(payload) {
                        Ok(t) => Event::Text(t),
                        Err(e) => Event::BadText(e.into_bytes()),
                    },
                    0x2 => Event::Binary(payload),
                    op => Event::Error(format!("unknown opcode {op}")),
                };
            }
        };
        tokio::time::timeout(within, work).await.unwrap_or(Event::Timeout)
    }

    /// The next text message, skipping control frames; `Err` with what came instead.
    pub async fn text(&mut self, within: Duration) -> Result<String, Event> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Event::Text(t) => return Ok(t),
                Event::Ping(_) | Event::Pong(_) => continue,
                other => return Err(other),
            }
        }
    }
}

/// Read and keep whatever comes until the peer closes (`Some(after, bytes)`), or
/// `None` if it is still open after `within`.
pub async fn wait_closed<R: AsyncRead + Unpin>(r: &mut R, within: Duration) -> Option<(Duration, Vec<u8>)> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, r.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some((started.elapsed(), got)),
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A client frame: FIN, RSV bits (`rsv` is 0..=7, shifted into place), opcode, and a
/// masking key (all zeros makes masking free for the huge frames).
pub fn frame_bytes(fin: bool, rsv: u8, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | ((rsv & 7) << 4) | (opcode & 0x0f));
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    if mask != [0; 4] {
        out[start..].iter_mut().enumerate().for_each(|(i, b)| *b ^= mask[i % 4]);
    }
    out
}

pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A text frame, masked.
pub fn text_frame(text: &str) -> Vec<u8> {
    frame_bytes(true, 0, 0x1, text.as_bytes(), MASK)
}

/// A WebSocket connection at the byte level.
pub struct RawWs {
    pub reader: FrameReader<ReadHalf<Box<dyn Io>>>,
    pub writer: WriteHalf<Box<dyn Io>>,
}

impl RawWs {
    /// Connect, upgrade with `origin`, and read the greeting; `Err` says which step failed.
    pub async fn connect(daemon: &Target, origin: Option<&str>, within: Duration) -> Result<RawWs, String> {
        let started = Instant::now();
        let mut io = open_stream(daemon, within).await?;
        let left = within.saturating_sub(started.elapsed());
        let head = upgrade_head(daemon, origin);
        let upgrade = async {
            io.write_all(head.as_bytes()).await.map_err(|e| format!("writing the upgrade: {e}"))?;
            let mut got = Vec::new();
            let mut chunk = [0u8; 1024];
            let end = loop {
                let n = io.read(&mut chunk).await.map_err(|e| format!("reading the upgrade answer: {e}"))?;
                if n == 0 {
                    return Err(format!("closed during the upgrade: {:?}", String::from_utf8_lossy(&got)));
                }
                got.extend_from_slice(&chunk[..n]);
                if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            if !got.starts_with(b"HTTP/1.1 101") {
                return Err(format!("upgrade refused: {:?}", String::from_utf8_lossy(&got[..end])));
            }
            Ok(got[end..].to_vec())
        };
        let rest =
            tokio::time::timeout(left, upgrade).await.map_err(|_| format!("no upgrade answer within {within:?}"))??;
        let (r, w) = tokio::io::split(io);
        let mut ws = RawWs { reader: FrameReader::new(r, rest), writer: w };
        let left = within.saturating_sub(started.elapsed()).max(Duration::from_millis(100));
        match ws.reader.text(left).await {
            Ok(g) if g == common::GREETING => Ok(ws),
            Ok(other) => Err(format!("unexpected greeting {other:?}")),
            Err(e) => Err(format!("no greeting: {e:?}")),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.writer.write_all(bytes).await.map_err(|e| e.to_string())?;
        self.writer.flush().await.map_err(|e| e.to_string())
    }

    pub async fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.send(&text_frame(text)).await
    }

    /// Send `request` and parse the next text message as its JSON reply.
    pub async fn request(&mut self, request: &Value, within: Duration) -> Result<Value, String> {
        self.send_text(&request.to_string()).await?;
        let text = self.reader.text(within).await.map_err(|e| format!("no reply: {e:?}"))?;
        serde_json::from_str(&text).map_err(|e| format!("reply is not JSON ({e}): {text}"))
    }

    /// Send a heartbeat and wait for its echo (control frames skipped).
    pub async fn heartbeat(&mut self, within: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        self.send_text(HEARTBEAT).await?;
        match self.reader.text(within).await {
            Ok(t) if t == HEARTBEAT => Ok(started.elapsed()),
            Ok(other) => Err(format!("expected the heartbeat echo, got {other:.200}")),
            Err(e) => Err(format!("no heartbeat echo within {within:?}: {e:?}")),
        }
    }
}

// ---------------------------------------------------------------------------------
// Heartbeat monitor

/// What the monitor saw.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatStats {
    pub count: usize,
    pub max: Duration,
    /// When (from the monitor's start) the slowest echo was sent.
    pub max_at: Duration,
    /// The connection broke or an echo never came (5 s).
    pub failure: Option<String>,
}

impl std::fmt::Display for HeartbeatStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} heartbeats, max latency {:?} (at +{:?})", self.count, self.max, self.max_at)?;
        if let Some(why) = &self.failure {
            write!(f, ", FAILED: {why}")?;
        }
        Ok(())
    }
}

/// Another client that sends `--heartbeat--` every 20 ms from its own thread and
/// runtime (so nothing the test does can delay it), and records the latencies.
pub struct HeartbeatMonitor {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<HeartbeatStats>>,
}

impl HeartbeatMonitor {
    /// Connect (origin `https://monitor.example`) and start; panics if the daemon
    /// cannot be reached before the attack.
    pub fn start(daemon: &Daemon) -> Self {
        Self::start_with(daemon, None)
    }

    /// Like [`HeartbeatMonitor::start`], but a heartbeat that gets no echo within 5 s
    /// SIGKILLs the daemon: the case has failed, and its stalled work must not keep
    /// the suite waiting.
    pub fn start_fail_fast(case: &Case) -> Self {
        let fail_fast = std::env::var_os("ABUSE_NO_FAIL_FAST").is_none();
        Self::start_with(&case.daemon, fail_fast.then(|| case.watchdog.switch.clone()))
    }

    fn start_with(daemon: &Daemon, fail_fast: Option<KillSwitch>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let stop2 = Arc::clone(&stop);
        let target = Target::of(daemon);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut stats = HeartbeatStats::default();
                let mut ws = match RawWs::connect(&target, Some("https://monitor.example"), Duration::from_secs(10)).await
                {
                    Ok(ws) => ws,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.clone()));
                        stats.failure = Some(e);
                        return stats;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let started = Instant::now();
                while !stop2.load(Ordering::SeqCst) {
                    let at = started.elapsed();
                    match ws.heartbeat(Duration::from_secs(5)).await {
                        Ok(latency) => {
                            stats.count += 1;
                            if latency > stats.max {
                                stats.max = latency;
                                stats.max_at = at;
                            }
                        }
                        Err(e) => {
                            stats.max = stats.max.max(started.elapsed() - at);
                            stats.failure = Some(format!("at +{at:?}: {e}"));
                            if let Some(switch) = fail_fast.as_ref().filter(|_| !stop2.load(Ordering::SeqCst)) {
                                switch.kill(format!(
                                    "fail fast: a heartbeat got no echo in 5 s (at +{at:?}): the test SIGKILLed the daemon \
                                     (ABUSE_NO_FAIL_FAST=1 lets it run on)"
                                ));
                            }
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                stats
            })
        });
        match ready_rx.recv_timeout(Duration::from_secs(15)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("heartbeat monitor could not connect before the attack: {e}"),
            Err(_) => panic!("heartbeat monitor could not connect before the attack (timeout)"),
        }
        HeartbeatMonitor { stop, thread: Some(thread) }
    }

    pub fn stop(mut self) -> HeartbeatStats {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap_or_else(|_| HeartbeatStats {
            failure: Some("monitor thread panicked".into()),
            ..Default::default()
        })
    }
}

impl Drop for HeartbeatMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// What a client needs to reach a daemon, from any thread.
#[derive(Clone)]
pub struct Target {
    pub addr: std::net::SocketAddr,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Target {
    pub fn of(d: &Daemon) -> Self {
        Target { addr: d.addr, tls: d.tls.then(|| d.client_tls()) }
    }
}

// ---------------------------------------------------------------------------------

pub fn b64(data: &[u8]) -> String {
    common::b64(data)
}

pub fn sign_request() -> Value {
    json!({"module":BASICS,"method":"sign","args":{"format":"cms","data":"MTEK",
        "signingParams":{"decode":true,"encapsulate":false,"allowExpired":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]}}})
}

// ---------------------------------------------------------------------------------
// A case: one daemon, its watchdog, the findings, and the checks every case ends with

pub fn rsa_ca() -> std::path::PathBuf {
    common::fixture("nca-test/ca/nca_rsa_test.crt")
}

/// `--auto-key <RSA test key> --auto-password … --auto-answer <answer>`.
pub fn headless_args(answer: &str) -> Vec<String> {
    let key = common::fixture(common::RSA_KEY);
    ["--auto-key", key.to_str().unwrap(), "--auto-password", common::PASSWORD, "--auto-answer", answer]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A flag the lead adds for these tests. With `ABUSE_WITHOUT_NEW_FLAGS=1` it is left
/// out, to see what a daemon without it does.
pub fn new_flag(flag: &str, value: &str) -> Vec<String> {
    if std::env::var_os("ABUSE_WITHOUT_NEW_FLAGS").is_some() {
        eprintln!("(ABUSE_WITHOUT_NEW_FLAGS: not passing {flag} {value})");
        return Vec::new();
    }
    vec![flag.to_owned(), value.to_owned()]
}

/// The options `qoltanba serve --help` lists.
fn supported_flags() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qoltanba")).args(["serve", "--help"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A real signature over a fresh connection from `origin`: basics.sign (CMS, detached)
/// of "MTEK", checked by `openssl cms -verify` against the NCA RSA test CA.
pub async fn try_sign(target: &Target, origin: &str, within: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut ws = RawWs::connect(target, Some(origin), within).await.map_err(|e| format!("connect: {e}"))?;
    let left = within.saturating_sub(started.elapsed()).max(Duration::from_millis(100));
    let reply = ws.request(&sign_request(), left).await?;
    let took = started.elapsed();
    let Some(pem) = reply["body"]["result"][0].as_str() else {
        return Err(format!("no signature in the reply: {:.300}", reply.to_string()));
    };
    let der =
        std::panic::catch_unwind(|| common::cms_pem_to_der(pem)).map_err(|_| format!("not a CMS PEM: {pem:.200}"))?;
    let verdict = common::openssl_verify(&der, Some(b"11\n"), Some((&rsa_ca(), common::RSA_KEY_VALID_AT)));
    if !verdict.ok {
        return Err(format!("openssl cms -verify refused the signature: {}", verdict.output));
    }
    Ok(took)
}

pub struct Case {
    pub name: &'static str,
    pub daemon: Daemon,
    pub target: Target,
    pub watchdog: Watchdog,
    pub idle_kib: u64,
    fails: Vec<String>,
    started: Instant,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl Case {
    /// A headless daemon (RSA test key, confirming) with `extra` flags.
    pub async fn start(name: &'static str, extra: &[String], cap_mib: u64, deadline: Duration) -> Case {
        let mut args = headless_args("confirm");
        args.extend_from_slice(extra);
        Self::start_with(name, &args, cap_mib, deadline).await
    }

    /// A daemon with exactly `args` (plus the harness's own), watched: SIGKILLed over
    /// `cap_mib` of RSS or after `deadline`. Warms up with one signature, then takes
    /// the idle RSS.
    pub async fn start_with(name: &'static str, args: &[String], cap_mib: u64, deadline: Duration) -> Case {
        let serial = serial();
        eprintln!("=== {name}");
        let help = supported_flags();
        for flag in args.iter().filter(|a| a.starts_with("--")) {
            assert!(
                help.contains(flag.as_str()),
                "{name}: this qoltanba has no {flag} option; the abuse suite assumes it (see tests/abuse.rs)"
            );
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let daemon = Daemon::start(&refs);
        let target = Target::of(&daemon);
        let watchdog = Watchdog::new(&daemon, cap_mib, deadline);
        let mut case = Case {
            name,
            daemon,
            target,
            watchdog,
            idle_kib: 0,
            fails: Vec::new(),
            started: Instant::now(),
            _serial: serial,
        };
        if args.iter().any(|a| a == "confirm")
            && let Err(e) = try_sign(&case.target, "https://warmup.example", Duration::from_secs(20)).await
        {
            panic!("{name}: the warm-up signature failed before any attack: {e}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        case.idle_kib = rss_kib(case.daemon.pid()).unwrap_or(0);
        eprintln!("{name}: idle RSS {:.1} MiB", mib(case.idle_kib));
        case
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    pub fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.fail(what);
        }
    }

    /// A failure; marked as collateral if the daemon had been killed by then.
    pub fn fail(&mut self, what: impl Into<String>) {
        let mut what = what.into();
        if self.watchdog.killed().is_some_and(|why| !what.contains(&why)) {
            what.push_str(" [after the daemon was SIGKILLed]");
        }
        self.fail_measured(what);
    }

    /// A failure measured independently of any kill (RSS peak, heartbeat latency).
    pub fn fail_measured(&mut self, what: impl Into<String>) {
        let what = what.into();
        eprintln!("{}: FAIL: {what}", self.name);
        self.fails.push(what);
    }

    pub fn note(&self, what: impl AsRef<str>) {
        eprintln!("{}: {}", self.name, what.as_ref());
    }

    pub fn alive(&self) -> bool {
        alive(self.pid())
    }

    /// The checks after every attack: the heartbeat bound, the daemon alive, a real
    /// signature from another origin, and the RSS back near idle within 5 s.
    pub async fn aftermath(&mut self, hb: HeartbeatStats, bound: Duration) {
        self.note(format!("heartbeat monitor: {hb}"));
        if let Some(why) = &hb.failure {
            // Primary when it made the fail-fast monitor kill the daemon; collateral
            // when the watchdog had killed it.
            let what = format!("another connection's heartbeat: {why}");
            if self.watchdog.killed().is_some_and(|w| w.starts_with("fail fast")) {
                self.fail_measured(what);
            } else {
                self.fail(what);
            }
        } else if hb.max > bound {
            self.fail_measured(format!(
                "another connection's heartbeat took {:?} (bound {bound:?}) at +{:?}",
                hb.max, hb.max_at
            ));
        }
        self.after_attack().await;
    }

    /// [`Case::aftermath`] without the heartbeat monitor.
    pub async fn after_attack(&mut self) {
        if let Some(why) = self.watchdog.killed() {
            self.fail(why);
        }
        if !self.alive() {
            self.fail(format!(
                "the daemon is not running any more (RSS peak {:.0} MiB)",
                mib(self.watchdog.peak_kib())
            ));
            return;
        }
        match try_sign(&self.target, "https://egov.kz", Duration::from_secs(15)).await {
            Ok(took) => self.note(format!("a real signature after the attack: ok in {took:?}")),
            Err(e) => self.fail(format!("a real signature after the attack failed: {e}")),
        }
        let limit = self.idle_kib + 64 * 1024;
        let started = Instant::now();
        let mut rss = rss_kib(self.pid()).unwrap_or(0);
        while rss > limit && started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            rss = rss_kib(self.pid()).unwrap_or(0);
        }
        if !self.alive() {
            self.fail(format!("the daemon died during the checks after the attack ({:?})", self.watchdog.killed()));
            return;
        }
        let peak = self.watchdog.peak_kib();
        self.note(format!(
            "RSS idle {:.1} MiB, peak {:.1} MiB, now {:.1} MiB",
            mib(self.idle_kib),
            mib(peak),
            mib(rss)
        ));
        self.check(
            rss <= limit,
            format!(
                "RSS {:.1} MiB 5 s after the attack; idle was {:.1} MiB (limit idle + 64 MiB)",
                mib(rss),
                mib(self.idle_kib)
            ),
        );
    }

    /// Report and fail the test if anything failed; SIGKILL the daemon (blocking
    /// threads stuck on a FIFO would make SIGTERM wait).
    pub fn finish(mut self) {
        sigkill(self.pid());
        let _ = self.daemon.is_running();
        let took = self.started.elapsed();
        if self.fails.is_empty() {
            eprintln!("{}: PASS in {took:?}", self.name);
            return;
        }
        let fails = std::mem::take(&mut self.fails);
        let killed = self.watchdog.killed().map(|why| format!("\n  killed: {why}")).unwrap_or_default();
        let name = self.name;
        drop(self);
        panic!("{name}: {} failure(s) in {took:?}:{killed}\n  - {}", fails.len(), fails.join("\n  - "));
    }
}

/// A client text frame `prefix + fill × fill_len + suffix` with a zero masking key,
/// built in one allocation (hundreds of MiB in a debug build).
pub fn big_frame(prefix: &str, fill: u8, fill_len: usize, suffix: &str) -> Vec<u8> {
    let len = prefix.len() + fill_len + suffix.len();
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(len as u64).to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    // vec![x; n] is a memset even unoptimised; resize() is a loop.
    let mut out = vec![fill; header.len() + len];
    out[..header.len()].copy_from_slice(&header);
    out[header.len()..header.len() + prefix.len()].copy_from_slice(prefix.as_bytes());
    let end = out.len();
    out[end - suffix.len()..].copy_from_slice(suffix.as_bytes());
    out
}

/// A basics.sign (CMS, detached) whose frame is `frame_len` bytes: base64 of zeros
/// (`decode`) or the text `AAAA…`; and the length of that data text.
pub fn big_basics_sign(frame_len: usize, decode: bool) -> (Vec<u8>, usize) {
    let prefix = format!(
        r#"{{"module":"{BASICS}","method":"sign","args":{{"format":"cms","signingParams":{{"decode":{decode},"encapsulate":false,"allowExpired":true}},"signerParams":{{"extKeyUsageOids":[],"chain":[]}},"data":""#
    );
    let suffix = r#""}}"#;
    let fill = (frame_len - prefix.len() - suffix.len()) / 4 * 4;
    (big_frame(&prefix, b'A', fill, suffix), fill)
}
