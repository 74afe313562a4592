//! The person's settings, changed from the tray or the main window and kept in
//! `settings.json` in the data directory: the language of qoltanba's own windows
//! (request dialogs speak the page's language) and offline mode. Command-line flags
//! win over them for the run they are given to.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::i18n::Locale;
use crate::platform::lock;

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The language of the tray, the main window and notifications; `None`: the
    /// desktop's (`LANG`).
    pub language: Option<Locale>,
    /// Never download (CA certificates, CRLs, OCSP).
    pub offline: bool,
    /// The timestamp authority for CAdES-T / XAdES-T; `None`: NCA RK's.
    pub tsa_url: Option<String>,
    /// The first start with a desktop asked whether browsers should trust qoltanba.
    pub trust_asked: bool,
}

/// Is `url` an address a timestamp authority can have (http or https, no spaces, not
/// absurdly long)?
pub fn valid_tsa_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    url.len() <= 2048
        && rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Settings {
    /// The language to use: the chosen one, else the desktop's.
    pub fn locale(&self) -> Locale {
        self.language.unwrap_or_else(Locale::from_environment)
    }
}

/// Settings shared by the app, saved on every change.
pub struct Store {
    file: Option<PathBuf>,
    current: Mutex<Settings>,
}

impl Store {
    /// The settings saved in `data_dir` (defaults when none or unreadable).
    pub fn load(data_dir: &Path) -> Self {
        let file = data_dir.join("settings.json");
        let current = std::fs::read(&file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        Self { file: Some(file), current: Mutex::new(current) }
    }

    /// Settings kept in memory only.
    pub fn in_memory(settings: Settings) -> Self {
        Self { file: None, current: Mutex::new(settings) }
    }

    pub fn get(&self) -> Settings {
        lock(&self.current).clone()
    }

    /// Change and save.
    pub fn update(&self, change: impl FnOnce(&mut Settings)) {
        let mut current = lock(&self.current);
        change(&mut current);
        if let (Some(file), Ok(text)) = (&self.file, serde_json::to_vec_pretty(&*current))
            && let Err(e) = crate::platform::write_public_file(file, &text)
        {
            tracing::warn!(error = %e, "settings not saved");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_restart_and_bad_files_give_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::load(dir.path());
        assert_eq!(store.get(), Settings::default());
        store.update(|s| {
            s.language = Some(Locale::Kk);
            s.offline = true;
        });
        let again = Store::load(dir.path());
        assert_eq!(
            again.get(),
            Settings { language: Some(Locale::Kk), offline: true, tsa_url: None, trust_asked: false }
        );
        assert_eq!(again.get().locale(), Locale::Kk);
        std::fs::write(dir.path().join("settings.json"), b"{not json").unwrap();
        assert_eq!(Store::load(dir.path()).get(), Settings::default());
    }

    #[test]
    fn only_http_addresses_are_timestamp_authorities() {
        assert!(valid_tsa_url("http://tsp.pki.gov.kz"));
        assert!(valid_tsa_url("https://tsa.example.kz:8443/tsp"));
        for bad in ["", "tsp.pki.gov.kz", "http://", "file:///etc/passwd", "http:///x", "http://a b", "http://a\n"] {
            assert!(!valid_tsa_url(bad), "{bad:?}");
        }
    }
}
