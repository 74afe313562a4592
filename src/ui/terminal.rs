//! Dialogs in the terminal qoltanba runs in: the key file path, the password (not
//! echoed), the key, and the confirmation, which names the requesting site and shows
//! what is signed. A page cannot type into the user's terminal, so this is a trusted
//! path, for people who run qoltanba in a terminal until the desktop dialogs exist.
//!
//! Input and output go through [`Console`], so the dialogs can be tested.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use zeroize::Zeroizing;

use super::Shown;
use super::sanitize::{preview, shown};
use crate::i18n::{Locale, Word as Text, action_word, trust_note};

use super::{
    Confirmation, Dialog, FileRequest, KeyCandidate, KeyChoice, KeyRequest, PasswordRequest, PromptUnavailable,
    Prompter, RequestContext, SiteAnswer, SiteRequest,
};

/// Where the dialogs read and write.
pub trait Console: Send {
    /// Show `text` and read one line (`None`: input closed).
    fn ask(&mut self, text: &str) -> Option<String>;
    /// Show `text` and read a secret without echo.
    fn ask_secret(&mut self, text: &str) -> Option<Zeroizing<String>>;
    /// Show `text`.
    fn say(&mut self, text: &str);
}

/// The process's terminal: prompts on stderr, lines from stdin, secrets from the TTY.
pub struct Tty;

impl Console for Tty {
    fn ask(&mut self, text: &str) -> Option<String> {
        eprint!("{text}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    fn ask_secret(&mut self, text: &str) -> Option<Zeroizing<String>> {
        rpassword::prompt_password(text).ok().map(Zeroizing::new)
    }

    fn say(&mut self, text: &str) {
        eprintln!("{text}");
    }
}

/// See the module documentation.
pub struct TerminalPrompter<C: Console> {
    console: Mutex<C>,
    /// The terminal user's language (from the environment, not from the page).
    locale: Locale,
}

impl<C: Console> TerminalPrompter<C> {
    pub fn new(console: C, locale: Locale) -> Self {
        Self { console: Mutex::new(console), locale }
    }

    fn t(&self, text: Text) -> &'static str {
        text.get(self.locale)
    }

    /// The requesting site as shown: escaped, or a note that there is none.
    fn site_name(&self, context: &RequestContext) -> String {
        crate::i18n::dialog::site(context.origin.as_deref(), self.locale)
    }

    /// One document's line(s) of the confirmation.
    fn document(&self, shown_doc: &Shown, size: u64) -> Vec<String> {
        match shown_doc {
            Shown::Text { preview: text, truncated } => {
                vec![format!("{size} {}: {}{}", self.t(Text::Bytes), preview(text), if *truncated { "…" } else { "" })]
            }
            Shown::Xml { root, fields, truncated } => {
                let mut lines = vec![format!("{size} {}: <{}>", self.t(Text::Bytes), shown(root))];
                lines.extend(fields.iter().map(|(name, value)| format!("   {}: {}", shown(name), shown(value))));
                if *truncated {
                    lines.push("   …".into());
                }
                lines
            }
            Shown::Pdf { pages } => {
                let pages = pages.map(|n| format!(", {n} {}", self.t(Text::Pages))).unwrap_or_default();
                vec![format!("{size} {}: PDF{pages}", self.t(Text::Bytes))]
            }
            Shown::Binary => vec![format!("{size} {}: {}", self.t(Text::Bytes), self.t(Text::BinaryData))],
            Shown::BlindHash { hex } => vec![
                format!("{}: {}", self.t(Text::BlindHash), shown(hex)),
                format!("   ⚠ {}", self.t(Text::BlindWarning)),
            ],
            Shown::CoSign { signers, content } => {
                let mut lines = vec![format!("{} {signers}", self.t(Text::CoSignWith))];
                lines.extend(self.document(content, size).into_iter().map(|l| format!("   {l}")));
                lines
            }
            Shown::File { path, chosen_by_user } => {
                let whose = if *chosen_by_user { Text::FileChosen } else { Text::FileNamedBySite };
                vec![format!("{}: {}", self.t(whose), shown(path))]
            }
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut C) -> T) -> T {
        let mut console = self.console.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut console)
    }
}

/// "y", "yes", "д", "да", "и", "иә" approve; anything else refuses.
fn approves(answer: &str) -> bool {
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes" | "д" | "да" | "и" | "иә")
}

impl<C: Console> Prompter for TerminalPrompter<C> {
    fn open<'a>(&'a self, _context: &'a RequestContext) -> Result<Box<dyn Dialog + 'a>, PromptUnavailable> {
        Ok(Box::new(self))
    }
}

