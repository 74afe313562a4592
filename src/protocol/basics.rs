//! Module `kz.gov.pki.knca.basics`, method `sign` (spec §4), on NCA's apiVersion 2
//! invoker: `args` is a named object, replies are `{"status":true,"body":{"result":…}}`,
//! failures carry `code`/`message`/`details`, and a user who cancels gets
//! `{"status":true,"body":{}}`.
//!
//! # Format
//! ```text
//! {"module":"kz.gov.pki.knca.basics","method":"sign","args":{
//!   "allowedStorages":null,"format":"cms","data":"MTEK",
//!   "signingParams":{"decode":true,"encapsulate":false,"digested":false},
//!   "signerParams":{"extKeyUsageOids":[]},"locale":"ru"}}
//! ```

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::data::{decode_base64, encode_base64};
use super::reply::{self, BasicsFailure};
use super::stream::Data;
use super::{Dispatcher, MAX_BATCH, Session, describe, method_name, not_implemented, raw_str};
use crate::i18n::Locale;
use crate::keys::certificate::{parse_x509, pem_armor};
use crate::signing::{CmsInput, Document, KeyFilter, Operation, Outcome, Rejection, Signature, SigningError};
use crate::trust::{ChainRule, Requirements};
use crate::ui::RequestContext;

/// The Java class named in "is not defined in" errors.
const CLASS_NAME: &str = "kz.gov.pki.knca.basics.BasicsService";

/// A failure reply: which invoker code and the `details` text.
struct Failure(BasicsFailure, String);

fn json_error(text: String) -> Failure {
    Failure(BasicsFailure::Invocation, format!("org.json.JSONException: {text}"))
}

/// A prepared request: the operation to run and how to shape its outcome, or the reply.
pub struct Prepared(Result<(Operation, Shape), Value>);

/// How signatures become the `result`, and the page's picture for the dialog.
pub struct Shape {
    format: Format,
    output_cert: bool,
    logo: Option<std::sync::Arc<[u8]>>,
}

/// Longest `logo` read (NCALayer's limit, in base64 characters).
pub const MAX_LOGO_BASE64: usize = 50_000;

/// The page's `logo` as PNG bytes; anything else (too long, not base64, not a PNG)
/// is left out, as a picture is no reason to refuse a signature.
fn logo(value: Option<&Value>) -> Option<std::sync::Arc<[u8]>> {
    let text = value?.as_str()?;
    let text = text.split_once(";base64,").map_or(text, |(_, b64)| b64);
    if text.len() > MAX_LOGO_BASE64 {
        return None;
    }
    let png = decode_base64(text).ok()?;
    png.starts_with(b"\x89PNG\r\n\x1a\n").then(|| png.into())
}

/// Phase one (compute pool): parse the request, decode the documents from the frame.
/// `decoded` is the `data` string, decoded as the message arrived (`args` then holds
/// `""` in its place).
pub fn prepare(
    session: &mut Session,
    request: &Map<String, Value>,
    args: Option<&RawValue>,
    decoded: Option<Data>,
) -> Prepared {
    Prepared(match parse(session, request, args, decoded) {
        Ok(Ok(ready)) => Ok(ready),
        Ok(Err(reply)) => Err(reply),
        Err(Failure(kind, details)) => Err(reply::basics_error(kind, &details)),
    })
}

#[cfg(test)]
impl Prepared {
    /// The reply, or the operation and shape, to compare two ways of preparing.
    pub fn describe(&self) -> String {
        match &self.0 {
            Err(reply) => reply.to_string(),
            Ok((operation, shape)) => {
                format!("{operation:?} {:?} {} {:?}", shape.format, shape.output_cert, shape.logo)
            }
        }
    }
}

/// Phase two: run the operation (may wait for the user) and shape the reply.
pub fn finish(d: &Dispatcher, session: &Session, prepared: Prepared) -> Value {
    match prepared.0 {
        Err(reply) => reply,
        Ok((operation, shape)) => match run(d, session, operation, shape) {
            Ok(reply) => reply,
            Err(Failure(kind, details)) => reply::basics_error(kind, &details),
        },
    }
}

type Parsed = Result<Result<(Operation, Shape), Value>, Failure>;

