//! Is the other end of a loopback connection a process of our own OS user?
//!
//! On a multi-user machine every local user can reach `127.0.0.1:13579`; only our
//! user's programs (their browser) may ask our user's daemon for signatures. A loopback
//! TCP connection carries no credentials (`SO_PEERCRED` is for Unix sockets), so we look
//! the peer's socket up in the kernel's socket table and read its owner:
//!
//! - **Linux / Android**: `/proc/self/net/tcp` and `tcp6` (`/proc/net` is a symlink to
//!   `self/net`; the long form also survives `subset=pid`). The peer's entry is the one
//!   whose local address is the peer and whose remote address is us; its `uid` column
//!   is the user that created the socket. An IPv4 client may own an `AF_INET6` socket
//!   (listed in `tcp6` as `::ffff:127.0.0.1`), so IPv4 peers are looked up in both.
//!   Reading stops at the first match and is bounded ([`MAX_LINES`] per table).
//! - **macOS**: `lsof` (see [`peer_is_same_user`]); not tested here.
//! - **Windows** and others: [`Reason::Unsupported`]. Windows would use
//!   `GetExtendedTcpTable(TCP_TABLE_OWNER_PID_CONNECTIONS)` to find the peer's owning
//!   PID, then that process's token user (`OpenProcessToken` + `GetTokenInformation`);
//!   left for later.
//!
//! The check must run right after `accept`: the peer's entry exists while its socket is
//! open. A peer that closed before we looked is reported as [`Reason::PeerMissing`] and
//! refused, which costs nothing since there is nobody left to serve.
//!
//! Limits, by design: the owner is the user that *created* the socket (a socket passed
//! to another process keeps its creator), and a forwarder (SSH tunnel, proxy, WSL2's
//! localhost relay, which runs as root) is what we see, not whoever is behind it. The
//! uids are those of our user namespace (unmapped users show as the overflow uid).

use std::fmt;
use std::net::SocketAddr;

/// The owner of the peer's end of a loopback TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerCheck {
    /// A process of our (effective) user.
    SameUser,
    /// A process of another user: this uid. Always refused.
    OtherUser(u32),
    /// We could not tell; see [`PeerCheck::allows`] for which reasons are allowed.
    Unknown(Reason),
}

/// Why [`PeerCheck::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not implemented on this OS (Windows and others).
    Unsupported,
    /// The socket table or our own uid could not be read: `/proc` not mounted or
    /// restricted (sandbox, security module), an unusual kernel; on macOS, `lsof`
    /// missing or failing.
    Unreadable,
    /// The table was read (twice) but does not list our own end of the connection
    /// either, so it does not reflect this connection (e.g. an emulated `/proc`).
    NotListed,
    /// Our end of the connection is listed but the peer's end is not (also after a
    /// second look): the peer has closed its socket already, or (macOS) it belongs to a
    /// process `lsof` may not inspect, i.e. another user's.
    PeerMissing,
    /// The table has more than [`MAX_LINES`] entries; we gave up looking.
    TooManySockets,
}

/// Entries read per socket table before giving up with [`Reason::TooManySockets`]. A
/// desktop has hundreds of sockets; a million is a busy server or someone padding the
/// table so that the peer's entry is never reached.
pub const MAX_LINES: usize = 1 << 20;

impl PeerCheck {
    /// The policy: serve the connection?
    ///
    /// - `SameUser`: yes. `OtherUser`: no, whatever the uid (root included: a root-owned
    ///   peer is usually a forwarder acting for someone else).
    /// - `Unknown` because we *cannot look* (`Unsupported`, `Unreadable`, `NotListed`):
    ///   yes (the caller logs it at debug level). These depend on how the machine is set
    ///   up, not on what another user does, and refusing would lock the user out of
    ///   signing entirely on such a machine (a sandboxed or hardened `/proc`, a kernel
    ///   without these tables, Windows) for a protection that only matters on shared
    ///   machines. No other local user can make our own reads fail.
    /// - `Unknown` because we *looked and did not find the peer* (`PeerMissing`,
    ///   `TooManySockets`): no. Another user can cause these (close early; pad the table
    ///   with a million sockets; on macOS simply be invisible to `lsof`), and refusing
    ///   locks out nobody: our user's live peer is always listed, and no desktop has
    ///   that many sockets.
    pub fn allows(self) -> bool {
        match self {
            PeerCheck::SameUser => true,
            PeerCheck::OtherUser(_) => false,
            PeerCheck::Unknown(reason) => {
                matches!(reason, Reason::Unsupported | Reason::Unreadable | Reason::NotListed)
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Unsupported => "peer check not implemented on this OS",
            Reason::Unreadable => "socket table or own uid unreadable",
            Reason::NotListed => "connection not listed in the socket table",
            Reason::PeerMissing => "peer socket not listed (closed, or not visible to us)",
            Reason::TooManySockets => "too many sockets to look through",
        })
    }
}

