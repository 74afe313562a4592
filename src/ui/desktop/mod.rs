//! Desktop dialogs: each request gets one window, drawn by a separate dialog process
//! (`qoltanba dialog`, this same program) that the daemon starts when the request first
//! needs the person, and that ends with the request.
//!
//! Why a process of its own, as gpg-agent has pinentry: the daemon stays small while
//! idle (the graphics stack, ~100 MiB with a software renderer, is only loaded while a
//! window is open); a crash or hang in a graphics driver cannot take the daemon down;
//! the dialog process's main thread is its UI event loop, on every platform; and when
//! the window closes, the memory that held what was typed is gone with the process.
//!
//! The daemon side ([`DesktopPrompter`]) speaks [`wire`]: one typed message per line.
//! It watches the requesting page while it waits: when the page leaves, the window is
//! closed and the request answered as cancelled.

#[cfg(feature = "desktop")]
#[cfg(target_os = "linux")]
mod activation;
#[cfg(feature = "desktop")]
pub mod app;
#[cfg(feature = "desktop")]
mod change_pin;
#[cfg(feature = "desktop")]
pub mod notify;
#[cfg(feature = "desktop")]
mod password;
#[cfg(all(feature = "desktop", target_os = "linux"))]
pub mod tray;
#[cfg(all(feature = "desktop", windows))]
pub mod tray_windows;
pub mod window;
pub mod wire;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{
    Confirmation, Dialog, FileRequest, KeyCandidate, KeyChoice, KeyRequest, PasswordRequest, PromptUnavailable,
    Prompter, RequestContext, SiteAnswer, SiteRequest,
};
use crate::i18n::{trust_note, unusable};
use wire::{Answer, Ask, KeyView, Opening};

/// How often a waiting dialog checks whether its page is still there.
const RECHECK: Duration = Duration::from_millis(100);

/// Exit status of a dialog process that could not open a window.
pub const EXIT_NO_WINDOW: i32 = 3;

/// Is there a display a window can open on?
pub fn display_available() -> bool {
    if cfg!(any(windows, target_os = "macos")) {
        return true;
    }
    ["WAYLAND_DISPLAY", "DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}

/// See the module documentation.
pub struct DesktopPrompter {
    /// The program that draws the dialogs (this one).
    program: PathBuf,
    recent: std::sync::Arc<crate::keys::recent::RecentFiles>,
}

impl DesktopPrompter {
    /// Dialogs drawn by `program dialog`; the key files chosen go into `recent`.
    pub fn new(program: PathBuf, recent: std::sync::Arc<crate::keys::recent::RecentFiles>) -> Self {
        Self { program, recent }
    }
}

impl Prompter for DesktopPrompter {
    fn open<'a>(&'a self, context: &'a RequestContext) -> Result<Box<dyn Dialog + 'a>, PromptUnavailable> {
        Ok(Box::new(DesktopDialog {
            prompter: self,
            context,
            window: None,
            keep_open: false,
            chosen: None,
            last: None,
            #[cfg(all(feature = "desktop", target_os = "linux"))]
            nudge: None,
        }))
    }
}

/// One request's window, started at the first question.
struct DesktopDialog<'a> {
    prompter: &'a DesktopPrompter,
    context: &'a RequestContext,
    window: Option<DialogProcess>,
    /// An error is shown: the window stays until the person closes it.
    keep_open: bool,
    /// The key file chosen in this dialog: its certificate's expiry is remembered.
    chosen: Option<PathBuf>,
    /// What the window shows now (to show it again in a window opened with an
    /// activation token).
    last: Option<Ask>,
    /// Wayland: the notification that raises the window when clicked.
    #[cfg(all(feature = "desktop", target_os = "linux"))]
    nudge: Option<activation::Nudge>,
}

/// A running dialog process (`program dialog`): its input, its answers, the child.
pub(crate) struct DialogProcess {
    child: Child,
    input: ChildStdin,
    answers: mpsc::Receiver<Answer>,
}

impl DialogProcess {
    /// Start `program dialog` and tell it who asks; `activation`: an xdg-activation
    /// token that lets its window take the focus.
    pub(crate) fn start(program: &Path, opening: &Opening, activation: Option<&str>) -> std::io::Result<Self> {
        let mut command = Command::new(program);
        if let Some(token) = activation {
            command.env("XDG_ACTIVATION_TOKEN", token);
        }
        let mut child =
            command.arg("dialog").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let (Some(mut input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            reap(child, None);
            return Err(std::io::Error::other("no pipes to the dialog window"));
        };
        if let Err(e) = wire::send(&mut input, opening) {
            reap(child, Some(Duration::ZERO));
            return Err(e);
        }
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            let mut output = BufReader::new(output);
            while let Some(answer) = wire::receive::<Answer>(&mut output) {
                if tx.send(answer).is_err() {
                    break;
                }
            }
        });
        Ok(Self { child, input, answers })
    }

    pub(crate) fn send(&mut self, ask: &Ask) -> std::io::Result<()> {
        wire::send(&mut self.input, ask)
    }

    /// Its input, its answers and the child, to be used apart (the main window sends
    /// from one thread and listens on another).
    pub(crate) fn split(self) -> (ChildStdin, mpsc::Receiver<Answer>, Child) {
        (self.input, self.answers, self.child)
    }

    /// Let it go: its input closes (it ends when done), and it is reaped in the
    /// background, killed after `deadline` if given.
    pub(crate) fn release(self, deadline: Option<Duration>) {
        drop(self.input);
        reap(self.child, deadline);
    }

    /// It ended without answering: its exit status (waits at most 2 s, then kills it).
    fn exit_code(mut self) -> Option<i32> {
        drop(self.input);
        let until = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) if std::time::Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    reap(self.child, Some(Duration::ZERO));
                    return None;
                }
            }
        }
    }
}

