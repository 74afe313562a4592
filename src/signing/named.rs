//! Key files a page names with a password it supplies (the legacy applet API).
//!
//! The page never learns anything about a path except whether the password opens a
//! key there: missing files, directories, devices, network paths and non-key files all
//! answer [`SigningError::KeyFileUnreadable`] (see [`super::files`]). Wrong passwords
//! are counted per file: after [`GUESS_LIMIT`] in [`GUESS_WINDOW`] the file is locked
//! for the rest of the window, so a page cannot turn the daemon into a password
//! oracle. Signatures still need the user's confirmation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::{
    Action, KeyListing, MAX_KEY_FILE, NamedKeyCall, NamedKeyFile, NamedSign, Outcome, Rejection, Signature,
    SigningCore, SigningError, files, key_file_error, summarize,
};
use crate::cms::{Content, sign_cades_bes};
use crate::compute;
use crate::keys::SigningKey;
use crate::keys::source::KeyPlace;
use crate::ui::RequestContext;

/// Wrong passwords allowed per key file named by a page…
pub const GUESS_LIMIT: u32 = 5;
/// …within this window.
pub const GUESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Files whose guesses are remembered at most (a page cannot grow the map forever).
const MAX_TRACKED_FILES: usize = 1024;

/// Wrong passwords per file: (count, first failure).
#[derive(Default)]
pub struct Guesses(Mutex<HashMap<PathBuf, (u32, Instant)>>);

impl Guesses {
    fn left(&self, path: &Path) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(path) {
            Some((_, since)) if since.elapsed() > GUESS_WINDOW => {
                map.remove(path);
                GUESS_LIMIT
            }
            Some((n, _)) => GUESS_LIMIT.saturating_sub(*n),
            None => GUESS_LIMIT,
        }
    }

    /// Take one guess before trying it, so parallel requests cannot all pass the
    /// check at once; `false` when none is left.
    fn reserve(&self, path: &Path) -> bool {
        if self.left(path) == 0 {
            return false;
        }
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED_FILES {
            map.retain(|_, (_, since)| since.elapsed() <= GUESS_WINDOW);
        }
        if map.len() >= MAX_TRACKED_FILES && !map.contains_key(path) {
            return false; // too many files guessed at: refuse rather than forget
        }
        let entry = map.entry(path.to_path_buf()).or_insert((0, Instant::now()));
        if entry.0 >= GUESS_LIMIT {
            return false;
        }
        entry.0 += 1;
        true
    }

    /// The reserved guess was right: forget the file's count.
    fn succeeded(&self, path: &Path) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(path);
    }

    /// The reserved guess did not count (the file could not be read at all).
    fn give_back(&self, path: &Path) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(path) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }
}

