//! NSS databases (Chromium/Chrome on Linux, Firefox everywhere), through NSS's own
//! `certutil`: the format of these databases is NSS's business, not ours.

use std::path::{Path, PathBuf};

use super::{Access, Change, OurCa, Problem, Scope, State, Store, StoreKind, pem_certificates, run};

const TOOL: &str = "certutil";
const PACKAGE: &str = "libnss3-tools";
/// Trusted to identify websites, nothing else (no e-mail, no code signing).
const WEBSITES_ONLY: &str = "C,,";
/// A store with more named entries than this is read only this far.
const MAX_ENTRIES: usize = 500;

/// Chromium-family browsers on Linux share `~/.pki/nssdb` (created here when missing, as
/// the browser itself would); snap and Flatpak packages have their own.
pub(super) fn chromium_stores(home: &Path) -> Vec<Store> {
    if !cfg!(target_os = "linux") {
        // Chromium uses the system's store on Windows and macOS.
        return Vec::new();
    }
    let mut stores = vec![nss_store(StoreKind::Chromium, "Chromium, Chrome".into(), home.join(".pki/nssdb"), true)];
    let sandboxed = [
        ("snap/chromium/current", "Chromium (snap)"),
        (".var/app/org.chromium.Chromium", "Chromium (Flatpak)"),
        (".var/app/com.google.Chrome", "Chrome (Flatpak)"),
        (".var/app/com.brave.Browser", "Brave (Flatpak)"),
        (".var/app/com.microsoft.Edge", "Edge (Flatpak)"),
    ];
    for (dir, label) in sandboxed {
        let db = home.join(dir).join(".pki/nssdb");
        if db.join("cert9.db").is_file() || home.join(dir).is_dir() {
            stores.push(nss_store(StoreKind::Chromium, label.into(), db, true));
        }
    }
    stores
}

/// Every Firefox profile (native, snap, Flatpak; Windows and macOS locations).
pub(super) fn firefox_stores(home: &Path) -> Vec<Store> {
    let roots = [
        (".mozilla/firefox", "Firefox"),
        ("snap/firefox/common/.mozilla/firefox", "Firefox (snap)"),
        (".var/app/org.mozilla.firefox/.mozilla/firefox", "Firefox (Flatpak)"),
        ("Library/Application Support/Firefox/Profiles", "Firefox"),
        ("AppData/Roaming/Mozilla/Firefox/Profiles", "Firefox"),
    ];
    let mut stores = Vec::new();
    for (root, browser) in roots {
        let Ok(entries) = std::fs::read_dir(home.join(root)) else { continue };
        let mut profiles: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        profiles.sort();
        for profile in profiles {
            let name = profile.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let label = format!("{browser}: {name}");
            if profile.join("cert9.db").is_file() {
                stores.push(nss_store(StoreKind::Firefox, label, profile, false));
            } else if profile.join("cert8.db").is_file() {
                let db = format!("dbm:{}", profile.display());
                stores.push(Store {
                    kind: StoreKind::Firefox,
                    label,
                    location: profile,
                    scope: Scope::User,
                    access: Access::Nss { db, create: false },
                });
            }
        }
    }
    stores
}

fn nss_store(kind: StoreKind, label: String, dir: PathBuf, create: bool) -> Store {
    let db = format!("sql:{}", dir.display());
    Store { kind, label, location: dir, scope: Scope::User, access: Access::Nss { db, create } }
}

/// One named entry of a database and its trust flags.
struct Entry {
    nickname: String,
    trust: String,
}

impl Entry {
    /// Trusted as a CA for TLS servers (the first of NSS's three trust fields).
    fn trusted_for_websites(&self) -> bool {
        self.trust.split(',').next().is_some_and(|ssl| ssl.contains('C'))
    }
}

/// A database that does not exist yet holds nothing.
pub(super) fn exists(db: &str) -> bool {
    let dir = db.split_once(':').map_or(db, |(_, dir)| dir);
    let dir = Path::new(dir);
    dir.join("cert9.db").is_file() || dir.join("cert8.db").is_file()
}

fn certutil(args: &[&str]) -> Result<String, Problem> {
    run(TOOL, PACKAGE, args)
}

/// The entries of a database: `certutil -L` prints a table of nickname and trust flags.
fn entries(db: &str) -> Result<Vec<Entry>, Problem> {
    let table = certutil(&["-L", "-d", db])?;
    Ok(table.lines().filter_map(parse_entry).take(MAX_ENTRIES).collect())
}