/// The terminal keeps no state between the steps of a request.
impl<C: Console> Dialog for &TerminalPrompter<C> {
    fn site(&mut self, request: &SiteRequest<'_>) -> Result<SiteAnswer, PromptUnavailable> {
        self.with(|c| {
            c.say("");
            c.say(&format!("== qoltanba: {} {}", self.site_name(request.context), self.t(Text::SiteFirstTime)));
            let answer = c.ask(self.t(Text::SiteQuestion)).unwrap_or_default().trim().to_lowercase();
            Ok(match answer.as_str() {
                "1" | "o" | "once" | "о" | "один" | "бір" => SiteAnswer::Once,
                "2" | "a" | "always" | "в" | "всегда" | "ә" | "әрқашан" => SiteAnswer::Always,
                "3" | "n" | "never" | "н" | "никогда" | "ж" | "ешқашан" => SiteAnswer::Never,
                _ => SiteAnswer::Cancel,
            })
        })
    }

    fn choose_key(&mut self, request: &KeyRequest<'_>) -> Result<KeyChoice, PromptUnavailable> {
        self.with(|c| {
            c.say("");
            c.say(&format!(
                "== qoltanba: {} {} ({})",
                self.site_name(request.context),
                self.t(Text::AsksForKey),
                self.t(action_word(request.action))
            ));
            match c.ask(self.t(Text::KeyFile)) {
                Some(path) if !path.trim().is_empty() => Ok(KeyChoice::File(PathBuf::from(path.trim()))),
                _ => Ok(KeyChoice::Cancel),
            }
        })
    }

