//! commonUtils CMS methods: `createCAdESFromBase64` and `createCAdESFromBase64Hash`.
//! They return base64 DER on one line, CAdES-BES without a timestamp (spec §9.2).

use std::time::SystemTime;

use serde_json::Value;

use super::keys::check_storage;
use super::{Arg, Failure, bool_arg, str_arg};
use crate::cms::{Content, sign_cades_bes};
use crate::protocol::data::{decode_base64, encode_base64};
use crate::protocol::{Dispatcher, MODULE_COMMON_UTILS, Session, not_implemented};
use crate::signing::{CoreError, KeyFilter, Purpose, summarize, summarize_digest};

/// The key filter of a commonUtils `keyType`.
fn filter_for(key_type: &str) -> KeyFilter {
    KeyFilter { purpose: Purpose::from_key_type(key_type), ..KeyFilter::default() }
}

/// Is `data` a CMS SignedData? (Then NCALayer co-signs it instead of signing the bytes.)
fn is_signed_data(data: &[u8]) -> bool {
    use der::Decode;
    cms::content_info::ContentInfo::from_der(data).is_ok_and(|ci| ci.content_type == crate::oid::ID_SIGNED_DATA)
}

/// `createCAdESFromBase64(storageName, keyType, base64Data, attach)`.
pub async fn create_cades_from_base64(d: &Dispatcher, session: &Session, args: Vec<Arg>) -> Result<Value, Failure> {
    check_storage(str_arg(&args, 0))?;
    let filter = filter_for(str_arg(&args, 1));
    let data = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    if is_signed_data(&data) {
        return Err(Failure::Message(not_implemented("co-signing an existing CMS", session.context.locale)));
    }
    let attach = bool_arg(&args, 3);
    let operation = format!("{MODULE_COMMON_UTILS}.createCAdESFromBase64");
    let documents = vec![summarize(&data)];
    let cms = d
        .sign(session.context.clone(), operation, filter, documents, move |key| {
            Ok(sign_cades_bes(key, Content::Data { bytes: &data, attach }, SystemTime::now())?)
        })
        .await?;
    Ok(Value::String(encode_base64(&cms)))
}

/// `createCAdESFromBase64Hash(storageName, keyType, base64Digest)`: a detached CMS whose
/// messageDigest is the given digest, which must fit the chosen key's hash.
pub async fn create_cades_from_base64_hash(
    d: &Dispatcher,
    session: &Session,
    args: Vec<Arg>,
) -> Result<Value, Failure> {
    check_storage(str_arg(&args, 0))?;
    let filter = filter_for(str_arg(&args, 1));
    let digest = decode_base64(str_arg(&args, 2)).map_err(Failure::Message)?;
    if digest.is_empty() {
        return Err(Failure::Message("java.lang.IllegalArgumentException: empty hash".into()));
    }
    let operation = format!("{MODULE_COMMON_UTILS}.createCAdESFromBase64Hash");
    let documents = vec![summarize_digest(&digest)];
    let cms = d
        .sign(session.context.clone(), operation, filter, documents, move |key| {
            check_digest_length(key.algorithm(), &digest)?;
            Ok(sign_cades_bes(key, Content::Digest(&digest), SystemTime::now())?)
        })
        .await?;
    Ok(Value::String(encode_base64(&cms)))
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
