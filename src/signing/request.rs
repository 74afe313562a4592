//! What the signing core is asked to do and what it answers: typed, with no wire
//! texts. Protocol modules build a [`Request`] from a page's JSON and turn the
//! [`Outcome`] or [`SigningError`] back into their module's reply shape.

use std::path::PathBuf;

use zeroize::Zeroizing;

pub use super::document::{Document, DocumentWriter};
use super::filter::{KeyFilter, Purpose};
use crate::cms::CmsError;
use crate::keys::source::KeyPlace;
use crate::keys::{Certificate, KeyError, KeyInfo};
use crate::ui::RequestContext;
use crate::xmldsig::{Layout, XmlError};

/// One operation a page asks for, with who asks.
#[derive(Debug)]
pub struct Request {
    pub context: RequestContext,
    pub operation: Operation,
}

/// Everything a page can ask the core to do.
#[derive(Debug)]
pub enum Operation {
    /// Let the user choose a key and tell the page about it (`getKeyInfo`).
    KeyInfo { filter: KeyFilter },
    /// CMS (CAdES-BES, or CAdES-T with `timestamp`) signatures, one per input.
    Cms { filter: KeyFilter, inputs: Vec<CmsInput>, timestamp: bool },
    /// Enveloped XMLDSig signatures of each document; with `xades_timestamp`, XAdES-T
    /// signatures of each whole document (the XPaths must be empty) instead.
    Xml {
        filter: KeyFilter,
        documents: Vec<String>,
        tbs_xpath: String,
        parent_xpath: String,
        layout: Layout,
        xades_timestamp: bool,
    },
    /// Raw signatures (PKCS#1 v1.5 or GOST r‖s) of each document.
    Raw { filter: KeyFilter, documents: Vec<Vec<u8>> },
    /// Add timestamps to every signer of a CMS that has none (`applyCAdEST`). No key,
    /// no dialog: the signatures are unchanged.
    ApplyTimestamp { cms: Vec<u8> },
    /// Let the user pick a document in qoltanba's own file chooser.
    ChooseFile { extension: String, directory: String },
    /// A legacy applet call on a key file the page names, with the page's password.
    NamedKeyFile(NamedKeyFile),
    /// The storages with a token present now (`getActiveTokens`). No dialog.
    ActiveTokens,
    /// The tokens of one storage present now (legacy `loadSlotList`). No dialog.
    Slots { storage: String },
}

/// One document of a CMS request.
#[derive(Debug)]
pub enum CmsInput {
    /// The document's bytes; `attach` embeds them in the CMS.
    Data { bytes: Document, attach: bool },
    /// A hash the page computed: the user cannot see the document (a blind signature).
    Digest(Vec<u8>),
    /// An existing CMS to add the user's signature to (co-signing).
    CoSign(Vec<u8>),
    /// A local file, by absolute path. Files the user did not pick in our chooser
    /// can only be signed detached.
    File { path: PathBuf, attach: bool },
}

