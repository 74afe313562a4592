//! Operating-system specifics: where our files live and how they are protected.

pub mod autostart;
pub mod instance;
pub mod peer;
pub mod trust_store;

use std::io::Write;
use std::path::{Path, PathBuf};

/// The default data directory: the per-user configuration directory + `qoltanba`
/// (`~/.config/qoltanba` on Linux, `%APPDATA%\qoltanba` on Windows,
/// `~/Library/Application Support/qoltanba` on macOS).
pub fn default_data_dir() -> PathBuf {
    dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("qoltanba")
}

/// Create `dir` (and parents) readable only by the user where the OS supports it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// This program's path, also after an upgrade replaced it (Linux then says
/// `… (deleted)` for the old one; the new one is at the same path).
pub fn program_path() -> std::io::Result<PathBuf> {
    let path = std::env::current_exe()?;
    let text = path.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(original) => PathBuf::from(original),
        None => path,
    })
}

/// Read a small regular file without following a symbolic link at its name and without
/// blocking on a FIFO; `owner`: the user id it must belong to (a process with
/// administrator rights reading a user's file).
pub fn read_small_regular(path: &Path, limit: u64, owner: Option<u32>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    let refuse = |why: &str| Err(std::io::Error::other(format!("{}: {why}", path.display())));
    if !meta.is_file() {
        return refuse("not a regular file");
    }
    if meta.len() > limit {
        return refuse("too large");
    }
    #[cfg(unix)]
    if let Some(uid) = owner
        && std::os::unix::fs::MetadataExt::uid(&meta) != uid
    {
        return refuse("not owned by the user it is read for");
    }
    #[cfg(not(unix))]
    let _ = owner;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return refuse("too large");
    }
    Ok(bytes)
}

/// Options that create a file only its owner may read (mode 0600 on Unix, set before
/// any byte is written); the caller says how it is opened.
pub fn private_file_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Write a file that holds a secret: created with mode 0600 on Unix before any byte is
/// written, replaced atomically.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = staging_path(path);
    let mut file = private_file_options().write(true).create(true).truncate(true).open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Write a public file (certificates, signatures), replaced atomically: never seen
/// half-written; on failure the temporary file is removed.
pub fn write_public_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = staging_path(path);
    let written = std::fs::write(&tmp, contents).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Where a file is written before it is renamed to `path`: `<path>.tmp`, the whole name
/// kept (`a.pdf.cms` → `a.pdf.cms.tmp`), so it never stands for another file of the user.
fn staging_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    name.into()
}

/// The clock, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Lock `m`; a thread that panicked while holding it does not poison the daemon.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