/// Who owns the peer's end of the accepted loopback connection `local` ← `peer`
/// (`local` is the accepted stream's local address, `peer` the address `accept`
/// returned). Call it right after `accept`, while the peer is still connected.
///
/// Blocking, and not cheap: reading `/proc/net/tcp` makes the kernel walk its whole
/// TCP hash table (`net.ipv4.tcp_ehash_entries`, sized by RAM: 262144 buckets on a 23 GB
/// machine), about 8.5 ms per table on a 2-core VM even with no socket in it. Measured
/// there (busy, debug build) with 1000 extra sockets: 2–11 ms when found (part of a
/// walk), 40–85 ms when the peer is missing (both tables in full, twice). Our parsing is
/// ~0.16 µs a line in a release build. Call it with `tokio::task::spawn_blocking`, never
/// directly on the async runtime.
///
/// **macOS** (compiled only there, not tested here): runs
/// `/usr/sbin/lsof -n -P -w -iTCP:<peer port> -Fpun` and finds the process that owns
/// `peer->local` and our own `local->peer`, whose uid is ours. As a normal user, `lsof`
/// on macOS lists only our user's processes, so another user's socket is simply absent:
/// [`Reason::PeerMissing`], refused. `lsof` walks every process and takes tens to
/// hundreds of milliseconds, so call this from `spawn_blocking` there.
pub fn peer_is_same_user(local: SocketAddr, peer: SocketAddr) -> PeerCheck {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        procfs::check(local, peer)
    }
    #[cfg(target_os = "macos")]
    {
        lsof::check("/usr/sbin/lsof", local, peer)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
    {
        let _ = (local, peer);
        PeerCheck::Unknown(Reason::Unsupported)
    }
}

/// The address with an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) turned into IPv4;
/// scope and flow info dropped. Both ends of a comparison go through this.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "macos", test))]
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// A decimal number: digits only, no sign, no overflow.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "macos", test))]
fn decimal<T: TryFrom<u64>>(digits: &[u8]) -> Option<T> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    T::try_from(n).ok()
}

#[cfg(any(target_os = "linux", target_os = "android", test))]
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
mod procfs {
    use super::{MAX_LINES, PeerCheck, Reason, canonical, decimal};
    use std::fs::File;
    use std::io::{self, BufRead, BufReader, Read};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

    pub(super) const TCP: &str = "/proc/self/net/tcp";
    pub(super) const TCP6: &str = "/proc/self/net/tcp6";
    /// Kernel lines are 150 (`tcp`) and 178 (`tcp6`) bytes; longer ones are skipped.
    const MAX_LINE_LEN: usize = 512;
    /// The kernel hands out about a page per `read`; a few pages per buffer fill.
    const BUFFER: usize = 16 * 1024;

    pub(super) fn check(local: SocketAddr, peer: SocketAddr) -> PeerCheck {
        match own_uid() {
            Some(own) => check_with(
                |path| File::open(path).map(|f| BufReader::with_capacity(BUFFER, f)),
                own,
                local,
                peer,
                MAX_LINES,
            ),
            None => PeerCheck::Unknown(Reason::Unreadable),
        }
    }

    /// Our effective uid, from `/proc/self/status` (`Uid: real effective saved fs`).
    /// Not the owner of `/proc/self`, which is root for a non-dumpable process.
    pub(super) fn own_uid() -> Option<u32> {
        let status = BufReader::new(File::open("/proc/self/status").ok()?.take(64 * 1024));
        for line in status.split(b'\n') {
            if let Some(ids) = line.ok()?.strip_prefix(b"Uid:") {
                return fields(ids).nth(1).and_then(decimal);
            }
        }
        None
    }