/// Carry out a legacy call on a named key file.
pub fn run(
    core: &SigningCore,
    context: &RequestContext,
    action: Action,
    request: NamedKeyFile,
) -> Result<Outcome, SigningError> {
    let NamedKeyFile { path, password, call } = request;
    let keys = open(core, Path::new(&path), &password)?;
    drop(password);
    let find = |alias: &str| -> Result<&dyn SigningKey, SigningError> {
        keys.iter()
            .find(|k| k.alias() == alias || (alias.is_empty() && keys.len() == 1))
            .map(|k| k.as_ref())
            .ok_or(SigningError::NoSuchAlias)
    };
    match call {
        NamedKeyCall::List(purpose) => {
            let listed: Vec<KeyListing> = keys
                .iter()
                .filter(|k| purpose.is_none_or(|p| p.allows(k.certificate())))
                .map(|k| KeyListing {
                    algorithm: k.algorithm(),
                    subject_cn: k.certificate().subject_cn(),
                    serial_hex: k.certificate().serial_hex(),
                    alias: k.alias().to_owned(),
                })
                .collect();
            if listed.is_empty() {
                return Err(SigningError::NoKeys);
            }
            Ok(Outcome::Keys(listed))
        }
        NamedKeyCall::Certificate { alias } => Ok(Outcome::Certificate(Box::new(find(&alias)?.certificate().clone()))),
        NamedKeyCall::Verify { alias, data, signature } => {
            let key = find(&alias)?;
            let spki = key.certificate().parsed().tbs_certificate().subject_public_key_info();
            let oid = key.algorithm().signature_oid();
            Ok(Outcome::Verified(compute::run_for(data.len(), || {
                crate::crypto::verify::verify(spki, &oid, &data, &signature).is_ok()
            })))
        }
        NamedKeyCall::Sign { alias, what } => {
            let key = find(&alias)?;
            let summary = match &what {
                NamedSign::Plain(data) | NamedSign::Cms { data, .. } => summarize(data),
                NamedSign::Xml { xml, tbs_xpath, parent_xpath } => {
                    compute::run_for(xml.len(), || crate::xmldsig::check(xml, tbs_xpath, parent_xpath))
                        .map_err(|e| SigningError::Rejected(Rejection::Xml(e)))?;
                    super::summary::summarize_xml(xml)
                }
            };
            let signer = core.describe(key.certificate());
            let documents = std::slice::from_ref(&summary);
            // A login-only key signs only a login challenge, here too.
            let login_only = signer.login_only();
            if login_only && !super::login::looks_like_login(action, documents) {
                tracing::info!("a login-only key named by the page was refused for a document");
                return Err(SigningError::Canceled);
            }
            let turn = core.screen(context)?;
            let foreign =
                if login_only { super::login::other_domain(context.origin.as_deref(), documents) } else { None };
            let confirmation = super::Confirmation {
                context,
                action,
                signer: &signer,
                notes: &[],
                documents,
                other_domain: foreign.as_deref(),
            };
            core.approve(core.open_dialog(context, action)?.as_mut(), &confirmation)?;
            drop(turn);
            let work = match &what {
                NamedSign::Plain(d) | NamedSign::Cms { data: d, .. } => d.len(),
                NamedSign::Xml { xml, .. } => xml.len(),
            };
            let signature = compute::run_for(work, || -> Result<Signature, SigningError> {
                Ok(match &what {
                    NamedSign::Plain(data) => Signature::Raw(key.sign(data)?),
                    NamedSign::Cms { data, attach } => Signature::Cms(sign_cades_bes(
                        key,
                        Content::Data { bytes: data, attach: *attach },
                        SystemTime::now(),
                    )?),
                    NamedSign::Xml { xml, tbs_xpath, parent_xpath } => Signature::Xml(crate::xmldsig::sign_xml(
                        key,
                        xml,
                        tbs_xpath,
                        parent_xpath,
                        crate::xmldsig::Layout::Santuario,
                    )?),
                })
            })?;
            let (certificate, place) = (Box::new(key.certificate().clone()), KeyPlace::File { path: path.to_owned() });
            Ok(Outcome::Signed { signatures: vec![signature], certificate, key: place })
        }
    }
}

/// Open a named key file: local regular files only, bounded, counted guesses.
fn open(core: &SigningCore, path: &Path, password: &str) -> Result<Vec<Box<dyn SigningKey>>, SigningError> {
    if !files::is_local_absolute(path) {
        return Err(SigningError::KeyFileUnreadable);
    }
    // Count per file, however the page spells its path (without resolving it).
    let id = files::lexical(path);
    if !core.guesses.reserve(&id) {
        return Err(SigningError::WrongPassword { attempts_left: Some(0) });
    }
    let bytes = match files::read_regular(path, MAX_KEY_FILE) {
        Ok(bytes) => zeroize::Zeroizing::new(bytes),
        Err(_) => {
            core.guesses.give_back(&id);
            return Err(SigningError::KeyFileUnreadable);
        }
    };
    match crate::keys::file::load_key_bytes(&bytes, password) {
        Ok(keys) => {
            core.guesses.succeeded(&id);
            Ok(keys)
        }
        Err(e) if e.is_wrong_password() => {
            Err(SigningError::WrongPassword { attempts_left: Some(core.guesses.left(&id)) })
        }
        Err(e) => {
            core.guesses.give_back(&id);
            Err(match key_file_error(e) {
                SigningError::UnsupportedKey => SigningError::UnsupportedKey,
                _ => SigningError::KeyFileUnreadable,
            })
        }
    }
}
