//! Module `kz.gov.pki.knca.commonUtils` (spec §3).
//!
//! NCA's Java finds the method by name and argument count and passes the JSON values
//! by reflection without conversion, so the error texts are Java's:
//! `NoSuchMethodException <m>` when no method has that name and arity, and
//! `java.lang.IllegalArgumentException: argument type mismatch. Method: <m>` when a
//! value has the wrong JSON type. [`METHODS`] is that table; the handlers get typed
//! [`Arg`]s. Replies: `{"code":"200","responseObject":…}` / `{"code":"500","message":…}`,
//! plus the request's `uuid` echoed.
//!
//! Two phases: [`prepare`] turns the arguments, still borrowed from the frame, into an
//! owned [`Call`] (a typed [`Operation`] and how to shape its outcome), decoding large
//! base64 documents straight from the frame; the frame is then released and [`finish`]
//! hands the operation to the signing core (which may wait for the user).

mod cms;
mod keys;
mod xml;
pub use keys::is_token_storage;

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Dispatcher, Session, describe, method_name, not_implemented, raw_str, reply};
use crate::signing::{Operation, Outcome, SigningError};

/// The JSON type a parameter needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArgType {
    Str,
    Bool,
    StrArray,
}

/// A typed argument; strings borrowed from the frame where they have no escapes.
#[derive(Debug, Clone)]
enum Arg<'a> {
    Str(Cow<'a, str>),
    Bool(bool),
    StrArray(Vec<Cow<'a, str>>),
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

/// A prepared request: owned, ready to run once the frame is released.
pub struct Call {
    uuid: Option<String>,
    step: Step,
}

enum Step {
    /// The reply is known already.
    Done(Value),
    /// Run the operation, then shape its outcome.
    Run(Operation, Shape),
}

/// How an outcome becomes a `responseObject`.
#[derive(Clone, Copy)]
enum Shape {
    KeyInfo,
    /// One CMS as base64.
    Cms,
    /// Signed XML: one string, or an array for `signXmls`.
    Xml {
        many: bool,
    },
    /// The path the user picked.
    Path,
    /// Storage names (`getActiveTokens`).
    Storages,
}

/// Phase one: the request's arguments into a [`Call`]. Runs in the compute pool.
pub fn prepare(session: &mut Session, request: &Map<String, Value>, args: Option<&RawValue>) -> Call {
    let uuid = uuid(request);
    let method = method_name(request).unwrap_or("null");
    let step = match split_args(args).and_then(|args| typed_args(method, args)) {
        Ok(args) => match step(session, method, args) {
            Ok(step) => step,
            Err(failure) => Step::Done(failure.reply(session)),
        },
        Err(message) => Step::Done(reply::common_error(Some(&message))),
    };
    Call { uuid, step }
}

/// Phase two: run the operation (may wait for the user) and shape the reply.
pub fn finish(d: &Dispatcher, session: &Session, call: Call) -> Value {
    let mut reply = match call.step {
        Step::Done(reply) => reply,
        Step::Run(operation, shape) => {
            match d.execute(session, operation).map_err(Failure::from).and_then(|o| shaped(o, shape)) {
                Ok(value) => reply::common_ok(value),
                Err(failure) => failure.reply(session),
            }
        }
    };
    if let (Some(uuid), Value::Object(map)) = (call.uuid, &mut reply) {
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

/// `args` as a list of raw values: an array's items, one non-array value, or none.
fn split_args(args: Option<&RawValue>) -> Result<Vec<&RawValue>, String> {
    let Some(raw) = args else { return Ok(Vec::new()) };
    match raw.get().trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(raw.get()).map_err(|e| e.to_string()),
        Some(b'n') => Ok(Vec::new()),
        _ => Ok(vec![raw]),
    }
}

/// Check name, arity and JSON types as Java reflection would; strings stay borrowed.
fn typed_args<'a>(method: &str, args: Vec<&'a RawValue>) -> Result<Vec<Arg<'a>>, String> {
    let Some((_, params)) = METHODS.iter().find(|(name, params)| *name == method && params.len() == args.len()) else {
        return Err(format!("NoSuchMethodException {method}"));
    };
    let mismatch = || format!("java.lang.IllegalArgumentException: argument type mismatch. Method: {method}");
    params
        .iter()
        .zip(args)
        .map(|(ty, raw)| match ty {
            Str => raw_str(raw).map(Arg::Str).ok_or_else(mismatch),
            Bool => serde_json::from_str::<bool>(raw.get()).map(Arg::Bool).map_err(|_| mismatch()),
            StrArray => serde_json::from_str::<Vec<&RawValue>>(raw.get())
                .map_err(|_| mismatch())?
                .into_iter()
                .map(raw_str)
                .collect::<Option<Vec<_>>>()
                .map(Arg::StrArray)
                .ok_or_else(mismatch),
        })
        .collect()
}

fn step(session: &mut Session, method: &str, args: Vec<Arg<'_>>) -> Result<Step, Failure> {
    let run = |operation, shape| Ok(Step::Run(operation, shape));
    match method {
        "getActiveTokens" => run(Operation::ActiveTokens, Shape::Storages),
        "getKeyInfo" => run(keys::get_key_info(&args)?, Shape::KeyInfo),
        "createCAdESFromBase64" => run(cms::sign_base64(args, false)?, Shape::Cms),
        "createCMSSignatureFromBase64" => run(cms::sign_base64(args, true)?, Shape::Cms),
        "createCAdESFromBase64Hash" => run(cms::sign_hash(args)?, Shape::Cms),
        "createCAdESFromFile" => run(cms::sign_file(&args, false)?, Shape::Cms),
        "createCMSSignatureFromFile" => run(cms::sign_file(&args, true)?, Shape::Cms),
        "applyCAdEST" => run(cms::apply_cades_t(&args)?, Shape::Cms),
        "showFileChooser" => run(cms::show_file_chooser(&args), Shape::Path),
        "signXml" | "signXmls" => run(xml::sign_xml(args)?, Shape::Xml { many: method == "signXmls" }),
        "changeLocale" => {
            if let [Arg::Str(id)] = args.as_slice()
                && let Some(locale) = crate::i18n::Locale::parse(id)
            {
                session.context.locale = locale;
            }
            Ok(Step::Done(reply::common_ok_empty()))
        }
        other => Err(Failure::Message(not_implemented(&format!("commonUtils.{other}"), session.context.locale))),
    }
}

/// An outcome as the `responseObject` of its method.
fn shaped(outcome: Outcome, shape: Shape) -> Result<Value, Failure> {
    use crate::protocol::data::encode_base64;
    use crate::signing::Signature;
    match (shape, outcome) {
        (Shape::KeyInfo, Outcome::KeyInfo(info)) => Ok(serde_json::to_value(*info).unwrap_or_default()),
        (Shape::Cms, Outcome::Timestamped(der)) => Ok(Value::String(encode_base64(&der))),
        (Shape::Cms, Outcome::Signed { signatures, .. }) => match signatures.into_iter().next() {
            Some(Signature::Cms(der)) => Ok(Value::String(encode_base64(&der))),
            _ => Err(unexpected()),
        },
        (Shape::Xml { many }, Outcome::Signed { signatures, .. }) => {
            let mut texts = signatures.into_iter().filter_map(|s| match s {
                Signature::Xml(xml) => Some(xml),
                _ => None,
            });
            Ok(if many {
                Value::from(texts.collect::<Vec<_>>())
            } else {
                Value::from(texts.next().unwrap_or_default())
            })
        }
        (Shape::Path, Outcome::ChosenFile(path)) => Ok(Value::String(path.display().to_string())),
        (Shape::Storages, Outcome::ActiveTokens(storages)) => Ok(Value::from(storages)),
        _ => Err(unexpected()),
    }
}

fn unexpected() -> Failure {
    SigningError::Failed(crate::signing::Failure::Internal("unexpected outcome")).into()
}

/// Why a commonUtils method failed.
enum Failure {
    /// A message that goes to the page as is (a message key or a Java exception text).
    Message(String),
    /// A signing-core error, described in the user's language.
    Core(SigningError),
}

impl Failure {
    fn reply(self, session: &Session) -> Value {
        match self {
            Failure::Message(m) => reply::common_error(Some(&m)),
            // Documents that cannot be signed answer with the parser's text, as
            // before any dialog.
            Failure::Core(SigningError::Rejected(crate::signing::Rejection::Xml(e))) => {
                reply::common_error(Some(&e.to_string()))
            }
            Failure::Core(e) => reply::common_error(Some(&describe(&e, session.context.locale))),
        }
    }
}

impl From<SigningError> for Failure {
    fn from(e: SigningError) -> Self {
        Self::Core(e)
    }
}

/// The `(storageName, keyType, …)` prefix of the signing methods: the storage checked
/// before any dialog, the key type as a purpose filter (anything but AUTHENTICATION /
/// SIGNATURE means all keys).
fn key_filter(args: &[Arg<'_>]) -> Result<crate::signing::KeyFilter, Failure> {
    keys::check_storage(str_arg(args, 0))?;
    Ok(crate::signing::KeyFilter {
        purpose: crate::signing::Purpose::from_key_type(str_arg(args, 1)),
        storages: Some(vec![str_arg(args, 0).to_owned()]),
        ..Default::default()
    })
}

/// Positional string argument `i` (types were checked against [`METHODS`]).
fn str_arg<'s>(args: &'s [Arg<'_>], i: usize) -> &'s str {
    match args.get(i) {
        Some(Arg::Str(s)) => s,
        _ => "",
    }
}

fn bool_arg(args: &[Arg<'_>], i: usize) -> bool {
    matches!(args.get(i), Some(Arg::Bool(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Vec<&RawValue> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn java_reflection_errors() {
        assert_eq!(typed_args("noSuch", vec![]).unwrap_err(), "NoSuchMethodException noSuch");
        assert_eq!(typed_args("getKeyInfo", vec![]).unwrap_err(), "NoSuchMethodException getKeyInfo");
        // The full table of captured mismatches runs over a real socket in tests/wire.rs.
        assert_eq!(
            typed_args("getKeyInfo", raw("[null]")).unwrap_err(),
            "java.lang.IllegalArgumentException: argument type mismatch. Method: getKeyInfo"
        );
        assert!(typed_args("signXmls", raw(r#"["PKCS12", "x", ["<a/>"], "", ""]"#)).is_ok());
        // Strings without escapes are borrowed from the frame, not copied.
        let args = typed_args("getKeyInfo", raw(r#"["PKCS12"]"#)).unwrap();
        assert!(matches!(&args[0], Arg::Str(Cow::Borrowed("PKCS12"))));
    }
}
