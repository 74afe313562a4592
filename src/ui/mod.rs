//! The UI boundary: everything the signing core needs from a person.
//!
//! The core never draws anything; it asks a [`Prompter`] to choose a key file, to
//! give a password or PIN, to pick one key among those in the file, and to confirm
//! what is about to be signed, always saying which site asks. Desktop dialogs, the
//! headless answerer for tests and a future remote UI are implementations.
//!
//! Calls are blocking and may take as long as the person needs; the core runs them
//! on a blocking thread. Requests take turns on the screen (`signing::turns`): a
//! request's window stays the only one until the request is answered.

pub mod desktop;
mod headless;
pub mod sanitize;
pub mod shell;
mod terminal;

use std::path::PathBuf;

use zeroize::Zeroizing;

pub use headless::{AutoAnswer, HeadlessPrompter, NoPrompter};
pub use terminal::{Console, TerminalPrompter, Tty};

use crate::i18n::Locale;
pub use crate::signing::Action;

/// Who asks, carried into every dialog.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The page's `Origin` header, if the client sent one.
    pub origin: Option<String>,
    /// The wire method of the request (`createCAdESFromBase64`…), for the journal.
    pub method: Option<String>,
    /// The language to talk to the user in.
    pub locale: Locale,
    /// Set when the page closed its connection: nobody waits for the answer any more.
    pub page_gone: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The page's own picture (basics `logo`): PNG bytes, shown as the site's, never
    /// in place of the origin.
    pub logo: Option<std::sync::Arc<[u8]>>,
}

impl RequestContext {
    /// Has the requesting page gone away?
    pub fn is_page_gone(&self) -> bool {
        self.page_gone.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A request to choose where the key comes from.
#[derive(Debug)]
pub struct KeyRequest<'a> {
    pub context: &'a RequestContext,
    /// What the key is for.
    pub action: Action,
    /// Tokens present that the request may use.
    pub tokens: &'a [TokenSlot],
}

pub use crate::keys::pkcs11::TokenSlot;

/// The answer to a [`KeyRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// A key file the user picked.
    File(PathBuf),
    /// A token the user picked.
    Token(TokenSlot),
    /// The user cancelled.
    Cancel,
}

/// A request for the password of a key file (or, later, a token's PIN).
#[derive(Debug)]
pub struct PasswordRequest<'a> {
    pub context: &'a RequestContext,
    pub file: &'a std::path::Path,
    /// 1 for the first try; more after a wrong password.
    pub attempt: u32,
    /// How many tries this dialog still allows, this one included.
    pub tries_left: u32,
}

/// A request to pick a document file (`showFileChooser`).
#[derive(Debug)]
pub struct FileRequest<'a> {
    pub context: &'a RequestContext,
    /// The extension filter the page asked for (`ALL` for any).
    pub extension: &'a str,
    /// The directory to start in, if the page gave one.
    pub directory: &'a str,
}

/// A key's certificate as dialogs show it: who, for what, from whom, until when.
/// Text comes from the certificate; prompters show it through [`sanitize::shown`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyDescription {
    /// The subject's distinguished name.
    pub subject: String,
    /// The owner's name (common name and given name).
    pub owner: String,
    pub iin: Option<String>,
    pub bin: Option<String>,
    pub organization: Option<String>,
    /// The key may sign documents.
    pub signing: bool,
    /// The key may log in (client authentication).
    pub authentication: bool,
    /// The issuing CA's common name.
    pub issuer: String,
    /// Issued by one of NCA RK's TEST CAs.
    pub test: bool,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
}

impl KeyDescription {
    /// Certified for logging in only: it signs login challenges, not documents
    /// (`crate::signing::login`).
    pub fn login_only(&self) -> bool {
        self.authentication && !self.signing
    }
}

/// One key of an opened file as the chooser shows it.
#[derive(Debug, Clone)]
pub struct KeyCandidate {
    pub key: KeyDescription,
    /// The key's `CKA_ID` (hex) when it is on a token (RFC 7512's `id`).
    pub token_id: Option<String>,
    /// Why the request cannot use this key; `None` when it is selectable.
    pub not_selectable: Option<crate::trust::Unusable>,
    /// What the user should know about the key even when it is selectable (e.g. that
    /// revocation could not be checked offline).
    pub notes: Vec<crate::trust::TrustNote>,
}

/// One document as the confirmation shows it. Text that comes from the page is
/// raw here; every prompter shows it through [`sanitize::shown`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentSummary {
    /// Size in bytes of the document (or of the hash, for a blind signature).
    pub size: u64,
    pub shown: Shown,
}