    /// What one pass over one table found.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) enum Scan {
        /// The peer's live socket, owned by this uid.
        Found(u32),
        /// Read to the end without finding it; `ours` if our own end was seen.
        Absent { ours: bool },
        /// More than the allowed number of lines.
        TooMany,
        /// A read error part-way: the table was not seen in full.
        Failed,
    }

    /// The lookup, with the tables' opener and our uid given (for tests).
    pub(super) fn check_with<R: BufRead>(
        open: impl Fn(&str) -> io::Result<R>,
        own: u32,
        local: SocketAddr,
        peer: SocketAddr,
        max_lines: usize,
    ) -> PeerCheck {
        let (local, peer) = (canonical(local), canonical(peer));
        let tables: &[&str] = if peer.is_ipv4() { &[TCP, TCP6] } else { &[TCP6] };
        let (mut ours, mut read_any) = (false, false);
        // A second pass before concluding anything from an absence: the kernel builds the
        // table a page at a time, and sockets closing meanwhile can make an entry slip past.
        for _ in 0..2 {
            for table in tables {
                let reader = match open(table) {
                    Ok(reader) => reader,
                    // No `tcp6` when IPv6 is disabled: then no socket can be in it.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(_) => return PeerCheck::Unknown(Reason::Unreadable),
                };
                match scan(reader, local, peer, max_lines) {
                    Scan::Found(uid) if uid == own => return PeerCheck::SameUser,
                    Scan::Found(uid) => return PeerCheck::OtherUser(uid),
                    Scan::Absent { ours: seen } => {
                        read_any = true;
                        ours |= seen;
                    }
                    Scan::TooMany => return PeerCheck::Unknown(Reason::TooManySockets),
                    Scan::Failed => return PeerCheck::Unknown(Reason::Unreadable),
                }
            }
            if !read_any {
                return PeerCheck::Unknown(Reason::Unreadable);
            }
        }
        PeerCheck::Unknown(if ours { Reason::PeerMissing } else { Reason::NotListed })
    }

    /// Read one table until the peer's socket (local address `peer`, remote `local`)
    /// turns up. Lines that do not parse are skipped.
    pub(super) fn scan<R: BufRead>(mut reader: R, local: SocketAddr, peer: SocketAddr, max_lines: usize) -> Scan {
        let mut line = Vec::with_capacity(MAX_LINE_LEN);
        let mut ours = false;
        let mut in_long_line = false;
        for _ in 0..=max_lines {
            line.clear();
            match reader.by_ref().take(MAX_LINE_LEN as u64).read_until(b'\n', &mut line) {
                Ok(0) => return Scan::Absent { ours },
                Ok(_) => {}
                Err(_) => return Scan::Failed,
            }
            // A line longer than MAX_LINE_LEN arrives in pieces: skip them all.
            let skip = in_long_line;
            in_long_line = line.len() == MAX_LINE_LEN && line.last() != Some(&b'\n');
            if skip || in_long_line {
                continue;
            }
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
            let mut f = fields(&line);
            let (Some(sl), Some(from), Some(to)) = (f.next(), f.next(), f.next()) else { continue };
            if sl.last() != Some(&b':') {
                continue; // the header
            }
            let Some(from) = endpoint(from) else { continue };
            if from != peer && from != local {
                continue;
            }
            let Some(to) = endpoint(to) else { continue };
            if from == local && to == peer {
                ours = true;
            }
            if from == peer && to == local {
                let mut f = f.skip(4);
                let (Some(uid), _, Some(inode)) = (f.next(), f.next(), f.next()) else { continue };
                let (Some(uid), Some(inode)) = (decimal::<u32>(uid), decimal::<u64>(inode)) else { continue };
                // Inode 0: no process holds the socket any more (closed, in FIN_WAIT or
                // TIME_WAIT, where the uid column reads 0): not the peer we serve.
                if inode != 0 {
                    return Scan::Found(uid);
                }
            }
        }
        Scan::TooMany
    }

    /// `0100007F:D431` (tcp) or `0000000000000000FFFF00000100007F:D431` (tcp6): the
    /// address as 32-bit words each printed in host byte order, the port as a number.
    pub(super) fn endpoint(text: &[u8]) -> Option<SocketAddr> {
        let colon = text.iter().position(|&b| b == b':')?;
        let (addr, port) = (&text[..colon], &text[colon + 1..]);
        if port.len() != 4 {
            return None;
        }
        let port = u16::try_from(hex_word(port)?).ok()?;
        let ip = match addr.len() {
            8 => IpAddr::V4(Ipv4Addr::from(hex_word(addr)?.to_ne_bytes())),
            32 => {
                let mut octets = [0u8; 16];
                for (chunk, word) in octets.chunks_exact_mut(4).zip(addr.chunks_exact(8)) {
                    chunk.copy_from_slice(&hex_word(word)?.to_ne_bytes());
                }
                IpAddr::V6(Ipv6Addr::from(octets))
            }
            _ => return None,
        };
        Some(canonical(SocketAddr::new(ip, port)))
    }

    /// Whitespace-separated fields of a line.
    pub(super) fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
        line.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty())
    }

    /// Up to 8 hex digits (either case); nothing else.
    fn hex_word(digits: &[u8]) -> Option<u32> {
        if digits.is_empty() || digits.len() > 8 {
            return None;
        }
        digits.iter().try_fold(0u32, |n, &d| Some((n << 4) | char::from(d).to_digit(16)?))
    }
}

