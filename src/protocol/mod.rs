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

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::cms::tsp::TsaConfig;
use crate::i18n::{Locale, Msg};
use crate::keys::{KeyInfo, SigningKey};
use crate::signing::{CoreError, KeyFilter, Operation, SigningCore};
use crate::ui::{DocumentSummary, RequestContext};

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
}

impl Session {
    /// A session for a page at `origin`; `page_gone` is set by the connection when the
    /// page disconnects, so dialogs for it are not shown any more.
    pub fn new(origin: Option<String>, page_gone: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self { context: RequestContext { origin, locale: Locale::default(), page_gone } }
    }
}

/// Routes requests to modules. Cheap to share between connections.
pub struct Dispatcher {
    core: Arc<SigningCore>,
    /// The timestamp authority for CAdES-T.
    tsa: TsaConfig,
}

impl Dispatcher {
    pub fn new(core: Arc<SigningCore>, tsa: TsaConfig) -> Self {
        Self { core, tsa }
    }

    /// Handle one text frame; `None` means "send no reply" (legacy `setLocale`).
    /// The frame is dropped as soon as it is parsed: with documents of hundreds of
    /// megabytes, every copy counts.
    pub async fn handle_text(&self, session: &mut Session, text: impl AsRef<str>) -> Option<String> {
        let parsed = serde_json::from_str::<Value>(text.as_ref());
        drop(text);
        let request = match parsed {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Some(reply::malformed_request("A JSONObject text must begin with '{'").to_string()),
            Err(e) => return Some(reply::malformed_request(&e.to_string()).to_string()),
        };
        let module = match request.get("module") {
            None | Some(Value::Null) => MODULE_LEGACY,
            Some(Value::String(module)) => module.as_str(),
            Some(_) => "",
        };
        let reply = match module {
            MODULE_COMMON_UTILS => Some(common_utils::handle(self, session, request).await),
            MODULE_BASICS => Some(basics::handle(self, session, request).await),
            MODULE_ACCESSORY => Some(accessory::handle(&request)),
            MODULE_LEGACY => legacy::handle(self, session, &request).await,
            _ => Some(reply::module_not_found()),
        };
        reply.map(|r| r.to_string())
    }

    /// The reply to a binary frame: NCALayer speaks text only.
    pub fn binary_frame_reply() -> String {
        reply::malformed_request("binary frames are not supported; send JSON text").to_string()
    }

    /// Let the user choose a key for `operation` and return its info, on a blocking thread.
    async fn key_info(
        &self,
        context: RequestContext,
        operation: String,
        filter: KeyFilter,
    ) -> Result<KeyInfo, CoreError> {
        self.blocking(move |core| core.key_info(Operation { context: &context, name: &operation }, &filter)).await
    }

    /// [`SigningCore::sign_with`] on a blocking thread: key choice, confirmation of
    /// `documents`, then `sign` with the chosen key.
    async fn sign<T: Send + 'static>(
        &self,
        context: RequestContext,
        operation: String,
        filter: KeyFilter,
        documents: Vec<DocumentSummary>,
        sign: impl FnOnce(&dyn SigningKey) -> Result<T, CoreError> + Send + 'static,
    ) -> Result<T, CoreError> {
        self.blocking(move |core| {
            core.sign_with(Operation { context: &context, name: &operation }, &filter, &documents, sign)
        })
        .await
    }

    /// Run a blocking signing-core call on a blocking thread. A panic inside becomes an
    /// error reply instead of taking the connection down.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SigningCore) -> Result<T, CoreError> + Send + 'static,
    ) -> Result<T, CoreError> {
        let core = Arc::clone(&self.core);
        match tokio::task::spawn_blocking(move || f(&core)).await {
            Ok(result) => result,
            Err(e) => {
                tracing::error!("signing task failed: {e}");
                Err(CoreError::Format("internal error".into()))
            }
        }
    }
}

/// A core error in words for the user, in their language.
fn describe(error: &CoreError, locale: Locale) -> String {
    use crate::keys::KeyFileError;
    match error {
        CoreError::Canceled => "action.canceled".into(),
        CoreError::PrompterUnavailable(_) => Msg::NoPrompter.text(locale).into(),
        CoreError::KeyFile(e) if e.is_wrong_password() => Msg::WrongPassword.text(locale).into(),
        CoreError::KeyFile(KeyFileError::Unsupported(_)) => Msg::UnsupportedKey.text(locale).into(),
        CoreError::Key(crate::keys::KeyError::UnsupportedAlgorithm(_)) => Msg::UnsupportedKey.text(locale).into(),
        CoreError::KeyFile(e) => format!("{} ({e})", Msg::KeyFileUnreadable.text(locale)),
        CoreError::Timestamp(why) => format!("{} ({why})", Msg::TimestampFailed.text(locale)),
        CoreError::Invalid(why) => format!("{} ({why})", Msg::DocumentRejected.text(locale)),
        other => format!("{} ({other})", Msg::SigningFailed.text(locale)),
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
