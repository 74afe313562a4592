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

use crate::i18n::Locale;

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
    /// The terminal user's language (from the environment, not from the page).
    locale: Locale,
}

/// The dialogs' words.
#[derive(Clone, Copy)]
enum Text {
    AsksForKey,
    KeyFile,
    WrongPassword,
    PasswordFor,
    CannotBeUsed,
    Note,
    NoUsableKey,
    KeyNumber,
    Site,
    Operation,
    Signer,
    Documents,
    Bytes,
    More,
    SignQuestion,
    AsksForFile,
    FilePath,
}

impl Text {
    fn get(self, locale: Locale) -> &'static str {
        use Locale::*;
        use Text::*;
        match (self, locale) {
            (AsksForKey, En) => "asks for a key",
            (AsksForKey, Ru) => "запрашивает ключ",
            (AsksForKey, Kk) => "кілт сұрайды",
            (KeyFile, En) => "Key file (.p12), empty to cancel: ",
            (KeyFile, Ru) => "Файл ключа (.p12), пусто — отмена: ",
            (KeyFile, Kk) => "Кілт файлы (.p12), бос — бас тарту: ",
            (WrongPassword, En) => "Wrong password, try again.",
            (WrongPassword, Ru) => "Неверный пароль, попробуйте ещё раз.",
            (WrongPassword, Kk) => "Құпия сөз қате, қайталап көріңіз.",
            (PasswordFor, En) => "Password for",
            (PasswordFor, Ru) => "Пароль для",
            (PasswordFor, Kk) => "Құпия сөз:",
            (CannotBeUsed, En) => "cannot be used",
            (CannotBeUsed, Ru) => "нельзя использовать",
            (CannotBeUsed, Kk) => "пайдалануға болмайды",
            (Note, En) => "note",
            (Note, Ru) => "примечание",
            (Note, Kk) => "ескерту",
            (NoUsableKey, En) => "No key in this file can be used for this request.",
            (NoUsableKey, Ru) => "Ни один ключ из этого файла не подходит для этого запроса.",
            (NoUsableKey, Kk) => "Бұл файлдағы кілттердің ешқайсысы бұл сұрауға жарамайды.",
            (KeyNumber, En) => "Key number, empty to cancel: ",
            (KeyNumber, Ru) => "Номер ключа, пусто — отмена: ",
            (KeyNumber, Kk) => "Кілт нөмірі, бос — бас тарту: ",
            (Site, En) => "Site:      ",
            (Site, Ru) => "Сайт:      ",
            (Site, Kk) => "Сайт:      ",
            (Operation, En) => "Operation: ",
            (Operation, Ru) => "Операция:  ",
            (Operation, Kk) => "Әрекет:    ",
            (Signer, En) => "Signer:    ",
            (Signer, Ru) => "Подписант: ",
            (Signer, Kk) => "Қол қоюшы: ",
            (Documents, En) => "Documents: ",
            (Documents, Ru) => "Документов:",
            (Documents, Kk) => "Құжаттар:  ",
            (Bytes, En) => "bytes",
            (Bytes, Ru) => "байт",
            (Bytes, Kk) => "байт",
            (More, En) => "more",
            (More, Ru) => "ещё",
            (More, Kk) => "тағы",
            (SignQuestion, En) => "Sign? [y/N] ",
            (SignQuestion, Ru) => "Подписать? [д/Н] ",
            (SignQuestion, Kk) => "Қол қою керек пе? [и/Ж] ",
            (AsksForFile, En) => "asks you to pick a file",
            (AsksForFile, Ru) => "просит выбрать файл",
            (AsksForFile, Kk) => "файл таңдауды сұрайды",
            (FilePath, En) => "File path, empty to cancel: ",
            (FilePath, Ru) => "Путь к файлу, пусто — отмена: ",
            (FilePath, Kk) => "Файл жолы, бос — бас тарту: ",
        }
    }
}

impl<C: Console> TerminalPrompter<C> {
    pub fn new(console: C, locale: Locale) -> Self {
        Self { console: Mutex::new(console), locale }
    }

    fn t(&self, text: Text) -> &'static str {
        text.get(self.locale)
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
            c.say(&format!(
                "== qoltanba: {} {} ({})",
                request.context.origin_label(),
                self.t(Text::AsksForKey),
                request.operation
            ));
            match c.ask(self.t(Text::KeyFile)) {
                Some(path) if !path.trim().is_empty() => Ok(KeyChoice::File(PathBuf::from(path.trim()))),
                _ => Ok(KeyChoice::Cancel),
            }
        })
    }

    fn password(&self, request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable> {
        self.with(|c| {
            if request.attempt > 1 {
                c.say(self.t(Text::WrongPassword));
            }
            Ok(c.ask_secret(&format!("{} {}: ", self.t(Text::PasswordFor), request.file.display())))
        })
    }

    fn pick_key(&self, _context: &RequestContext, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable> {
        self.with(|c| {
            for (i, key) in keys.iter().enumerate() {
                match &key.not_selectable {
                    Some(reason) => {
                        c.say(&format!("  {}) {}  — {}: {reason}", i + 1, key.label, self.t(Text::CannotBeUsed)))
                    }
                    None => c.say(&format!("  {}) {}", i + 1, key.label)),
                }
                for note in &key.notes {
                    c.say(&format!("     {}: {note}", self.t(Text::Note)));
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

    fn confirm(&self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable> {
        self.with(|c| {
            c.say(&format!("{}{}", self.t(Text::Site), confirmation.context.origin_label()));
            c.say(&format!("{}{}", self.t(Text::Operation), confirmation.operation));
            c.say(&format!("{}{}", self.t(Text::Signer), confirmation.signer));
            c.say(&format!("{} {}", self.t(Text::Documents), confirmation.documents.len()));
            for (i, doc) in confirmation.documents.iter().enumerate().take(5) {
                c.say(&format!("  {}) {} {}: {}", i + 1, doc.size, self.t(Text::Bytes), doc.preview));
            }
            if confirmation.documents.len() > 5 {
                c.say(&format!("  … {} {}", self.t(Text::More), confirmation.documents.len() - 5));
            }
            Ok(c.ask(self.t(Text::SignQuestion)).is_some_and(|a| approves(&a)))
        })
    }

    fn choose_file(&self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable> {
        self.with(|c| {
            c.say(&format!(
                "== qoltanba: {} {} ({})",
                request.context.origin_label(),
                self.t(Text::AsksForFile),
                request.extension
            ));
            Ok(c.ask(self.t(Text::FilePath)).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).map(PathBuf::from))
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
        let prompter = TerminalPrompter::new(Script { answers: vec!["y", "n"], shown: vec![] }, Locale::En);
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
        let prompter = TerminalPrompter::new(Script { answers: vec!["1", "2"], shown: vec![] }, Locale::En);
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
        let single = TerminalPrompter::new(Script { answers: vec![], shown: vec![] }, Locale::En);
        assert_eq!(single.pick_key(&context(), &keys[..2]), Ok(Some(1)));
    }

    #[test]
    fn empty_answers_cancel() {
        let prompter = TerminalPrompter::new(Script { answers: vec!["", ""], shown: vec![] }, Locale::En);
        let ctx = context();
        assert_eq!(prompter.choose_key(&KeyRequest { context: &ctx, operation: "x" }), Ok(KeyChoice::Cancel));
        let file = FileRequest { context: &ctx, extension: "ALL", directory: "" };
        assert_eq!(prompter.choose_file(&file), Ok(None));
    }
}
