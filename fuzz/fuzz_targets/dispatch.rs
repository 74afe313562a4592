//! What a web page sends over the WebSocket: one text frame into the protocol layer.
//!
//! Invariant: every request frame gets a reply that is a JSON object, except legacy
//! `setLocale` (no `module`, `method` "setLocale"), which gets none. Requests that need
//! the user fail fast (no prompter); nothing touches the network (offline trust store,
//! a TSA URL that is refused before any connection).
//!
//! Legacy requests in the corpus name the repository's test keys by relative paths
//! (`tests/fixtures/…`): run from the repository root (`cargo fuzz run dispatch`, or
//! `fuzz/run.sh`) so that they open.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The glue to the protocol API: one frame in, the reply out (`None`: no reply).
/// Bytes that are not UTF-8 cannot be a text frame; they stand for a binary frame.
fn dispatch(bytes: &[u8]) -> Option<String> {
    use qoltanba::cms::tsp::TsaConfig;
    use qoltanba::protocol::{Dispatcher, Session};
    use qoltanba::signing::SigningCore;
    use qoltanba::trust::TrustStore;
    static TRUST: OnceLock<Arc<TrustStore>> = OnceLock::new();
    let trust = TRUST.get_or_init(|| Arc::new(TrustStore::offline()));
    let Ok(text) = std::str::from_utf8(bytes) else { return Some(Dispatcher::binary_frame_reply()) };
    // A fresh core per input: wrong-password counters must not carry over between inputs.
    let tsa = TsaConfig { url: "fuzz://no-network".into(), ..TsaConfig::default() };
    let core = SigningCore::new(Arc::new(qoltanba::ui::NoPrompter), Arc::clone(trust), tsa);
    Dispatcher::new(Arc::new(core)).handle_text(&mut Session::default(), text)
}

/// Legacy `setLocale` is the one request NCALayer does not answer.
fn is_legacy_set_locale(bytes: &[u8]) -> bool {
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(bytes) else { return false };
    matches!(request.get("module"), None | Some(Value::Null))
        && request.get("method").and_then(Value::as_str) == Some("setLocale")
}

fuzz_target!(|bytes: &[u8]| {
    let silent = is_legacy_set_locale(bytes);
    match dispatch(bytes) {
        None => assert!(silent, "no reply to a request that is not legacy setLocale"),
        Some(reply) => {
            assert!(!silent, "legacy setLocale got a reply: {reply}");
            match serde_json::from_str::<Value>(&reply) {
                Ok(Value::Object(_)) => {}
                Ok(other) => panic!("the reply is JSON but not an object: {other}"),
                Err(e) => panic!("the reply is not JSON ({e}): {reply}"),
            }
        }
    }
});
