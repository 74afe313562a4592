//! Key files the person chose before, by path (never a password, never the key), most
//! recent first, in `recent-key-files` in the data directory; with the owner and expiry
//! of the certificate seen in each once it was opened, for expiry reminders
//! (`qoltanba doctor`). A line is `PATH` or `PATH<TAB>NOT_AFTER<TAB>OWNER`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How many paths are remembered.
const KEEP: usize = 5;

pub struct RecentFiles {
    file: PathBuf,
    lock: Mutex<()>,
}

impl RecentFiles {
    pub fn new(data_dir: &Path) -> Self {
        Self { file: data_dir.join("recent-key-files"), lock: Mutex::new(()) }
    }

    /// The data directory this list lives in.
    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    /// The remembered paths that still name a file.
    pub fn list(&self) -> Vec<PathBuf> {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.read().into_iter().map(|e| e.path).filter(|p| p.is_file()).collect()
    }

    /// Put `path` first.
    pub fn remember(&self, path: &Path) {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = self.read();
        let seen = entries.iter().position(|e| e.path == path).map(|i| entries.remove(i)).and_then(|e| e.seen);
        entries.insert(0, Entry { path: path.to_owned(), seen });
        self.write(entries);
    }

    /// The certificate found in `path` when it was opened: its owner and expiry.
    pub fn seen(&self, path: &Path, owner: &str, not_after: i64) {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = self.read();
        if let Some(entry) = entries.iter_mut().find(|e| e.path == path) {
            let owner = owner.chars().filter(|c| !c.is_control()).take(200).collect();
            entry.seen = Some(Seen { owner, not_after });
            self.write(entries);
        }
    }

    /// What was seen in `path` when it was last opened.
    pub fn certificate(&self, path: &Path) -> Option<Seen> {
        self.certificates().into_iter().find(|(p, _)| p == path).map(|(_, seen)| seen)
    }

    /// Every remembered file whose certificate was seen, with what was seen (one read).
    pub fn certificates(&self) -> Vec<(PathBuf, Seen)> {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.read().into_iter().filter_map(|e| Some((e.path, e.seen?))).collect()
    }

    fn write(&self, mut entries: Vec<Entry>) {
        entries.truncate(KEEP);
        let mut text = String::new();
        for entry in &entries {
            let Some(path) = entry.path.to_str().filter(|p| !p.contains(['\t', '\n'])) else { continue };
            match &entry.seen {
                Some(seen) => text.push_str(&format!("{path}\t{}\t{}\n", seen.not_after, seen.owner)),
                None => text.push_str(&format!("{path}\n")),
            }
        }
        if let Err(e) = crate::platform::write_public_file(&self.file, text.as_bytes()) {
            tracing::debug!(error = %e, "recent key files not saved");
        }
    }

    fn read(&self) -> Vec<Entry> {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.lines().filter(|l| !l.is_empty()).take(KEEP).map(Entry::parse).collect()
    }
}

/// A certificate seen in a key file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub owner: String,
    /// Unix seconds.
    pub not_after: i64,
}

struct Entry {
    path: PathBuf,
    seen: Option<Seen>,
}

impl Entry {
    fn parse(line: &str) -> Self {
        let mut fields = line.splitn(3, '\t');
        let path = PathBuf::from(fields.next().unwrap_or_default());
        let seen = match (fields.next().and_then(|t| t.parse().ok()), fields.next()) {
            (Some(not_after), Some(owner)) => Some(Seen { owner: owner.to_owned(), not_after }),
            _ => None,
        };
        Self { path, seen }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_comes_first_and_only_existing_files_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentFiles::new(dir.path());
        let files: Vec<PathBuf> = (0..7).map(|i| dir.path().join(format!("k{i}.p12"))).collect();
        for f in &files {
            std::fs::write(f, b"x").unwrap();
            recent.remember(f);
        }
        recent.remember(&files[3]);
        let listed = recent.list();
        assert_eq!(listed.len(), KEEP);
        assert_eq!(listed[0], files[3]);
        assert_eq!(listed[1], files[6]);
        std::fs::remove_file(&files[6]).unwrap();
        assert!(!recent.list().contains(&files[6]), "a file that is gone is not offered");
        recent.seen(&files[3], "ТЕСТОВ ТЕСТ", 1_800_000_000);
        recent.remember(&files[5]);
        recent.remember(&files[3]);
        let seen = recent.certificate(&files[3]).unwrap();
        assert_eq!((seen.owner.as_str(), seen.not_after), ("ТЕСТОВ ТЕСТ", 1_800_000_000), "kept across remember()");
        assert_eq!(recent.list()[0], files[3]);
        assert_eq!(recent.certificate(&files[5]), None);
    }
}
