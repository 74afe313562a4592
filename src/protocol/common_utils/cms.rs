//! commonUtils CMS methods (spec §3.3, §9.2). Results are base64 DER on one line.
//!
//! | method | content | timestamp |
//! |---|---|---|
//! | `createCAdESFromBase64` | data (or co-signs a CMS given as data) | no |
//! | `createCAdESFromBase64Hash` | a digest, detached | no |
//! | `createCMSSignatureFromBase64` | data | yes |
//! | `createCAdESFromFile` / `createCMSSignatureFromFile` | a local file | no / yes |
//! | `applyCAdEST` | adds timestamps to a CMS | yes |
//!
//! Files are read only if the user picked them in our chooser during this run, or
//! approves that exact file, named with the requesting site, in the confirmation.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use super::{Arg, Failure, bool_arg, key_filter, str_arg};
use crate::cms::{Content, cosign, sign_cades_bes, tsp};
use crate::keys::SigningKey;
use crate::protocol::data::{decode_base64, encode_base64};
use crate::protocol::{Dispatcher, MODULE_COMMON_UTILS, Session};
use crate::signing::{CoreError, summarize, summarize_digest};
use crate::ui::DocumentSummary;

/// Largest file `…FromFile` embeds in an attached CMS (the reply must fit a message).
const MAX_ATTACHED_FILE: u64 = 128 * 1024 * 1024;

/// Is `data` a CMS SignedData? (Then NCALayer co-signs it instead of signing the bytes.)
fn is_signed_data(data: &[u8]) -> bool {
    crate::cms::parse_signed_data(data).is_ok()
}

fn operation(method: &str) -> String {
    format!("{MODULE_COMMON_UTILS}.{method}")
}

/// The TSA to stamp with, if the method timestamps.
fn tsa_for(d: &Dispatcher, timestamp: bool) -> Option<tsp::TsaConfig> {
    timestamp.then(|| d.tsa.clone())
}

/// Add timestamps to `cms` when a TSA is given (CAdES-T).
fn stamp(cms: Vec<u8>, tsa: Option<&tsp::TsaConfig>) -> Result<Vec<u8>, CoreError> {
    match tsa {
        Some(tsa) => Ok(tsp::add_timestamps(&cms, tsa)?),
        None => Ok(cms),
    }
}

/// `createCAdESFromBase64` and `createCMSSignatureFromBase64`:
/// `(storageName, keyType, base64Data, attach)`.
pub async fn sign_base64(
    d: &Dispatcher,
    session: &Session,
    args: Vec<Arg>,
    method: &str,
    timestamp: bool,
) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let data = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    let attach = bool_arg(&args, 3);
    drop(args); // the base64 text is not needed any more: large documents, fewer copies
    let cosigning = is_signed_data(&data);
    let documents = vec![summarize(&data)];
    let tsa = tsa_for(d, timestamp);
    let cms = d
        .sign(session.context.clone(), operation(method), filter, documents, move |key| {
            let cms = if cosigning {
                cosign(key, &data, SystemTime::now())?
            } else {
                sign_cades_bes(key, Content::Data { bytes: &data, attach }, SystemTime::now())?
            };
            stamp(cms, tsa.as_ref())
        })
        .await?;
    Ok(Value::String(encode_base64(&cms)))
}

/// `createCAdESFromBase64Hash(storageName, keyType, base64Digest)`: a detached CMS whose
/// messageDigest is the given digest, which must fit the chosen key's hash.
pub async fn sign_hash(d: &Dispatcher, session: &Session, args: Vec<Arg>) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let digest = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    if digest.is_empty() {
        return Err(Failure::Message("java.lang.IllegalArgumentException: empty hash".into()));
    }
    let documents = vec![summarize_digest(&digest)];
    let cms = d
        .sign(session.context.clone(), operation("createCAdESFromBase64Hash"), filter, documents, move |key| {
            check_digest_length(key.algorithm(), &digest)?;
            Ok(sign_cades_bes(key, Content::Digest(&digest), SystemTime::now())?)
        })
        .await?;
    Ok(Value::String(encode_base64(&cms)))
}

