//! One qoltanba per user: a second start asks the running one to open its main window
//! (a Unix socket in the data directory, which is the user's own), and when the port
//! is held by another program, says which one, naming NCALayer when it is NCALayer.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The socket a running qoltanba listens on for "show".
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("qoltanba.sock")
}

/// Ask a running qoltanba of this user to open its window. `true` if one answered.
#[cfg(unix)]
pub fn ask_running_to_show(data_dir: &Path) -> bool {
    use std::io::{BufRead, BufReader, Write};
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket_path(data_dir)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    if stream.write_all(b"show\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).is_ok() && answer.trim() == "ok"
}

#[cfg(not(unix))]
pub fn ask_running_to_show(_data_dir: &Path) -> bool {
    false
}

/// Answer "show" requests from later starts by calling `show`, until the runtime ends.
#[cfg(unix)]
pub fn listen(data_dir: &Path, show: std::sync::Arc<dyn Fn() + Send + Sync>) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let path = socket_path(data_dir);
    // Nobody answered on it (checked before the port was bound): a stale file.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let show = std::sync::Arc::clone(&show);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let mut limited = BufReader::new(read.take(64));
                let read = limited.read_line(&mut line);
                if tokio::time::timeout(Duration::from_secs(3), read).await.is_ok() && line.trim() == "show" {
                    tokio::task::spawn_blocking(move || show());
                    let _ = write.write_all(b"ok\n").await;
                }
            });
        }
    });
    Ok(())
}

#[cfg(not(unix))]
pub fn listen(_data_dir: &Path, _show: std::sync::Arc<dyn Fn() + Send + Sync>) -> std::io::Result<()> {
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
            let name = words.first().map(|w| w.rsplit('/').next().unwrap_or(w).to_owned()).unwrap_or_default();
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