impl DesktopDialog<'_> {
    fn opening(&self) -> Opening {
        let logo = self.context.logo.as_ref().map(|png| crate::protocol::data::encode_base64(png));
        Opening { origin: self.context.origin.clone(), locale: self.context.locale, logo }
    }

    fn window(&mut self) -> Result<&mut DialogProcess, PromptUnavailable> {
        if self.window.is_none() {
            let started = DialogProcess::start(&self.prompter.program, &self.opening(), None)
                .map_err(|e| PromptUnavailable(format!("cannot start the dialog window: {e}")))?;
            self.window = Some(started);
            #[cfg(all(feature = "desktop", target_os = "linux"))]
            self.start_nudge();
        }
        self.window.as_mut().ok_or_else(|| PromptUnavailable("no window".into()))
    }

    /// Wayland: the notification that raises the window (see `activation`).
    #[cfg(all(feature = "desktop", target_os = "linux"))]
    fn start_nudge(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.nudge.is_none() && activation::wanted() {
            let locale = self.context.locale;
            let words = activation::Words {
                summary: crate::i18n::dialog::site(self.context.origin.as_deref(), locale),
                body: crate::i18n::dialog::Text::AsksToSign.get(locale).to_owned(),
                show: crate::i18n::dialog::Text::ShowWindow.get(locale).to_owned(),
            };
            self.nudge = Some(activation::start(&runtime, words));
        }
    }

    /// A click on the notification gave an activation token: the window is opened
    /// again with it, showing what it showed, and the old one closes.
    fn reopen_if_activated(&mut self) {
        #[cfg(all(feature = "desktop", target_os = "linux"))]
        {
            let Some(token) = self.nudge.as_ref().and_then(|n| n.tokens.try_recv().ok()) else { return };
            let Ok(mut fresh) = DialogProcess::start(&self.prompter.program, &self.opening(), Some(&token)) else {
                return;
            };
            if let Some(last) = &self.last
                && fresh.send(last).is_err()
            {
                return;
            }
            if let Some(mut old) = self.window.replace(fresh) {
                let _ = old.send(&Ask::Close);
                old.release(Some(Duration::from_secs(2)));
            }
        }
    }

    /// Ask `ask` and wait for the answer. `Ok(None)`: cancelled, by the person
    /// (Escape, the close button) or because the page left.
    fn ask(&mut self, ask: &Ask) -> Result<Option<Answer>, PromptUnavailable> {
        let context = self.context;
        self.last = Some(ask.clone());
        if self.window()?.send(ask).is_err() {
            return self.ended();
        }
        loop {
            let Some(window) = self.window.as_mut() else { return Ok(None) };
            match window.answers.recv_timeout(RECHECK) {
                Ok(Answer::Cancel) => return Ok(None),
                Ok(answer) => return Ok(Some(answer)),
                Err(mpsc::RecvTimeoutError::Timeout) if context.is_page_gone() => {
                    self.close();
                    return Ok(None);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.reopen_if_activated(),
                Err(mpsc::RecvTimeoutError::Disconnected) => return self.ended(),
            }
        }
    }

    /// The dialog process ended without answering: the person closed the window, or
    /// it could not open one, or it crashed.
    fn ended(&mut self) -> Result<Option<Answer>, PromptUnavailable> {
        let Some(window) = self.window.take() else { return Ok(None) };
        match window.exit_code() {
            Some(0) => Ok(None),
            Some(EXIT_NO_WINDOW) => {
                Err(PromptUnavailable("the dialog window could not be opened on this display".into()))
            }
            other => Err(PromptUnavailable(format!("the dialog window failed (exit status {other:?})"))),
        }
    }

    /// Close the window now.
    fn close(&mut self) {
        if let Some(mut window) = self.window.take() {
            let _ = window.send(&Ask::Close);
            window.release(Some(Duration::from_secs(2)));
        }
    }

    fn note(&mut self, ask: &Ask) {
        if let Some(window) = self.window.as_mut() {
            self.last = Some(ask.clone());
            let _ = window.send(ask);
        }
    }
}

