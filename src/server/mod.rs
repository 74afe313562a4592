//! Accepting connections: listeners, TLS, limits and shutdown. Knows nothing about
//! the protocol beyond handing each upgraded connection to `connection::serve`.
//!
//! Only loopback peers are served. The number of simultaneous connections is bounded
//! (a page cannot exhaust the daemon by opening sockets), and the TLS handshake and
//! request head must arrive within `HANDSHAKE_TIMEOUT`. Shutdown stops accepting,
//! tells open connections to close, and waits briefly for them.

pub mod budget;
mod connection;
mod http;
pub use http::escape_html;
pub mod local_ca;
mod registry;
pub mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::protocol::Dispatcher;
use local_ca::LocalCa;

/// Connections in the TLS handshake or HTTP head at once; more are closed at once (a
/// browser completes a handshake to 127.0.0.1 in milliseconds).
const MAX_HANDSHAKES: usize = 64;
/// How often the server certificate's expiry is checked.
const RENEWAL_CHECK: Duration = Duration::from_secs(12 * 3600);
/// How long shutdown waits for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    /// `false` serves plain `ws://` (tests only).
    pub tls: bool,
    pub data_dir: PathBuf,
    /// Largest WebSocket message and frame, bytes.
    pub max_message_size: usize,
    /// WebSocket connections at once (idle ones make room, see `registry`).
    pub max_connections: usize,
    /// WebSocket connections one origin may hold.
    pub max_connections_per_origin: usize,
    /// Bytes of messages all connections together may hold in flight.
    pub memory_budget: usize,
    /// Time allowed for the TLS handshake plus the HTTP request head.
    pub handshake_timeout: Duration,
    /// Close connections silent this long with nothing pending (`None`: only to make room).
    pub idle_timeout: Option<Duration>,
}

/// Default limits (the command line's defaults too).
pub const DEFAULT_MAX_MESSAGE: usize = 128 * 1024 * 1024;
pub const DEFAULT_MEMORY_BUDGET: usize = 256 * 1024 * 1024;
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
pub const DEFAULT_MAX_CONNECTIONS_PER_ORIGIN: usize = 16;
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 5000;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 3600;

impl ServerConfig {
    /// The defaults for `listen` and `data_dir`.
    pub fn new(listen: Vec<SocketAddr>, data_dir: PathBuf) -> Self {
        Self {
            listen,
            tls: true,
            data_dir,
            max_message_size: DEFAULT_MAX_MESSAGE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_origin: DEFAULT_MAX_CONNECTIONS_PER_ORIGIN,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            handshake_timeout: Duration::from_millis(DEFAULT_HANDSHAKE_TIMEOUT_MS),
            idle_timeout: Some(Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS)),
        }
    }
}

/// How long the status page waits for its report.
const STATUS_REPORT_TIMEOUT: Duration = Duration::from_secs(20);

/// What the status page shows about this computer (an escaped HTML fragment).
pub type StatusReport = Arc<dyn Fn() -> String + Send + Sync>;

