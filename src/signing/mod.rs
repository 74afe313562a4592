//! The signing core: the only path from a request to a private key.
//!
//! [`SigningCore::execute`] takes a typed [`Request`] (who asks, in which language,
//! and an [`Operation`]) and returns a typed [`Outcome`] or [`SigningError`]. It owns
//! every policy decision: which files may be read ([`files`]), what the user is shown
//! (`summary.rs`; what is shown is built from exactly what is signed), whose turn it is
//! to talk to the user ([`turns`]), and when the network is used (trust checks and
//! timestamps happen while the flow is off the screen).
//!
//! Sites: a request that would open a dialog comes through only if the person allowed
//! its site (asked first, in the same dialog, for a site not met before); a denied or
//! backing-off site gets `Canceled` without a dialog ([`crate::sites`]).
//!
//! A signature always goes: the turn → choose a key file → password → (off screen:
//! trust checks) → pick a key that passes the request's [`KeyFilter`] → the user's
//! confirmation, naming the site and showing the documents → (off screen) sign →
//! timestamp. Nothing signs without the confirmation.
//!
//! All methods block (dialogs, key derivation, hashing): call them from a blocking
//! thread. Heavy steps run inside [`crate::compute::run_for`].

mod document;
pub mod files;
mod filter;
mod login;
mod named;
mod record;
mod request;
mod summary;
pub mod turns;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub use filter::{KeyFilter, Purpose};
pub use request::{
    Action, CmsInput, Document, DocumentWriter, Failure, KeyListing, NamedKeyCall, NamedKeyFile, NamedSign, Operation,
    Outcome, Rejection, Request, Signature, SigningError,
};
pub use summary::{summarize, summarize_digest};

use crate::activity::{Activity, Notice, Signed};
use crate::cms::tsp::{TsaConfig, add_timestamps};
use crate::cms::{Content, cosign, parse_signed_data, sign_cades_bes};
use crate::compute;
use crate::keys::pkcs11::token_key::TokenSource;
use crate::keys::source::{FileSource, KeyPlace, KeySource, OpenError, SourceKind};
use crate::keys::{KeyAlgorithm, KeyInfo, SigningKey};
use crate::sites::{Admission, Permission, Sites};
use crate::trust::{TrustNote, TrustStore};
use crate::ui::{
    Confirmation, Dialog, DocumentSummary, FileRequest, KeyCandidate, KeyChoice, KeyDescription, KeyRequest,
    PasswordRequest, Prompter, RequestContext, Shown, SiteAnswer, SiteRequest,
};
use turns::{NoTurn, Turn, Turns};

/// Password attempts in one dialog before a wrong password is reported as an error.
const PASSWORD_ATTEMPTS: u32 = 3;

/// Largest key file read (NCA files are a few kilobytes).
pub const MAX_KEY_FILE: u64 = crate::keys::pkcs12::MAX_FILE_SIZE as u64;

/// Largest file embedded in an attached CMS (the reply must fit a message).
pub const MAX_ATTACHED_FILE: u64 = 64 * 1024 * 1024;

/// See the module documentation.
pub struct SigningCore {
    prompter: Arc<dyn Prompter>,
    trust: Arc<TrustStore>,
    tsa: std::sync::RwLock<TsaConfig>,
    turns: Turns,
    /// Judge certificates at this time (epoch ms) instead of now.
    fixed_time: Option<i64>,
    /// Wrong passwords for key files named by pages.
    guesses: named::Guesses,
    /// Documents the user picked in our file chooser during this run, per origin.
    chosen_files: Mutex<HashSet<(String, PathBuf)>>,
    /// "Stop signing for now", and what the person hears of this run.
    activity: Arc<Activity>,
    /// PKCS#11 modules (each driven by its own helper process).
    tokens: Arc<crate::keys::pkcs11::client::Modules>,
    /// Where every signing request's outcome is recorded.
    journal: Option<Arc<crate::journal::Journal>>,
    /// Which sites the person allowed or denied.
    sites: Arc<Sites>,
    /// Key files used, with the certificate seen (for expiry reminders).
    recent: Option<Arc<crate::keys::recent::RecentFiles>>,
}

impl From<NoTurn> for SigningError {
    fn from(e: NoTurn) -> Self {
        match e {
            NoTurn::TooManyWaiting => Self::TooManyWaiting,
            NoTurn::PageGone => Self::Canceled,
        }
    }
}

