//! One qoltanba per user: a second start asks the running one to open its main window
//! (a Unix socket in the data directory, which is the user's own), or, when the running
//! one is an older version (after an upgrade), to quit so the new one takes over. When
//! the port is held by another program, says which one, naming NCALayer when it is
//! NCALayer.

use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::time::Duration;

/// The socket a running qoltanba listens on for "show".
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("qoltanba.sock")
}

/// What a running qoltanba answered when asked to show its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    /// None answered (or not one of ours).
    No,
    /// It opened its main window.
    WindowOpened,
    /// It runs, but without a display to open a window on.
    WithoutWindow,
}

/// Ask a running qoltanba of this user to open its window.
pub fn ask_running_to_show(data_dir: &Path) -> Running {
    match ask(data_dir, "show").as_deref().and_then(|a| a.split_whitespace().next()) {
        Some("ok") => Running::WindowOpened,
        Some("no-window") => Running::WithoutWindow,
        _ => Running::No,
    }
}

/// The version of the qoltanba of this user running now, if one answers.
pub fn running_version(data_dir: &Path) -> Option<String> {
    ask(data_dir, "version").filter(|v| !v.is_empty())
}

/// Ask the running qoltanba to quit (to be replaced by a newer one); whether it agreed.
pub fn ask_running_to_quit(data_dir: &Path) -> bool {
    ask(data_dir, "quit").as_deref() == Some("bye")
}

#[cfg(unix)]
/// The version this qoltanba tells a later start (`QOLTANBA_PRETEND_VERSION` lets the
/// tests play an older one).
fn our_version() -> String {
    std::env::var("QOLTANBA_PRETEND_VERSION").unwrap_or_else(|_| env!("CARGO_PKG_VERSION").to_owned())
}

/// Whether version `running` is older than `ours` (dotted numbers; anything unreadable
/// is not older: never replace what we do not understand).
pub fn is_older(running: &str, ours: &str) -> bool {
    let parse =
        |v: &str| -> Option<Vec<u64>> { v.split(['-', '+']).next()?.split('.').map(|n| n.parse().ok()).collect() };
    match (parse(running), parse(ours)) {
        (Some(running), Some(ours)) => running < ours,
        _ => false,
    }
}

/// One request line to the running qoltanba, one answer line back.
#[cfg(unix)]
fn ask(data_dir: &Path, request: &str) -> Option<String> {
    use std::io::{BufRead, BufReader, Write};
    let path = socket_path(data_dir);
    // Only a socket of our own user's: another user could plant one in a shared
    // data directory to keep us from starting.
    if !owned_by_us(&path) {
        return None;
    }
    let mut stream = std::os::unix::net::UnixStream::connect(&path).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    stream.write_all(format!("{request}\n").as_bytes()).ok()?;
    let mut answer = String::new();
    BufReader::new(std::io::Read::take(stream, 64)).read_line(&mut answer).ok()?;
    Some(answer.trim().to_owned())
}

#[cfg(not(unix))]
fn ask(_data_dir: &Path, _request: &str) -> Option<String> {
    None
}

/// Is `path` owned by this process's user? (Linux; elsewhere assumed: the data
/// directory is the user's own.)
#[cfg(unix)]
fn owned_by_us(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(file) = std::fs::symlink_metadata(path) else { return false };
    match std::fs::metadata("/proc/self") {
        Ok(me) => file.uid() == me.uid(),
        Err(_) => true,
    }
}

/// What a later start may ask of the running one.
pub struct Door {
    /// Open the main window; says whether a window could open.
    pub show: std::sync::Arc<dyn Fn() -> bool + Send + Sync>,
    /// Shut down: a newer version takes over.
    pub quit: std::sync::Arc<dyn Fn() + Send + Sync>,
}

/// Answer later starts of the same user (`show`, `version`, `quit`) until the runtime
/// ends.
#[cfg(unix)]
pub fn listen(data_dir: &Path, door: Door) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let path = socket_path(data_dir);
    // Nobody answered on it (checked before the port was bound): a stale file.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let owner = std::fs::metadata(&path).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).ok();
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "second-start socket");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Only the same user (the socket is 0600; this also holds on systems
            // that do not check socket file permissions).
            if stream.peer_cred().ok().map(|c| c.uid()) != owner {
                continue;
            }
            let (show, quit) = (std::sync::Arc::clone(&door.show), std::sync::Arc::clone(&door.quit));
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let mut limited = BufReader::new(read.take(64));
                let read = limited.read_line(&mut line);
                if tokio::time::timeout(Duration::from_secs(3), read).await.is_err() {
                    return;
                }
                let version = our_version();
                let answer = match line.trim() {
                    "show" => {
                        let opened = tokio::task::spawn_blocking(move || show()).await.unwrap_or(false);
                        format!("{} {version}", if opened { "ok" } else { "no-window" })
                    }
                    "version" => version,
                    "quit" => "bye".to_owned(),
                    _ => return,
                };
                let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
                if line.trim() == "quit" {
                    tracing::info!("a newer qoltanba takes over");
                    quit();
                }
            });
        }
    });
    Ok(())
}

#[cfg(not(unix))]
pub fn listen(_data_dir: &Path, _door: Door) -> std::io::Result<()> {
    Ok(())
}

/// Who listens on a loopback TCP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortHolder {
    /// NCALayer (a Java program whose command line names it).
    NcaLayer { pid: u32 },
    /// Another program, by its name.
    Program { pid: u32, name: String },
    /// Not known (another user's program, or no way to tell on this system).
    Unknown,
}

/// Find the program listening on `port` (Linux: `/proc`).
pub fn port_holder(port: u16) -> PortHolder {
    #[cfg(target_os = "linux")]
    {
        linux::holder(port).unwrap_or(PortHolder::Unknown)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = port;
        PortHolder::Unknown
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::PortHolder;

    /// Socket inodes listening on `port`, from `/proc/net/tcp` and `tcp6`.
    fn listening_inodes(port: u16) -> Vec<String> {
        let mut inodes = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(text) = std::fs::read_to_string(table) else { continue };
            for line in text.lines().skip(1) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else {
                    continue;
                };
                let local_port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
                if local_port == Some(port) && *state == "0A" {
                    inodes.push(inode.to_string());
                }
            }
        }
        inodes
    }

    pub fn holder(port: u16) -> Option<PortHolder> {
        let inodes = listening_inodes(port);
        if inodes.is_empty() {
            return None;
        }
        let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
            let holds = fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
            });
            if !holds {
                continue;
            }
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let words: Vec<String> =
                cmdline.split(|b| *b == 0).map(|w| String::from_utf8_lossy(w).into_owned()).collect();
            if words.iter().any(|w| w.to_lowercase().contains("ncalayer")) {
                return Some(PortHolder::NcaLayer { pid });
            }
            let name = words.first().map(|w| w.rsplit('/').next().unwrap_or(w)).unwrap_or_default();
            let name = crate::ui::sanitize::shown(name);
            return Some(PortHolder::Program { pid, name });
        }
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_program_holding_a_port_is_found_and_ncalayer_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        match port_holder(port) {
            PortHolder::Program { pid, .. } => assert_eq!(pid, std::process::id()),
            other => panic!("{other:?}"),
        }
        drop(listener);
        assert_eq!(port_holder(port), PortHolder::Unknown);
    }
}
