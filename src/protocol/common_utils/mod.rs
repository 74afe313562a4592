//! Module `kz.gov.pki.knca.commonUtils` (spec §3).
//!
//! NCA's Java finds the method by name and argument count and passes the JSON values
//! by reflection without conversion, so the error texts are Java's:
//! `NoSuchMethodException <m>` when no method has that name and arity, and
//! `java.lang.IllegalArgumentException: argument type mismatch. Method: <m>` when a
//! value has the wrong JSON type. [`METHODS`] is that table; the handlers get typed
//! [`Arg`]s. Replies: `{"code":"200","responseObject":…}` / `{"code":"500","message":…}`,
//! plus the request's `uuid` echoed.

mod cms;
mod keys;
mod xml;
pub use keys::is_token_storage;

use serde_json::{Map, Value};

use super::{Dispatcher, Session, describe, method_name, not_implemented, reply};
use crate::signing::SigningError;

/// The JSON type a parameter needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArgType {
    Str,
    Bool,
    StrArray,
}

/// A typed argument.
#[derive(Debug, Clone)]
enum Arg {
    Str(String),
    Bool(bool),
    StrArray(Vec<String>),
}

use ArgType::{Bool, Str, StrArray};

/// Every method of the module with its parameter types.
const METHODS: &[(&str, &[ArgType])] = &[
    ("getActiveTokens", &[]),
    ("getKeyInfo", &[Str]),
    ("createCAdESFromBase64", &[Str, Str, Str, Bool]),
    ("createCAdESFromBase64Hash", &[Str, Str, Str]),
    ("createCMSSignatureFromBase64", &[Str, Str, Str, Bool]),
    ("createCAdESFromFile", &[Str, Str, Str, Bool]),
    ("createCMSSignatureFromFile", &[Str, Str, Str, Bool]),
    ("applyCAdEST", &[Str, Str, Str]),
    ("signXml", &[Str, Str, Str, Str, Str]),
    ("signXmls", &[Str, Str, StrArray, Str, Str]),
    ("showFileChooser", &[Str, Str]),
    ("changeLocale", &[Str]),
];

/// Handle one commonUtils request and shape the reply.
pub fn handle(d: &Dispatcher, session: &mut Session, mut request: Map<String, Value>) -> Value {
    let args = match request.remove("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(other) => vec![other],
    };
    let method = method_name(&request).unwrap_or("null");
    let mut reply = match typed_args(method, args) {
        Ok(args) => call(d, session, method, args),
        Err(message) => reply::common_error(Some(&message)),
    };
    if let (Some(uuid), Value::Object(map)) = (uuid(&request), &mut reply) {
        map.insert("uuid".into(), uuid.into());
    }
    reply
}

/// The request's `uuid` as a string, if present and non-empty.
fn uuid(request: &Map<String, Value>) -> Option<String> {
    match request.get("uuid")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Check name, arity and JSON types as Java reflection would; takes the values over
/// without copying them.
fn typed_args(method: &str, args: Vec<Value>) -> Result<Vec<Arg>, String> {
    let Some((_, params)) = METHODS.iter().find(|(name, params)| *name == method && params.len() == args.len()) else {
        return Err(format!("NoSuchMethodException {method}"));
    };
    let mismatch = || format!("java.lang.IllegalArgumentException: argument type mismatch. Method: {method}");
    params
        .iter()
        .zip(args)
        .map(|(ty, value)| match (ty, value) {
            (Str, Value::String(s)) => Ok(Arg::Str(s)),
            (Bool, Value::Bool(b)) => Ok(Arg::Bool(b)),
            (StrArray, Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Arg::StrArray)
                .ok_or_else(mismatch),
            _ => Err(mismatch()),
        })
        .collect()
}

fn call(d: &Dispatcher, session: &mut Session, method: &str, args: Vec<Arg>) -> Value {
    let locale = session.context.locale;
    let result = match method {
        "getActiveTokens" => Ok(keys::get_active_tokens()),
        "getKeyInfo" => keys::get_key_info(d, session, args),
        "createCAdESFromBase64" => cms::sign_base64(d, session, args, false),
        "createCMSSignatureFromBase64" => cms::sign_base64(d, session, args, true),
        "createCAdESFromBase64Hash" => cms::sign_hash(d, session, args),
        "createCAdESFromFile" => cms::sign_file(d, session, args, false),
        "createCMSSignatureFromFile" => cms::sign_file(d, session, args, true),
        "applyCAdEST" => cms::apply_cades_t(d, session, args),
        "showFileChooser" => cms::show_file_chooser(d, session, args),
        "signXml" | "signXmls" => xml::sign_xml(d, session, args),
        "changeLocale" => {
            if let [Arg::Str(id)] = args.as_slice()
                && let Some(locale) = crate::i18n::Locale::parse(id)
            {
                session.context.locale = locale;
            }
            return reply::common_ok_empty();
        }
        other => Err(Failure::Message(not_implemented(&format!("commonUtils.{other}"), locale))),
    };
    match result {
        Ok(value) => reply::common_ok(value),
        Err(Failure::Message(m)) => reply::common_error(Some(&m)),
        Err(Failure::Core(e)) => reply::common_error(Some(&describe(&e, locale))),
    }
}

/// Why a commonUtils method failed.
enum Failure {
    /// A message that goes to the page as is (a message key or a Java exception text).
    Message(String),
    /// A signing-core error, described in the user's language.
    Core(SigningError),
}

impl From<SigningError> for Failure {
    fn from(e: SigningError) -> Self {
        Self::Core(e)
    }
}

/// The `(storageName, keyType, …)` prefix of the signing methods: the storage checked
/// before any dialog, the key type as a purpose filter (anything but AUTHENTICATION /
/// SIGNATURE means all keys).
fn key_filter(args: &[Arg]) -> Result<crate::signing::KeyFilter, Failure> {
    keys::check_storage(str_arg(args, 0))?;
    Ok(crate::signing::KeyFilter {
        purpose: crate::signing::Purpose::from_key_type(str_arg(args, 1)),
        ..Default::default()
    })
}

/// Positional string argument `i` (types were checked against [`METHODS`]).
fn str_arg(args: &[Arg], i: usize) -> &str {
    match args.get(i) {
        Some(Arg::Str(s)) => s,
        _ => "",
    }
}

fn bool_arg(args: &[Arg], i: usize) -> bool {
    matches!(args.get(i), Some(Arg::Bool(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn java_reflection_errors() {
        assert_eq!(typed_args("noSuch", vec![]).unwrap_err(), "NoSuchMethodException noSuch");
        assert_eq!(typed_args("getKeyInfo", vec![]).unwrap_err(), "NoSuchMethodException getKeyInfo");
        // The full table of captured mismatches runs over a real socket in tests/wire.rs.
        assert_eq!(
            typed_args("getKeyInfo", vec![json!(null)]).unwrap_err(),
            "java.lang.IllegalArgumentException: argument type mismatch. Method: getKeyInfo"
        );
        assert!(typed_args("signXmls", json!(["PKCS12", "x", ["<a/>"], "", ""]).as_array().unwrap().clone()).is_ok());
    }
}
