//! The legacy applet API (requests without `module`, spec §5): `{"method":…,"args":[…]}`
//! answered with `{"result":…,"errorCode":"NONE"}`.
//!
//! Here the page itself names the key file and gives its password. We still never sign
//! without the user's confirmation, count wrong passwords per file (a page must not
//! guess passwords through us), and answer "cannot open" the same way whether a path
//! is missing or not a key file (a page must not map the disk through us).
//! `setLocale` gets no reply at all, as in NCALayer.

use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::data::{decode_base64, encode_base64};
use super::{Dispatcher, Session, describe, method_name, not_implemented, reply};
use crate::cms::{Content, sign_cades_bes};
use crate::i18n::Locale;
use crate::keys::{Certificate, KeyAlgorithm, SigningKey};
use crate::signing::{CoreError, NamedKeyError, Operation, Purpose, SigningCore, summarize};
use crate::ui::RequestContext;
use crate::xmldsig::{self, Layout};

const KEY_METHODS: &[&str] = &[
    "getKeys",
    "getNotBefore",
    "getNotAfter",
    "getSubjectDN",
    "getIssuerDN",
    "getRdnByOid",
    "signPlainData",
    "verifyPlainData",
    "createCMSSignature",
    "signXml",
    "signXmlByElementId",
];

/// Handle one legacy request; `None` means no reply.
pub async fn handle(d: &Dispatcher, session: &mut Session, request: &Map<String, Value>) -> Option<Value> {
    let method = method_name(request).unwrap_or_default().to_owned();
    let args = match request.get("args") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    if method == "setLocale" {
        if let Some(locale) = args.first().and_then(Value::as_str).and_then(Locale::parse) {
            session.context.locale = locale;
        }
        return None;
    }
    let locale = session.context.locale;
    let mut reply = if KEY_METHODS.contains(&method.as_str()) {
        let context = session.context.clone();
        let outcome = d.blocking(move |core| Ok(key_method(core, &context, &method, &args))).await;
        outcome.unwrap_or_else(|e| reply::legacy_error("COMMON", Some(describe(&e, locale).into())))
    } else if method == "getHash" {
        get_hash(&args)
    } else if method == "verifyXml" {
        verify_xml(&args)
    } else {
        reply::legacy_error("COMMON", Some(not_implemented(&format!("legacy API {method}"), locale).into()))
    };
    if let (Some(Value::String(uuid)), Value::Object(map)) = (request.get("uuid"), &mut reply) {
        map.insert("uuid".into(), uuid.clone().into());
    }
    Some(reply)
}

/// A positional string argument; `None` if absent or not a string.
fn text(args: &[Value], i: usize) -> Option<&str> {
    args.get(i).and_then(Value::as_str)
}

fn bad_args(method: &str) -> Value {
    reply::legacy_error("COMMON", Some(format!("wrong arguments for {method}").into()))
}

/// Methods that open the key file the page names: `[storage, path, …]`.
fn key_method(core: &SigningCore, context: &RequestContext, method: &str, args: &[Value]) -> Value {
    let (Some(storage), Some(path)) = (text(args, 0), text(args, 1)) else { return bad_args(method) };
    match storage {
        "PKCS12" => {}
        s if super::common_utils::is_token_storage(s) => return reply::legacy_error("LOAD_KEYSTORE_ERROR", None),
        _ => return reply::legacy_error("UNKNOWN_STORAGE", None),
    }
    // getKeys takes the password third; the others take an alias, then the password.
    let (alias, password) = if method == "getKeys" { (None, text(args, 2)) } else { (text(args, 2), text(args, 3)) };
    let Some(password) = password else { return bad_args(method) };
    let keys = match core.open_named_key_file(&PathBuf::from(path), password) {
        Ok(keys) => keys,
        Err(NamedKeyError::WrongPassword { attempts_left }) => {
            return reply::legacy_error("WRONG_PASSWORD", Some(json!(attempts_left)));
        }
        Err(NamedKeyError::Unreadable(_)) => return reply::legacy_error("LOAD_KEYSTORE_ERROR", None),
    };
    if method == "getKeys" {
        return get_keys(&keys, text(args, 3).unwrap_or("ALL"));
    }
    let alias = alias.unwrap_or_default();
    let Some(key) = keys.iter().find(|k| k.alias() == alias || (alias.is_empty() && keys.len() == 1)) else {
        return reply::legacy_error("COMMON", Some(format!("no key with alias {alias} in the file").into()));
    };
    let cert = key.certificate();
    match method {
        "getNotBefore" => reply::legacy_ok(local_date(cert.not_before_ms()).into()),
        "getNotAfter" => reply::legacy_ok(local_date(cert.not_after_ms()).into()),
        "getSubjectDN" => reply::legacy_ok(cert.subject_dn().into()),
        "getIssuerDN" => reply::legacy_ok(cert.issuer_dn().into()),
        "getRdnByOid" => get_rdn_by_oid(cert, args),
        "verifyPlainData" => verify_plain_data(key.as_ref(), args),
        _ => sign_for_page(core, context, method, key.as_ref(), args),
    }
}

