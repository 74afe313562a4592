//! What the daemon and its dialog process say to each other: one JSON object per
//! line, [`Ask`] from the daemon on the dialog's stdin, [`Answer`] back on its stdout.
//!
//! Everything the dialog shows arrives here already typed; reasons and notes that
//! the core words (why a key cannot be used) arrive worded in the request's
//! language. Text from pages and certificates is raw: the dialog shows it through
//! [`crate::ui::sanitize::shown`].

use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::i18n::Locale;
use crate::keys::pkcs11::PinChange;
use crate::signing::Action;
use crate::ui::shell::{Command, Status};
use crate::ui::{DocumentSummary, KeyDescription, TokenSlot};

/// Documents the confirmation lists; the rest are counted.
pub const LISTED_DOCUMENTS: usize = 20;

/// Longest line either side accepts (a confirmation of many documents with previews).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// From the daemon to the dialog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
pub enum Ask {
    /// May this site (not met before) use qoltanba? The first message of its request.
    Site { action: Action },
    /// Which key file or token (the first message of a signing request).
    Key { action: Action, recent_files: Vec<PathBuf>, tokens: Vec<TokenSlot> },
    /// The password of `file`; `attempt` > 1 after a wrong one.
    Password { file: PathBuf, attempt: u32, tries_left: u32 },
    /// Certificates are being checked; nothing to answer.
    Checking,
    /// Pick one of `keys`.
    PickKey { keys: Vec<KeyView> },
    /// Approve signing.
    Confirm(ConfirmView),
    /// Pick a document file.
    ChooseFile { extension: String, directory: String },
    /// The request failed; show `message` until the person closes the window.
    Failed { message: String },
    /// The main window: the app's state and commands (again after each change).
    Status { status: Status },
    /// Change the PIN of one of `tokens` (the tokens plugged in).
    ChangePin { tokens: Vec<TokenSlot> },
    /// What the last [`Answer::ChangePin`] came to.
    PinChanged { outcome: PinChange },
    /// The request is over (the page left, or the flow ended): close now.
    Close,
}

/// What the confirmation shows: `operation` in words, the signer, warnings, and the
/// first [`LISTED_DOCUMENTS`] of `total` documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmView {
    pub operation: String,
    pub total: usize,
    pub signer: KeyDescription,
    pub notes: Vec<String>,
    pub documents: Vec<DocumentSummary>,
}

/// One key of the key list, with the core's words about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyView {
    pub key: KeyDescription,
    /// Why this request cannot use the key, in the request's language.
    pub unusable: Option<String>,
    /// What the person should know about it, in the request's language.
    pub notes: Vec<String>,
}

/// From the dialog to the daemon: the answer to the last question, or `Cancel`.
/// Its `Debug` never shows a password.
#[derive(Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Site {
        choice: crate::ui::SiteAnswer,
    },
    KeyFile {
        path: PathBuf,
    },
    Token {
        token: TokenSlot,
    },
    Password {
        password: Zeroizing<String>,
    },
    Key {
        index: usize,
    },
    Confirm,
    File {
        path: PathBuf,
    },
    /// A command from the main window.
    Command {
        command: Command,
    },
    /// Change the PIN of `token` from `old` to `new` (typed twice and checked).
    ChangePin {
        token: TokenSlot,
        old: Zeroizing<String>,
        new: Zeroizing<String>,
    },
    Cancel,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Site { choice } => f.debug_struct("Site").field("choice", choice).finish(),
            Self::KeyFile { path } => f.debug_struct("KeyFile").field("path", path).finish(),
            Self::Token { token } => f.debug_struct("Token").field("token", token).finish(),
            Self::Password { .. } => f.write_str("Password { .. }"),
            Self::Key { index } => f.debug_struct("Key").field("index", index).finish(),
            Self::Confirm => f.write_str("Confirm"),
            Self::File { path } => f.debug_struct("File").field("path", path).finish(),
            Self::Command { command } => f.debug_struct("Command").field("command", command).finish(),
            Self::ChangePin { token, .. } => f.debug_struct("ChangePin").field("token", token).finish_non_exhaustive(),
            Self::Cancel => f.write_str("Cancel"),
        }
    }
}

/// Room reserved for one line, so that a line with a password is not copied around
/// by growing buffers (which leaves unwiped copies behind).
const LINE_ROOM: usize = 16 * 1024;

/// How the dialog process is started: who asks and in which language.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Opening {
    pub origin: Option<String>,
    pub locale: Locale,
    /// The page's own picture (PNG, base64), if it sent one.
    #[serde(default)]
    pub logo: Option<String>,
}

/// Write one message as a line.
pub fn send<T: Serialize>(out: &mut impl Write, message: &T) -> std::io::Result<()> {
    let mut line = Zeroizing::new(Vec::with_capacity(LINE_ROOM));
    serde_json::to_writer(&mut *line, message)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Read one message; `None` at the end of input or on a line that is too long or
/// not a message. The line is zeroized after parsing (it may hold a password).
pub fn receive<T: for<'de> Deserialize<'de>>(input: &mut impl BufRead) -> Option<T> {
    let mut line = Zeroizing::new(Vec::with_capacity(LINE_ROOM));
    let read = std::io::Read::take(&mut *input, MAX_LINE as u64 + 1).read_until(b'\n', &mut line).ok()?;
    if read == 0 || line.len() > MAX_LINE {
        return None;
    }
    serde_json::from_slice(&line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_go_through_a_line_and_back() {
        let mut buf = Vec::new();
        send(&mut buf, &Answer::Password { password: Zeroizing::new("пароль\n\"x".into()) }).unwrap();
        send(&mut buf, &Ask::Password { file: "/k.p12".into(), attempt: 2, tries_left: 2 }).unwrap();
        assert_eq!(buf.iter().filter(|b| **b == b'\n').count(), 2, "one line each");
        let mut input = std::io::Cursor::new(buf);
        match receive::<Answer>(&mut input) {
            Some(Answer::Password { password }) => assert_eq!(password.as_str(), "пароль\n\"x"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(receive::<Ask>(&mut input), Some(Ask::Password { attempt: 2, tries_left: 2, .. })));
        assert!(receive::<Ask>(&mut input).is_none(), "end of input");
    }

    #[test]
    fn a_password_answer_never_prints_the_password() {
        let answer = Answer::Password { password: Zeroizing::new("Qwerty12".into()) };
        assert_eq!(format!("{answer:?}"), "Password { .. }");
        let token = TokenSlot {
            storage: "PKCS11".into(),
            slot: 1,
            label: "NCA test".into(),
            module: 0,
            pin_final_try: false,
            pin_locked: false,
        };
        let answer =
            Answer::ChangePin { token, old: Zeroizing::new("24681357".into()), new: Zeroizing::new("97531864".into()) };
        let shown = format!("{answer:?}");
        assert!(shown.contains("NCA test") && !shown.contains("2468") && !shown.contains("9753"), "{shown}");
    }

    #[test]
    fn garbage_and_overlong_lines_are_not_messages() {
        let mut input = std::io::Cursor::new(b"{\"answer\":\"nope\"}\n".to_vec());
        assert!(receive::<Answer>(&mut input).is_none());
        let mut long = vec![b' '; MAX_LINE + 10];
        long.push(b'\n');
        assert!(receive::<Answer>(&mut std::io::Cursor::new(long)).is_none());
    }
}
