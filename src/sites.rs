//! Which sites may use qoltanba: the person's answers per origin, kept in the data
//! directory (`sites.json`), and the back-off of sites that keep asking after being
//! turned away.
//!
//! The first request of an origin that would open a dialog asks the person (in the
//! trusted dialog) whether the site may use qoltanba: once, always, or never. "Always"
//! and "never" are written here; a denied site gets `canceled` without a dialog. The
//! file is read again whenever it changes, so `qoltanba sites allow|deny|forget` and
//! the tray act on a running daemon at once.
//!
//! "Once" lets the site's requests through for ten minutes (a page often asks for
//! the key's certificate, then for a signature), in memory only.
//!
//! Back-off: a site whose requests the person cancels five times in a row (or that
//! is denied) is not asked again for 10 s, then 20 s, 40 s … up to 10 min after each
//! further cancel; any approved request ends it. So a page cannot flood the person
//! with dialogs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The file in the data directory.
pub const FILE: &str = "sites.json";

/// At most this many sites are remembered (the oldest answers go first).
pub const MAX_SITES: usize = 1000;

/// Largest origin kept (longer ones are refused as malformed).
const MAX_ORIGIN: usize = 512;

/// Cancels in a row before the back-off starts.
const CANCELS_BEFORE_BACKOFF: u32 = 5;

/// The first back-off, and the longest.
const FIRST_BACKOFF_MS: i64 = 10_000;
const MAX_BACKOFF_MS: i64 = 600_000;

/// How long "once" lets a site's requests through without asking.
pub const ONCE_MS: i64 = 600_000;

/// A remembered answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Allow,
    Deny,
}

/// One remembered site.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Site {
    pub permission: Permission,
    /// When the answer was given, epoch ms.
    pub since_ms: i64,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Stored {
    sites: BTreeMap<String, Site>,
}

/// What a request from a site may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The person allowed the site for good.
    Allowed,
    /// Unknown site: ask the person.
    Ask,
    /// The person denied the site: `canceled` without a dialog.
    Denied,
    /// The site's requests were cancelled again and again: `canceled` without a
    /// dialog until the back-off ends.
    BackingOff,
}

#[derive(Default)]
struct Cache {
    /// The file as it was when read (see [`stamp`]).
    stamp: Option<Stamp>,
    stored: Stored,
}

/// What tells one version of the file from the next: its modification time, size and
/// (on Unix) inode. Every write replaces the file by a rename, so the inode changes
/// even when two writes fall in the same tick of the clock.
type Stamp = (SystemTime, u64, u64);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

#[derive(Default, Clone, Copy)]
struct Streak {
    cancels: u32,
    until_ms: i64,
    /// "Once": allowed without asking until then.
    allowed_until_ms: i64,
}

/// See the module documentation.
pub struct Sites {
    /// `None`: nothing is written (tests, one-shot commands).
    path: Option<PathBuf>,
    cache: Mutex<Cache>,
    streaks: Mutex<HashMap<String, Streak>>,
}

/// Why a site could not be changed.
#[derive(Debug)]
pub enum SitesError {
    /// Not an origin (`https://host[:port]`, or `null`).
    NotAnOrigin(String),
    Io(std::io::Error),
}

impl std::fmt::Display for SitesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAnOrigin(s) => write!(f, "not a site origin (scheme://host[:port]): {s:?}"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SitesError {}

/// The key an origin is remembered by: as browsers send it, lower case, without a
/// trailing slash; `None` when it is not an origin (a path, spaces, user info…).
/// A request without an `Origin` header is remembered as `""`.
pub fn normalize(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    if origin == "null" {
        return Some(origin);
    }
    // Browsers send ASCII (punycode) origins: `https://сайт.kz` would never match.
    if origin.len() > MAX_ORIGIN
        || !origin.is_ascii()
        || origin.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        return None;
    }
    let (scheme, rest) = origin.split_once("://")?;
    let scheme_ok = !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let rest_ok = !rest.is_empty() && !rest.contains(['/', '?', '#', '@', '\\']);
    (scheme_ok && rest_ok).then_some(origin)
}

