//! Methods that need no key: `verifyXml` and `getHash`.

use serde_json::Value;

use super::{bad_args, text};
use crate::protocol::data::encode_base64;
use crate::protocol::reply;
use crate::xmldsig;

/// `verifyXml [xml]` (or `[xml, idAttrName, parent]`): true iff every signature verifies.
pub fn verify_xml(args: &[Value]) -> Value {
    let Some(xml) = text(args, 0) else { return bad_args("verifyXml") };
    match xmldsig::verify_xml(xml) {
        Ok(reports) if reports.is_empty() => {
            reply::legacy_error("SIGNATURE_VALIDATION_ERROR", Some("no signature in the document".into()))
        }
        Ok(reports) => reply::legacy_ok(reports.iter().all(|r| r.is_valid()).into()),
        Err(e) => reply::legacy_error("XML_PARSE_EXCEPTION", Some(e.to_string().into())),
    }
}

/// `getHash [data, algorithm]`: base64 of the hash of the data's UTF-8 bytes.
pub fn get_hash(args: &[Value]) -> Value {
    let (Some(data), Some(alg)) = (text(args, 0), text(args, 1)) else { return bad_args("getHash") };
    let oid = match alg.to_ascii_uppercase().as_str() {
        "SHA1" => "1.3.14.3.2.26",
        "SHA256" => "2.16.840.1.101.3.4.2.1",
        "GOST34311" => "1.2.398.3.10.1.3.1",
        "GOST34112015_256" | "GOST3411_2015_256" => "1.2.398.3.10.1.3.2",
        "GOST34112015_512" | "GOST3411_2015_512" => "1.2.398.3.10.1.3.3",
        _ => return reply::legacy_error("COMMON", Some(format!("unknown hash algorithm {alg}").into())),
    };
    let hasher = crate::crypto::Hasher::for_oid(&der::asn1::ObjectIdentifier::new_unwrap(oid));
    match hasher {
        Some(h) => reply::legacy_ok(encode_base64(&h.digest(data.as_bytes())).into()),
        None => reply::legacy_error("COMMON", None),
    }
}
