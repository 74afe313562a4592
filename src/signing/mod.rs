//! The signing core: the only path from a request to a private key.
//!
//! Every operation runs under one lock (one dialog at a time, whatever the number of
//! pages asking) and goes: choose a key file → password → pick a key that passes the
//! request's [`KeyFilter`] → (for signatures) the user's confirmation, showing the
//! requesting origin and what is signed → sign. [`SigningCore::sign_with`] is the only
//! way to reach a key's `sign`, so nothing can sign without the confirmation.
//!
//! All methods block (dialogs, key derivation, hashing): call them from a blocking
//! thread.

mod filter;
mod summary;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use filter::{KeyFilter, Purpose};
pub use summary::{summarize, summarize_digest};

use crate::keys::file::{load_key_bytes, needs_password, read_key_file};
use crate::keys::{KeyError, KeyFileError, KeyInfo, SigningKey};
use crate::trust::TrustStore;
use crate::ui::{
    Confirmation, DocumentSummary, FileRequest, KeyCandidate, KeyChoice, KeyRequest, PasswordRequest,
    PromptUnavailable, Prompter, RequestContext,
};

/// Password attempts before a wrong password is reported as an error.
const PASSWORD_ATTEMPTS: u32 = 3;

/// Why an operation did not produce a result.
#[derive(Debug)]
pub enum CoreError {
    /// The user cancelled (or no key could be selected and the user closed the dialog).
    Canceled,
    /// Nothing can ask the user.
    PrompterUnavailable(String),
    /// The chosen key file could not be opened.
    KeyFile(KeyFileError),
    /// The key could not sign.
    Key(KeyError),
    /// The request does not fit the chosen key (e.g. a digest of the wrong length).
    Invalid(String),
    /// Building the signature failed.
    Format(String),
    /// The timestamp authority could not give a timestamp.
    Timestamp(String),
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Canceled => f.write_str("canceled by the user"),
            Self::PrompterUnavailable(why) => f.write_str(why),
            Self::KeyFile(e) => e.fmt(f),
            Self::Key(e) => e.fmt(f),
            Self::Invalid(why) => f.write_str(why),
            Self::Format(why) => f.write_str(why),
            Self::Timestamp(why) => write!(f, "timestamp: {why}"),
        }
    }
}

impl std::error::Error for CoreError {}

impl From<PromptUnavailable> for CoreError {
    fn from(e: PromptUnavailable) -> Self {
        Self::PrompterUnavailable(e.0)
    }
}

impl From<KeyError> for CoreError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<crate::xmldsig::XmlDsigError> for CoreError {
    fn from(e: crate::xmldsig::XmlDsigError) -> Self {
        match e {
            crate::xmldsig::XmlDsigError::Key(k) => Self::Key(k),
            crate::xmldsig::XmlDsigError::Xml(x) => Self::Invalid(x.to_string()),
        }
    }
}

impl From<crate::cms::CmsError> for CoreError {
    fn from(e: crate::cms::CmsError) -> Self {
        match e {
            crate::cms::CmsError::Key(k) => Self::Key(k),
            crate::cms::CmsError::Timestamp(why) => Self::Timestamp(why),
            other => Self::Format(other.to_string()),
        }
    }
}

/// An operation as the dialogs name it.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub context: &'a RequestContext,
    /// e.g. `kz.gov.pki.knca.commonUtils.createCAdESFromBase64`.
    pub name: &'a str,
}

/// See the module documentation.
pub struct SigningCore {
    prompter: Arc<dyn Prompter>,
    trust: Arc<TrustStore>,
    dialog: Mutex<()>,
    /// Judge certificates at this time (epoch ms) instead of now.
    fixed_time: Option<i64>,
    /// Wrong passwords per key file named by pages: (count, first failure).
    guesses: Mutex<HashMap<PathBuf, (u32, std::time::Instant)>>,
    /// Documents the user picked in our file chooser during this run.
    chosen_files: Mutex<std::collections::HashSet<PathBuf>>,
}