fn parse(
    session: &mut Session,
    request: &Map<String, Value>,
    args: Option<&RawValue>,
    decoded: Option<Data>,
) -> Parsed {
    let general = |details: String| Failure(BasicsFailure::General, details);
    match request.get("apiVersion") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_i64() == Some(2) || v.as_str() == Some("2") => {}
        Some(_) => return Err(general("java.lang.IllegalArgumentException: Supported apiVersion is 2".into())),
    }
    let method = method_name(request)
        .ok_or_else(|| general(r#"org.json.JSONException: JSONObject["method"] not found."#.into()))?;
    if method != "sign" {
        return Err(general(format!("java.lang.IllegalArgumentException: {method} is not defined in {CLASS_NAME}")));
    }
    let demands = || general("java.lang.IllegalArgumentException: sign demands arguments".into());
    let args = args.filter(|a| a.get().trim_start().starts_with('{')).ok_or_else(demands)?;
    let mut fields: std::collections::HashMap<String, &RawValue> =
        serde_json::from_str(args.get()).map_err(|_| demands())?;
    let data = fields.remove("data");
    let small = fields
        .into_iter()
        .map(|(k, raw)| serde_json::from_str::<Value>(raw.get()).map(|v| (k, v)))
        .collect::<Result<Map<String, Value>, _>>()
        .map_err(|e| json_error(e.to_string()))?;
    let small_logo = small.get("logo").cloned();
    let sign = SignRequest::parse(small, data, decoded)?;
    if let Some(locale) = sign.locale {
        session.context.locale = locale;
    }
    let logo = logo(small_logo.as_ref());
    sign.into_operation(session.context.locale).map(|r| r.map(|(op, shape)| (op, Shape { logo, ..shape })))
}

/// One `data` string.
enum Doc<'a> {
    /// As written in the message.
    Text(Cow<'a, str>),
    /// Plain base64 decoded as the message arrived.
    Decoded(Data),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Cms,
    Xml,
    Raw,
}

/// A parsed `sign` request; the documents still borrowed from the frame.
struct SignRequest<'a> {
    format: Format,
    data: Vec<Doc<'a>>,
    /// `data` was an array: NCALayer's result is an array either way.
    decode: bool,
    encapsulate: bool,
    digested: bool,
    tsa: bool,
    output_cert: bool,
    filter: KeyFilter,
    locale: Option<Locale>,
}

