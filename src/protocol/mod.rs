//! NCALayer's JSON protocol: request envelopes, module routing, reply shapes.
//!
//! One text frame carries one request `{"module":…,"method":…,"args":…}`. The module
//! name picks a handler; no `module` means the legacy applet API. Each module file owns
//! its methods end to end: arguments from JSON into typed values, a call to the
//! [`SigningCore`], and the reply in that module's style ([`reply`]). The server loop
//! above never sees a method name.

mod accessory;
mod basics;
mod common_utils;
pub mod data;
mod legacy;
pub mod reply;
pub mod stream;

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::i18n::{Locale, Msg};
use crate::signing::{Operation, Outcome, Rejection, Request, SigningCore, SigningError};
use crate::ui::RequestContext;

pub const MODULE_COMMON_UTILS: &str = "kz.gov.pki.knca.commonUtils";
pub const MODULE_BASICS: &str = "kz.gov.pki.knca.basics";
pub const MODULE_ACCESSORY: &str = "kz.gov.pki.ncalayerservices.accessory";
pub const MODULE_LEGACY: &str = "kz.gov.pki.knca.applet.Applet";

/// Most documents one batch request may carry.
pub const MAX_BATCH: usize = 10_000;

/// Per-connection state: who is asking and in which language.
#[derive(Debug, Default)]
pub struct Session {
    pub context: RequestContext,
    /// The connection's audit records (see [`crate::audit`]).
    pub audit: crate::audit::Conn,
}

impl Session {
    /// A session for a page at `origin`; `page_gone` is set by the connection when the
    /// page disconnects, so dialogs for it are not shown any more.
    pub fn new(origin: Option<String>, page_gone: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self { context: RequestContext { origin, page_gone, ..RequestContext::default() }, audit: Default::default() }
    }
}

/// Routes requests to modules. Cheap to share between connections.
pub struct Dispatcher {
    core: Arc<SigningCore>,
}

impl Dispatcher {
    pub fn new(core: Arc<SigningCore>) -> Self {
        Self { core }
    }

    /// Handle one text frame; `None` means "send no reply" (legacy `setLocale`).
    /// Blocking (dialogs, signing): call from a blocking thread.
    ///
    /// Two phases. In the compute pool the frame is parsed with `args` left as raw text
    /// borrowed from the frame, and the module turns it into an owned, typed request,
    /// decoding large base64 documents straight from the frame (no copy of the text).
    /// Then the frame is released, and the request runs (which may wait for the user).
    /// So a document of N bytes costs the frame plus the decoded bytes at the peak.
    pub fn handle_text(&self, session: &mut Session, text: impl AsRef<str>) -> Option<String> {
        let audit = session.audit.request(text.as_ref().len());
        let pending = crate::compute::run_for(text.as_ref().len(), || prepare(session, text.as_ref(), None));
        drop(text);
        audit.finish(self.finish(session, pending))
    }

    /// Handle a message read as it arrived ([`stream::Intake`]): the same replies as
    /// [`Self::handle_text`] on the message's text. A spliced message's document is
    /// decoded already; the text around it is parsed as usual, and put back together
    /// and parsed whole when the string was not the `data` of a `basics` request.
    pub fn handle_received(&self, session: &mut Session, received: stream::Received) -> Option<String> {
        match received {
            stream::Received::Text(text) => self.handle_text(session, text),
            stream::Received::Spliced(spliced) => {
                let audit = session.audit.request(spliced.skeleton.len() + spliced.data.text_len());
                let pending = prepare_spliced(session, spliced);
                audit.finish(self.finish(session, pending))
            }
        }
    }

    /// Phase two of a request: run it (may wait for the user) and shape the reply.
    fn finish(&self, session: &mut Session, pending: Pending) -> Option<String> {
        let reply = match pending {
            Pending::Reply(reply) => reply,
            Pending::CommonUtils(call) => Some(common_utils::finish(self, session, call)),
            Pending::Basics(prepared) => Some(basics::finish(self, session, prepared)),
            Pending::Legacy(request) => legacy::handle(self, session, &request),
            Pending::Unsplice => Some(reply::common_error(Some("internal error"))),
        };
        reply.map(|r| r.to_string())
    }

    /// The reply to a binary frame: NCALayer speaks text only.
    pub fn binary_frame_reply() -> String {
        reply::malformed_request("binary frames are not supported; send JSON text").to_string()
    }