/// The default addresses: NCALayer's port on IPv4 and IPv6 loopback.
pub fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 13579)), SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 13579))]
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// Another program (another qoltanba, or NCALayer) holds the port.
    AddressInUse(SocketAddr),
    Bind(SocketAddr, std::io::Error),
    Tls(local_ca::CaError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AddressInUse(addr) => write!(
                f,
                "{addr} is already in use: qoltanba or NCALayer is already running. Quit the other one (or pass --listen with another port) and start again."
            ),
            Self::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            Self::Tls(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StartError {}

/// A bound, ready server. Dropping it closes the listeners.
pub struct Server {
    listeners: Vec<TcpListener>,
    config: ServerConfig,
    tls: Option<Tls>,
    dispatcher: Arc<Dispatcher>,
    status: Option<StatusReport>,
}

struct Tls {
    ca: Arc<LocalCa>,
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

impl Server {
    /// Bind every address and prepare TLS. An address already in use is fatal (it is
    /// how a second instance notices the first); an unavailable IPv6 loopback is not.
    pub async fn bind(config: ServerConfig, dispatcher: Arc<Dispatcher>) -> Result<Self, StartError> {
        let mut listeners = Vec::new();
        for addr in &config.listen {
            match TcpListener::bind(addr).await {
                Ok(l) => listeners.push(l),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(StartError::AddressInUse(*addr)),
                Err(e) if addr.is_ipv6() && config.listen.len() > 1 => {
                    tracing::warn!("IPv6 loopback {addr} unavailable ({e}); serving IPv4 only");
                }
                Err(e) => return Err(StartError::Bind(*addr, e)),
            }
        }
        let tls = if config.tls {
            crate::platform::create_private_dir(&config.data_dir)
                .map_err(|e| StartError::Tls(local_ca::CaError(format!("data directory: {e}"))))?;
            let ca = LocalCa::load_or_create(&config.data_dir).map_err(StartError::Tls)?;
            let identity = ca.server_identity().map_err(StartError::Tls)?;
            let rustls = local_ca::rustls_config(&identity).map_err(StartError::Tls)?;
            Some(Tls { ca: Arc::new(ca), current: Arc::new(RwLock::new(rustls)) })
        } else {
            None
        };
        Ok(Self { listeners, config, tls, dispatcher, status: None })
    }

    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Show `report` (an HTML fragment, already escaped; run off the runtime) on the
    /// status page at `/`.
    pub fn with_status(mut self, report: StatusReport) -> Self {
        self.status = Some(report);
        self
    }

    /// Path of the local CA certificate, when serving TLS.
    pub fn ca_path(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|t| t.ca.cert_path())
    }

    /// Serve until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(self.config.max_message_size))
            .max_frame_size(Some(self.config.max_message_size));
        let ca_path = self.ca_path().map(|p| p.display().to_string()).unwrap_or_default();
        let shared = Arc::new(Shared {
            dispatcher: self.dispatcher,
            ws_config,
            ca_path,
            status: self.status,
            shutdown: shutdown.clone(),
            registry: registry::Registry::new(self.config.max_connections_per_origin, self.config.max_connections),
            budget: budget::Budget::new(self.config.memory_budget),
            // One large message per connection at a time (plus room for small requests
            // queued behind it): large frames are not queued deep.
            share: (self.config.max_message_size as u64).saturating_add(1 << 20),
            max_message: self.config.max_message_size as u64,
            handshake_timeout: self.config.handshake_timeout,
            idle_timeout: self.config.idle_timeout,
            alive: Arc::new(()),
            peer_checks: Arc::new(Semaphore::new(2)),
        });
        let tls = self.tls.map(|t| {
            tokio::spawn(renew_periodically(Arc::clone(&t.ca), Arc::clone(&t.current), shutdown.clone()));
            t.current
        });

        let mut accepts = tokio::task::JoinSet::new();
        for listener in self.listeners {
            let (handshakes, shared, tls) = (Arc::clone(&handshakes), Arc::clone(&shared), tls.clone());
            accepts.spawn(accept_loop(listener, handshakes, shared, tls));
        }
        let _ = shutdown.wait_for(|stop| *stop).await;
        accepts.abort_all();
        // Connections saw the same signal and are closing; give them a moment.
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while Arc::strong_count(&shared.alive) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

struct Shared {
    dispatcher: Arc<Dispatcher>,
    ws_config: WebSocketConfig,
    ca_path: String,
    status: Option<StatusReport>,
    shutdown: watch::Receiver<bool>,
    registry: Arc<registry::Registry>,
    budget: budget::Budget,
    share: u64,
    max_message: u64,
    handshake_timeout: Duration,
    idle_timeout: Option<Duration>,
    /// One clone per live connection task (shutdown waits for them).
    alive: Arc<()>,
    /// Peer OS-user checks at once: each reads the kernel's TCP tables (milliseconds of
    /// CPU), so a burst of connections must not take the cores from everything else.
    peer_checks: Arc<Semaphore>,
}

async fn accept_loop(
    listener: TcpListener,
    handshakes: Arc<Semaphore>,
    shared: Arc<Shared>,
    tls: Option<Arc<RwLock<Arc<rustls::ServerConfig>>>>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !peer.ip().is_loopback() {
            tracing::warn!(%peer, "refused a connection from a non-loopback address");
            crate::audit::connection_refused(peer, None, "not loopback");
            continue;
        }
        let Ok(permit) = Arc::clone(&handshakes).try_acquire_owned() else {
            tracing::warn!(%peer, "too many connections opening at once; refusing");
            crate::audit::connection_refused(peer, None, "too many opening");
            continue;
        };
        let shared = Arc::clone(&shared);
        let tls = tls.as_ref().map(|t| Arc::clone(&t.read().unwrap_or_else(|p| p.into_inner())));
        tokio::spawn(async move {
            let _alive = Arc::clone(&shared.alive);
            let check = async {
                match shared.peer_checks.acquire().await {
                    Ok(_check) => same_os_user(&stream, peer).await,
                    Err(_) => false,
                }
            };
            // Bounded like the handshake: a flood of connections cannot queue here.
            let allowed = tokio::time::timeout(shared.handshake_timeout, check).await.unwrap_or(false);
            if !allowed {
                crate::audit::connection_refused(peer, None, "another OS user, or not checked");
                return;
            }
            let _ = stream.set_nodelay(true);
            match tls {
                Some(config) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    match tokio::time::timeout(shared.handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => handle_stream(tls_stream, &shared, permit, peer).await,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, "TLS handshake failed: {e}");
                            crate::audit::connection_refused(peer, None, "TLS handshake failed");
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            crate::audit::connection_refused(peer, None, "TLS handshake timed out");
                        }
                    }
                }
                None => handle_stream::<TcpStream>(stream, &shared, permit, peer).await,
            }
        });
    }
}