/// `obj[key]` as a JSON object; absent or null gives an empty one; other types fail as
/// org.json's `getJSONObject` does.
fn object_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Map<String, Value>>, Failure> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(json_error(format!(r#"JSONObject["{key}"] is not a JSONObject."#))),
    }
}

/// A boolean that may come as `true` or as the string `"true"` (jQuery radio values).
fn flag(obj: Option<&Map<String, Value>>, key: &str, default: bool) -> Result<bool, Failure> {
    match obj.and_then(|o| o.get(key)) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(json_error(format!(r#"JSONObject["{key}"] is not a Boolean."#))),
    }
}

/// An optional string filter; `""` means no filter.
fn text_filter(obj: Option<&Map<String, Value>>, key: &str) -> Result<Option<String>, Failure> {
    match obj.and_then(|o| o.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(json_error(format!(r#"JSONObject["{key}"] is not a string."#))),
    }
}

fn string_list(value: Option<&Value>, key: &str) -> Result<Option<Vec<String>>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| json_error(format!(r#"JSONArray["{key}"] is not a string array."#))),
        Some(_) => Err(json_error(format!(r#"JSONObject["{key}"] is not a JSONArray."#))),
    }
}

/// Most CA certificates a page may list in `signerParams.chain` (real lists name a few).
pub const MAX_CHAIN_CERTIFICATES: usize = 32;

/// `signerParams.chain`: absent or null = NCA RK's CAs only, `[]` = any, else a list of
/// CA certificates (PEM, or bare base64 DER).
fn chain_rule(value: Option<&Value>) -> Result<ChainRule, Failure> {
    let Some(list) = string_list(value, "chain")? else { return Ok(ChainRule::NcaProduction) };
    if list.is_empty() {
        return Ok(ChainRule::Any);
    }
    // Each listed CA may cost a signature check per link of a key's path.
    if list.len() > MAX_CHAIN_CERTIFICATES {
        return Err(json_error(format!(r#"JSONArray["chain"] has more than {MAX_CHAIN_CERTIFICATES} certificates."#)));
    }
    let parse = |text: &String| -> Option<x509_cert::Certificate> {
        parse_x509(text.trim().as_bytes()).or_else(|| parse_x509(&decode_base64(text).ok()?))
    };
    list.iter()
        .map(|t| {
            parse(t)
                .ok_or_else(|| json_error(r#"JSONArray["chain"] holds something that is not a certificate."#.into()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ChainRule::Listed)
}

impl<'a> SignRequest<'a> {
    fn parse(args: Map<String, Value>, data: Option<&'a RawValue>, decoded: Option<Data>) -> Result<Self, Failure> {
        let format = match args.get("format") {
            Some(Value::String(f)) => match f.as_str() {
                "cms" => Format::Cms,
                "xml" => Format::Xml,
                "raw" => Format::Raw,
                other => {
                    return Err(Failure(
                        BasicsFailure::Invocation,
                        format!("java.lang.IllegalArgumentException: unknown format {other}"),
                    ));
                }
            },
            Some(_) => return Err(json_error(r#"JSONObject["format"] is not a string."#.into())),
            None => return Err(json_error(r#"JSONObject["format"] not found."#.into())),
        };
        // Borrowed, not copied: documents can be hundreds of megabytes.
        let not_strings = || json_error(r#"JSONArray["data"] is not a string array."#.into());
        let text = |raw| raw_str(raw).map(Doc::Text).ok_or_else(not_strings);
        let data = match data.map(|raw| (raw, raw.get().trim_start().as_bytes().first().copied())) {
            _ if decoded.is_some() => decoded.into_iter().map(Doc::Decoded).collect(),
            Some((raw, Some(b'"'))) => vec![text(raw)?],
            Some((raw, Some(b'['))) => serde_json::from_str::<Vec<&RawValue>>(raw.get())
                .map_err(|_| not_strings())?
                .into_iter()
                .map(text)
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(json_error(r#"JSONObject["data"] is not a string or a JSONArray."#.into())),
            None => return Err(json_error(r#"JSONObject["data"] not found."#.into())),
        };
        if data.is_empty() || data.len() > MAX_BATCH {
            return Err(Failure(
                BasicsFailure::Invocation,
                format!("java.lang.IllegalArgumentException: data must hold 1 to {MAX_BATCH} documents"),
            ));
        }
        let signing = object_field(&args, "signingParams")?;
        let signer = object_field(&args, "signerParams")?;
        let tsa = match signing.and_then(|s| s.get("tsaProfile")) {
            None | Some(Value::Null) => false,
            Some(Value::Object(_)) => true,
            Some(_) => return Err(json_error(r#"JSONObject["tsaProfile"] is not a JSONObject."#.into())),
        };
        let storages = string_list(args.get("allowedStorages"), "allowedStorages")?;
        let trust = Requirements {
            chain: chain_rule(signer.and_then(|s| s.get("chain")))?,
            allow_expired: flag(signing, "allowExpired", false)?,
            allow_revoked: flag(signing, "allowRevoked", false)?,
        };
        let filter = KeyFilter {
            purpose: None,
            ext_key_usage_oids: string_list(signer.and_then(|s| s.get("extKeyUsageOids")), "extKeyUsageOids")?
                .unwrap_or_default(),
            iin: text_filter(signer, "iin")?,
            bin: text_filter(signer, "bin")?,
            serial_number: text_filter(signer, "serialNumber")?,
            trust: Some(trust),
            storages: None,
        };
        Ok(Self {
            format,
            data,
            decode: flag(signing, "decode", false)?,
            encapsulate: flag(signing, "encapsulate", true)?,
            digested: flag(signing, "digested", false)?,
            tsa,
            output_cert: flag(signing, "outputCert", false)?,
            filter: KeyFilter { storages, ..filter },
            locale: args.get("locale").and_then(Value::as_str).and_then(Locale::parse),
        })
    }

    /// The documents' bytes, decoded before any dialog so bad input never costs the user
    /// a password. Each text is released as soon as it is decoded.
    fn documents(&mut self) -> Result<Vec<Document>, Failure> {
        let base64 = self.decode || self.digested;
        std::mem::take(&mut self.data)
            .into_iter()
            .map(|d| match d {
                Doc::Text(d) if base64 => {
                    decode_base64(&d).map(Document::from).map_err(|e| Failure(BasicsFailure::Signing, e))
                }
                Doc::Text(d) => Ok(d.into_owned().into_bytes().into()),
                Doc::Decoded(d) if base64 => Ok(d.into_document()),
                Doc::Decoded(d) => Ok(d.text().into_bytes().into()),
            })
            .collect()
    }

    /// The typed operation, the documents decoded (before any dialog: bad input never
    /// costs the user a password), or the reply when there is nothing to ask.
    fn into_operation(mut self, locale: Locale) -> Parsed {
        let unavailable = |what: &str| Failure(BasicsFailure::General, not_implemented(what, locale));
        match self.format {
            Format::Raw if self.tsa => return Err(unavailable("timestamps on raw signatures (use format cms)")),
            Format::Raw if self.digested => return Err(unavailable("raw signatures of a hash")),
            _ => {}
        }
        let documents = self.documents()?;
        let filter = std::mem::take(&mut self.filter);
        let operation = match self.format {
            Format::Cms => Operation::Cms {
                filter,
                inputs: documents
                    .into_iter()
                    .map(|bytes| {
                        if self.digested {
                            CmsInput::Digest(bytes.into_bytes())
                        } else {
                            CmsInput::Data { bytes, attach: self.encapsulate }
                        }
                    })
                    .collect(),
                timestamp: self.tsa,
            },
            Format::Xml => Operation::Xml {
                filter,
                documents: documents
                    .into_iter()
                    .map(|d| String::from_utf8(d.into_bytes()))
                    .collect::<Result<_, _>>()
                    .map_err(|_| Failure(BasicsFailure::Signing, Rejection::NotUtf8.to_string()))?,
                tbs_xpath: String::new(),
                parent_xpath: String::new(),
                layout: crate::xmldsig::Layout::Compact,
                // With a tsaProfile: XAdES-T, which NCALayer cannot make (it refuses).
                xades_timestamp: self.tsa,
            },
            Format::Raw => {
                Operation::Raw { filter, documents: documents.into_iter().map(Document::into_bytes).collect() }
            }
        };
        Ok(Ok((operation, Shape { format: self.format, output_cert: self.output_cert, logo: None })))
    }
}

fn run(d: &Dispatcher, session: &Session, operation: Operation, shape: Shape) -> Result<Value, Failure> {
    let locale = session.context.locale;
    let context = RequestContext { logo: shape.logo.clone(), ..session.context.clone() };
    match d.execute_in(context, operation) {
        Ok(Outcome::Signed { signatures, certificate, .. }) => {
            let texts: Vec<String> = signatures
                .into_iter()
                .map(|s| match s {
                    Signature::Cms(der) => pem_armor("CMS", &der),
                    Signature::Raw(bytes) => encode_base64(&bytes),
                    Signature::Xml(xml) => xml,
                })
                .collect();
            Ok(reply::basics_ok(match (shape.format, shape.output_cert) {
                (Format::Raw, true) => json!({"signatures": texts, "certificate": certificate.pem()}),
                _ => json!(texts),
            }))
        }
        Ok(_) => Err(Failure(BasicsFailure::General, "internal error: unexpected outcome".into())),
        // Only token storages allowed and none plugged in: the dialog would offer nothing.
        Err(SigningError::Canceled | SigningError::StorageEmpty) => Ok(reply::basics_canceled()),
        Err(e @ SigningError::NoPrompter) => Err(Failure(BasicsFailure::General, describe(&e, locale))),
        Err(e) => Err(Failure(BasicsFailure::Signing, describe(&e, locale))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logo_is_a_bounded_png_or_nothing() {
        let png = b"\x89PNG\r\n\x1a\n rest of a png";
        let sent = encode_base64(png);
        assert_eq!(logo(Some(&json!(sent))).as_deref(), Some(&png[..]));
        let data_url = format!("data:image/png;base64,{sent}");
        assert_eq!(logo(Some(&json!(data_url))).as_deref(), Some(&png[..]));
        // Not a PNG, not base64, too long, not a string: no picture, and no error.
        assert!(logo(Some(&json!(encode_base64(b"GIF89a....")))).is_none());
        assert!(logo(Some(&json!("%%%"))).is_none());
        assert!(logo(Some(&json!("A".repeat(MAX_LOGO_BASE64 + 4)))).is_none());
        assert!(logo(Some(&json!(42))).is_none());
        assert!(logo(None).is_none());
    }
}
