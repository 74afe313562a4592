//! commonUtils CMS methods (spec §3.3, §9.2). Results are base64 DER on one line.
//!
//! | method | content | timestamp |
//! |---|---|---|
//! | `createCAdESFromBase64` | data (or co-signs a CMS given as data) | no |
//! | `createCAdESFromBase64Hash` | a digest, detached | no |
//! | `createCMSSignatureFromBase64` | data | yes |
//! | `createCAdESFromFile` / `createCMSSignatureFromFile` | a local file | no / yes |
//! | `applyCAdEST` | adds timestamps to a CMS | yes |
//! | `showFileChooser` | the user picks a file in our chooser | |
//!
//! Each method's arguments become one typed [`Operation`]; which files may be read and
//! what the user sees is the signing core's business.

use std::path::PathBuf;

use serde_json::Value;

use super::{Arg, Failure, bool_arg, key_filter, str_arg};
use crate::protocol::data::{decode_base64, encode_base64};
use crate::protocol::{Dispatcher, Session};
use crate::signing::{CmsInput, KeyFilter, Operation, Outcome, Signature, SigningError};

/// Is `data` a CMS SignedData? (Then NCALayer co-signs it instead of signing the bytes.)
fn is_signed_data(data: &[u8]) -> bool {
    crate::compute::run(|| crate::cms::parse_signed_data(data).is_ok())
}

/// The one CMS of a single-document outcome, as base64.
fn single_cms(outcome: Outcome) -> Result<Value, Failure> {
    match outcome {
        Outcome::Signed { signatures, .. } => match signatures.into_iter().next() {
            Some(Signature::Cms(der)) => Ok(Value::String(encode_base64(&der))),
            _ => Err(unexpected()),
        },
        Outcome::Timestamped(der) => Ok(Value::String(encode_base64(&der))),
        _ => Err(unexpected()),
    }
}

fn unexpected() -> Failure {
    SigningError::Failed(crate::signing::Failure::Internal("unexpected outcome")).into()
}

fn sign_one(
    d: &Dispatcher,
    session: &Session,
    filter: KeyFilter,
    input: CmsInput,
    timestamp: bool,
) -> Result<Value, Failure> {
    single_cms(d.execute(session, Operation::Cms { filter, inputs: vec![input], timestamp })?)
}

/// `createCAdESFromBase64` and `createCMSSignatureFromBase64`:
/// `(storageName, keyType, base64Data, attach)`.
pub fn sign_base64(d: &Dispatcher, session: &Session, args: Vec<Arg>, timestamp: bool) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let bytes = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    let attach = bool_arg(&args, 3);
    drop(args); // the base64 text is not needed any more: large documents, fewer copies
    let input = if is_signed_data(&bytes) { CmsInput::CoSign(bytes) } else { CmsInput::Data { bytes, attach } };
    sign_one(d, session, filter, input, timestamp)
}

/// `createCAdESFromBase64Hash(storageName, keyType, base64Digest)`: a detached CMS whose
/// messageDigest is the given digest, which must fit the chosen key's hash.
pub fn sign_hash(d: &Dispatcher, session: &Session, args: Vec<Arg>) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let digest = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    if digest.is_empty() {
        return Err(Failure::Message("java.lang.IllegalArgumentException: empty hash".into()));
    }
    sign_one(d, session, filter, CmsInput::Digest(digest), false)
}

/// `createCAdESFromFile` and `createCMSSignatureFromFile`:
/// `(storageName, keyType, filePath, attach)`.
pub fn sign_file(d: &Dispatcher, session: &Session, args: Vec<Arg>, timestamp: bool) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let input = CmsInput::File { path: PathBuf::from(str_arg(&args, 2)), attach: bool_arg(&args, 3) };
    sign_one(d, session, filter, input, timestamp)
}

/// `applyCAdEST(storageName, keyType, base64Cms)`: timestamp every signer that has no
/// timestamp yet. No key is needed; the signatures are unchanged.
pub fn apply_cades_t(d: &Dispatcher, session: &Session, args: Vec<Arg>) -> Result<Value, Failure> {
    let cms = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    single_cms(d.execute(session, Operation::ApplyTimestamp { cms })?)
}

/// `showFileChooser(fileExtension, currentDirectory)`: the absolute path picked.
pub fn show_file_chooser(d: &Dispatcher, session: &Session, args: Vec<Arg>) -> Result<Value, Failure> {
    let operation =
        Operation::ChooseFile { extension: str_arg(&args, 0).to_owned(), directory: str_arg(&args, 1).to_owned() };
    match d.execute(session, operation)? {
        Outcome::ChosenFile(path) => Ok(Value::String(path.display().to_string())),
        _ => Err(unexpected()),
    }
}
