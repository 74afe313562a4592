//! The methods that open a key file the page names (`[storage, path, alias,
//! password, …]`): each becomes one typed [`NamedKeyFile`] operation; the signing core
//! decides what may be opened and asks the user before any signature.

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{bad_args, text};
use crate::keys::{Certificate, KeyAlgorithm};
use crate::protocol::data::{decode_base64, encode_base64};
use crate::protocol::{Dispatcher, Session, describe, reply};
use crate::signing::{
    KeyListing, NamedKeyCall, NamedKeyFile, NamedSign, Operation, Outcome, Purpose, Signature, SigningError,
};

/// The typed call of a method that opens the key file the page names
/// (`[storage, path, …]`); `None` for other methods, `Err` with the reply for bad
/// arguments or storages.
pub fn key_call(method: &str, args: &[Value]) -> Option<Result<NamedKeyFile, Value>> {
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
    if !KEY_METHODS.contains(&method) {
        return None;
    }
    Some(parse_key_call(method, args))
}

fn parse_key_call(method: &str, args: &[Value]) -> Result<NamedKeyFile, Value> {
    let (Some(storage), Some(path)) = (text(args, 0), text(args, 1)) else { return Err(bad_args(method)) };
    match storage {
        "PKCS12" => {}
        s if crate::protocol::common_utils::is_token_storage(s) => {
            return Err(reply::legacy_error("LOAD_KEYSTORE_ERROR", None));
        }
        _ => return Err(reply::legacy_error("UNKNOWN_STORAGE", None)),
    }
    // getKeys takes the password third; the others take an alias, then the password.
    let (alias, password) = if method == "getKeys" { (None, text(args, 2)) } else { (text(args, 2), text(args, 3)) };
    let Some(password) = password else { return Err(bad_args(method)) };
    let alias = alias.unwrap_or_default().to_owned();
    let bytes = |i: usize| text(args, i).map(|t| t.as_bytes().to_vec());
    let call = match method {
        "getKeys" => NamedKeyCall::List(match text(args, 3).unwrap_or("ALL") {
            "AUTH" => Some(Purpose::Authentication),
            "SIGN" => Some(Purpose::Signature),
            _ => None,
        }),
        "verifyPlainData" => {
            let (Some(data), Some(signature)) = (bytes(4), text(args, 5)) else { return Err(bad_args(method)) };
            let Ok(signature) = decode_base64(signature) else { return Err(reply::legacy_ok(false.into())) };
            NamedKeyCall::Verify { alias, data, signature }
        }
        "signPlainData" => {
            let Some(data) = bytes(4) else { return Err(bad_args(method)) };
            NamedKeyCall::Sign { alias, what: NamedSign::Plain(data) }
        }
        "createCMSSignature" => {
            let Some(data) = bytes(4) else { return Err(bad_args(method)) };
            let attach = args.get(5).and_then(Value::as_bool).unwrap_or(false);
            NamedKeyCall::Sign { alias, what: NamedSign::Cms { data, attach } }
        }
        "signXml" | "signXmlByElementId" => {
            let Some(xml) = text(args, 4) else { return Err(bad_args(method)) };
            let (tbs_xpath, parent_xpath) = if method == "signXml" {
                (String::new(), String::new())
            } else {
                by_element_id_xpaths(args)
                    .map_err(|why| reply::legacy_error("XML_PARSE_EXCEPTION", Some(why.into())))?
            };
            NamedKeyCall::Sign { alias, what: NamedSign::Xml { xml: xml.to_owned(), tbs_xpath, parent_xpath } }
        }
        _ => NamedKeyCall::Certificate { alias },
    };
    Ok(NamedKeyFile { path: path.to_owned(), password: Zeroizing::new(password.to_owned()), call })
}

/// Run a named-key-file call and shape its reply. No reply ever carries the path.
pub fn run_key_call(d: &Dispatcher, session: &Session, method: &str, call: NamedKeyFile, args: &[Value]) -> Value {
    let locale = session.context.locale;
    match d.execute(session, Operation::NamedKeyFile(call)) {
        Ok(Outcome::Keys(keys)) => get_keys(&keys),
        Ok(Outcome::Certificate(cert)) => match method {
            "getNotBefore" => reply::legacy_ok(local_date(cert.not_before_ms()).into()),
            "getNotAfter" => reply::legacy_ok(local_date(cert.not_after_ms()).into()),
            "getSubjectDN" => reply::legacy_ok(cert.subject_dn().into()),
            "getIssuerDN" => reply::legacy_ok(cert.issuer_dn().into()),
            _ => get_rdn_by_oid(&cert, args),
        },
        Ok(Outcome::Verified(ok)) => reply::legacy_ok(ok.into()),
        Ok(Outcome::Signed { signatures, .. }) => match signatures.into_iter().next() {
            Some(Signature::Raw(bytes) | Signature::Cms(bytes)) => reply::legacy_ok(encode_base64(&bytes).into()),
            Some(Signature::Xml(xml)) => reply::legacy_ok(xml.into()),
            None => reply::legacy_error("COMMON", None),
        },
        Ok(_) => reply::legacy_error("COMMON", None),
        Err(SigningError::WrongPassword { attempts_left }) => {
            reply::legacy_error("WRONG_PASSWORD", Some(json!(attempts_left.unwrap_or(0))))
        }
        Err(SigningError::KeyFileUnreadable | SigningError::UnsupportedKey) => {
            reply::legacy_error("LOAD_KEYSTORE_ERROR", None)
        }
        Err(SigningError::NoKeys) => reply::legacy_error("EMPTY_KEY_LIST", None),
        Err(SigningError::NoSuchAlias) => {
            reply::legacy_error("COMMON", Some("no key with that alias in the file".into()))
        }
        Err(SigningError::Rejected(crate::signing::Rejection::Xml(e))) => {
            reply::legacy_error("XML_PARSE_EXCEPTION", Some(e.to_string().into()))
        }
        Err(e) => reply::legacy_error("COMMON", Some(describe(&e, locale).into())),
    }
}

/// `getKeys`: `ALG|CN|SERIAL|ALIAS` lines.
fn get_keys(keys: &[KeyListing]) -> Value {
    let lines: Vec<String> = keys
        .iter()
        .map(|k| {
            let alg = match k.algorithm {
                KeyAlgorithm::Rsa => "RSA",
                KeyAlgorithm::EcdsaP256 => "EC",
                _ => "ГОСТ",
            };
            format!("{alg}|{}|{}|{}", k.subject_cn, k.serial_hex, k.alias)
        })
        .collect();
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
