//! Prompters that never show a window.
//!
//! [`HeadlessPrompter`] answers every dialog from configuration: for automated tests,
//! integrators' CI and the demo mode. It is never on by default, and the daemon logs a
//! warning when it is, because whoever can reach the port gets signatures.
//! [`NoPrompter`] is what runs when nothing can ask: every signing request gets a
//! clear error.

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{
    Confirmation, Dialog, FileRequest, KeyCandidate, KeyChoice, KeyRequest, PasswordRequest, PromptUnavailable,
    Prompter, RequestContext, SiteAnswer, SiteRequest,
};

/// What the headless answerer does when asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoAnswer {
    /// Choose the configured key, give its password and approve.
    Confirm,
    /// Cancel at the first dialog, as a user closing the key chooser.
    Cancel,
}

impl std::str::FromStr for AutoAnswer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "confirm" => Ok(Self::Confirm),
            "cancel" => Ok(Self::Cancel),
            other => Err(format!("auto answer must be confirm or cancel, not {other:?}")),
        }
    }
}

/// Answers dialogs from configuration. See the module documentation.
pub struct HeadlessPrompter {
    key_file: PathBuf,
    password: Zeroizing<String>,
    answer: AutoAnswer,
    delay: Duration,
    document: Option<PathBuf>,
    site: SiteAnswer,
}

impl HeadlessPrompter {
    pub fn new(key_file: PathBuf, password: Zeroizing<String>, answer: AutoAnswer) -> Self {
        Self { key_file, password, answer, delay: Duration::ZERO, document: None, site: SiteAnswer::Once }
    }

    /// How to answer when a site not met before asks (default: once).
    pub fn with_site_answer(mut self, site: SiteAnswer) -> Self {
        self.site = site;
        self
    }

    /// The file the file chooser "picks".
    pub fn with_document(mut self, document: Option<PathBuf>) -> Self {
        self.document = document;
        self
    }

    /// Take `delay` to answer the key dialog, like a person would: lets tests check
    /// what happens while a request waits for the user.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Prompter for HeadlessPrompter {
    fn open<'a>(&'a self, _context: &'a RequestContext) -> Result<Box<dyn Dialog + 'a>, PromptUnavailable> {
        Ok(Box::new(self))
    }
}

impl Dialog for &HeadlessPrompter {
    fn site(&mut self, request: &SiteRequest<'_>) -> Result<SiteAnswer, PromptUnavailable> {
        tracing::info!(origin = ?request.context.origin, answer = ?self.site, "headless: a new site asks");
        Ok(self.site)
    }

    fn choose_key(&mut self, request: &KeyRequest<'_>) -> Result<KeyChoice, PromptUnavailable> {
        tracing::info!(origin = ?request.context.origin, action = ?request.action, answer = ?self.answer, "headless: key requested");
        std::thread::sleep(self.delay);
        Ok(match self.answer {
            AutoAnswer::Confirm => {
                match pkcs11_attribute(&self.key_file, "token").and_then(|l| String::from_utf8(l).ok()) {
                    // `pkcs11:token=LABEL`: the token with that label among those plugged in.
                    Some(label) => request
                        .tokens
                        .iter()
                        .find(|t| t.label == label)
                        .map_or(KeyChoice::Cancel, |t| KeyChoice::Token(t.clone())),
                    None => KeyChoice::File(self.key_file.clone()),
                }
            }
            AutoAnswer::Cancel => KeyChoice::Cancel,
        })
    }

    fn password(&mut self, _request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable> {
        // A wrong configured password stays wrong; the core gives up after its
        // attempts and reports it.
        Ok(Some(self.password.clone()))
    }

    fn pick_key(&mut self, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable> {
        for key in keys {
            if let Some(reason) = &key.not_selectable {
                tracing::info!(key = ?key.key.subject, reason = %reason, "headless: key not selectable");
            }
            for note in &key.notes {
                tracing::info!(key = ?key.key.subject, note = %note, "headless: note on key");
            }
        }
        // `pkcs11:…;id=%01`: that key of the token; otherwise the first one usable.
        let id = pkcs11_attribute(&self.key_file, "id").map(|id| crate::keys::certificate::hex(&id));
        Ok(keys
            .iter()
            .position(|k| k.not_selectable.is_none() && id.as_ref().is_none_or(|id| k.token_id.as_ref() == Some(id))))
    }

    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable> {
        tracing::info!(
            origin = ?confirmation.context.origin,
            action = ?confirmation.action,
            signer = ?confirmation.signer.subject,
            documents = confirmation.documents.len(),
            answer = ?self.answer,
            "headless: signing confirmation answered"
        );
        Ok(self.answer == AutoAnswer::Confirm)
    }

    fn choose_file(&mut self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable> {
        tracing::info!(
            origin = ?request.context.origin,
            extension = ?request.extension,
            "headless: file requested"
        );
        Ok(match self.answer {
            AutoAnswer::Confirm => self.document.clone(),
            AutoAnswer::Cancel => None,
        })
    }

    fn failed(&mut self, message: &str) {
        tracing::info!(message, "headless: the request failed");
    }
}

/// The prompter of a daemon that cannot ask anybody.
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn open<'a>(&'a self, _context: &'a RequestContext) -> Result<Box<dyn Dialog + 'a>, PromptUnavailable> {
        Err(PromptUnavailable("no user interface is available to ask for a key".into()))
    }
}

/// An attribute (`token`, `id`) of an RFC 7512 PKCS#11 URI
/// (`pkcs11:token=My%20token;id=%01`), percent-decoded; `None` when `key` is not such a
/// URI or has no such attribute.
fn pkcs11_attribute(key: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let uri = key.to_str()?.strip_prefix("pkcs11:")?;
    let path = uri.split('?').next().unwrap_or_default();
    let value = path.split(';').find_map(|attribute| attribute.strip_prefix(name)?.strip_prefix('='))?;
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                // Two hex digits exactly (from_str_radix alone would take "+1").
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                decoded.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    Some(decoded)
}

#[cfg(test)]
mod uri_tests {
    use super::pkcs11_attribute;
    use std::path::Path;

    #[test]
    fn the_token_label_and_key_id_of_a_pkcs11_uri_are_read() {
        let attribute = |uri: &str, name: &str| pkcs11_attribute(Path::new(uri), name);
        assert_eq!(attribute("pkcs11:token=NCA%20test;id=%01", "token").as_deref(), Some(&b"NCA test"[..]));
        assert_eq!(attribute("pkcs11:token=NCA%20test;id=%01", "id").as_deref(), Some(&[1u8][..]));
        assert_eq!(attribute("pkcs11:id=%01;token=T?pin-value=1", "token").as_deref(), Some(&b"T"[..]));
        assert_eq!(attribute("pkcs11:token=T;identity=x", "id"), None, "a name is matched whole");
        assert_eq!(attribute("/home/a/key.p12", "token"), None);
        assert_eq!(attribute("pkcs11:token=%zz", "token"), None);
        assert_eq!(attribute("pkcs11:id=%+1", "id"), None);
    }
}