    /// The reply to a request refused before it was read (the connection's queue or
    /// the daemon's memory budget is full): a commonUtils error every client reads.
    pub fn busy_reply(why: Busy, locale: Locale) -> String {
        let msg = match why {
            Busy::Queue => Msg::TooManyRequests,
            Busy::Memory => Msg::OverBudget,
            Busy::TooLarge => Msg::MessageTooLarge,
        };
        reply::common_error(Some(msg.text(locale))).to_string()
    }

    /// Hand a typed operation to the signing core.
    fn execute(&self, session: &Session, operation: Operation) -> Result<Outcome, SigningError> {
        self.execute_in(session.context.clone(), operation)
    }

    /// The same, with a context adjusted for this one request.
    fn execute_in(&self, context: RequestContext, operation: Operation) -> Result<Outcome, SigningError> {
        let outcome = self.core.execute(Request { context, operation });
        crate::audit::outcome(&outcome);
        outcome
    }
}

/// A request after phase one of [`Dispatcher::handle_text`].
enum Pending {
    /// The reply is known (or there is none).
    Reply(Option<Value>),
    CommonUtils(common_utils::Call),
    Basics(basics::Prepared),
    /// The legacy API's requests are small: parsed whole.
    Legacy(Map<String, Value>),
    /// A spliced message that must be parsed whole after all.
    Unsplice,
}

/// The decoded `args.data` string of a spliced message, and where its `""` is.
type Splice<'s> = (usize, &'s mut Option<stream::Data>);

/// Phase one: parse the envelope and let the module prepare its request. With a
/// `splice`, `text` is a spliced message: its string at `splice.0` goes in only as the
/// `data` of a `basics` request (else [`Pending::Unsplice`], before anything else).
fn prepare(session: &mut Session, text: &str, splice: Option<Splice>) -> Pending {
    let fields: std::collections::HashMap<String, &RawValue> = match serde_json::from_str(text) {
        Ok(_) if splice.is_some() && !spliced_data(text, splice.as_ref().map_or(0, |s| s.0)) => {
            return Pending::Unsplice;
        }
        Ok(fields) => fields,
        Err(_) if splice.is_some() => return Pending::Unsplice,
        // Not an object: Java's text for a valid non-object, else the parser's.
        Err(_) => {
            let why = match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => "A JSONObject text must begin with '{'".to_owned(),
                Err(e) => e.to_string(),
            };
            crate::audit::malformed(&why);
            return Pending::Reply(Some(reply::malformed_request(&why)));
        }
    };
    let mut request = Map::new();
    let mut args = None;
    for (key, raw) in fields {
        if key == "args" {
            args = Some(raw);
            continue;
        }
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(value) => {
                request.insert(key, value);
            }
            Err(e) => return Pending::Reply(Some(reply::malformed_request(&e.to_string()))),
        }
    }
    // The method as the journal records it (bounded: a page writes it).
    session.context.method = method_name(&request).map(|m| m.chars().take(64).collect());
    let module = match request.get("module") {
        None | Some(Value::Null) => MODULE_LEGACY,
        Some(Value::String(module)) => module.as_str(),
        Some(_) => "",
    };
    let known = [MODULE_COMMON_UTILS, MODULE_BASICS, MODULE_ACCESSORY, MODULE_LEGACY].contains(&module);
    crate::audit::received(module, method_name(&request), known);
    match module {
        MODULE_COMMON_UTILS => Pending::CommonUtils(common_utils::prepare(session, &request, args)),
        MODULE_BASICS => Pending::Basics(basics::prepare(session, &request, args, splice.and_then(|s| s.1.take()))),
        _ if splice.is_some() => Pending::Unsplice,
        MODULE_ACCESSORY => Pending::Reply(Some(accessory::handle(&request))),
        MODULE_LEGACY => {
            if let Some(raw) = args {
                match serde_json::from_str::<Value>(raw.get()) {
                    Ok(value) => {
                        request.insert("args".into(), value);
                    }
                    Err(e) => return Pending::Reply(Some(reply::malformed_request(&e.to_string()))),
                }
            }
            Pending::Legacy(request)
        }
        _ => Pending::Reply(Some(reply::module_not_found())),
    }
}