#[cfg(any(target_os = "macos", test))]
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod lsof {
    use super::{PeerCheck, Reason, canonical, decimal};
    use std::net::SocketAddr;
    use std::process::{Command, Stdio};

    /// Run `program` (lsof) for sockets on the peer's port and read who owns which end.
    pub(super) fn check(program: &str, local: SocketAddr, peer: SocketAddr) -> PeerCheck {
        let output = Command::new(program)
            .args(["-n", "-P", "-w", &format!("-iTCP:{}", peer.port()), "-Fpun"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        match output {
            // The exit status is 1 when some selection matched nothing: read stdout anyway.
            Ok(output) => interpret(&output.stdout, local, peer, std::process::id()),
            Err(_) => PeerCheck::Unknown(Reason::Unreadable),
        }
    }

    /// `lsof -F` output: a `p<pid>` line starts a process, `u<uid>` is its user, each
    /// `n<local>-><remote>` one of its sockets; other fields are ignored.
    pub(super) fn interpret(output: &[u8], local: SocketAddr, peer: SocketAddr, own_pid: u32) -> PeerCheck {
        let (local, peer) = (canonical(local), canonical(peer));
        let (mut pid, mut uid) = (None, None);
        let (mut own_uid, mut peer_uid) = (None, None);
        for line in output.split(|&b| b == b'\n') {
            let Some((&tag, value)) = line.split_first() else { continue };
            match tag {
                b'p' => (pid, uid) = (decimal::<u32>(value), None),
                b'u' => uid = decimal::<u32>(value),
                b'n' => match connection(value) {
                    Some((from, to)) if from == local && to == peer && pid == Some(own_pid) => {
                        own_uid = own_uid.or(uid);
                    }
                    Some((from, to)) if from == peer && to == local => peer_uid = peer_uid.or(uid),
                    _ => {}
                },
                _ => {}
            }
        }
        match (own_uid, peer_uid) {
            (None, _) => PeerCheck::Unknown(Reason::NotListed),
            (Some(own), Some(uid)) if uid == own => PeerCheck::SameUser,
            (Some(_), Some(uid)) => PeerCheck::OtherUser(uid),
            (Some(_), None) => PeerCheck::Unknown(Reason::PeerMissing),
        }
    }

    /// `127.0.0.1:52000->127.0.0.1:13579` or `[::1]:52000->[::1]:13579`.
    fn connection(name: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
        let (from, to) = std::str::from_utf8(name).ok()?.split_once("->")?;
        let to = to.split(' ').next()?;
        Some((canonical(from.parse().ok()?), canonical(to.parse().ok()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Cursor};
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};

    const UID: u32 = 1000;
    const OTHER: u32 = 1001;

    fn v4(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    fn v6(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv6Addr::LOCALHOST, port))
    }

    /// A connected pair: (server's local address, peer as accepted, client, server end).
    fn connect(listen: SocketAddr, to: SocketAddr) -> io::Result<(SocketAddr, SocketAddr, TcpStream, TcpStream)> {
        let listener = TcpListener::bind(listen)?;
        let to = SocketAddr::new(to.ip(), listener.local_addr()?.port());
        let client = TcpStream::connect(to)?;
        let (server, peer) = listener.accept()?;
        Ok((server.local_addr()?, peer, client, server))
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn ipv6_available() -> bool {
        TcpListener::bind(v6(0)).is_ok()
    }

    // --- the real thing, on this machine ---

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn own_connection_v4_is_same_user() {
        let (local, peer, _client, _server) = connect(v4(0), v4(0)).unwrap();
        assert_eq!(peer_is_same_user(local, peer), PeerCheck::SameUser);
        assert!(peer_is_same_user(local, peer).allows());
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn own_connection_v6_is_same_user() {
        if !ipv6_available() {
            eprintln!("skipped: no IPv6 loopback");
            return;
        }
        let (local, peer, _client, _server) = connect(v6(0), v6(0)).unwrap();
        assert_eq!(peer_is_same_user(local, peer), PeerCheck::SameUser);
    }

    /// An `AF_INET6` client reaching the IPv4 listener: listed in tcp6 as `::ffff:127.0.0.1`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn own_v4_mapped_connection_is_same_user() {
        if !ipv6_available() {
            eprintln!("skipped: no IPv6");
            return;
        }
        let mapped = SocketAddr::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(), 0);
        let (local, peer, _client, _server) = connect(v4(0), mapped).unwrap();
        assert!(peer.is_ipv4(), "the server sees {peer}");
        assert_eq!(peer_is_same_user(local, peer), PeerCheck::SameUser);
        // and it really was the tcp6 table that answered
        let tcp6 = std::fs::File::open(procfs::TCP6).map(io::BufReader::new).unwrap();
        assert_eq!(procfs::scan(tcp6, local, peer, MAX_LINES), procfs::Scan::Found(procfs::own_uid().unwrap()));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn closed_peer_is_missing_and_refused() {
        let (local, peer, client, _server) = connect(v4(0), v4(0)).unwrap();
        drop(client);
        let check = peer_is_same_user(local, peer);
        assert_eq!(check, PeerCheck::Unknown(Reason::PeerMissing));
        assert!(!check.allows());
    }

    /// Linux `lsof` writes the same `-F` output as macOS's: the macOS code path, run here.
    #[test]
    fn lsof_sees_own_connection() {
        let (local, peer, _client, _server) = connect(v4(0), v4(0)).unwrap();
        match lsof::check("lsof", local, peer) {
            PeerCheck::Unknown(Reason::Unreadable) => eprintln!("skipped: no lsof"),
            check => assert_eq!(check, PeerCheck::SameUser),
        }
    }

    /// As root: a client run as `nobody` is another user, over IPv4, IPv6 and IPv4-mapped.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn other_user_as_root_end_to_end() {
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};
        if procfs::own_uid() != Some(0) {
            eprintln!("skipped: needs root to run a client as nobody");
            return;
        }
        let mut targets = vec![(v4(0), "127.0.0.1")];
        if ipv6_available() {
            targets.push((v6(0), "::1"));
            targets.push((v4(0), "::ffff:127.0.0.1"));
        }
        for (listen, host) in targets {
            let listener = TcpListener::bind(listen).unwrap();
            listener.set_nonblocking(true).unwrap();
            let port = listener.local_addr().unwrap().port();
            let script = format!("exec 3<>/dev/tcp/{host}/{port}; sleep 10");
            let spawned = Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c", &script])
                .stdin(Stdio::null())
                .spawn();
            let Ok(mut child) = spawned else {
                eprintln!("skipped: no setpriv");
                return;
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            let accepted = loop {
                match listener.accept() {
                    Ok(accepted) => break Some(accepted),
                    Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                    Err(_) => break None,
                }
            };
            let result = accepted.map(|(server, peer)| {
                let local = server.local_addr().unwrap();
                (peer_is_same_user(local, peer), lsof::check("lsof", local, peer))
            });
            let _ = child.kill();
            let _ = child.wait();
            let (check, by_lsof) = result.unwrap_or_else(|| panic!("the client for {host} never connected"));
            assert_eq!(check, PeerCheck::OtherUser(65534), "{host}");
            assert!(!check.allows());
            if by_lsof != PeerCheck::Unknown(Reason::Unreadable) {
                assert_eq!(by_lsof, PeerCheck::OtherUser(65534), "lsof, {host}");
            }
        }
    }

    /// Cost per call with 1000 open sockets (500 connections) besides the machine's own:
    /// `cargo test --lib platform::peer -- --ignored --nocapture`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    #[ignore = "measurement"]
    fn cost_with_1000_sockets() {
        use std::time::Instant;
        let listener = TcpListener::bind(v4(0)).unwrap();
        let to = listener.local_addr().unwrap();
        let mut pairs = Vec::new();
        for _ in 0..500 {
            let client = TcpStream::connect(to).unwrap();
            let (server, peer) = listener.accept().unwrap();
            pairs.push((server.local_addr().unwrap(), peer, client, server));
        }
        let lines = |path| std::fs::read_to_string(path).map(|s| s.lines().count()).unwrap_or(0);
        eprintln!("tcp: {} lines, tcp6: {} lines", lines(procfs::TCP), lines(procfs::TCP6));

        let start = Instant::now();
        for _ in 0..1000 {
            assert!(procfs::own_uid().is_some());
        }
        eprintln!("own uid: {:?} per call", start.elapsed() / 1000);

        let start = Instant::now();
        for (local, peer, _, _) in &pairs {
            assert_eq!(peer_is_same_user(*local, *peer), PeerCheck::SameUser);
        }
        eprintln!("found (each of 500 connections once): {:?} per call", start.elapsed() / 500);

        // Worst case: a peer that is gone means both tables read in full, twice.
        let (local, peer, client, _server) = pairs.pop().unwrap();
        drop(client);
        let start = Instant::now();
        for _ in 0..100 {
            assert_eq!(peer_is_same_user(local, peer), PeerCheck::Unknown(Reason::PeerMissing));
        }
        eprintln!("peer missing (full scans): {:?} per call", start.elapsed() / 100);

        // Our share: the same scan over an in-memory copy of the table.
        let table = std::fs::read(procfs::TCP).unwrap();
        let start = Instant::now();
        for _ in 0..100 {
            let _ = procfs::scan(Cursor::new(&table[..]), local, peer, MAX_LINES);
        }
        eprintln!("parsing {} bytes in memory: {:?} per scan", table.len(), start.elapsed() / 100);
        let start = Instant::now();
        for _ in 0..20 {
            let _ = std::fs::read(procfs::TCP6).unwrap();
        }
        eprintln!("reading tcp6 (a few lines; the kernel still walks the hash table): {:?}", start.elapsed() / 20);
    }

    // --- fixtures: /proc/net/tcp and tcp6 as an x86 kernel writes them ---

    const TCP_HEADER: &str =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    const TCP6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    /// Port 13579 = 0x350B; 52000 = 0xCB20.
    const TCP_FIXTURE: &str = concat!(
        "   0: 0100007F:350B 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 29175 1 00000000954c9df9 100 0 0 10 0\n",
        "   1: 0100007F:350B 0100007F:CB20 01 00000000:00000000 00:00000000 00000000  1000        0 29177 1 0000000019481595 20 0 0 10 -1\n",
        "   2: 0100007F:CB20 0100007F:350B 01 00000000:00000000 00:00000000 00000000  1001        0 29176 2 00000000104298c4 20 0 0 10 -1\n",
    );

    /// `::1`, and an `AF_INET6` client on `::ffff:127.0.0.1` reaching the IPv4 listener.
    const TCP6_FIXTURE: &str = concat!(
        "   0: 00000000000000000000000001000000:350B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 29180 1 00000000954c9df9 100 0 0 10 0\n",
        "   1: 00000000000000000000000001000000:CB20 00000000000000000000000001000000:350B 01 00000000:00000000 00:00000000 00000000  1001        0 29181 2 00000000104298c4 20 0 0 10 -1\n",
        "   2: 00000000000000000000000001000000:350B 00000000000000000000000001000000:CB20 01 00000000:00000000 00:00000000 00000000  1000        0 29182 1 0000000019481595 20 0 0 10 -1\n",
        "   3: 0000000000000000FFFF00000100007F:CB21 0000000000000000FFFF00000100007F:350B 01 00000000:00000000 00:00000000 00000000  1001        0 29183 2 0000000050600b65 20 0 0 10 -1\n",
    );

    /// The lookup over in-memory tables; `None` for a table means it does not exist.
    fn lookup(tcp: Option<&str>, tcp6: Option<&str>, local: SocketAddr, peer: SocketAddr) -> PeerCheck {
        let open = |path: &str| {
            let text = if path == procfs::TCP { tcp } else { tcp6 };
            text.map(|t| Cursor::new(t.as_bytes().to_vec())).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        };
        procfs::check_with(open, UID, local, peer, MAX_LINES)
    }

    fn tcp() -> String {
        format!("{TCP_HEADER}{TCP_FIXTURE}")
    }

    fn tcp6() -> String {
        format!("{TCP6_HEADER}{TCP6_FIXTURE}")
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_other_user_v4() {
        let check = lookup(Some(&tcp()), Some(&tcp6()), v4(13579), v4(52000));
        assert_eq!(check, PeerCheck::OtherUser(OTHER));
        assert!(!check.allows());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_other_user_v6() {
        assert_eq!(lookup(Some(&tcp()), Some(&tcp6()), v6(13579), v6(52000)), PeerCheck::OtherUser(OTHER));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_other_user_v4_mapped_client() {
        // The server (IPv4 listener) sees 127.0.0.1:52001; the client is in tcp6.
        assert_eq!(lookup(Some(&tcp()), Some(&tcp6()), v4(13579), v4(52001)), PeerCheck::OtherUser(OTHER));
        // A dual-stack listener sees the mapped form on both ends: same answer.
        let mapped = |port| SocketAddr::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(), port);
        assert_eq!(lookup(Some(&tcp()), Some(&tcp6()), mapped(13579), mapped(52001)), PeerCheck::OtherUser(OTHER));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_same_user() {
        let tcp = tcp().replace("  1001  ", "  1000  ");
        assert_eq!(lookup(Some(&tcp), None, v4(13579), v4(52000)), PeerCheck::SameUser);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_endpoints() {
        assert_eq!(procfs::endpoint(b"0100007F:350B"), Some(v4(13579)));
        assert_eq!(procfs::endpoint(b"0100007f:350b"), Some(v4(13579)));
        assert_eq!(procfs::endpoint(b"00000000000000000000000001000000:CB20"), Some(v6(52000)));
        assert_eq!(procfs::endpoint(b"0000000000000000FFFF00000100007F:CB21"), Some(v4(52001)));
        let other: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(procfs::endpoint(b"B80D0120000000000000000001000000:01BB"), Some(other));
    }

    #[test]
    fn endpoint_round_trip() {
        // Whatever the host byte order: encode as the kernel does, decode back.
        let word = |bytes: &[u8]| format!("{:08X}", u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        let v4_addr: SocketAddr = "127.1.2.3:65535".parse().unwrap();
        let text = format!("{}:FFFF", word(&[127, 1, 2, 3]));
        assert_eq!(procfs::endpoint(text.as_bytes()), Some(v4_addr));
        let v6_addr: SocketAddr = "[2001:db8::5:6]:1".parse().unwrap();
        let SocketAddr::V6(a) = v6_addr else { unreachable!() };
        let text: String = a.ip().octets().chunks(4).map(word).collect::<String>() + ":0001";
        assert_eq!(procfs::endpoint(text.as_bytes()), Some(v6_addr));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_closed_peer_is_missing() {
        // The peer's entry in TIME_WAIT: uid 0, inode 0.
        let tcp = format!(
            "{TCP_HEADER}{}{}",
            "   1: 0100007F:350B 0100007F:CB20 08 00000000:00000000 00:00000000 00000000  1000        0 29177 1 0000000019481595 20 0 0 10 -1\n",
            "   2: 0100007F:CB20 0100007F:350B 06 00000000:00000000 03:00001770 00000000     0        0 0 3 00000000104298c4\n",
        );
        let check = lookup(Some(&tcp), Some(TCP6_HEADER), v4(13579), v4(52000));
        assert_eq!(check, PeerCheck::Unknown(Reason::PeerMissing));
        assert!(!check.allows());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_connection_not_listed_is_allowed() {
        let check = lookup(Some(&tcp()), Some(&tcp6()), v4(13579), v4(40000));
        assert_eq!(check, PeerCheck::Unknown(Reason::NotListed));
        assert!(check.allows());
        assert_eq!(lookup(Some(""), Some(""), v4(13579), v4(52000)), PeerCheck::Unknown(Reason::NotListed));
    }

    #[test]
    fn missing_tables_are_unreadable_and_allowed() {
        let check = lookup(None, None, v4(13579), v4(52000));
        assert_eq!(check, PeerCheck::Unknown(Reason::Unreadable));
        assert!(check.allows());
        let denied = |_: &str| -> io::Result<Cursor<Vec<u8>>> { Err(io::ErrorKind::PermissionDenied.into()) };
        let check = procfs::check_with(denied, UID, v4(13579), v4(52000), MAX_LINES);
        assert_eq!(check, PeerCheck::Unknown(Reason::Unreadable));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn too_many_lines_give_up_and_refuse() {
        let filler = "   9: 0100007F:1111 0100007F:2222 01 00000000:00000000 00:00000000 00000000  1000        0 1 1 0 20 0 0 10 -1\n";
        let tcp = format!("{TCP_HEADER}{}{TCP_FIXTURE}", filler.repeat(100));
        let open = |_: &str| io::Result::Ok(Cursor::new(tcp.as_bytes().to_vec()));
        let check = procfs::check_with(open, UID, v4(13579), v4(52000), 50);
        assert_eq!(check, PeerCheck::Unknown(Reason::TooManySockets));
        assert!(!check.allows());
        assert_eq!(procfs::check_with(open, UID, v4(13579), v4(52000), 200), PeerCheck::OtherUser(OTHER));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn overlong_and_malformed_lines_are_skipped() {
        let long = format!("   7: 0100007F:CB20 0100007F:350B 01 {}  1000  0 5\n", "0".repeat(5000));
        let garbage = "\0\u{1}\u{fffd}:::: 0100007F:CB20\n0100007F:CB20 0100007F:350B\n   3: 0100007F:CB20\n   4: 0100007F:CB20 0100007F:350B 01 x x x -5 0 77\n";
        let tcp = format!("{TCP_HEADER}{long}{garbage}{TCP_FIXTURE}");
        assert_eq!(lookup(Some(&tcp), None, v4(13579), v4(52000)), PeerCheck::OtherUser(OTHER));
    }

    /// Any content: truncations, byte flips, random bytes. Nothing panics.
    #[test]
    fn malformed_tables_never_panic() {
        let text = format!("{}{}", tcp(), tcp6());
        let bytes = text.as_bytes();
        let scan = |data: &[u8]| {
            for (local, peer) in [(v4(13579), v4(52000)), (v6(13579), v6(52000)), (v4(13579), v4(52001))] {
                let _ = procfs::scan(Cursor::new(data), local, peer, MAX_LINES);
                let _ = lsof::interpret(data, local, peer, 1);
            }
        };
        for cut in 0..bytes.len() {
            scan(&bytes[..cut]);
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut mutated = bytes.to_vec();
            for _ in 0..1 + next() % 8 {
                let at = (next() % mutated.len() as u64) as usize;
                mutated[at] = b"0123456789ABCDEFabcdef: \n\0\xff-+"[(next() % 29) as usize];
            }
            scan(&mutated);
        }
        for _ in 0..200 {
            let random: Vec<u8> = (0..next() % 2000).map(|_| next() as u8).collect();
            scan(&random);
        }
        assert!(decimal::<u32>(b"4294967296").is_none());
        assert!(decimal::<u64>(b"99999999999999999999").is_none());
        assert!(decimal::<u32>(b"+1").is_none());
        assert!(procfs::endpoint(b"+100007F:350B").is_none());
        assert!(procfs::endpoint(b"0100007F:350B:1").is_none());
    }

    // --- lsof -F output (macOS path) ---

    #[test]
    fn lsof_output() {
        let (local, peer) = (v4(13579), v4(52000));
        let ours = "p100\nu501\nf7\nn127.0.0.1:13579->127.0.0.1:52000\nn*:13579\n";
        let other = format!("{ours}p200\nu502\nf9\nn127.0.0.1:52000->127.0.0.1:13579\n");
        assert_eq!(lsof::interpret(other.as_bytes(), local, peer, 100), PeerCheck::OtherUser(502));
        let same = other.replace("u502", "u501");
        assert_eq!(lsof::interpret(same.as_bytes(), local, peer, 100), PeerCheck::SameUser);
        // Another user's process is not listed for a normal user on macOS.
        let check = lsof::interpret(ours.as_bytes(), local, peer, 100);
        assert_eq!(check, PeerCheck::Unknown(Reason::PeerMissing));
        assert!(!check.allows());
        // Our own end not listed: lsof tells us nothing.
        assert_eq!(lsof::interpret(b"", local, peer, 100), PeerCheck::Unknown(Reason::NotListed));
        assert_eq!(lsof::interpret(ours.as_bytes(), local, peer, 999), PeerCheck::Unknown(Reason::NotListed));
        // IPv6 and the mapped form.
        let v6_out = "p100\nu501\nn[::1]:13579->[::1]:52000\np200\nu0\nn[::1]:52000->[::1]:13579\n";
        assert_eq!(lsof::interpret(v6_out.as_bytes(), v6(13579), v6(52000), 100), PeerCheck::OtherUser(0));
        let mapped = "p100\nu501\nn127.0.0.1:13579->127.0.0.1:52000\np200\nu501\nn[::ffff:127.0.0.1]:52000->[::ffff:127.0.0.1]:13579\n";
        assert_eq!(lsof::interpret(mapped.as_bytes(), local, peer, 100), PeerCheck::SameUser);
    }
}
