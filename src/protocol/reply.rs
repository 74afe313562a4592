//! NCALayer's reply envelopes (spec §2.3), built in one place.
//!
//! Absent fields are omitted, never `null`; `code` is a string. Key order does not
//! matter to JSON parsers; only the greeting's exact text does ([`GREETING`]).

use serde_json::{Map, Value, json};

/// The first frame of every connection, byte-exact (a C# client matches it by regex).
pub const GREETING: &str = r#"{"result":{"version":"1.4"}}"#;

/// The heartbeat text, echoed as is.
pub const HEARTBEAT: &str = "--heartbeat--";

/// Reply to a request for a module we do not have.
pub fn module_not_found() -> Value {
    json!({"success": false, "errorCode": "MODULE_NOT_FOUND"})
}

/// commonUtils success with a `responseObject`.
pub fn common_ok(response: Value) -> Value {
    json!({"code": "200", "responseObject": response})
}

/// commonUtils success without a `responseObject` (e.g. `changeLocale`).
pub fn common_ok_empty() -> Value {
    json!({"code": "200"})
}

/// commonUtils failure; `message` omitted when `None` (a Java exception without one).
pub fn common_error(message: Option<&str>) -> Value {
    let mut reply = Map::new();
    reply.insert("code".into(), "500".into());
    if let Some(m) = message {
        reply.insert("message".into(), m.into());
    }
    Value::Object(reply)
}

/// basics success: `{"status":true,"body":{"result":…}}`.
pub fn basics_ok(result: Value) -> Value {
    json!({"status": true, "body": {"result": result}})
}

/// basics after the user cancelled: `body` present, without `result`.
pub fn basics_canceled() -> Value {
    json!({"status": true, "body": {}})
}

/// The failure codes of the apiVersion 2 invoker with their fixed messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BasicsFailure {
    General,
    Invocation,
    Signing,
}

impl BasicsFailure {
    fn code_and_message(self) -> (&'static str, &'static str) {
        match self {
            Self::General => ("GENERAL_ERROR", "General error."),
            Self::Invocation => ("INVOCATION_ERROR", "An invoked method threw an exception."),
            Self::Signing => ("SIGNING_FAILURE", "Signing has failed."),
        }
    }
}

/// basics failure: `{"status":false,"code":…,"message":…,"details":…}`.
pub fn basics_error(failure: BasicsFailure, details: &str) -> Value {
    let (code, message) = failure.code_and_message();
    json!({"status": false, "code": code, "message": message, "details": details})
}

/// Legacy applet API success.
pub fn legacy_ok(result: Value) -> Value {
    json!({"result": result, "errorCode": "NONE"})
}

/// Legacy applet API failure with an `errorCode` and an optional human `result`.
pub fn legacy_error(error_code: &str, result: Option<Value>) -> Value {
    let mut reply = Map::new();
    if let Some(r) = result {
        reply.insert("result".into(), r);
    }
    reply.insert("errorCode".into(), error_code.into());
    Value::Object(reply)
}

/// Reply to a frame that is not a JSON object (shape not fixed by NCALayer; we use the
/// commonUtils error, which every client can read).
pub fn malformed_request(why: &str) -> Value {
    common_error(Some(&format!("org.json.JSONException: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_exact() {
        assert_eq!(common_error(None).to_string(), r#"{"code":"500"}"#);
        assert_eq!(common_ok_empty().to_string(), r#"{"code":"200"}"#);
        assert_eq!(basics_canceled().to_string(), r#"{"status":true,"body":{}}"#);
        assert_eq!(module_not_found().to_string(), r#"{"success":false,"errorCode":"MODULE_NOT_FOUND"}"#);
        assert_eq!(legacy_error("COMMON", None).to_string(), r#"{"errorCode":"COMMON"}"#);
    }
}