/// Phase one for a spliced message: as [`prepare`] on its text.
fn prepare_spliced(session: &mut Session, spliced: stream::Spliced) -> Pending {
    crate::compute::run_for(spliced.skeleton.len(), || {
        let stream::Spliced { skeleton, at, data } = spliced;
        let mut data = Some(data);
        match (prepare(session, &skeleton, Some((at, &mut data))), data) {
            (Pending::Unsplice, Some(data)) => {
                let text = stream::Spliced { skeleton, at, data }.into_text();
                crate::compute::run_for(text.len(), || prepare(session, &text, None))
            }
            (Pending::Unsplice, None) => {
                Pending::Reply(Some(reply::common_error(Some("internal error: the document was lost"))))
            }
            (pending, _) => pending,
        }
    })
}

/// Is the string at `at` in `text` the `data` of its request's `args` (as the parsers
/// below read them: the last of duplicate keys counts) in a `basics` request?
fn spliced_data(text: &str, at: usize) -> bool {
    type Fields<'a> = std::collections::HashMap<String, &'a RawValue>;
    let Ok(fields) = serde_json::from_str::<Fields>(text) else { return false };
    let module = fields.get("module").and_then(|m| serde_json::from_str::<&str>(m.get()).ok());
    let data = fields.get("args").and_then(|a| serde_json::from_str::<Fields>(a.get()).ok()?.get("data").copied());
    module == Some(MODULE_BASICS) && data.is_some_and(|d| d.get().as_ptr() as usize == text.as_ptr() as usize + at)
}

/// A JSON string value, borrowed from the frame when it has no escapes; `None` if the
/// value is not a string.
fn raw_str(raw: &RawValue) -> Option<std::borrow::Cow<'_, str>> {
    match serde_json::from_str::<&str>(raw.get()) {
        Ok(s) => Some(std::borrow::Cow::Borrowed(s)),
        Err(_) => serde_json::from_str::<String>(raw.get()).ok().map(std::borrow::Cow::Owned),
    }
}

/// Why a request was refused unread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    /// The connection already has as many requests queued as it may.
    Queue,
    /// In-flight messages use the whole memory budget.
    Memory,
    /// The message is larger than any message may be.
    TooLarge,
}

/// A signing error in words for the user, in their language; wire keys that pages
/// test for (`action.canceled`, `file.not_found`) stay as they are.
fn describe(error: &SigningError, locale: Locale) -> String {
    let with = |msg: Msg, detail: &dyn std::fmt::Display| format!("{} ({detail})", msg.text(locale));
    match error {
        SigningError::Canceled => "action.canceled".into(),
        SigningError::NoPrompter => Msg::NoPrompter.text(locale).into(),
        SigningError::WrongPassword { .. } => Msg::WrongPassword.text(locale).into(),
        SigningError::KeyFileUnreadable => Msg::KeyFileUnreadable.text(locale).into(),
        SigningError::UnsupportedKey => Msg::UnsupportedKey.text(locale).into(),
        SigningError::NoSuchAlias | SigningError::NoKeys => Msg::KeyFileUnreadable.text(locale).into(),
        SigningError::Rejected(Rejection::FileUnavailable) => "file.not_found".into(),
        SigningError::Rejected(Rejection::NamedFileAttach) => Msg::NamedFileAttach.text(locale).into(),
        SigningError::Rejected(r) => with(Msg::DocumentRejected, r),
        SigningError::Timestamp(e) => with(Msg::TimestampFailed, e),
        SigningError::TooManyWaiting => Msg::TooManyWaiting.text(locale).into(),
        SigningError::Paused => Msg::Paused.text(locale).into(),
        SigningError::StorageEmpty => "storage.empty".into(),
        SigningError::WrongPin => Msg::WrongPin.text(locale).into(),
        SigningError::PinLocked => Msg::PinLocked.text(locale).into(),
        SigningError::Token(why) => with(Msg::TokenFailed, why),
        SigningError::TokenMechanism(algorithm) => with(Msg::TokenNoMechanism, algorithm),
        SigningError::Failed(e) => with(Msg::SigningFailed, e),
    }
}

/// The localized "not available in this version" text with what exactly is missing.
fn not_implemented(what: &str, locale: Locale) -> String {
    format!("{} ({what})", Msg::NotImplemented.text(locale))
}

/// The `method` of a request, if it is a string.
fn method_name(request: &Map<String, Value>) -> Option<&str> {
    request.get("method").and_then(Value::as_str)
}
