//! Opening files a page names or the user picks, so that a page cannot use the daemon
//! to read, probe, freeze or leak the disk.
//!
//! Every file is opened once, without blocking and without becoming a controlling
//! terminal, and checked through the open handle: only regular files are read (device
//! files, FIFOs, sockets and directories are refused before they are read, so
//! `/dev/zero` or `/dev/ptmx` cannot fill memory or hang a thread), with a hard size
//! cap. Network paths (`\\host\share`, which on Windows would send the user's
//! credentials to that host) and relative paths are refused without touching the
//! file system. All of these give one [`Unavailable`] that does not say whether the
//! path exists.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The file cannot be used. Says nothing more on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// Is `path` something we may open at all: absolute, local, not a device namespace.
pub fn is_local_absolute(path: &Path) -> bool {
    let text = path.as_os_str().to_string_lossy();
    // `//host/share` and `\\host\share` are network paths on Windows (and `//` is
    // implementation-defined in POSIX); `\\?\`, `\\.\` reach devices.
    if text.starts_with("\\\\") || text.starts_with("//") || text.contains('\0') {
        return false;
    }
    // Kernel pseudo-files claim size 0 (or lie) and can stream for ever.
    #[cfg(unix)]
    if ["/proc/", "/sys/", "/dev/"].iter().any(|p| text.starts_with(p)) {
        return false;
    }
    #[cfg(windows)]
    {
        use std::path::{Component, Prefix};
        match path.components().next() {
            Some(Component::Prefix(p)) if matches!(p.kind(), Prefix::Disk(_)) => {}
            _ => return false,
        }
    }
    path.is_absolute()
}

/// Open `path` for reading if it is a regular local file; returns it with its size.
pub fn open_regular(path: &Path) -> Result<(File, u64), Unavailable> {
    if !is_local_absolute(path) {
        return Err(Unavailable);
    }
    // Refuse special files before opening them: opening a device can have effects.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        _ => return Err(Unavailable),
    }
    let file = open_nonblocking(path).map_err(|_| Unavailable)?;
    // The path may have changed between the check and the open: decide on the handle.
    let meta = file.metadata().map_err(|_| Unavailable)?;
    if !meta.is_file() {
        return Err(Unavailable);
    }
    Ok((file, meta.len()))
}

/// Stream exactly the `size` bytes the open handle reported into `sink`; a file that
/// turns out longer (or shorter) than it said is refused.
pub fn stream_exact(file: File, size: u64, mut sink: impl FnMut(&[u8])) -> Result<(), Unavailable> {
    let mut reader = file.take(size.saturating_add(1));
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|_| Unavailable)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > size {
            return Err(Unavailable);
        }
        sink(&buf[..n]);
    }
    if total == size { Ok(()) } else { Err(Unavailable) }
}

/// Read a whole regular file of at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, Unavailable> {
    let (file, size) = open_regular(path)?;
    if size > limit {
        return Err(Unavailable);
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // The size may grow after the check: never read past the limit.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|_| Unavailable)?;
    if bytes.len() as u64 > limit {
        return Err(Unavailable);
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: a FIFO swapped in after the check must not block the open;
    // O_NOCTTY: a terminal must not become ours.
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// The canonical form of a path the user picked in our own chooser.
pub fn canonical(path: &Path) -> PathBuf {
    if is_local_absolute(path) {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    } else {
        path.to_path_buf()
    }
}

/// A path a page wrote, normalized without touching the file system (`.`, `..`,
/// repeated separators), so a page cannot make us resolve it (an automounted network
/// path could hang or reach a server) yet cannot dodge per-file counts by spelling.
pub fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_local_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.p12");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_regular(&file, 10).unwrap(), b"0123456789");
        assert_eq!(read_regular(&file, 9), Err(Unavailable), "over the cap");
        assert_eq!(lexical(Path::new("/a/./b//../c.p12")), PathBuf::from("/a/c.p12"));
        for refused in [
            PathBuf::from("/proc/self/pagemap"),
            dir.path().to_path_buf(),
            dir.path().join("missing"),
            PathBuf::from("relative/k.p12"),
            PathBuf::from("\\\\host\\share\\k.p12"),
            PathBuf::from("//host/share/k.p12"),
        ] {
            assert_eq!(read_regular(&refused, 1 << 20), Err(Unavailable), "{refused:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_at_once() {
        for device in ["/dev/zero", "/dev/null", "/dev/ptmx", "/dev/stdin", "/dev/tty"] {
            let started = std::time::Instant::now();
            assert_eq!(read_regular(Path::new(device), 1 << 20), Err(Unavailable), "{device}");
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert_eq!(read_regular(&fifo, 1 << 20), Err(Unavailable));
    }
}