/// A chosen key and what the person is shown of it, with the turn and the dialog
/// still held.
struct Chosen<'a> {
    key: Box<dyn SigningKey>,
    place: KeyPlace,
    /// The key file, when the key came from one.
    file: Option<PathBuf>,
    description: KeyDescription,
    notes: Vec<crate::trust::TrustNote>,
    turn: Turn<'a>,
    dialog: Box<dyn Dialog + 'a>,
}

impl SigningCore {
    pub fn new(prompter: Arc<dyn Prompter>, trust: Arc<TrustStore>, tsa: TsaConfig) -> Self {
        Self {
            prompter,
            trust,
            tsa: std::sync::RwLock::new(tsa),
            turns: Turns::default(),
            fixed_time: None,
            guesses: named::Guesses::default(),
            chosen_files: Mutex::new(HashSet::new()),
            activity: Arc::default(),
            tokens: Arc::new(crate::keys::pkcs11::client::Modules::new(Vec::new(), PathBuf::new())),
            journal: None,
            sites: Arc::new(Sites::in_memory()),
            recent: None,
        }
    }

    /// Record every signing request in `journal`.
    pub fn with_journal(mut self, journal: Arc<crate::journal::Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Remember the key files used and their certificates' expiry in `recent`.
    pub fn with_recent(mut self, recent: Arc<crate::keys::recent::RecentFiles>) -> Self {
        self.recent = Some(recent);
        self
    }

    /// Keep the person's answers about sites in `sites` (shared with the tray).
    pub fn with_sites(mut self, sites: Arc<Sites>) -> Self {
        self.sites = sites;
        self
    }

    /// Use these PKCS#11 modules for tokens.
    pub fn with_tokens(mut self, tokens: Arc<crate::keys::pkcs11::client::Modules>) -> Self {
        self.tokens = tokens;
        self
    }

    /// Obey and report to `activity` (shared with the tray and the main window).
    pub fn with_activity(mut self, activity: Arc<Activity>) -> Self {
        self.activity = activity;
        self
    }

    /// Judge certificate validity and revocation at `epoch_ms` instead of the current
    /// time (for reproducible tests and for checking what a key looked like then).
    pub fn with_check_time(mut self, epoch_ms: Option<i64>) -> Self {
        self.fixed_time = epoch_ms;
        self
    }

    fn now_ms(&self) -> i64 {
        self.fixed_time.unwrap_or_else(crate::platform::now_ms)
    }

    /// Carry out one request. See the module documentation.
    pub fn execute(&self, request: Request) -> Result<Outcome, SigningError> {
        let origin = request.context.origin.clone();
        let (locale, action) = (request.context.locale, request.operation.action());
        // Which tokens are plugged in is no signature: answered also while signing is
        // stopped, but a site the person denied learns nothing of them (none, to it).
        let denied = || matches!(self.sites.admission(origin.as_deref(), self.now_ms()), Admission::Denied);
        match &request.operation {
            Operation::ActiveTokens if denied() => return Ok(Outcome::ActiveTokens(Vec::new())),
            Operation::Slots { .. } if denied() => return Ok(Outcome::Slots(Vec::new())),
            Operation::ActiveTokens | Operation::Slots { .. } => return self.carry_out(request),
            _ => {}
        }
        if self.activity.is_paused() {
            self.activity.notice(Notice::RefusedWhilePaused { origin }, locale);
            return Err(SigningError::Paused);
        }
        // Requests that would ask the person: not for denied sites, nor while a site backs off.
        let asks = !matches!(request.operation, Operation::ApplyTimestamp { .. });
        if asks {
            match self.sites.admission(origin.as_deref(), crate::platform::now_ms()) {
                Admission::Denied | Admission::BackingOff => {
                    tracing::info!(origin = ?origin, "refused without a dialog: the site is denied or backing off");
                    return Err(SigningError::Canceled);
                }
                Admission::Allowed | Admission::Ask => {}
            }
        }
        let record = self.journal.as_ref().and_then(|journal| record::Pending::of(journal, &request));
        let page_gone = Arc::clone(&request.context.page_gone);
        let outcome = self.carry_out(request);
        if let Some(record) = record {
            record.finish(&outcome);
        }
        // The back-off counts the person's cancels and ends with what they approved;
        // errors a page causes on its own, and pages that left, count for nothing.
        let person = match &outcome {
            _ if page_gone.load(std::sync::atomic::Ordering::SeqCst) => None,
            Err(SigningError::Canceled) => Some(true),
            Ok(Outcome::Signed { .. } | Outcome::KeyInfo(_) | Outcome::ChosenFile(_)) => Some(false),
            _ => None,
        };
        if let (true, Some(canceled)) = (asks, person) {
            self.sites.note_outcome(origin.as_deref(), canceled, crate::platform::now_ms());
        }
        match &outcome {
            Ok(Outcome::Signed { signatures, certificate, .. }) => {
                let at_ms = crate::platform::now_ms();
                let signer = certificate.subject_cn();
                let signed = Signed { at_ms, origin, action, documents: signatures.len(), signer };
                self.activity.notice(Notice::Signed(signed), locale);
            }
            Err(SigningError::Timestamp(_)) => self.activity.notice(Notice::TimestampFailed { origin }, locale),
            _ => {}
        }
        outcome
    }

    fn carry_out(&self, request: Request) -> Result<Outcome, SigningError> {
        let Request { context, operation } = request;
        let action = operation.action();
        match operation {
            Operation::KeyInfo { filter } => {
                let chosen = self.choose_key(&context, action, &filter)?;
                Ok(Outcome::KeyInfo(Box::new(KeyInfo::of(chosen.key.as_ref()))))
            }
            Operation::Cms { filter, inputs, timestamp } => self.sign_cms(&context, action, &filter, inputs, timestamp),
            Operation::Xml { filter, documents, tbs_xpath, parent_xpath, layout, xades_timestamp } => {
                let bytes = documents.iter().map(String::len).sum();
                compute::run_for(bytes, || {
                    documents.iter().try_for_each(|x| crate::xmldsig::check(x, &tbs_xpath, &parent_xpath))
                })
                .map_err(|e| SigningError::Rejected(Rejection::Xml(e)))?;
                let summaries = documents.iter().map(|x| summary::summarize_xml(x)).collect::<Vec<_>>();
                if xades_timestamp {
                    if !(tbs_xpath.trim().is_empty() && parent_xpath.trim().is_empty()) {
                        let why = "XAdES signatures cover the whole document: no XPaths".to_owned();
                        return Err(SigningError::Rejected(Rejection::Xml(crate::xmldsig::XmlError(why))));
                    }
                    return self.sign_xades_t(&context, action, &filter, &documents, &summaries);
                }
                self.sign_flow(&context, action, &filter, bytes, &summaries, |key| {
                    compute::par_map(&documents, |xml| {
                        Ok(Signature::Xml(crate::xmldsig::sign_xml(key, xml, &tbs_xpath, &parent_xpath, layout)?))
                    })
                    .into_iter()
                    .collect()
                })
                .map(signed)
            }
            Operation::Raw { filter, documents } => {
                let bytes = documents.iter().map(Vec::len).sum();
                let summaries = documents.iter().map(|d| summarize(d)).collect::<Vec<_>>();
                self.sign_flow(&context, action, &filter, bytes, &summaries, |key| {
                    compute::par_map(&documents, |d| Ok(Signature::Raw(key.sign(d)?))).into_iter().collect()
                })
                .map(signed)
            }
            Operation::ApplyTimestamp { cms } => {
                compute::run_for(cms.len(), || parse_signed_data(&cms))
                    .map_err(|e| SigningError::Rejected(Rejection::Cms(e)))?;
                Ok(Outcome::Timestamped(add_timestamps(&cms, &self.tsa())?))
            }
            Operation::ChooseFile { extension, directory } => self.choose_file(&context, &extension, &directory),
            Operation::NamedKeyFile(named) => named::run(self, &context, action, named),
            Operation::ActiveTokens => Ok(Outcome::ActiveTokens(self.tokens.active_storages())),
            Operation::Slots { storage } => Ok(Outcome::Slots(self.tokens.present(Some(&[storage])))),
        }
    }

    /// The origin as a key for per-site state.
    fn origin_key(context: &RequestContext) -> String {
        context.origin.clone().unwrap_or_default()
    }

    /// Let the user pick a document in our file chooser (`showFileChooser`); the file is
    /// remembered for this origin, so `…FromFile` may read it, also to embed it.
    fn choose_file(&self, context: &RequestContext, extension: &str, directory: &str) -> Result<Outcome, SigningError> {
        let _turn = self.screen(context)?;
        // Only a local directory is passed on as where the chooser opens: a network
        // path could hang the chooser or leak the person's credentials.
        let directory = if files::is_local_absolute(Path::new(directory)) { directory } else { "" };
        let request = FileRequest { context, extension, directory };
        let path =
            self.open_dialog(context, Action::ChooseFile)?.choose_file(&request)?.ok_or(SigningError::Canceled)?;
        let path = files::canonical(&path);
        if Self::remembers_files(context) {
            let key = (Self::origin_key(context), files::lexical(&path));
            self.chosen_files.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
        }
        Ok(Outcome::ChosenFile(path))
    }

    /// Did the user pick `path` in our chooser for this origin during this run? The
    /// page passes back the path the chooser gave it; it is compared as written, never
    /// resolved (resolving a page's path could reach an automounted network share).
    fn was_chosen(&self, context: &RequestContext, path: &Path) -> bool {
        let key = (Self::origin_key(context), files::lexical(path));
        self.chosen_files.lock().unwrap_or_else(|p| p.into_inner()).contains(&key)
    }

    /// May files picked for this origin be remembered? Not for `Origin: null`
    /// (sandboxed frames, `file:` pages): any such page would share them.
    fn remembers_files(context: &RequestContext) -> bool {
        context.origin.as_deref() != Some("null")
    }

    /// CMS signatures: summaries first (bad input never costs the user a password),
    /// then the dialog flow, then timestamps off screen.
    fn sign_cms(
        &self,
        context: &RequestContext,
        action: Action,
        filter: &KeyFilter,
        inputs: Vec<CmsInput>,
        timestamp: bool,
    ) -> Result<Outcome, SigningError> {
        if inputs.is_empty() {
            return Err(SigningError::Rejected(Rejection::Empty));
        }
        let bytes = inputs.iter().map(CmsInput::len).sum();
        let summaries = compute::run_for(bytes, || {
            inputs.iter().map(|input| self.cms_summary(context, input)).collect::<Result<Vec<_>, SigningError>>()
        })?;
        // Files are hashed after approval, whatever their size.
        let work = if inputs.iter().any(|i| matches!(i, CmsInput::File { .. })) { usize::MAX } else { bytes };
        let (signatures, certificate, key) = self.sign_flow(context, action, filter, work, &summaries, |key| {
            let now = SystemTime::now();
            // A batch on every core: one key, one approval, many documents.
            compute::par_map(&inputs, |input| Ok(Signature::Cms(cms_for(key, input, now)?))).into_iter().collect()
        })?;
        if !timestamp {
            return Ok(Outcome::Signed { signatures, certificate, key });
        }
        // The network, with the screen free for others.
        let stamped = signatures
            .into_iter()
            .map(|s| match s {
                Signature::Cms(cms) => Ok(Signature::Cms(add_timestamps(&cms, &self.tsa())?)),
                other => Ok(other),
            })
            .collect::<Result<Vec<_>, SigningError>>()?;
        Ok(Outcome::Signed { signatures: stamped, certificate, key })
    }

    /// What the confirmation shows for one CMS input; refuses inputs that cannot be
    /// signed before anybody is asked.
    fn cms_summary(&self, context: &RequestContext, input: &CmsInput) -> Result<DocumentSummary, SigningError> {
        Ok(match input {
            CmsInput::Data { bytes, .. } => summarize(bytes.bytes()),
            CmsInput::Digest(digest) if digest.is_empty() => return Err(SigningError::Rejected(Rejection::Empty)),
            CmsInput::Digest(digest) => summarize_digest(digest),
            CmsInput::CoSign(cms) => {
                let sd = parse_signed_data(cms).map_err(|e| SigningError::Rejected(Rejection::Cms(e)))?;
                summary::summarize_cosign(&sd).map_err(|_| SigningError::Rejected(Rejection::CoSignHashMismatch))?
            }
            CmsInput::File { path, attach } => {
                if !files::is_local_absolute(path) {
                    return Err(SigningError::Rejected(Rejection::FileUnavailable));
                }
                let chosen = self.was_chosen(context, path);
                if *attach && !chosen {
                    return Err(SigningError::Rejected(Rejection::NamedFileAttach));
                }
                // A file the site named is not touched before the user approves: the
                // page learns nothing about the disk without the user.
                let size = if chosen { files::open_regular(path).map(|(_, size)| size).unwrap_or(0) } else { 0 };
                DocumentSummary {
                    size,
                    shown: Shown::File { path: path.display().to_string(), chosen_by_user: chosen },
                }
            }
        })
    }

    /// XAdES-T signatures of whole documents: XAdES-BES in the dialog flow, then the
    /// timestamps with the screen free for others and outside the compute pool, as for
    /// CMS. A failed timestamp fails the request: nothing is returned without it.
    fn sign_xades_t(
        &self,
        context: &RequestContext,
        action: Action,
        filter: &KeyFilter,
        documents: &[String],
        summaries: &[DocumentSummary],
    ) -> Result<Outcome, SigningError> {
        let bytes = documents.iter().map(String::len).sum();
        let (signed, certificate, key) = self.sign_flow(context, action, filter, bytes, summaries, |key| {
            let now = SystemTime::now();
            compute::par_map(documents, |xml| Ok(crate::xmldsig::sign_xades_bes(xml, key, now)?))
                .into_iter()
                .collect::<Result<Vec<_>, SigningError>>()
        })?;
        let signatures = signed
            .into_iter()
            .map(|s| Ok(Signature::Xml(s.timestamp(&self.tsa())?)))
            .collect::<Result<Vec<_>, SigningError>>()?;
        Ok(Outcome::Signed { signatures, certificate, key })
    }

    /// The dialog flow of every signature: key, confirmation, then `sign` with the
    /// chosen key once the screen is free again. Returns what `sign` made, the
    /// signer's certificate and where the key was.
    fn sign_flow<T>(
        &self,
        context: &RequestContext,
        action: Action,
        filter: &KeyFilter,
        work: usize,
        documents: &[DocumentSummary],
        sign: impl FnOnce(&dyn SigningKey) -> Result<T, SigningError>,
    ) -> Result<(T, Box<crate::keys::Certificate>, KeyPlace), SigningError> {
        let login = login::looks_like_login(action, documents);
        let Chosen { key, place, file, description, notes, turn, mut dialog } =
            self.choose_key_for(context, action, filter, login)?;
        // A login: the person is told if the challenge names another site.
        let foreign =
            if description.login_only() { login::other_domain(context.origin.as_deref(), documents) } else { None };
        let confirmation = Confirmation {
            context,
            action,
            signer: &description,
            notes: &notes,
            documents,
            other_domain: foreign.as_deref(),
        };
        self.approve(dialog.as_mut(), &confirmation)?;
        drop(dialog);
        drop(turn);
        if let Some(recent) = &self.recent {
            if let Some(path) = &file {
                recent.remember(path);
                recent.seen(path, &description.owner, description.not_after_ms.div_euclid(1000));
            }
            crate::keys::hygiene::keep_certificate(recent.dir(), key.certificate().der());
        }
        let signed = compute::run_for(work, || sign(key.as_ref()))?;
        Ok((signed, Box::new(key.certificate().clone()), place))
    }

    /// The turn, then key file, password, trust checks (off screen) and the key pick.
    /// Returns the key, what the person should know about it, and the turn, still held.
    fn choose_key<'a>(
        &'a self,
        context: &'a RequestContext,
        action: Action,
        filter: &KeyFilter,
    ) -> Result<Chosen<'a>, SigningError> {
        self.choose_key_for(context, action, filter, true)
    }

    /// [`SigningCore::choose_key`]; unless `login` (the documents look like a login
    /// challenge), keys certified for logging in only are shown as not usable.
    fn choose_key_for<'a>(
        &'a self,
        context: &'a RequestContext,
        action: Action,
        filter: &KeyFilter,
        login: bool,
    ) -> Result<Chosen<'a>, SigningError> {
        // Tokens of the storages the page allows, plugged in now.
        let tokens = self.tokens.present(filter.storages.as_deref());
        if tokens.is_empty() && !filter.allows_files() {
            return Err(SigningError::StorageEmpty);
        }
        let turn = self.screen(context)?;
        let mut dialog = self.open_dialog(context, action)?;
        let choice = dialog.choose_key(&KeyRequest { context, action, tokens: &tokens })?;
        let file = match &choice {
            KeyChoice::File(path) => Some(path.clone()),
            _ => None,
        };
        // A key file lying in Downloads, on the Desktop or in a synced folder: said with each key.
        let exposed =
            file.as_deref().and_then(|f| crate::keys::hygiene::exposure(f, &dirs::home_dir().unwrap_or_default()));
        // Files and tokens alike: a source of keys, opened with the person's secret.
        let source: Result<Box<dyn KeySource>, SigningError> = match choice {
            KeyChoice::File(_) if !filter.allows_files() => return Err(SigningError::Canceled),
            KeyChoice::File(path) => files::read_regular(&path, MAX_KEY_FILE)
                .map_err(|_| SigningError::KeyFileUnreadable)
                .map(|bytes| Box::new(FileSource::new(path, zeroize::Zeroizing::new(bytes))) as Box<dyn KeySource>),
            KeyChoice::Token(token) if tokens.contains(&token) => self
                .tokens
                .module_of(&token)
                .ok_or(SigningError::Token("the token is gone".into()))
                .map(|module| Box::new(TokenSource::new(module, token)) as Box<dyn KeySource>),
            KeyChoice::Token(_) | KeyChoice::Cancel => return Err(SigningError::Canceled),
        };
        let source = source.map_err(|e| tell(dialog.as_mut(), context, e))?;
        let place = KeyPlace::of(source.as_ref());
        let mut keys = self
            .open_source(dialog.as_mut(), context, source.as_ref())
            .map_err(|e| tell(dialog.as_mut(), context, e))?;
        // Trust checks may use the network: step off the screen meanwhile, unless this
        // request's window stays on it (another site's window must not open over a
        // half-finished one).
        dialog.checking();
        let now_ms = self.now_ms();
        let assess_all = || -> Vec<KeyCandidate> {
            keys.iter()
                .map(|k| {
                    let cert = k.certificate();
                    let assess = |req| self.trust.assess_carrying(cert, k.chain(), req, now_ms);
                    let trust = filter.trust.as_ref().map(assess).unwrap_or_default();
                    let key = self.describe(cert);
                    let refused_login = (key.login_only() && !login).then_some(crate::trust::Unusable::LoginOnly);
                    KeyCandidate {
                        not_selectable: filter.check(cert).or(trust.refusal).or(refused_login),
                        key,
                        token_id: k.token_id().map(str::to_owned),
                        notes: trust.notes.into_iter().chain(exposed.map(TrustNote::KeyFileExposed)).collect(),
                    }
                })
                .collect()
        };
        let (mut candidates, turn) = if dialog.keeps_screen() {
            (assess_all(), turn)
        } else {
            let paused = turn.pause();
            let candidates = assess_all();
            (candidates, paused.resume(&context.page_gone)?)
        };
        match dialog.pick_key(&candidates)? {
            Some(i) if candidates.get(i).is_some_and(|c| c.not_selectable.is_none()) => {
                let KeyCandidate { key: description, notes, .. } = candidates.swap_remove(i);
                let key = keys.swap_remove(i);
                Ok(Chosen { place: place.of_key(key.as_ref()), key, file, description, notes, turn, dialog })
            }
            _ => Err(SigningError::Canceled),
        }
    }

    /// The timestamp authority's address now.
    pub fn tsa_url(&self) -> String {
        self.tsa().url
    }

    /// The timestamp authority now.
    fn tsa(&self) -> TsaConfig {
        self.tsa.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Use the timestamp authority at `url` from now on (the person's setting).
    pub fn set_tsa_url(&self, url: String) {
        self.tsa.write().unwrap_or_else(|p| p.into_inner()).url = url;
    }

    /// Wait for this request's turn on the screen; then nothing is asked if the page
    /// left meanwhile (requests queued behind a dialog may outlive it) or the person
    /// stopped signing.
    fn screen(&self, context: &RequestContext) -> Result<Turn<'_>, SigningError> {
        let turn = self.turns.enter(&Self::origin_key(context), &context.page_gone)?;
        if context.is_page_gone() {
            return Err(SigningError::Canceled);
        }
        self.not_paused()?;
        Ok(turn)
    }

    /// The request's dialog, once its site may use qoltanba: asked first for a site not
    /// met before ("once" lets it through for a while, "always" and "never" are
    /// remembered); `Canceled` for a denied site. Call with the turn held.
    fn open_dialog<'a>(
        &'a self,
        context: &'a RequestContext,
        action: Action,
    ) -> Result<Box<dyn Dialog + 'a>, SigningError> {
        let origin = context.origin.as_deref();
        let mut dialog = self.prompter.open(context)?;
        // Read again: the person may have answered for the site while this request waited.
        match self.sites.admission(origin, crate::platform::now_ms()) {
            Admission::Allowed => return Ok(dialog),
            Admission::Denied | Admission::BackingOff => return Err(SigningError::Canceled),
            Admission::Ask => {}
        }
        let mut answer = dialog.site(&SiteRequest { context, action })?;
        let now = crate::platform::now_ms();
        // `null` (sandboxed frames, file: pages) and no origin stand for any page:
        // nothing is remembered for them, every request asks.
        let anonymous = crate::sites::is_anonymous(origin);
        if anonymous {
            answer = match answer {
                SiteAnswer::Always => SiteAnswer::Once,
                SiteAnswer::Never => SiteAnswer::Cancel,
                other => other,
            };
        }
        let remembered = match answer {
            SiteAnswer::Once if anonymous => Ok(()),
            SiteAnswer::Once => {
                self.sites.allow_for_now(origin, now);
                Ok(())
            }
            SiteAnswer::Always => self.sites.set(origin, Permission::Allow, now),
            SiteAnswer::Never => self.sites.set(origin, Permission::Deny, now),
            SiteAnswer::Cancel => Ok(()),
        };
        if let Err(e) = remembered {
            tracing::warn!(origin = ?origin, error = %e, "the answer about the site could not be kept");
        }
        match answer {
            SiteAnswer::Once | SiteAnswer::Always if !context.is_page_gone() => Ok(dialog),
            _ => Err(SigningError::Canceled),
        }
    }

    /// Ask for approval: `Canceled` unless the person approves, `Paused` if they
    /// stopped signing while the dialog was open. Nothing is signed without `Ok`.
    fn approve(&self, dialog: &mut dyn Dialog, confirmation: &Confirmation<'_>) -> Result<(), SigningError> {
        if confirmation.context.is_page_gone() || !dialog.confirm(confirmation)? {
            return Err(SigningError::Canceled);
        }
        self.not_paused()
    }

    /// `Paused` while the person has stopped signing.
    fn not_paused(&self) -> Result<(), SigningError> {
        if self.activity.is_paused() { Err(SigningError::Paused) } else { Ok(()) }
    }

    /// A certificate as the dialogs show it.
    pub(crate) fn describe(&self, cert: &crate::keys::Certificate) -> KeyDescription {
        let name = |oid| cert.subject_values(oid).into_iter().next();
        let owner = [Some(cert.subject_cn()), name(crate::oid::GIVEN_NAME)].into_iter().flatten();
        KeyDescription {
            subject: cert.subject_dn(),
            owner: owner.filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "),
            iin: cert.iin(),
            bin: cert.bin(),
            organization: name(crate::oid::ORGANIZATION),
            signing: Purpose::Signature.allows(cert),
            authentication: Purpose::Authentication.allows(cert),
            issuer: cert.issuer_cn(),
            test: self.trust.is_test_issued(cert),
            not_before_ms: cert.not_before_ms(),
            not_after_ms: cert.not_after_ms(),
        }
    }

    /// Open `source` with the secret the person types (never one from the page): a
    /// password for a file, the PIN for a token. A locked token is explained, not asked;
    /// the dialog says when the token allows one try more; never more tries in one
    /// request than [`PASSWORD_ATTEMPTS`] (a token's own counter may allow more), and a
    /// PIN refused before is not sent again.
    fn open_source(
        &self,
        dialog: &mut dyn Dialog,
        context: &RequestContext,
        source: &dyn KeySource,
    ) -> Result<Vec<Box<dyn SigningKey>>, SigningError> {
        let kind = source.kind();
        let failed = |e: OpenError| match e {
            OpenError::WrongSecret { .. } | OpenError::RefusedBefore if kind == SourceKind::Token => {
                SigningError::WrongPin
            }
            OpenError::WrongSecret { .. } | OpenError::RefusedBefore => {
                SigningError::WrongPassword { attempts_left: None }
            }
            OpenError::Locked => SigningError::PinLocked,
            OpenError::Unreadable => SigningError::KeyFileUnreadable,
            OpenError::Unsupported => SigningError::UnsupportedKey,
            OpenError::Empty => SigningError::StorageEmpty,
            OpenError::Token(why) => SigningError::Token(why),
        };
        if source.locked() {
            return Err(SigningError::PinLocked);
        }
        if !source.needs_secret() {
            return source.open("").map_err(failed);
        }
        let mut tries_left = if source.final_try() { 1 } else { PASSWORD_ATTEMPTS };
        let mut attempt = 1;
        loop {
            let request = PasswordRequest { context, file: source.shown_as(), attempt, tries_left };
            let secret = dialog.password(&request)?.ok_or(SigningError::Canceled)?;
            match source.open(&secret) {
                Ok(keys) => {
                    if kind == SourceKind::Token && crate::keys::pkcs11::is_factory_pin(&secret) {
                        let token = source.shown_as().to_string_lossy().into_owned();
                        self.activity.notice(Notice::FactoryPin { token }, context.locale);
                    }
                    return Ok(keys);
                }
                Err(OpenError::WrongSecret { final_try }) if attempt < PASSWORD_ATTEMPTS => {
                    attempt += 1;
                    tries_left = if final_try { 1 } else { PASSWORD_ATTEMPTS + 1 - attempt };
                }
                Err(e) => return Err(failed(e)),
            }
        }
    }
}