impl CmsInput {
    /// Bytes held in memory (files count nothing: they are streamed).
    pub fn len(&self) -> usize {
        match self {
            Self::Data { bytes, .. } => bytes.bytes().len(),
            Self::Digest(d) | Self::CoSign(d) => d.len(),
            Self::File { .. } => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A legacy applet call (`[storage, path, alias, password, …]`).
#[derive(Debug)]
pub struct NamedKeyFile {
    /// The path exactly as the page wrote it: never shown back to the page.
    pub path: String,
    pub password: Zeroizing<String>,
    pub call: NamedKeyCall,
}

/// What a legacy call does with the named key file.
#[derive(Debug)]
pub enum NamedKeyCall {
    /// `getKeys`: the keys of a purpose (`None`: all).
    List(Option<Purpose>),
    /// `getNotBefore`, `getSubjectDN`, `getRdnByOid`…: the certificate of `alias`.
    Certificate { alias: String },
    /// `verifyPlainData`: does `signature` verify over `data` with `alias`'s key?
    Verify { alias: String, data: Vec<u8>, signature: Vec<u8> },
    /// A signature with `alias`'s key, after the user's confirmation.
    Sign { alias: String, what: NamedSign },
}

/// What a legacy signing call signs.
#[derive(Debug)]
pub enum NamedSign {
    /// `signPlainData`: a raw signature.
    Plain(Vec<u8>),
    /// `createCMSSignature`: CAdES-BES.
    Cms { data: Vec<u8>, attach: bool },
    /// `signXml` / `signXmlByElementId`.
    Xml { xml: String, tbs_xpath: String, parent_xpath: String },
}

impl Operation {
    /// What the user is asked to approve, as the dialogs name it.
    pub fn action(&self) -> Action {
        match self {
            Self::KeyInfo { .. } | Self::ActiveTokens | Self::Slots { .. } => Action::ShowKey,
            Self::Cms { inputs, timestamp, .. } => {
                if inputs.iter().all(|i| matches!(i, CmsInput::CoSign(_))) {
                    Action::CoSign
                } else if inputs.iter().any(|i| matches!(i, CmsInput::File { .. })) {
                    Action::SignFile
                } else if *timestamp {
                    Action::SignCmsTimestamped
                } else {
                    Action::SignCms
                }
            }
            Self::Xml { .. } => Action::SignXml,
            Self::Raw { .. } => Action::SignRaw,
            Self::ApplyTimestamp { .. } => Action::Timestamp,
            Self::ChooseFile { .. } => Action::ChooseFile,
            Self::NamedKeyFile(named) => match &named.call {
                NamedKeyCall::Sign { what: NamedSign::Plain(_), .. } => Action::SignRaw,
                NamedKeyCall::Sign { what: NamedSign::Cms { .. }, .. } => Action::SignCms,
                NamedKeyCall::Sign { what: NamedSign::Xml { .. }, .. } => Action::SignXml,
                _ => Action::ShowKey,
            },
        }
    }
}

/// Operations as people read them; the words are in [`crate::i18n`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ShowKey,
    SignCms,
    SignCmsTimestamped,
    CoSign,
    SignFile,
    SignXml,
    SignRaw,
    Timestamp,
    ChooseFile,
}

/// What the core produced.
#[derive(Debug)]
pub enum Outcome {
    KeyInfo(Box<KeyInfo>),
    /// One signature per input, in order, the signer's certificate and where the key was.
    Signed {
        signatures: Vec<Signature>,
        certificate: Box<Certificate>,
        key: KeyPlace,
    },
    /// The CMS with timestamps added.
    Timestamped(Vec<u8>),
    /// The file the user picked.
    ChosenFile(PathBuf),
    /// The keys of a named key file.
    Keys(Vec<KeyListing>),
    /// The certificate of a key in a named key file.
    Certificate(Box<Certificate>),
    /// Whether a signature verified.
    Verified(bool),
    /// Storage names with a token present.
    ActiveTokens(Vec<String>),
    /// Tokens present.
    Slots(Vec<crate::ui::TokenSlot>),
}

/// One signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// DER ContentInfo.
    Cms(Vec<u8>),
    /// A raw signature value.
    Raw(Vec<u8>),
    /// The signed XML document.
    Xml(String),
}

/// A key of a named key file as `getKeys` lists it.
#[derive(Debug, Clone)]
pub struct KeyListing {
    pub algorithm: crate::keys::KeyAlgorithm,
    pub subject_cn: String,
    pub serial_hex: String,
    pub alias: String,
}

/// Why an operation produced no outcome. Protocol modules turn these into their
/// wire texts; nothing here is a wire text.
#[derive(Debug)]
pub enum SigningError {
    /// The user cancelled, closed a dialog, or the page left before it was asked.
    Canceled,
    /// Nothing can ask the user (no display, no terminal, no configured answerer).
    NoPrompter,
    /// The password was wrong; `attempts_left` for key files named by a page.
    WrongPassword { attempts_left: Option<u32> },
    /// The key file cannot be used. Deliberately says nothing about why for files a
    /// page names (whether a path exists is not a page's business).
    KeyFileUnreadable,
    /// The key is of an algorithm we do not know.
    UnsupportedKey,
    /// No key with the alias a legacy call named.
    NoSuchAlias,
    /// A named key file holds no key of the requested purpose.
    NoKeys,
    /// The request does not fit the documents or the key.
    Rejected(Rejection),
    /// The timestamp authority gave no usable timestamp; nothing was returned.
    Timestamp(CmsError),
    /// This site already has as many requests waiting for the user as it may.
    TooManyWaiting,
    /// The person stopped signing for now (tray, main window).
    Paused,
    /// The storages the page allows hold no key: no token of theirs is plugged in.
    StorageEmpty,
    /// The token's PIN was wrong (three times in this request).
    WrongPin,
    /// The token's PIN is locked (too many wrong PINs).
    PinLocked,
    /// The token failed or was taken out during the request.
    Token(String),
    /// The token offers no mechanism to sign with its key (of this algorithm).
    TokenMechanism(String),
    /// Building the signature failed.
    Failed(Failure),
}

/// Why a request was refused before or after the dialog.
#[derive(Debug)]
pub enum Rejection {
    /// A digest of the wrong length for the chosen key's hash.
    DigestLength { got: usize, expected: usize },
    /// The XML cannot be signed as asked.
    Xml(XmlError),
    /// The document is not UTF-8 where text is needed.
    NotUtf8,
    /// A file that was named by the site, not picked by the user, cannot be embedded.
    NamedFileAttach,
    /// The file cannot be read (missing, not a regular file, unreadable).
    FileUnavailable,
    /// The file is too large to embed.
    FileTooLarge { size: u64, limit: u64 },
    /// A CMS to co-sign or timestamp is not usable.
    Cms(CmsError),
    /// A detached CMS can only be co-signed with a key of the same hash.
    CoSignHashMismatch,
    /// A request needs at least one document.
    Empty,
}

/// A failure inside signing, not caused by the request.
#[derive(Debug)]
pub enum Failure {
    Key(KeyError),
    Cms(CmsError),
    Internal(&'static str),
}

impl SigningError {
    /// A short fixed ASCII code for records (the journal, the audit log).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Canceled => "canceled",
            Self::Paused => "paused",
            Self::NoPrompter => "no_prompter",
            Self::WrongPassword { .. } => "wrong_password",
            Self::KeyFileUnreadable => "key_file_unreadable",
            Self::UnsupportedKey => "unsupported_key",
            Self::NoSuchAlias => "no_such_alias",
            Self::NoKeys => "no_keys",
            Self::Rejected(_) => "rejected",
            Self::Timestamp(_) => "timestamp",
            Self::TooManyWaiting => "too_many_waiting",
            Self::StorageEmpty => "storage_empty",
            Self::WrongPin => "wrong_pin",
            Self::PinLocked => "pin_locked",
            Self::Token(_) => "token",
            Self::TokenMechanism(_) => "token_mechanism",
            Self::Failed(_) => "signing_failed",
        }
    }
}

