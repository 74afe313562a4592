//! The main window: the tray's commands in a window, for desktops with no tray and
//! for a second start of `qoltanba`. Drawn by the dialog process like the request
//! dialogs ([`Ask::Status`]); one at a time; it follows the shell's state while open.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};

use super::wire::{self, Answer, Ask, Opening};
use crate::i18n::Locale;
use crate::ui::shell::Shell;

/// Opens and feeds the main window.
pub struct MainWindow {
    program: PathBuf,
    shell: Weak<Shell>,
    locale: Locale,
    /// The open window's input, if one is open.
    open: Mutex<Option<ChildStdin>>,
}

impl MainWindow {
    /// A window for `shell`, drawn by `program`, opened by the shell's commands.
    pub fn install(program: PathBuf, shell: &Arc<Shell>, locale: Locale) -> Arc<Self> {
        let window = Arc::new(Self { program, shell: Arc::downgrade(shell), locale, open: Mutex::new(None) });
        // The shell keeps the window (the window holds the shell only weakly).
        let opener = Arc::clone(&window);
        shell.set_window_opener(Box::new(move || opener.open()));
        let follower = Arc::downgrade(&window);
        shell.activity().on_change(Box::new(move || {
            if let Some(window) = follower.upgrade() {
                window.refresh();
            }
        }));
        window
    }

    /// Open the window, or bring the open one to the front.
    pub fn open(self: &Arc<Self>) {
        if self.refresh() {
            return;
        }
        let Some(shell) = self.shell.upgrade() else { return };
        let started = Command::new(&self.program)
            .arg("dialog")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match started {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the main window");
                return;
            }
        };
        let (Some(mut input), Some(output)) = (child.stdin.take(), child.stdout.take()) else { return };
        let opening = Opening { origin: None, locale: self.locale };
        if wire::send(&mut input, &opening).is_err()
            || wire::send(&mut input, &Ask::Status { status: shell.status() }).is_err()
        {
            return;
        }
        *lock(&self.open) = Some(input);
        let window = Arc::clone(self);
        std::thread::spawn(move || {
            let mut output = BufReader::new(output);
            while let Some(answer) = wire::receive::<Answer>(&mut output) {
                if let (Answer::Command { command }, Some(shell)) = (answer, window.shell.upgrade()) {
                    shell.run(command);
                    window.refresh();
                }
            }
            *lock(&window.open) = None;
            let _ = child.wait();
        });
    }

    /// Show the current state in the open window; `false` if none is open.
    fn refresh(&self) -> bool {
        let Some(shell) = self.shell.upgrade() else { return false };
        let mut open = lock(&self.open);
        let Some(input) = open.as_mut() else { return false };
        if wire::send(input, &Ask::Status { status: shell.status() }).is_err() {
            *open = None;
            return false;
        }
        true
    }

    /// Close the window (the daemon stops).
    pub fn close(&self) {
        if let Some(mut input) = lock(&self.open).take() {
            let _ = wire::send(&mut input, &Ask::Close);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
