//! The legacy applet API (requests without `module`, spec §5): `{"method":…,"args":[…]}`
//! answered with `{"result":…,"errorCode":"NONE"}`.
//!
//! Here the page itself names the key file and gives its password. We still never sign
//! without the user's confirmation, count wrong passwords per file (a page must not
//! guess passwords through us), and answer "cannot open" the same way whether a path
//! is missing or not a key file (a page must not map the disk through us).
//! `setLocale` gets no reply at all, as in NCALayer.

mod key_file;
mod tools;

use serde_json::{Map, Value};

use super::{Dispatcher, Session, method_name, not_implemented, reply};
use crate::i18n::Locale;

/// Handle one legacy request; `None` means no reply.
pub fn handle(d: &Dispatcher, session: &mut Session, request: &Map<String, Value>) -> Option<Value> {
    let method = method_name(request).unwrap_or_default().to_owned();
    let args = match request.get("args") {
        Some(Value::Array(a)) => a.as_slice(),
        _ => &[],
    };
    if method == "setLocale" {
        if let Some(locale) = args.first().and_then(Value::as_str).and_then(Locale::parse) {
            session.context.locale = locale;
        }
        return None;
    }
    let locale = session.context.locale;
    let mut reply = match method.as_str() {
        "getHash" => crate::compute::run_for(text_len(args), || tools::get_hash(args)),
        "verifyXml" => crate::compute::run_for(text_len(args), || tools::verify_xml(args)),
        "loadSlotList" => load_slot_list(d, session, args),
        m => match key_file::key_call(m, args) {
            Some(Ok(call)) => key_file::run_key_call(d, session, m, call, args),
            Some(Err(reply)) => reply,
            None => reply::legacy_error("COMMON", Some(not_implemented(&format!("legacy API {m}"), locale).into())),
        },
    };
    if let (Some(Value::String(uuid)), Value::Object(map)) = (request.get("uuid"), &mut reply) {
        map.insert("uuid".into(), uuid.clone().into());
    }
    Some(reply)
}

/// `loadSlotList([storageName])`: one line per token of that storage plugged in, or
/// `EMPTY_SLOT` when there is none (as NCALayer answers). The lines name the storage and
/// a number, never the token's label: labels can be personal, and any site may ask.
fn load_slot_list(d: &Dispatcher, session: &Session, args: &[Value]) -> Value {
    let storage = text(args, 0).unwrap_or_default().to_owned();
    match d.execute(session, crate::signing::Operation::Slots { storage: storage.clone() }) {
        Ok(crate::signing::Outcome::Slots(slots)) if !slots.is_empty() => {
            let lines: Vec<String> = (1..=slots.len()).map(|n| format!("{storage} {n}")).collect();
            reply::legacy_ok(lines.join("\n").into())
        }
        _ => reply::legacy_error("EMPTY_SLOT", None),
    }
}

/// Bytes of the string arguments: the work a method does on them.
fn text_len(args: &[Value]) -> usize {
    args.iter().filter_map(Value::as_str).map(str::len).sum()
}

/// A positional string argument; `None` if absent or not a string.
fn text(args: &[Value], i: usize) -> Option<&str> {
    args.get(i).and_then(Value::as_str)
}

fn bad_args(method: &str) -> Value {
    reply::legacy_error("COMMON", Some(format!("wrong arguments for {method}").into()))
}
