//! Key files the person chose before, by path only (never a password, never the
//! key), most recent first, in `recent-key-files` in the data directory.

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

    /// The remembered paths that still name a file.
    pub fn list(&self) -> Vec<PathBuf> {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.read().into_iter().filter(|p| p.is_file()).collect()
    }

    /// Put `path` first.
    pub fn remember(&self, path: &Path) {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut paths = self.read();
        paths.retain(|p| p != path);
        paths.insert(0, path.to_owned());
        paths.truncate(KEEP);
        let text: String = paths.iter().filter_map(|p| p.to_str()).map(|p| format!("{p}\n")).collect();
        if let Err(e) = crate::platform::write_public_file(&self.file, text.as_bytes()) {
            tracing::debug!(error = %e, "recent key files not saved");
        }
    }

    fn read(&self) -> Vec<PathBuf> {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.lines().filter(|l| !l.is_empty()).take(KEEP).map(PathBuf::from).collect()
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
    }
}