/// Only our OS user's processes may use our user's keys: on a shared computer another
/// user's programs (and pages in their browsers) are refused. Blocking (/proc or lsof),
/// so off the runtime; see [`crate::platform::peer`] for what is refused when unsure.
async fn same_os_user(stream: &TcpStream, peer: SocketAddr) -> bool {
    use crate::platform::peer::{PeerCheck, peer_is_same_user};
    let Ok(local) = stream.local_addr() else { return false };
    let Ok(check) = tokio::task::spawn_blocking(move || peer_is_same_user(local, peer)).await else { return false };
    match check {
        PeerCheck::SameUser => true,
        PeerCheck::OtherUser(uid) => {
            tracing::warn!(uid, "refused a connection from another OS user's process");
            false
        }
        PeerCheck::Unknown(reason) if check.allows() => {
            tracing::debug!("peer's OS user not checked: {reason}");
            true
        }
        PeerCheck::Unknown(reason) => {
            tracing::debug!("refused a connection: {reason}");
            false
        }
    }
}

async fn handle_stream<S>(
    mut stream: S,
    shared: &Shared,
    handshake: tokio::sync::OwnedSemaphorePermit,
    peer: SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let opening = match tokio::time::timeout(shared.handshake_timeout, http::read_opening(&mut stream)).await {
        Ok(Ok(Some(opening))) => opening,
        _ => return,
    };
    match opening {
        http::Opening::Upgrade { key, origin, rest } => {
            let Some(registration) = shared.registry.register(origin.as_deref().unwrap_or_default()) else {
                tracing::warn!(origin = ?origin, "no room for another connection: every connection is busy");
                crate::audit::connection_refused(peer, origin.as_deref(), "no room");
                let _ = http::write_busy(&mut stream).await;
                return;
            };
            if http::write_upgrade(&mut stream, &key).await.is_err() {
                return;
            }
            drop(handshake);
            tracing::info!(origin = ?origin, "page connected");
            let charges = budget::Charges::default();
            let (asides_tx, asides) = tokio::sync::mpsc::unbounded_channel();
            let metered = budget::Metered::new(
                stream,
                &rest,
                shared.budget.clone(),
                (shared.share, shared.max_message),
                charges.clone(),
                asides_tx,
            );
            let ws = WebSocketStream::from_raw_socket(metered, Role::Server, Some(shared.ws_config)).await;
            let link = connection::Link {
                dispatcher: Arc::clone(&shared.dispatcher),
                shutdown: shared.shutdown.clone(),
                charges,
                asides,
                registration,
                idle_timeout: shared.idle_timeout,
                audit: crate::audit::Conn::open(Some(peer), origin.as_deref()),
            };
            connection::serve(ws, origin, link).await;
        }
        http::Opening::Plain { method, path, typed } => {
            // The checks run programs: only for the person opening the page themselves,
            // never for another page loading it (as an image, a frame) again and again;
            // bounded in time, and without holding a place among the handshakes.
            drop(handshake);
            let report = match &shared.status {
                Some(report) if typed && method == "GET" && path.split('?').next() == Some("/") => {
                    let run = tokio::task::spawn_blocking({
                        let report = Arc::clone(report);
                        move || report()
                    });
                    tokio::time::timeout(STATUS_REPORT_TIMEOUT, run).await.ok().and_then(Result::ok)
                }
                _ => None,
            };
            let _ = http::write_plain(&mut stream, &method, &path, &shared.ca_path, report.as_deref()).await;
        }
    }
}

/// Reissue the server certificate before it expires and swap it in for new connections.
async fn renew_periodically(
    ca: Arc<LocalCa>,
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RENEWAL_CHECK) => {}
            _ = shutdown.changed() => return,
        }
        let ca = Arc::clone(&ca);
        let renewed =
            tokio::task::spawn_blocking(move || ca.server_identity().and_then(|id| local_ca::rustls_config(&id))).await;
        match renewed {
            Ok(Ok(config)) => *current.write().unwrap_or_else(|p| p.into_inner()) = config,
            Ok(Err(e)) => tracing::error!("server certificate renewal failed: {e}"),
            Err(e) => tracing::error!("server certificate renewal task failed: {e}"),
        }
    }
}