    fn password(&mut self, request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable> {
        self.with(|c| {
            if request.attempt > 1 {
                c.say(&format!(
                    "{} ({}: {})",
                    self.t(Text::WrongPassword),
                    self.t(Text::TriesLeft),
                    request.tries_left
                ));
            }
            Ok(c.ask_secret(&format!("{} {}: ", self.t(Text::PasswordFor), request.file.display())))
        })
    }

    fn pick_key(&mut self, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable> {
        self.with(|c| {
            for (i, key) in keys.iter().enumerate() {
                match &key.not_selectable {
                    Some(reason) => c.say(&format!(
                        "  {}) {}  — {}: {}",
                        i + 1,
                        shown(&key.key.subject),
                        self.t(Text::CannotBeUsed),
                        shown(&crate::i18n::unusable(reason, self.locale))
                    )),
                    None => c.say(&format!("  {}) {}", i + 1, shown(&key.key.subject))),
                }
                for note in &key.notes {
                    c.say(&format!("     {}: {}", self.t(Text::Note), shown(&trust_note(note, self.locale))));
                }
            }
            let usable: Vec<usize> = (0..keys.len()).filter(|i| keys[*i].not_selectable.is_none()).collect();
            match usable.as_slice() {
                [] => {
                    c.say(self.t(Text::NoUsableKey));
                    Ok(None)
                }
                [only] => Ok(Some(*only)),
                _ => {
                    let answer = c.ask(self.t(Text::KeyNumber)).unwrap_or_default();
                    Ok(answer
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| n.checked_sub(1))
                        .filter(|i| usable.contains(i)))
                }
            }
        })
    }

    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable> {
        self.with(|c| {
            c.say(&format!("{}{}", self.t(Text::Site), self.site_name(confirmation.context)));
            c.say(&format!(
                "{}{}",
                self.t(Text::Operation),
                crate::i18n::dialog::confirmation_operation(confirmation, self.locale)
            ));
            c.say(&format!("{}{}", self.t(Text::Signer), shown(&confirmation.signer.subject)));
            for note in confirmation.notes {
                c.say(&format!("           ⚠ {}", shown(&trust_note(note, self.locale))));
            }
            c.say(&format!("{} {}", self.t(Text::Documents), confirmation.documents.len()));
            for (i, doc) in confirmation.documents.iter().enumerate().take(5) {
                for (j, line) in self.document(&doc.shown, doc.size).into_iter().enumerate() {
                    if j == 0 {
                        c.say(&format!("  {}) {line}", i + 1));
                    } else {
                        c.say(&format!("     {line}"));
                    }
                }
            }
            if confirmation.documents.len() > 5 {
                c.say(&format!("  … {} {}", self.t(Text::More), confirmation.documents.len() - 5));
            }
            Ok(c.ask(self.t(Text::SignQuestion)).is_some_and(|a| approves(&a)))
        })
    }

    fn choose_file(&mut self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable> {
        self.with(|c| {
            c.say(&format!(
                "== qoltanba: {} {} ({})",
                self.site_name(request.context),
                self.t(Text::AsksForFile),
                shown(request.extension)
            ));
            if !request.directory.is_empty() {
                c.say(&format!("   {}: {}", self.t(Text::Directory), shown(request.directory)));
            }
            Ok(c.ask(self.t(Text::FilePath)).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).map(PathBuf::from))
        })
    }

    fn failed(&mut self, message: &str) {
        self.with(|c| c.say(&format!("⚠ {message}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::{DocumentSummary, KeyDescription};

    /// Scripted answers; records what was shown.
    struct Script {
        answers: Vec<&'static str>,
        shown: Vec<String>,
    }

    impl Console for Script {
        fn ask(&mut self, text: &str) -> Option<String> {
            self.shown.push(text.to_owned());
            (!self.answers.is_empty()).then(|| self.answers.remove(0).to_owned())
        }
        fn ask_secret(&mut self, text: &str) -> Option<Zeroizing<String>> {
            self.ask(text).map(Zeroizing::new)
        }
        fn say(&mut self, text: &str) {
            self.shown.push(text.to_owned());
        }
    }

    fn context() -> RequestContext {
        RequestContext { origin: Some("https://egov.kz".into()), ..Default::default() }
    }

    #[test]
    fn the_confirmation_names_the_site_and_shows_the_document() {
        let prompter = TerminalPrompter::new(Script { answers: vec!["y", "n"], shown: vec![] }, Locale::En);
        let ctx = context();
        let docs = [DocumentSummary { size: 3, shown: Shown::Text { preview: "11\n".into(), truncated: false } }];
        let confirmation = Confirmation {
            context: &ctx,
            action: crate::signing::Action::SignCms,
            signer: &KeyDescription { subject: "CN=ТЕСТ".into(), ..Default::default() },
            notes: &[crate::trust::TrustNote::RevocationUnknown { why: "offline".into() }],
            documents: &docs,
            other_domain: None,
        };
        assert_eq!((&prompter).confirm(&confirmation), Ok(true));
        assert_eq!((&prompter).confirm(&confirmation), Ok(false), "anything but yes refuses");
        let shown = prompter.console.lock().unwrap().shown.join("\n");
        assert!(shown.contains("Site:      https://egov.kz"));
        assert!(shown.contains("Signer:    CN=ТЕСТ"));
        assert!(shown.contains("3 bytes: 11↵"));
        assert!(shown.contains("Operation: Sign 1 document"), "{shown}");
        assert!(shown.contains("⚠ NCA RK could not be asked whether this certificate was revoked (offline)."));
    }

    #[test]
    fn keys_that_cannot_be_used_are_shown_with_the_reason_and_never_picked() {
        let prompter = TerminalPrompter::new(Script { answers: vec!["1", "2"], shown: vec![] }, Locale::En);
        let keys = [
            KeyCandidate {
                token_id: None,
                key: KeyDescription { subject: "CN=A".into(), ..Default::default() },
                not_selectable: Some(crate::trust::Unusable::NotSigningKey),
                notes: vec![],
            },
            KeyCandidate {
                token_id: None,
                key: KeyDescription { subject: "CN=B".into(), ..Default::default() },
                not_selectable: None,
                notes: vec![crate::trust::TrustNote::RevocationUnknown { why: "offline".into() }],
            },
            KeyCandidate {
                token_id: None,
                key: KeyDescription { subject: "CN=C".into(), ..Default::default() },
                not_selectable: None,
                notes: vec![],
            },
        ];
        assert_eq!((&prompter).pick_key(&keys), Ok(None), "key 1 is not selectable");
        assert_eq!((&prompter).pick_key(&keys), Ok(Some(1)));
        let shown = prompter.console.lock().unwrap().shown.join("\n");
        assert!(shown.contains("CN=A  — cannot be used: not a signing key"));
        assert!(shown.contains("note: NCA RK could not be asked whether this certificate was revoked (offline)."));
        // A single usable key is taken without asking.
        let single = TerminalPrompter::new(Script { answers: vec![], shown: vec![] }, Locale::En);
        assert_eq!((&single).pick_key(&keys[..2]), Ok(Some(1))); // In Russian and Kazakh, the reason is in the person's language too.
        for (locale, reason) in [(Locale::Ru, "не ключ подписи"), (Locale::Kk, "қол қою кілті емес")]
        {
            let prompter = TerminalPrompter::new(Script { answers: vec!["2"], shown: vec![] }, locale);
            assert_eq!((&prompter).pick_key(&keys), Ok(Some(1)));
            let shown = prompter.console.lock().unwrap().shown.join("\n");
            assert!(shown.contains(&format!("CN=A  — {}: {reason}", Text::CannotBeUsed.get(locale))), "{shown}");
        }
    }

    #[test]
    fn empty_answers_cancel() {
        let prompter = TerminalPrompter::new(Script { answers: vec!["", ""], shown: vec![] }, Locale::En);
        let ctx = context();
        assert_eq!(
            (&prompter).choose_key(&KeyRequest { context: &ctx, action: crate::signing::Action::ShowKey, tokens: &[] }),
            Ok(KeyChoice::Cancel)
        );
        let file = FileRequest { context: &ctx, extension: "ALL", directory: "" };
        assert_eq!((&prompter).choose_file(&file), Ok(None));
    }
}