/// Show `error` in the dialog when the person should read it there, and return it.
fn tell(dialog: &mut dyn Dialog, context: &RequestContext, error: SigningError) -> SigningError {
    use crate::i18n::Msg;
    let msg = match error {
        SigningError::WrongPassword { .. } => Some(Msg::WrongPassword),
        SigningError::KeyFileUnreadable => Some(Msg::KeyFileUnreadable),
        SigningError::UnsupportedKey => Some(Msg::UnsupportedKey),
        SigningError::WrongPin => Some(Msg::WrongPin),
        SigningError::PinLocked => Some(Msg::PinLocked),
        _ => None,
    };
    if let Some(msg) = msg {
        dialog.failed(msg.text(context.locale));
    }
    error
}

/// The outcome of a signing flow.
fn signed((signatures, certificate, key): (Vec<Signature>, Box<crate::keys::Certificate>, KeyPlace)) -> Outcome {
    Outcome::Signed { signatures, certificate, key }
}

/// A key file error as the core reports it (no paths, no parser details).
fn key_file_error(e: crate::keys::KeyFileError) -> SigningError {
    use crate::keys::KeyFileError;
    match e {
        e if e.is_wrong_password() => SigningError::WrongPassword { attempts_left: None },
        KeyFileError::Unsupported(_) => SigningError::UnsupportedKey,
        _ => SigningError::KeyFileUnreadable,
    }
}