/// A row `NICKNAME    C,,` (nicknames may hold spaces; the flags never do).
fn parse_entry(line: &str) -> Option<Entry> {
    let line = line.trim_end();
    let (nickname, trust) = line.rsplit_once(char::is_whitespace)?;
    let fields: Vec<&str> = trust.split(',').collect();
    let flags = fields.len() == 3 && fields.iter().all(|f| f.chars().all(|c| c.is_ascii_alphabetic()));
    let nickname = nickname.trim();
    (flags && !nickname.is_empty()).then(|| Entry { nickname: nickname.to_owned(), trust: trust.to_owned() })
}

/// The certificates stored under one nickname.
fn certificates(db: &str, nickname: &str) -> Result<Vec<Vec<u8>>, Problem> {
    Ok(pem_certificates(certutil(&["-L", "-d", db, "-n", nickname, "-a"])?.as_bytes()))
}

/// What the database holds: whether the current CA is trusted, and the nicknames of
/// our other certificates.
fn survey(db: &str, ca: &OurCa) -> Result<(bool, Vec<String>), Problem> {
    let mut current = false;
    let mut stale = Vec::new();
    for entry in entries(db)? {
        // An entry certutil cannot find again by its own nickname is skipped, not fatal.
        for der in certificates(db, &entry.nickname).unwrap_or_default() {
            if der == ca.der {
                current |= entry.trusted_for_websites();
            } else if ca.is_ours(&der) && !stale.contains(&entry.nickname) {
                stale.push(entry.nickname.clone());
            }
        }
    }
    Ok((current, stale))
}

pub(super) fn state(db: &str, _create: bool, ca: &OurCa) -> Result<State, Problem> {
    if !exists(db) {
        return Ok(State::NotTrusted { stale: 0 });
    }
    let (current, stale) = survey(db, ca)?;
    Ok(if current { State::Trusted { stale: stale.len() } } else { State::NotTrusted { stale: stale.len() } })
}

pub(super) fn install(db: &str, create: bool, ca: &OurCa) -> Result<Change, Problem> {
    if !exists(db) {
        if !create {
            return Err(Problem::failed(format!("{db}: no certificate database")));
        }
        let dir = db.trim_start_matches("sql:");
        std::fs::create_dir_all(dir).map_err(|e| Problem::failed(format!("{dir}: {e}")))?;
        certutil(&["-N", "-d", db, "--empty-password"])?;
    }
    let (current, stale) = survey(db, ca)?;
    let mut removed = 0;
    for nickname in stale.iter().filter(|n| **n != ca.name) {
        removed += delete_ours(db, nickname, ca, false)?;
    }
    if current {
        return Ok(Change { added: false, removed });
    }
    // A same-named entry of ours holding an older certificate would be shadowed.
    removed += delete_ours(db, &ca.name, ca, true)?;
    let path = ca.path.to_string_lossy();
    certutil(&["-A", "-d", db, "-t", WEBSITES_ONLY, "-n", &ca.name, "-i", &path])?;
    Ok(Change { added: true, removed })
}

pub(super) fn remove(db: &str, _create: bool, ca: &OurCa) -> Result<Change, Problem> {
    if !exists(db) {
        return Ok(Change { added: false, removed: 0 });
    }
    let mut removed = 0;
    for entry in entries(db)? {
        removed += delete_ours(db, &entry.nickname, ca, true)?;
    }
    Ok(Change { added: false, removed })
}

/// Delete the certificates under `nickname` while every one of them is ours (`certutil
/// -D` takes one at a time); a nickname shared with somebody else's certificate is left
/// alone. `current`: the current CA counts as ours to delete.
fn delete_ours(db: &str, nickname: &str, ca: &OurCa, current: bool) -> Result<usize, Problem> {
    let mut removed = 0;
    for _ in 0..16 {
        let found = certificates(db, nickname).unwrap_or_default();
        let ours = |der: &Vec<u8>| ca.is_ours(der) && (current || *der != ca.der);
        if found.is_empty() || !found.iter().all(ours) {
            break;
        }
        certutil(&["-D", "-d", db, "-n", nickname])?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_certutil_is_read_with_spaces_in_nicknames() {
        let table = "\nCertificate Nickname                                         Trust Attributes\n\
                     \x20                                                            SSL,S/MIME,JAR/XPI\n\n\
                     qoltanba local CA 1a2b3c4d                                   C,,  \n\
                     Some Company Root                                            CT,C,C\n\
                     user cert                                                    u,u,u\n";
        let entries: Vec<Entry> = table.lines().filter_map(parse_entry).collect();
        let names: Vec<&str> = entries.iter().map(|e| e.nickname.as_str()).collect();
        assert_eq!(names, ["qoltanba local CA 1a2b3c4d", "Some Company Root", "user cert"]);
        assert!(entries[0].trusted_for_websites() && entries[1].trusted_for_websites());
        assert!(!entries[2].trusted_for_websites());
    }
}