/// `createCAdESFromFile` and `createCMSSignatureFromFile`:
/// `(storageName, keyType, filePath, attach)`. Detached signatures hash the file as a
/// stream, whatever its size.
pub async fn sign_file(
    d: &Dispatcher,
    session: &Session,
    args: Vec<Arg>,
    method: &str,
    timestamp: bool,
) -> Result<Value, Failure> {
    let filter = key_filter(&args)?;
    let path = PathBuf::from(str_arg(&args, 2));
    let attach = bool_arg(&args, 3);
    if !path.is_absolute() {
        return Err(Failure::Message("file.not_found".into()));
    }
    let chosen = d.core.was_chosen(&path);
    let documents = vec![file_summary(&path, chosen)];
    let tsa = tsa_for(d, timestamp);
    let result = d
        .sign(session.context.clone(), operation(method), filter, documents, move |key| {
            stamp(sign_file_now(key, &path, attach)?, tsa.as_ref())
        })
        .await;
    match result {
        Ok(cms) => Ok(Value::String(encode_base64(&cms))),
        Err(CoreError::Invalid(why)) if why == "file.not_found" => Err(Failure::Message(why)),
        Err(e) => Err(e.into()),
    }
}

/// What the confirmation says about a file. A file the user did not pick in our
/// chooser is flagged: the site named it.
fn file_summary(path: &Path, chosen: bool) -> DocumentSummary {
    let size = if chosen { std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) } else { 0 };
    let origin =
        if chosen { "chosen by you" } else { "named by the site, not chosen by you: approve only if you expect it" };
    DocumentSummary { size, preview: format!("file {} ({origin})", path.display()) }
}

/// Sign a file after the user approved: stream it through the hash (detached) or
/// embed it (attached, bounded).
fn sign_file_now(key: &dyn SigningKey, path: &Path, attach: bool) -> Result<Vec<u8>, CoreError> {
    let not_found = || CoreError::Invalid("file.not_found".into());
    let mut file = std::fs::File::open(path).map_err(|_| not_found())?;
    let size = file.metadata().map_err(|_| not_found())?.len();
    if attach {
        if size > MAX_ATTACHED_FILE {
            return Err(CoreError::Invalid(format!(
                "the file is {size} bytes: too large to attach ({MAX_ATTACHED_FILE} at most); sign it detached"
            )));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(|e| CoreError::Invalid(e.to_string()))?;
        return Ok(sign_cades_bes(key, Content::Data { bytes: &bytes, attach: true }, SystemTime::now())?);
    }
    let mut hasher = crate::crypto::Hasher::for_algorithm(key.algorithm())?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| CoreError::Invalid(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(sign_cades_bes(key, Content::Digest(&hasher.finish()), SystemTime::now())?)
}

/// `applyCAdEST(storageName, keyType, base64Cms)`: timestamp every signer that has no
/// timestamp yet. No key is needed; the signatures are unchanged.
pub async fn apply_cades_t(d: &Dispatcher, args: Vec<Arg>) -> Result<Value, Failure> {
    let cms = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    let tsa = tsa_for(d, true);
    let stamped = d.blocking(move |_| stamp(cms, tsa.as_ref())).await?;
    Ok(Value::String(encode_base64(&stamped)))
}

/// `showFileChooser(fileExtension, currentDirectory)`: the absolute path picked.
pub async fn show_file_chooser(d: &Dispatcher, session: &Session, args: Vec<Arg>) -> Result<Value, Failure> {
    let (extension, directory) = (str_arg(&args, 0).to_owned(), str_arg(&args, 1).to_owned());
    let context = session.context.clone();
    let path = d.blocking(move |core| core.choose_file(&context, &extension, &directory)).await?;
    Ok(Value::String(path.display().to_string()))
}

/// A digest must have the length of the key algorithm's hash.
pub fn check_digest_length(algorithm: crate::keys::KeyAlgorithm, digest: &[u8]) -> Result<(), CoreError> {
    let expected = algorithm.digest(b"")?.len();
    if digest.len() != expected {
        return Err(CoreError::Invalid(format!(
            "the hash is {} bytes but the chosen key's algorithm needs {expected}",
            digest.len()
        )));
    }
    Ok(())
}
