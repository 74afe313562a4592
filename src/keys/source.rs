//! Where keys come from: a key file or a hardware token, behind one interface. The
//! signing core opens a [`KeySource`] with the secret the person typed in qoltanba's
//! dialog (a password or a PIN, never one from the page) and from then on sees keys
//! only: the key list, the trust rules and the signing are the same for both.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::file::{load_key_bytes, needs_password};
use super::{KeyFileError, SigningKey};

/// What kind of source: the dialogs word their questions after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A key file, asked for a password.
    File,
    /// A hardware token, asked for its PIN.
    Token,
}

/// Where a key was, as the signing journal records it: a key file's path, or a
/// token's label and the key's `CKA_ID`. Never a secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum KeyPlace {
    File { path: String },
    Token { label: String, id: Option<String> },
}

impl KeyPlace {
    /// The place of the keys of `source`.
    pub fn of(source: &dyn KeySource) -> Self {
        let shown = source.shown_as().to_string_lossy().into_owned();
        match source.kind() {
            SourceKind::File => Self::File { path: shown },
            SourceKind::Token => Self::Token { label: shown, id: None },
        }
    }

    /// The place of one key of the source: on a token, with its `CKA_ID`.
    pub fn of_key(&self, key: &dyn super::SigningKey) -> Self {
        match self {
            Self::Token { label, .. } => Self::Token { label: label.clone(), id: key.token_id().map(str::to_owned) },
            file => file.clone(),
        }
    }
}

/// Why a source did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Wrong password or PIN; `final_try`: the source itself allows one more.
    WrongSecret { final_try: bool },
    /// The same PIN was refused before: not tried again (the token's tries are kept).
    RefusedBefore,
    /// The token's PIN is locked.
    Locked,
    /// Not a key file qoltanba can read.
    Unreadable,
    /// A key of an algorithm qoltanba does not know.
    Unsupported,
    /// The token holds no key with its certificate.
    Empty,
    /// The token failed, is busy with another request, or was taken out.
    Token(String),
}

/// See the module documentation.
pub trait KeySource {
    fn kind(&self) -> SourceKind;

    /// What the password dialog names: the file's path, or the token's label.
    fn shown_as(&self) -> &Path;

    /// Whether a secret is asked for at all (unencrypted PEM bundles: no).
    fn needs_secret(&self) -> bool {
        true
    }

    /// The source's own counter: one more wrong secret locks it.
    fn final_try(&self) -> bool {
        false
    }

    /// The source is locked: no secret opens it, none is asked for.
    fn locked(&self) -> bool {
        false
    }

    /// Open with `secret` and return every key in the source.
    fn open(&self, secret: &str) -> Result<Vec<Box<dyn SigningKey>>, OpenError>;
}

/// A key file (NCA PKCS#12, or a PEM bundle), read once.
pub struct FileSource {
    path: PathBuf,
    bytes: Zeroizing<Vec<u8>>,
}

impl FileSource {
    pub fn new(path: PathBuf, bytes: Zeroizing<Vec<u8>>) -> Self {
        Self { path, bytes }
    }
}

impl KeySource for FileSource {
    fn kind(&self) -> SourceKind {
        SourceKind::File
    }

    fn shown_as(&self) -> &Path {
        &self.path
    }

    fn needs_secret(&self) -> bool {
        needs_password(&self.bytes)
    }

    fn open(&self, secret: &str) -> Result<Vec<Box<dyn SigningKey>>, OpenError> {
        load_key_bytes(&self.bytes, secret).map_err(|e| match e {
            e if e.is_wrong_password() => OpenError::WrongSecret { final_try: false },
            KeyFileError::Unsupported(_) => OpenError::Unsupported,
            _ => OpenError::Unreadable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_opens_with_its_password_only() {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nca-test/keys/rsa_sign_individual.p12");
        let source = FileSource::new(path.clone(), Zeroizing::new(std::fs::read(&path).unwrap()));
        assert!(source.needs_secret() && !source.locked() && source.kind() == SourceKind::File);
        assert_eq!(source.open("wrong").err(), Some(OpenError::WrongSecret { final_try: false }));
        let keys = source.open("Qwerty12").unwrap();
        assert_eq!(keys[0].certificate().iin().as_deref(), Some("123456789011"));
        let junk = FileSource::new(path, Zeroizing::new(b"not a key".to_vec()));
        assert_eq!(junk.open("x").err(), Some(OpenError::Unreadable));
    }
}