/// `getKeys`: `ALG|CN|SERIAL|ALIAS` lines of the keys of `type` (`AUTH`, `SIGN`, `ALL`).
fn get_keys(keys: &[Box<dyn SigningKey>], key_type: &str) -> Value {
    let purpose = match key_type {
        "AUTH" => Some(Purpose::Authentication),
        "SIGN" => Some(Purpose::Signature),
        _ => None,
    };
    let lines: Vec<String> = keys
        .iter()
        .filter(|k| purpose.is_none_or(|p| p.allows(k.certificate())))
        .map(|k| {
            let alg = if k.algorithm() == KeyAlgorithm::Rsa { "RSA" } else { "ГОСТ" };
            let cert = k.certificate();
            format!("{alg}|{}|{}|{}", cert.subject_cn(), cert.serial_hex(), k.alias())
        })
        .collect();
    if lines.is_empty() {
        return reply::legacy_error("EMPTY_KEY_LIST", None);
    }
    reply::legacy_ok(lines.join("\n").into())
}

/// `dd.MM.yyyy HH:mm:ss` in local time (Kazakhstan time, UTC+5, when the local
/// offset cannot be determined).
fn local_date(ms: i64) -> String {
    let offset = time::UtcOffset::current_local_offset()
        .unwrap_or(time::UtcOffset::from_hms(5, 0, 0).unwrap_or(time::UtcOffset::UTC));
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms / 1000) else { return String::new() };
    let t = t.to_offset(offset);
    format!(
        "{:02}.{:02}.{:04} {:02}:{:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `getRdnByOid [..., oid, index]`: the index-th value of that attribute in the subject.
fn get_rdn_by_oid(cert: &Certificate, args: &[Value]) -> Value {
    let (Some(oid), index) = (text(args, 4), args.get(5).and_then(Value::as_u64).unwrap_or(0)) else {
        return bad_args("getRdnByOid");
    };
    match cert.subject_values(oid).into_iter().nth(index as usize) {
        Some(value) => reply::legacy_ok(value.into()),
        None => reply::legacy_error("RDN_NOT_FOUND", None),
    }
}

fn verify_plain_data(key: &dyn SigningKey, args: &[Value]) -> Value {
    let (Some(data), Some(signature)) = (text(args, 4), text(args, 5)) else { return bad_args("verifyPlainData") };
    let Ok(signature) = decode_base64(signature) else { return reply::legacy_ok(false.into()) };
    let spki = key.certificate().parsed().tbs_certificate().subject_public_key_info();
    let ok = crate::crypto::verify::verify(spki, &key.algorithm().signature_oid(), data.as_bytes(), &signature).is_ok();
    reply::legacy_ok(ok.into())
}

/// The XPaths of `signXmlByElementId [..., xml, elementName, idAttrName, parentElement]`.
fn by_element_id_xpaths(args: &[Value]) -> Result<(String, String), String> {
    let element = text(args, 5).unwrap_or_default();
    let id_attr = text(args, 6).unwrap_or("Id");
    if !["Id", "ID", "id"].contains(&id_attr) {
        return Err(format!("only Id, ID or id attributes can be referenced, not {id_attr}"));
    }
    let as_path =
        |name: &str| if name.is_empty() || name.starts_with('/') { name.to_owned() } else { format!("//{name}") };
    Ok((as_path(element), as_path(text(args, 7).unwrap_or_default())))
}

/// `signPlainData [..., data]` (raw signature), `createCMSSignature [..., data,
/// attached]` (CAdES-BES), `signXml [..., xml]` and `signXmlByElementId`, after the
/// user's confirmation. Binary results come back as base64, XML as the document.
fn sign_for_page(
    core: &SigningCore,
    context: &RequestContext,
    method: &str,
    key: &dyn SigningKey,
    args: &[Value],
) -> Value {
    let Some(data) = text(args, 4) else { return bad_args(method) };
    let attached = args.get(5).and_then(Value::as_bool).unwrap_or(false);
    let xpaths = match method {
        "signXml" => Some((String::new(), String::new())),
        "signXmlByElementId" => match by_element_id_xpaths(args) {
            Ok(p) => Some(p),
            Err(why) => return reply::legacy_error("XML_PARSE_EXCEPTION", Some(why.into())),
        },
        _ => None,
    };
    if let Some((tbs, parent)) = &xpaths
        && let Err(e) = xmldsig::check(data, tbs, parent)
    {
        return reply::legacy_error("XML_PARSE_EXCEPTION", Some(e.to_string().into()));
    }
    let name = format!("legacy.{method}");
    let op = Operation { context, name: &name };
    let bytes = data.as_bytes();
    let signed = core.sign_with_key(op, key, &[summarize(bytes)], |key| match (&xpaths, method) {
        (Some((tbs, parent)), _) => Ok(xmldsig::sign_xml(key, data, tbs, parent, Layout::Santuario)?),
        (None, "signPlainData") => Ok(encode_base64(&key.sign(bytes)?)),
        _ => Ok(encode_base64(&sign_cades_bes(key, Content::Data { bytes, attach: attached }, SystemTime::now())?)),
    });
    match signed {
        Ok(result) => reply::legacy_ok(result.into()),
        Err(CoreError::Canceled) => reply::legacy_error("COMMON", Some("action.canceled".into())),
        Err(e) => reply::legacy_error("COMMON", Some(describe(&e, context.locale).into())),
    }
}

/// `verifyXml [xml]` (or `[xml, idAttrName, parent]`): true iff every signature verifies.
fn verify_xml(args: &[Value]) -> Value {
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
fn get_hash(args: &[Value]) -> Value {
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
