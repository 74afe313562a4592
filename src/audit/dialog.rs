//! Recording each request's dialog: a [`Prompter`] that wraps the real one and records
//! every question and answer, never a secret (a password is recorded as given or not).

use std::path::PathBuf;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::{Level, emit};
use crate::ui::{
    Confirmation, Dialog, FileRequest, KeyCandidate, KeyChoice, KeyRequest, PasswordRequest, PromptUnavailable,
    Prompter, RequestContext, SiteAnswer, SiteRequest,
};

/// See the module documentation.
pub(super) struct Watched(pub(super) Arc<dyn Prompter>);

impl Prompter for Watched {
    fn open<'a>(&'a self, context: &'a RequestContext) -> Result<Box<dyn Dialog + 'a>, PromptUnavailable> {
        match self.0.open(context) {
            Ok(dialog) => {
                emit(
                    Level::Info,
                    "dialog.opened",
                    vec![("origin", context.origin.clone().unwrap_or_else(|| "-".into()))],
                );
                Ok(Box::new(WatchedDialog(dialog)))
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn unavailable(e: PromptUnavailable) -> PromptUnavailable {
    emit(Level::Warn, "dialog.unavailable", vec![("reason", e.0.clone())]);
    e
}

fn action(action: crate::signing::Action) -> String {
    serde_json::to_value(action).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn yes(answer: bool) -> String {
    if answer { "yes".into() } else { "no".into() }
}

struct WatchedDialog<'a>(Box<dyn Dialog + 'a>);

impl Drop for WatchedDialog<'_> {
    fn drop(&mut self) {
        emit(Level::Info, "dialog.closed", Vec::new());
    }
}

impl Dialog for WatchedDialog<'_> {
    fn site(&mut self, request: &SiteRequest<'_>) -> Result<SiteAnswer, PromptUnavailable> {
        emit(Level::Info, "site.asked", vec![("action", action(request.action))]);
        let answer = self.0.site(request).map_err(unavailable)?;
        let word = serde_json::to_value(answer).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        emit(Level::Info, "site.answered", vec![("answer", word)]);
        Ok(answer)
    }

    fn choose_key(&mut self, request: &KeyRequest<'_>) -> Result<KeyChoice, PromptUnavailable> {
        emit(
            Level::Info,
            "key.asked",
            vec![("action", action(request.action)), ("tokens", request.tokens.len().to_string())],
        );
        let choice = self.0.choose_key(request).map_err(unavailable)?;
        let fields = match &choice {
            KeyChoice::File(path) => vec![("source", "file".into()), ("path", path.display().to_string())],
            KeyChoice::Token(token) => vec![
                ("source", "token".into()),
                ("storage", token.storage.clone()),
                ("label", token.label.clone()),
                ("slot", token.slot.to_string()),
            ],
            KeyChoice::Cancel => vec![("source", "none".into()), ("answer", "cancel".into())],
        };
        emit(Level::Info, "key.chosen", fields);
        Ok(choice)
    }

    fn password(&mut self, request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable> {
        let fields = vec![
            ("file", request.file.display().to_string()),
            ("attempt", request.attempt.to_string()),
            ("tries_left", request.tries_left.to_string()),
        ];
        emit(Level::Info, "password.asked", fields);
        let secret = self.0.password(request).map_err(unavailable)?;
        // Whether one was given: never the secret, nor its length.
        emit(Level::Info, "password.answered", vec![("given", yes(secret.is_some()))]);
        Ok(secret)
    }

    fn checking(&mut self) {
        emit(Level::Debug, "dialog.checking", Vec::new());
        self.0.checking();
    }

    fn keeps_screen(&self) -> bool {
        self.0.keeps_screen()
    }

    fn pick_key(&mut self, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable> {
        let selectable = keys.iter().filter(|k| k.not_selectable.is_none()).count();
        emit(Level::Info, "key.listed", vec![("keys", keys.len().to_string()), ("selectable", selectable.to_string())]);
        let picked = self.0.pick_key(keys).map_err(unavailable)?;
        let fields = match picked.and_then(|i| keys.get(i).map(|k| (i, k))) {
            Some((i, key)) => vec![
                ("index", i.to_string()),
                ("subject", key.key.subject.clone()),
                ("issuer", key.key.issuer.clone()),
                ("selectable", yes(key.not_selectable.is_none())),
            ],
            None => vec![("answer", "cancel".into())],
        };
        emit(Level::Info, "key.picked", fields);
        Ok(picked)
    }

    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable> {
        let bytes: u64 = confirmation.documents.iter().map(|d| d.size).sum();
        let blind = confirmation.documents.iter().any(|d| matches!(d.shown, crate::ui::Shown::BlindHash { .. }));
        let mut fields = vec![
            ("action", action(confirmation.action)),
            ("documents", confirmation.documents.len().to_string()),
            ("bytes", bytes.to_string()),
            ("blind", yes(blind)),
            ("signer", confirmation.signer.subject.clone()),
        ];
        if let Some(domain) = confirmation.other_domain {
            fields.push(("other_domain", domain.to_owned()));
        }
        emit(Level::Info, "confirm.asked", fields);
        let approved = self.0.confirm(confirmation).map_err(unavailable)?;
        emit(Level::Info, "confirm.answered", vec![("approved", yes(approved))]);
        Ok(approved)
    }

    fn choose_file(&mut self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable> {
        emit(Level::Info, "file.asked", vec![("extension", request.extension.to_owned())]);
        let path = self.0.choose_file(request).map_err(unavailable)?;
        let fields = match &path {
            Some(path) => vec![("path", path.display().to_string())],
            None => vec![("answer", "cancel".into())],
        };
        emit(Level::Info, "file.chosen", fields);
        Ok(path)
    }

    fn failed(&mut self, message: &str) {
        emit(Level::Info, "dialog.failed", vec![("message", message.to_owned())]);
        self.0.failed(message);
    }
}