/// Wrong passwords allowed per key file named by a page…
pub const GUESS_LIMIT: u32 = 5;
/// …within this window.
pub const GUESS_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Why a key file named by a page could not be opened.
#[derive(Debug)]
pub enum NamedKeyError {
    WrongPassword { attempts_left: u32 },
    Unreadable(KeyFileError),
}

impl SigningCore {
    pub fn new(prompter: Arc<dyn Prompter>, trust: Arc<TrustStore>) -> Self {
        Self {
            prompter,
            trust,
            dialog: Mutex::new(()),
            fixed_time: None,
            guesses: Mutex::new(HashMap::new()),
            chosen_files: Mutex::new(Default::default()),
        }
    }

    /// Judge certificate validity and revocation at `epoch_ms` instead of the current
    /// time (for reproducible tests and for checking what a key looked like then).
    pub fn with_check_time(mut self, epoch_ms: Option<i64>) -> Self {
        self.fixed_time = epoch_ms;
        self
    }

    fn now_ms(&self) -> i64 {
        self.fixed_time.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default()
        })
    }

    /// Open a key file a page named with a password it supplied (the legacy applet API).
    /// Wrong passwords are counted per file: after [`GUESS_LIMIT`] in
    /// [`GUESS_WINDOW`] the file is locked for the rest of the window, so a page cannot
    /// turn the daemon into an online password-guessing oracle.
    pub fn open_named_key_file(&self, path: &Path, password: &str) -> Result<Vec<Box<dyn SigningKey>>, NamedKeyError> {
        // Count per file, however the page spells its path.
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.guesses_left(&key) == 0 {
            return Err(NamedKeyError::WrongPassword { attempts_left: 0 });
        }
        match crate::keys::load_key_file(path, password) {
            Ok(keys) => {
                self.guesses.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                Ok(keys)
            }
            Err(e) if e.is_wrong_password() => {
                let mut guesses = self.guesses.lock().unwrap_or_else(|p| p.into_inner());
                let entry = guesses.entry(key.clone()).or_insert((0, std::time::Instant::now()));
                entry.0 += 1;
                drop(guesses);
                Err(NamedKeyError::WrongPassword { attempts_left: self.guesses_left(&key) })
            }
            Err(e) => Err(NamedKeyError::Unreadable(e)),
        }
    }

    fn guesses_left(&self, path: &Path) -> u32 {
        let mut guesses = self.guesses.lock().unwrap_or_else(|p| p.into_inner());
        match guesses.get(path) {
            Some((_, since)) if since.elapsed() > GUESS_WINDOW => {
                guesses.remove(path);
                GUESS_LIMIT
            }
            Some((n, _)) => GUESS_LIMIT.saturating_sub(*n),
            None => GUESS_LIMIT,
        }
    }

    /// Show `documents` for confirmation and on approval run `sign` with a key the
    /// request itself named (legacy API): the confirmation is never skipped.
    pub fn sign_with_key<T>(
        &self,
        op: Operation<'_>,
        key: &dyn SigningKey,
        documents: &[DocumentSummary],
        sign: impl FnOnce(&dyn SigningKey) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let _dialog = self.dialog.lock().unwrap_or_else(|p| p.into_inner());
        let signer = key.certificate().subject_dn();
        let confirmation = Confirmation { context: op.context, operation: op.name, signer: &signer, documents };
        if op.context.is_page_gone() || !self.prompter.confirm(&confirmation)? {
            return Err(CoreError::Canceled);
        }
        sign(key)
    }

    /// Let the user pick a document in our file chooser (`showFileChooser`); the file is
    /// remembered as chosen, so `…FromFile` may read it without asking again which file.
    pub fn choose_file(
        &self,
        context: &RequestContext,
        extension: &str,
        directory: &str,
    ) -> Result<PathBuf, CoreError> {
        let _dialog = self.dialog.lock().unwrap_or_else(|p| p.into_inner());
        let request = FileRequest { context, extension, directory };
        let path = self.prompter.choose_file(&request)?.ok_or(CoreError::Canceled)?;
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        self.chosen_files.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone());
        Ok(path)
    }

    /// Did the user pick `path` in our chooser during this run?
    pub fn was_chosen(&self, path: &Path) -> bool {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.chosen_files.lock().unwrap_or_else(|p| p.into_inner()).contains(&path)
    }

    /// Let the user choose a key and return its info (`getKeyInfo`).
    pub fn key_info(&self, op: Operation<'_>, filter: &KeyFilter) -> Result<KeyInfo, CoreError> {
        let _dialog = self.dialog.lock().unwrap_or_else(|p| p.into_inner());
        let key = self.choose_key(op, filter)?;
        Ok(KeyInfo::of(key.as_ref()))
    }

    /// Let the user choose a key, show `documents` for confirmation, and on approval
    /// run `sign` with the key.
    pub fn sign_with<T>(
        &self,
        op: Operation<'_>,
        filter: &KeyFilter,
        documents: &[DocumentSummary],
        sign: impl FnOnce(&dyn SigningKey) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let _dialog = self.dialog.lock().unwrap_or_else(|p| p.into_inner());
        let key = self.choose_key(op, filter)?;
        let signer = key.certificate().subject_dn();
        let confirmation = Confirmation { context: op.context, operation: op.name, signer: &signer, documents };
        if op.context.is_page_gone() || !self.prompter.confirm(&confirmation)? {
            return Err(CoreError::Canceled);
        }
        sign(key.as_ref())
    }

    fn choose_key(&self, op: Operation<'_>, filter: &KeyFilter) -> Result<Box<dyn SigningKey>, CoreError> {
        // Requests queued behind a dialog may outlive their page: ask nothing for those.
        if op.context.is_page_gone() {
            return Err(CoreError::Canceled);
        }
        let request = KeyRequest { context: op.context, operation: op.name };
        let path = match self.prompter.choose_key(&request)? {
            KeyChoice::File(path) => path,
            KeyChoice::Cancel => return Err(CoreError::Canceled),
        };
        let bytes = zeroize::Zeroizing::new(read_key_file(&path).map_err(CoreError::KeyFile)?);
        let mut keys = self.open_with_password(op.context, &path, &bytes)?;
        let now_ms = self.now_ms();
        let candidates: Vec<KeyCandidate> = keys
            .iter()
            .map(|k| {
                let cert = k.certificate();
                let trust = filter.trust.as_ref().map(|req| self.trust.assess(cert, req, now_ms)).unwrap_or_default();
                KeyCandidate {
                    label: cert.subject_dn(),
                    not_selectable: filter.check(cert).or(trust.refusal),
                    notes: trust.notes,
                }
            })
            .collect();
        match self.prompter.pick_key(op.context, &candidates)? {
            Some(i) if candidates.get(i).is_some_and(|c| c.not_selectable.is_none()) => Ok(keys.swap_remove(i)),
            _ => Err(CoreError::Canceled),
        }
    }

    fn open_with_password(
        &self,
        context: &RequestContext,
        path: &std::path::Path,
        bytes: &[u8],
    ) -> Result<Vec<Box<dyn SigningKey>>, CoreError> {
        if !needs_password(bytes) {
            return load_key_bytes(bytes, "").map_err(CoreError::KeyFile);
        }
        let mut attempt = 1;
        loop {
            let request = PasswordRequest { context, file: path, attempt };
            let password = self.prompter.password(&request)?.ok_or(CoreError::Canceled)?;
            match load_key_bytes(bytes, &password) {
                Err(e) if e.is_wrong_password() && attempt < PASSWORD_ATTEMPTS => attempt += 1,
                other => return other.map_err(CoreError::KeyFile),
            }
        }
    }
}
