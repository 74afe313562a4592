//! The legacy applet API (requests without `module`, spec §5): `{"method":…,"args":[…]}`
//! answered with `{"result":…,"errorCode":"NONE"}`.
//!
//! `setLocale` gets no reply at all, as in NCALayer. The key-file methods of this API
//! come with the key-management work; until then every other method gets an
//! `errorCode` reply, never silence.

use serde_json::{Map, Value};

use super::{Dispatcher, Session, method_name, not_implemented, reply};
use crate::i18n::Locale;

/// Handle one legacy request; `None` means no reply.
pub async fn handle(_d: &Dispatcher, session: &mut Session, request: &Map<String, Value>) -> Option<Value> {
    let method = method_name(request).unwrap_or_default();
    if method == "setLocale" {
        let lang = request.get("args").and_then(|a| a.get(0)).and_then(Value::as_str);
        if let Some(locale) = lang.and_then(Locale::parse) {
            session.context.locale = locale;
        }
        return None;
    }
    let message = not_implemented(&format!("legacy API {method}"), session.context.locale);
    Some(reply::legacy_error("COMMON", Some(Value::String(message))))
}