/// Wait for a dialog process in the background (no zombies); kill it after `deadline`.
pub(crate) fn reap(mut child: Child, deadline: Option<Duration>) {
    std::thread::spawn(move || {
        if let Some(deadline) = deadline {
            let until = std::time::Instant::now() + deadline;
            while std::time::Instant::now() < until {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
        }
        let _ = child.wait();
    });
}

impl Drop for DesktopDialog<'_> {
    fn drop(&mut self) {
        match self.window.take() {
            // The error stays on screen until the person closes the window.
            Some(window) if self.keep_open => window.release(None),
            Some(window) => {
                self.window = Some(window);
                self.close();
            }
            None => {}
        }
    }
}

impl Dialog for DesktopDialog<'_> {
    fn site(&mut self, request: &SiteRequest<'_>) -> Result<SiteAnswer, PromptUnavailable> {
        Ok(match self.ask(&Ask::Site { action: request.action })? {
            Some(Answer::Site { choice }) => choice,
            _ => SiteAnswer::Cancel,
        })
    }

    fn choose_key(&mut self, request: &KeyRequest<'_>) -> Result<KeyChoice, PromptUnavailable> {
        let ask = Ask::Key {
            action: request.action,
            recent_files: self.prompter.recent.list(),
            tokens: request.tokens.to_vec(),
        };
        Ok(match self.ask(&ask)? {
            Some(Answer::KeyFile { path }) => {
                self.prompter.recent.remember(&path);
                self.chosen = Some(path.clone());
                KeyChoice::File(path)
            }
            Some(Answer::Token { token }) => KeyChoice::Token(token),
            _ => KeyChoice::Cancel,
        })
    }

    fn password(&mut self, request: &PasswordRequest<'_>) -> Result<Option<Zeroizing<String>>, PromptUnavailable> {
        let ask =
            Ask::Password { file: request.file.to_owned(), attempt: request.attempt, tries_left: request.tries_left };
        Ok(match self.ask(&ask)? {
            Some(Answer::Password { password }) => Some(password),
            _ => None,
        })
    }

    fn checking(&mut self) {
        self.note(&Ask::Checking);
    }

    fn keeps_screen(&self) -> bool {
        self.window.is_some()
    }

    fn pick_key(&mut self, keys: &[KeyCandidate]) -> Result<Option<usize>, PromptUnavailable> {
        let locale = self.context.locale;
        let keys = keys
            .iter()
            .map(|k| KeyView {
                key: k.key.clone(),
                unusable: k.not_selectable.as_ref().map(|u| unusable(u, locale)),
                notes: k.notes.iter().map(|n| trust_note(n, locale)).collect(),
            })
            .collect::<Vec<_>>();
        let usable = keys.iter().filter(|k| k.unusable.is_none()).count();
        if usable == 1 && keys.len() == 1 {
            // One key, usable: the confirmation shows it; no list to pick from.
            return Ok(Some(0));
        }
        Ok(match self.ask(&Ask::PickKey { keys })? {
            Some(Answer::Key { index }) => Some(index),
            _ => None,
        })
    }

    fn confirm(&mut self, confirmation: &Confirmation<'_>) -> Result<bool, PromptUnavailable> {
        let locale = self.context.locale;
        if let Some(path) = &self.chosen {
            let signer = confirmation.signer;
            self.prompter.recent.seen(path, &signer.owner, signer.not_after_ms.div_euclid(1000));
        }
        let documents = confirmation.documents;
        let ask = Ask::Confirm(wire::ConfirmView {
            operation: crate::i18n::dialog::confirmation_operation(confirmation, locale),
            total: documents.len(),
            signer: confirmation.signer.clone(),
            notes: confirmation.notes.iter().map(|n| trust_note(n, locale)).collect(),
            documents: documents.iter().take(wire::LISTED_DOCUMENTS).cloned().collect(),
        });
        Ok(matches!(self.ask(&ask)?, Some(Answer::Confirm)))
    }

    fn choose_file(&mut self, request: &FileRequest<'_>) -> Result<Option<PathBuf>, PromptUnavailable> {
        let ask = Ask::ChooseFile { extension: request.extension.to_owned(), directory: request.directory.to_owned() };
        Ok(match self.ask(&ask)? {
            Some(Answer::File { path }) => Some(path),
            _ => None,
        })
    }

    fn failed(&mut self, message: &str) {
        if self.window.is_some() {
            self.note(&Ask::Failed { message: message.to_owned() });
            self.keep_open = true;
        }
    }
}