/// One CMS input signed with `key`.
fn cms_for(key: &dyn SigningKey, input: &CmsInput, now: SystemTime) -> Result<Vec<u8>, SigningError> {
    Ok(match input {
        CmsInput::Data { bytes, attach: true } => {
            sign_cades_bes(key, Content::Data { bytes: bytes.bytes(), attach: true }, now)?
        }
        // The hash may have been computed while the document arrived.
        CmsInput::Data { bytes, attach: false } => {
            sign_cades_bes(key, Content::Digest(&bytes.digest(key.algorithm())?), now)?
        }
        CmsInput::Digest(digest) => {
            check_digest_length(key.algorithm(), digest)?;
            sign_cades_bes(key, Content::Digest(digest), now)?
        }
        CmsInput::CoSign(cms) => cosign(key, cms, now).map_err(|e| match e {
            crate::cms::CmsError::Malformed(_) => SigningError::Rejected(Rejection::CoSignHashMismatch),
            other => other.into(),
        })?,
        CmsInput::File { path, attach } => sign_file(key, path, *attach, now)?,
    })
}

/// Sign a file after the user approved: stream it through the hash (detached) or
/// embed it (attached, bounded; only files the user picked get here).
fn sign_file(key: &dyn SigningKey, path: &Path, attach: bool, now: SystemTime) -> Result<Vec<u8>, SigningError> {
    let unavailable = || SigningError::Rejected(Rejection::FileUnavailable);
    let (file, size) = files::open_regular(path).map_err(|_| unavailable())?;
    if attach {
        if size > MAX_ATTACHED_FILE {
            return Err(SigningError::Rejected(Rejection::FileTooLarge { size, limit: MAX_ATTACHED_FILE }));
        }
        let bytes = files::read_regular(path, MAX_ATTACHED_FILE).map_err(|_| unavailable())?;
        return Ok(sign_cades_bes(key, Content::Data { bytes: &bytes, attach: true }, now)?);
    }
    let mut hasher = crate::crypto::Hasher::for_algorithm(key.algorithm())?;
    files::stream_exact(file, size, |chunk| hasher.update(chunk)).map_err(|_| unavailable())?;
    Ok(sign_cades_bes(key, Content::Digest(&hasher.finish()), now)?)
}

