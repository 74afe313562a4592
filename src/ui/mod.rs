//! The UI boundary: everything the signing core needs from a person.
//!
//! The core never draws anything; it asks a [`Prompter`] to choose a key file, to
//! give a password or PIN, to pick one key among those in the file, and to confirm
//! what is about to be signed, always saying which site asks. Desktop dialogs, the
//! headless answerer for tests and a future remote UI are implementations.
//!
//! Calls are blocking and may take as long as the person needs; the core runs them
//! on a blocking thread and never holds two dialogs at once.

mod headless;
pub mod sanitize;
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
    /// The language to talk to the user in.
    pub locale: Locale,
    /// Set when the page closed its connection: nobody waits for the answer any more.
    pub page_gone: std::sync::Arc<std::sync::atomic::AtomicBool>,
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
}

/// The answer to a [`KeyRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// A key file the user picked.
    File(PathBuf),
    /// The user cancelled.
    Cancel,
}

/// A request for the password of a key file.
#[derive(Debug)]
pub struct PasswordRequest<'a> {
    pub context: &'a RequestContext,
    pub file: &'a std::path::Path,
    /// 1 for the first try; more after a wrong password.
    pub attempt: u32,
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

/// One key of an opened file as the chooser shows it.
#[derive(Debug, Clone)]
pub struct KeyCandidate {
    /// Subject common name and identifiers, for display.
    pub label: String,
    /// Why the request cannot use this key; `None` when it is selectable.
    pub not_selectable: Option<crate::trust::Unusable>,
    /// What the user should know about the key even when it is selectable (e.g. that
    /// revocation could not be checked offline).
    pub notes: Vec<crate::trust::TrustNote>,
}

/// One document as the confirmation shows it. Text that comes from the page is
/// raw here; every prompter shows it through [`sanitize::shown`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSummary {
    /// Size in bytes of the document (or of the hash, for a blind signature).
    pub size: u64,
    pub shown: Shown,
}

/// What can be shown of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// The start of a text document; `truncated` when there is more.
    Text { preview: String, truncated: bool },
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
    /// Who signs: the signer certificate's subject.
    pub signer: &'a str,
    /// What the person should know about the signer's certificate (e.g. that its
    /// revocation could not be checked).
    pub notes: &'a [crate::trust::TrustNote],
    pub documents: &'a [DocumentSummary],
}

/// The prompter cannot ask at all (no display, nothing configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptUnavailable(pub String);

/// The dialogs the signing core needs. See the module documentation.
pub trait Prompter: Send + Sync {
    /// Ask which key file (or, later, token) to use.
    fn choose_key(&self, request: &KeyRequest<'_>) -> Result<KeyChoice, PromptUnavailable>;

    /// Ask the password of `request.file`. `None` means the user cancelled.
    fn password(&self, request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable>;

    /// Show the keys of the opened file, non-selectable ones disabled with their
    /// reason, and return the index of the chosen one (`None`: cancelled).
    fn pick_key(&self, context: &RequestContext, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable>;

    /// Ask the user to approve signing. `false` means refused.
    fn confirm(&self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable>;

    /// Let the user pick a file; `None` means cancelled.
    fn choose_file(&self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable>;
}