/// Does `origin` stand for any page rather than one site: none, not an origin, or
/// `null` (sandboxed frames, `file:` pages)? Nothing is remembered for such origins.
pub fn is_anonymous(origin: Option<&str>) -> bool {
    origin.and_then(normalize).is_none_or(|o| o == "null")
}

/// The origin of a request as remembered: normalized, `""` when absent, and an origin
/// header that is not an origin as itself (never equal to a real one).
fn key_of(origin: Option<&str>) -> String {
    match origin {
        None => String::new(),
        Some(o) => {
            normalize(o).unwrap_or_else(|| format!("invalid:{}", o.chars().take(MAX_ORIGIN).collect::<String>()))
        }
    }
}

impl Sites {
    /// The sites of the data directory `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self { path: Some(dir.join(FILE)), cache: Mutex::default(), streaks: Mutex::default() }
    }

    /// Answers kept in memory only.
    pub fn in_memory() -> Self {
        Self { path: None, cache: Mutex::default(), streaks: Mutex::default() }
    }

    /// The stored answers, read again if the file changed.
    fn current(&self) -> std::sync::MutexGuard<'_, Cache> {
        let mut cache = crate::platform::lock(&self.cache);
        if let Some(path) = &self.path {
            let now = stamp(path);
            if now != cache.stamp || now.is_none() {
                // Without the lock a damaged file is only taken as empty (the next change
                // moves it aside), and so is one that cannot be read.
                cache.stored = match read(path) {
                    Read::Stored(stored) => stored,
                    Read::Missing | Read::Damaged(_) | Read::Unreadable(_) => Stored::default(),
                };
                cache.stamp = trusted(now);
            }
        }
        cache
    }

    /// Hold the sites file for a change: read, changed and written under an exclusive
    /// lock of `sites.lock` beside it, so that `qoltanba sites` and the daemon (or two
    /// of anything) never write over each other's answers. Reading needs no lock: the
    /// file is only ever replaced whole.
    fn for_change(&self) -> Result<(Option<std::fs::File>, std::sync::MutexGuard<'_, Cache>), SitesError> {
        let lock = match &self.path {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(SitesError::Io)?;
                }
                let file = crate::platform::private_file_options()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(path.with_extension("lock"))
                    .map_err(SitesError::Io)?;
                lock_within(&file, LOCK_WAIT).map_err(SitesError::Io)?;
                Some(file)
            }
            None => None,
        };
        let mut cache = crate::platform::lock(&self.cache);
        // Whatever was written before the lock was ours counts, whatever its stamp.
        if let Some(path) = &self.path {
            cache.stored = match read(path) {
                Read::Stored(stored) => stored,
                Read::Missing => Stored::default(),
                Read::Damaged(error) => {
                    // Kept aside, not overwritten by this answer: the person may want it
                    // back. Only a holder of the lock moves it: nobody writes meanwhile.
                    let aside = path.with_extension(format!("json.damaged-{}", crate::platform::now_ms()));
                    tracing::warn!(path = %path.display(), %error, aside = %aside.display(), "the sites file is damaged: every site is asked again");
                    std::fs::rename(path, &aside).map_err(SitesError::Io)?;
                    Stored::default()
                }
                // Never written over with what little could be read (every answer,
                // the denials too, would be gone).
                Read::Unreadable(e) => return Err(SitesError::Io(e)),
            };
            cache.stamp = trusted(stamp(path));
        }
        Ok((lock, cache))
    }

    /// All remembered sites, by origin.
    pub fn list(&self) -> Vec<(String, Site)> {
        self.current().stored.sites.iter().map(|(o, s)| (o.clone(), s.clone())).collect()
    }

    /// The remembered answer for `origin`.
    pub fn get(&self, origin: Option<&str>) -> Option<Permission> {
        self.current().stored.sites.get(&key_of(origin)).map(|s| s.permission)
    }

    /// Remember `permission` for `origin` (an origin as a page's `Origin` header, or
    /// as the person typed it).
    pub fn set(&self, origin: Option<&str>, permission: Permission, now_ms: i64) -> Result<(), SitesError> {
        let key = match origin {
            Some(o) => normalize(o).ok_or_else(|| SitesError::NotAnOrigin(o.to_owned()))?,
            None => String::new(),
        };
        let (_lock, mut cache) = self.for_change()?;
        cache.stored.sites.insert(key.clone(), Site { permission, since_ms: now_ms });
        while cache.stored.sites.len() > MAX_SITES {
            let oldest = cache.stored.sites.iter().filter(|(o, _)| **o != key).min_by_key(|(_, s)| s.since_ms);
            let Some(oldest) = oldest.map(|(o, _)| o.clone()) else { break };
            cache.stored.sites.remove(&oldest);
        }
        self.save(&mut cache)?;
        if permission == Permission::Allow {
            crate::platform::lock(&self.streaks).remove(&key);
        }
        Ok(())
    }

    /// Forget `origin`'s answer (it is asked again); `false` if there was none. `None`:
    /// the answer for requests without an `Origin`.
    pub fn forget(&self, origin: Option<&str>) -> Result<bool, SitesError> {
        let key = match origin {
            Some(o) => normalize(o).ok_or_else(|| SitesError::NotAnOrigin(o.to_owned()))?,
            None => String::new(),
        };
        let (_lock, mut cache) = self.for_change()?;
        let removed = cache.stored.sites.remove(&key).is_some();
        if removed {
            self.save(&mut cache)?;
        }
        crate::platform::lock(&self.streaks).remove(&key);
        Ok(removed)
    }

    fn save(&self, cache: &mut Cache) -> Result<(), SitesError> {
        let Some(path) = &self.path else { return Ok(()) };
        let json = serde_json::to_vec_pretty(&cache.stored).map_err(|e| SitesError::Io(e.into()))?;
        crate::platform::write_private_file(path, &json).map_err(SitesError::Io)?;
        cache.stamp = trusted(stamp(path));
        Ok(())
    }

    /// What a request from `origin` may do at `now_ms`.
    pub fn admission(&self, origin: Option<&str>, now_ms: i64) -> Admission {
        let key = key_of(origin);
        let permission = self.current().stored.sites.get(&key).map(|s| s.permission);
        if permission == Some(Permission::Deny) {
            return Admission::Denied;
        }
        let streak = crate::platform::lock(&self.streaks).get(&key).copied().unwrap_or_default();
        if now_ms < streak.until_ms {
            return Admission::BackingOff;
        }
        if permission == Some(Permission::Allow) || now_ms < streak.allowed_until_ms {
            Admission::Allowed
        } else {
            Admission::Ask
        }
    }

    /// The person allowed `origin` once: its requests go through for [`ONCE_MS`].
    pub fn allow_for_now(&self, origin: Option<&str>, now_ms: i64) {
        let mut streaks = crate::platform::lock(&self.streaks);
        if streaks.len() >= MAX_SITES {
            streaks.retain(|_, s| s.until_ms > now_ms || s.allowed_until_ms > now_ms);
        }
        streaks.entry(key_of(origin)).or_default().allowed_until_ms = now_ms.saturating_add(ONCE_MS);
    }

    /// A request of `origin` that reached the person ended: `canceled` when they
    /// cancelled (or denied), else it went through.
    pub fn note_outcome(&self, origin: Option<&str>, canceled: bool, now_ms: i64) {
        let key = key_of(origin);
        let mut streaks = crate::platform::lock(&self.streaks);
        if !canceled {
            if let Some(streak) = streaks.get_mut(&key) {
                (streak.cancels, streak.until_ms) = (0, 0);
            }
            return;
        }
        // Bounded: forget the streaks of sites no longer backing off nor allowed.
        if streaks.len() >= MAX_SITES {
            streaks.retain(|_, s| s.until_ms > now_ms || s.allowed_until_ms > now_ms);
        }
        let streak = streaks.entry(key).or_default();
        streak.cancels = streak.cancels.saturating_add(1);
        if streak.cancels >= CANCELS_BEFORE_BACKOFF {
            let doublings = (streak.cancels - CANCELS_BEFORE_BACKOFF).min(10);
            let wait = (FIRST_BACKOFF_MS << doublings).min(MAX_BACKOFF_MS);
            streak.until_ms = now_ms.saturating_add(wait);
        }
    }
}