/// A digest must have the length of the key algorithm's hash.
pub fn check_digest_length(algorithm: KeyAlgorithm, digest: &[u8]) -> Result<(), SigningError> {
    let expected = algorithm.digest(b"")?.len();
    if digest.len() != expected {
        return Err(SigningError::Rejected(Rejection::DigestLength { got: digest.len(), expected }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::{AutoAnswer, HeadlessPrompter};

    #[test]
    fn nothing_is_signed_while_the_person_has_stopped_signing() {
        let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/nca-test/keys/rsa_sign_individual.p12");
        let prompter = HeadlessPrompter::new(key, zeroize::Zeroizing::new("Qwerty12".into()), AutoAnswer::Confirm);
        let activity = Arc::new(Activity::default());
        let trust = Arc::new(TrustStore::new(None, vec![], false));
        let core =
            SigningCore::new(Arc::new(prompter), trust, TsaConfig::default()).with_activity(Arc::clone(&activity));
        let request = || Request {
            context: RequestContext { origin: Some("https://egov.kz".into()), ..Default::default() },
            operation: Operation::Raw { filter: KeyFilter::default(), documents: vec![b"11".to_vec()] },
        };
        activity.set_paused(true);
        assert!(matches!(core.execute(request()), Err(SigningError::Paused)));
        assert!(activity.recent().is_empty());
        activity.set_paused(false);
        assert!(matches!(core.execute(request()), Ok(Outcome::Signed { .. })));
        let recent = activity.recent();
        assert_eq!((recent.len(), recent[0].documents, recent[0].origin.as_deref()), (1, 1, Some("https://egov.kz")));
    }
}
