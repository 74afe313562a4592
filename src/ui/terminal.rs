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

use super::{
    Confirmation, FileRequest, KeyCandidate, KeyChoice, KeyRequest, PasswordRequest, PromptUnavailable, Prompter,
    RequestContext,
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
}

impl<C: Console> TerminalPrompter<C> {
    pub fn new(console: C) -> Self {
        Self { console: Mutex::new(console) }
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
    fn choose_key(&self, request: &KeyRequest<'_>) -> Result<KeyChoice, PromptUnavailable> {
        self.with(|c| {
            c.say("");
            c.say(&format!("== qoltanba: {} asks for a key ({})", request.context.origin_label(), request.operation));
            match c.ask("Key file (.p12), empty to cancel: ") {
                Some(path) if !path.trim().is_empty() => Ok(KeyChoice::File(PathBuf::from(path.trim()))),
                _ => Ok(KeyChoice::Cancel),
            }
        })
    }

    fn password(&self, request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable> {
        self.with(|c| {
            if request.attempt > 1 {
                c.say("Wrong password, try again.");
            }
            Ok(c.ask_secret(&format!("Password for {}: ", request.file.display())))
        })
    }

    fn pick_key(&self, _context: &RequestContext, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable> {
        self.with(|c| {
            for (i, key) in keys.iter().enumerate() {
                match &key.not_selectable {
                    Some(reason) => c.say(&format!("  {}) {}  — cannot be used: {reason}", i + 1, key.label)),
                    None => c.say(&format!("  {}) {}", i + 1, key.label)),
                }
                for note in &key.notes {
                    c.say(&format!("     note: {note}"));
                }
            }
            let usable: Vec<usize> = (0..keys.len()).filter(|i| keys[*i].not_selectable.is_none()).collect();
            match usable.as_slice() {
                [] => {
                    c.say("No key in this file can be used for this request.");
                    Ok(None)
                }
                [only] => Ok(Some(*only)),
                _ => {
                    let answer = c.ask("Key number, empty to cancel: ").unwrap_or_default();
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

    fn confirm(&self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable> {
        self.with(|c| {
            c.say(&format!("Site:      {}", confirmation.context.origin_label()));
            c.say(&format!("Operation: {}", confirmation.operation));
            c.say(&format!("Signer:    {}", confirmation.signer));
            c.say(&format!("Documents: {}", confirmation.documents.len()));
            for (i, doc) in confirmation.documents.iter().enumerate().take(5) {
                c.say(&format!("  {}) {} bytes: {}", i + 1, doc.size, doc.preview));
            }
            if confirmation.documents.len() > 5 {
                c.say(&format!("  … and {} more", confirmation.documents.len() - 5));
            }
            Ok(c.ask("Sign? [y/N] ").is_some_and(|a| approves(&a)))
        })
    }

    fn choose_file(&self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable> {
        self.with(|c| {
            c.say(&format!(
                "== qoltanba: {} asks you to pick a file ({})",
                request.context.origin_label(),
                request.extension
            ));
            Ok(c.ask("File path, empty to cancel: ")
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .map(PathBuf::from))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::DocumentSummary;

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
        let prompter = TerminalPrompter::new(Script { answers: vec!["y", "n"], shown: vec![] });
        let ctx = context();
        let docs = [DocumentSummary { size: 3, preview: "11\n".into() }];
        let confirmation =
            Confirmation { context: &ctx, operation: "basics.sign", signer: "CN=ТЕСТ", documents: &docs };
        assert_eq!(prompter.confirm(&confirmation), Ok(true));
        assert_eq!(prompter.confirm(&confirmation), Ok(false), "anything but yes refuses");
        let shown = prompter.console.lock().unwrap().shown.join("\n");
        assert!(shown.contains("Site:      https://egov.kz"));
        assert!(shown.contains("Signer:    CN=ТЕСТ"));
        assert!(shown.contains("3 bytes: 11"));
    }

    #[test]
    fn keys_that_cannot_be_used_are_shown_with_the_reason_and_never_picked() {
        let prompter = TerminalPrompter::new(Script { answers: vec!["1", "2"], shown: vec![] });
        let keys = [
            KeyCandidate { label: "CN=A".into(), not_selectable: Some("not a signing key".into()), notes: vec![] },
            KeyCandidate {
                label: "CN=B".into(),
                not_selectable: None,
                notes: vec!["revocation could not be checked".into()],
            },
            KeyCandidate { label: "CN=C".into(), not_selectable: None, notes: vec![] },
        ];
        assert_eq!(prompter.pick_key(&context(), &keys), Ok(None), "key 1 is not selectable");
        assert_eq!(prompter.pick_key(&context(), &keys), Ok(Some(1)));
        let shown = prompter.console.lock().unwrap().shown.join("\n");
        assert!(shown.contains("CN=A  — cannot be used: not a signing key"));
        assert!(shown.contains("note: revocation could not be checked"));
        // A single usable key is taken without asking.
        let single = TerminalPrompter::new(Script { answers: vec![], shown: vec![] });
        assert_eq!(single.pick_key(&context(), &keys[..2]), Ok(Some(1)));
    }

    #[test]
    fn empty_answers_cancel() {
        let prompter = TerminalPrompter::new(Script { answers: vec!["", ""], shown: vec![] });
        let ctx = context();
        assert_eq!(prompter.choose_key(&KeyRequest { context: &ctx, operation: "x" }), Ok(KeyChoice::Cancel));
        let file = FileRequest { context: &ctx, extension: "ALL", directory: "" };
        assert_eq!(prompter.choose_file(&file), Ok(None));
    }
}