/// What reading the sites file found.
enum Read {
    Missing,
    Stored(Stored),
    /// Not the file's JSON: why.
    Damaged(serde_json::Error),
    /// It could not be read (too large, no permission, …).
    Unreadable(std::io::Error),
}

fn read(path: &Path) -> Read {
    match crate::platform::read_small_regular(path, 1 << 20, None) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(stored) => Read::Stored(stored),
            Err(e) => Read::Damaged(e),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Read::Missing,
        Err(e) => Read::Unreadable(e),
    }
}

/// How long a change waits for another one (`qoltanba sites`, another daemon) to end.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Take `file`'s exclusive lock, waiting at most `wait`: a holder that hangs (a command
/// stopped mid-change) must not stop the daemon's dialogs for good.
fn lock_within(file: &std::fs::File, wait: Duration) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "the sites file is being changed elsewhere",
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

/// A stamp taken within two seconds of the file's last change is not trusted: a second
/// write in the same tick, of the same size, on a reused inode, would look the same.
/// Such a file is read again next time.
fn trusted(stamp: Option<Stamp>) -> Option<Stamp> {
    stamp.filter(|&(modified, ..)| {
        SystemTime::now().duration_since(modified).is_ok_and(|age| age >= Duration::from_secs(2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_and_non_origins_refused() {
        assert_eq!(normalize("HTTPS://Sigex.KZ/").as_deref(), Some("https://sigex.kz"));
        assert_eq!(normalize("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(normalize("null").as_deref(), Some("null"));
        assert_eq!(normalize("https://сайт.kz"), None, "browsers send punycode");
        for bad in ["sigex.kz", "https://a.kz/path", "https://u@a.kz", "https://", "https://a .kz", "://a", ""] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    /// Two writers at once (the daemon and `qoltanba sites`, here two threads with
    /// instances of their own): every answer of both is kept.
    #[test]
    fn concurrent_writers_lose_no_answer() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            for writer in ["a", "b"] {
                let dir = dir.path();
                scope.spawn(move || {
                    let sites = Sites::in_dir(dir);
                    for i in 0..40 {
                        sites.set(Some(&format!("https://{writer}{i}.kz")), Permission::Allow, i).unwrap();
                        assert!(sites.get(Some(&format!("https://{writer}{i}.kz"))).is_some());
                    }
                    sites.forget(Some(&format!("https://{writer}0.kz"))).unwrap();
                });
            }
        });
        let listed = Sites::in_dir(dir.path()).list();
        assert_eq!(listed.len(), 78, "{:?}", listed.iter().map(|(o, _)| o).collect::<Vec<_>>());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("sites.lock")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn answers_are_kept_in_the_file_and_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Sites::in_dir(dir.path());
        let command = Sites::in_dir(dir.path());
        assert_eq!(daemon.admission(Some("https://a.kz"), 0), Admission::Ask);
        command.set(Some("https://A.kz"), Permission::Deny, 1).unwrap();
        assert_eq!(daemon.admission(Some("https://a.kz"), 2), Admission::Denied);
        // The same second: a changed file is noticed even if the timestamp did not move.
        std::thread::sleep(std::time::Duration::from_millis(20));
        command.set(Some("https://a.kz"), Permission::Allow, 3).unwrap();
        assert_eq!(daemon.admission(Some("https://a.kz"), 4), Admission::Allowed);
        assert!(command.forget(Some("https://a.kz")).unwrap());
        assert_eq!(daemon.admission(Some("https://a.kz"), 5), Admission::Ask);
        assert!(!command.forget(Some("https://a.kz")).unwrap());
        assert!(matches!(command.set(Some("a.kz"), Permission::Allow, 6), Err(SitesError::NotAnOrigin(_))));
        // A damaged file: every site is asked again; the next change keeps it aside.
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert_eq!(Sites::in_dir(dir.path()).admission(Some("https://a.kz"), 7), Admission::Ask);
        assert_eq!(std::fs::read(dir.path().join(FILE)).unwrap(), b"{not json", "a reader moves nothing");
        command.set(Some("https://b.kz"), Permission::Deny, 8).unwrap();
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.starts_with("sites.json.damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        assert_eq!(std::fs::read(dir.path().join(&aside[0])).unwrap(), b"{not json", "kept aside");
        assert_eq!(daemon.admission(Some("https://b.kz"), 9), Admission::Denied);
        // A file that cannot be read (here: too large) is never written over.
        let big = format!("{{\"sites\":{{}},\"pad\":\"{}\"}}", "x".repeat(2 << 20));
        std::fs::write(dir.path().join(FILE), &big).unwrap();
        assert!(matches!(command.set(Some("https://c.kz"), Permission::Allow, 10), Err(SitesError::Io(_))));
        assert_eq!(std::fs::read(dir.path().join(FILE)).unwrap(), big.as_bytes());
    }

    /// A change waits for another holder of the lock, but not for ever.
    #[test]
    fn a_change_gives_up_when_the_lock_is_held_too_long() {
        let dir = tempfile::tempdir().unwrap();
        let sites = Sites::in_dir(dir.path());
        sites.set(Some("https://a.kz"), Permission::Allow, 0).unwrap();
        let holder = std::fs::File::open(dir.path().join("sites.lock")).unwrap();
        holder.lock().unwrap();
        let start = std::time::Instant::now();
        let Err(SitesError::Io(e)) = sites.set(Some("https://b.kz"), Permission::Deny, 1) else {
            panic!("not refused")
        };
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        assert!(start.elapsed() >= LOCK_WAIT && start.elapsed() < LOCK_WAIT * 3, "{:?}", start.elapsed());
        assert_eq!(sites.get(Some("https://a.kz")), Some(Permission::Allow), "reading needs no lock");
        drop(holder);
        sites.set(Some("https://b.kz"), Permission::Deny, 2).unwrap();
    }

    #[test]
    fn repeated_cancels_back_off_and_an_approval_ends_it() {
        let sites = Sites::in_memory();
        let site = Some("https://spam.kz");
        for _ in 0..4 {
            sites.note_outcome(site, true, 0);
        }
        assert_eq!(sites.admission(site, 0), Admission::Ask, "four cancels are a person changing their mind");
        sites.note_outcome(site, true, 0);
        assert_eq!(sites.admission(site, 9_999), Admission::BackingOff);
        assert_eq!(sites.admission(site, 10_000), Admission::Ask);
        sites.note_outcome(site, true, 10_000);
        assert_eq!(sites.admission(site, 29_999), Admission::BackingOff, "doubles");
        assert_eq!(sites.admission(Some("https://other.kz"), 10_001), Admission::Ask, "per site");
        sites.note_outcome(site, false, 30_000);
        assert_eq!(sites.admission(site, 30_001), Admission::Ask);
        for _ in 0..40 {
            sites.note_outcome(site, true, 0);
        }
        assert_eq!(sites.admission(site, MAX_BACKOFF_MS - 1), Admission::BackingOff);
        assert_eq!(sites.admission(site, MAX_BACKOFF_MS), Admission::Ask, "never longer than the longest");
    }

    #[test]
    fn once_lets_a_site_through_for_a_while_in_memory_only() {
        let dir = tempfile::tempdir().unwrap();
        let sites = Sites::in_dir(dir.path());
        sites.allow_for_now(Some("https://a.kz"), 1_000);
        assert_eq!(sites.admission(Some("https://a.kz"), 1_000 + ONCE_MS - 1), Admission::Allowed);
        assert_eq!(sites.admission(Some("https://a.kz"), 1_000 + ONCE_MS), Admission::Ask);
        assert_eq!(sites.admission(Some("https://b.kz"), 1_000), Admission::Ask);
        assert!(!dir.path().join(FILE).exists());
        assert_eq!(Sites::in_dir(dir.path()).admission(Some("https://a.kz"), 1_001), Admission::Ask);
    }
}