impl std::fmt::Display for SigningError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Canceled => f.write_str("canceled by the user"),
            Self::NoPrompter => f.write_str("no user interface can ask for a key"),
            Self::WrongPassword { .. } => f.write_str("wrong password"),
            Self::KeyFileUnreadable => f.write_str("the key file cannot be opened"),
            Self::UnsupportedKey => f.write_str("unsupported key algorithm"),
            Self::NoSuchAlias => f.write_str("no key with that alias"),
            Self::NoKeys => f.write_str("no key of that type"),
            Self::Rejected(r) => r.fmt(f),
            Self::Timestamp(e) => e.fmt(f),
            Self::Paused => f.write_str("signing is stopped for now by the user"),
            Self::TooManyWaiting => f.write_str("too many requests from this site wait for the user"),
            Self::StorageEmpty => f.write_str("storage.empty"),
            Self::WrongPin => f.write_str("wrong PIN"),
            Self::PinLocked => f.write_str("the token's PIN is locked"),
            Self::Token(why) => write!(f, "token: {why}"),
            Self::TokenMechanism(algorithm) => write!(f, "the token cannot sign with its {algorithm} key"),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DigestLength { got, expected } => {
                write!(f, "the hash is {got} bytes but the chosen key's algorithm needs {expected}")
            }
            Self::Xml(e) => e.fmt(f),
            Self::NotUtf8 => f.write_str("the document is not UTF-8 text"),
            Self::NamedFileAttach => f.write_str(
                "a file named by the site can only be signed detached; pick it in qoltanba's file chooser to embed it",
            ),
            Self::FileUnavailable => f.write_str("file.not_found"),
            Self::FileTooLarge { size, limit } => {
                write!(f, "the file is {size} bytes: too large to attach ({limit} at most); sign it detached")
            }
            Self::Cms(e) => e.fmt(f),
            Self::CoSignHashMismatch => f.write_str(
                "a detached CMS can only be co-signed with a key of the same hash algorithm as its signers, who must agree on the hash",
            ),
            Self::Empty => f.write_str("nothing to sign"),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(e) => e.fmt(f),
            Self::Cms(e) => e.fmt(f),
            Self::Internal(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SigningError {}

impl From<KeyError> for SigningError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::UnsupportedAlgorithm(_) => Self::UnsupportedKey,
            KeyError::NoMechanism(algorithm) => Self::TokenMechanism(algorithm),
            other => Self::Failed(Failure::Key(other)),
        }
    }
}

impl From<crate::xmldsig::XmlDsigError> for SigningError {
    fn from(e: crate::xmldsig::XmlDsigError) -> Self {
        match e {
            crate::xmldsig::XmlDsigError::Key(k) => k.into(),
            crate::xmldsig::XmlDsigError::Xml(x) => Self::Rejected(Rejection::Xml(x)),
            crate::xmldsig::XmlDsigError::Timestamp(e) => Self::Timestamp(e),
        }
    }
}

impl From<CmsError> for SigningError {
    fn from(e: CmsError) -> Self {
        match e {
            CmsError::Key(k) => k.into(),
            e @ CmsError::Timestamp(_) => Self::Timestamp(e),
            other => Self::Failed(Failure::Cms(other)),
        }
    }
}

impl From<crate::ui::PromptUnavailable> for SigningError {
    fn from(_: crate::ui::PromptUnavailable) -> Self {
        Self::NoPrompter
    }
}