/// What can be shown of a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shown {
    /// The start of a text document; `truncated` when there is more.
    Text { preview: String, truncated: bool },
    /// An XML document: its root element and its first fields (leaf elements with
    /// text); `truncated` when it has more.
    Xml { root: String, fields: Vec<(String, String)>, truncated: bool },
    /// A PDF document and its page count, when it could be counted.
    Pdf { pages: Option<usize> },
    /// Bytes that are not text.
    Binary,
    /// Only a hash the page chose: the user cannot see what it is the hash of
    /// (a "blind" signature).
    BlindHash { hex: String },
    /// The user's signature is added to a CMS that already has `signers` signatures;
    /// `content` is what they all sign (a blind hash for a detached CMS).
    CoSign { signers: usize, content: Box<Shown> },
    /// A local file: picked by the user in our chooser, or named by the site.
    File { path: String, chosen_by_user: bool },
}

/// What the user is asked to approve.
#[derive(Debug)]
pub struct Confirmation<'a> {
    pub context: &'a RequestContext,
    pub action: Action,
    /// Who signs.
    pub signer: &'a KeyDescription,
    /// What the person should know about the signer's certificate (e.g. that its
    /// revocation could not be checked).
    pub notes: &'a [crate::trust::TrustNote],
    pub documents: &'a [DocumentSummary],
    /// A login challenge that names another site than the one asking: that site.
    pub other_domain: Option<&'a str>,
}

/// The first request of a site the person has not answered for: may it use qoltanba?
#[derive(Debug)]
pub struct SiteRequest<'a> {
    pub context: &'a RequestContext,
    /// What the site asks for now.
    pub action: Action,
}

/// The answer to a [`SiteRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SiteAnswer {
    /// Go on with this request; ask again later (after ten minutes).
    Once,
    /// Go on, and never ask again for this site.
    Always,
    /// Refuse, and refuse this site's requests from now on without asking.
    Never,
    /// Refuse this request only (the window was closed).
    Cancel,
}

/// The prompter cannot ask at all (no display, nothing configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptUnavailable(pub String);

/// A front end: terminal, desktop windows, the headless answerer. See the module
/// documentation.
pub trait Prompter: Send + Sync {
    /// Begin the dialog of one request: everything the request asks the person goes
    /// through the returned [`Dialog`] (one window, for the desktop), and dropping it
    /// ends the dialog.
    fn open<'a>(&'a self, context: &'a RequestContext) -> Result<Box<dyn Dialog + 'a>, PromptUnavailable>;
}

/// The typed events of one request's dialog, in the order the core sends them:
/// [`Dialog::site`] for a site not met before, [`Dialog::choose_key`], [`Dialog::password`] (again after a wrong one),
/// [`Dialog::checking`] while certificates are checked off screen, [`Dialog::pick_key`],
/// [`Dialog::confirm`]; or [`Dialog::choose_file`] alone. [`Dialog::failed`] reports
/// an error the person should see. The page leaving is signalled through the
/// context's [`RequestContext::page_gone`]: an open dialog closes and answers cancel.
pub trait Dialog {
    /// Ask whether a site not met before may use qoltanba (before anything else).
    fn site(&mut self, request: &SiteRequest<'_>) -> Result<SiteAnswer, PromptUnavailable>;

    /// Ask which key file or token to use.
    fn choose_key(&mut self, request: &KeyRequest<'_>) -> Result<KeyChoice, PromptUnavailable>;

    /// Ask the password of `request.file`. `None` means the user cancelled.
    fn password(&mut self, request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable>;

    /// The core checks certificates (maybe over the network); nothing to answer.
    fn checking(&mut self) {}

    /// Does this dialog occupy the screen while the core checks certificates (a
    /// window)? Then no other request's dialog may open meanwhile.
    fn keeps_screen(&self) -> bool {
        false
    }

    /// Show the keys of the opened file, non-selectable ones disabled with their
    /// reason, and return the index of the chosen one (`None`: cancelled).
    fn pick_key(&mut self, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable>;

    /// Ask the user to approve signing. `false` means refused.
    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable>;

    /// Let the user pick a file; `None` means cancelled.
    fn choose_file(&mut self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable>;

    /// The request failed with `message` (in the request's language) the person
    /// should read; the dialog may stay open until they close it.
    fn failed(&mut self, _message: &str) {}
}
