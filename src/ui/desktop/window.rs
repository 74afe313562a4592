//! The main window: the tray's commands in a window, for desktops with no tray and
//! for a second start of `qoltanba`. Drawn by the dialog process like the request
//! dialogs ([`Ask::Status`]); one at a time; it follows the shell's state while open.
//! The same window changes a token's PIN ([`Ask::ChangePin`]): over the main window
//! when that is open, alone when the tray asked.

use std::path::PathBuf;
use std::process::ChildStdin;
use std::sync::{Arc, Mutex, Weak};

use crate::platform::lock;

use super::wire::{self, Answer, Ask, Opening};
use super::{DialogProcess, reap};
use crate::ui::shell::Shell;

/// Opens and feeds the main window.
pub struct MainWindow {
    program: PathBuf,
    shell: Weak<Shell>,
    /// The open window's number and input, if one is open.
    open: Mutex<Option<(u64, ChildStdin)>>,
    /// Numbers windows, so a closing one never forgets its successor.
    opened: std::sync::atomic::AtomicU64,
}

impl MainWindow {
    /// A window for `shell`, drawn by `program`, opened by the shell's commands.
    pub fn install(program: PathBuf, shell: &Arc<Shell>) {
        let window = Arc::new(Self {
            program,
            shell: Arc::downgrade(shell),
            open: Mutex::new(None),
            opened: std::sync::atomic::AtomicU64::new(0),
        });
        let follower = Arc::downgrade(&window);
        shell.activity().on_change(Box::new(move || {
            if let Some(window) = follower.upgrade() {
                window.refresh();
            }
        }));
        // The shell keeps the window (the window holds the shell only weakly).
        let pins = Arc::clone(&window);
        shell.set_pin_window_opener(Box::new(move |tokens| pins.show(Ask::ChangePin { tokens })));
        shell.set_window_opener(Box::new(move || window.open()));
    }

    /// Open the window, or bring the open one to the front (it raises itself on news).
    fn open(self: &Arc<Self>) {
        let Some(shell) = self.shell.upgrade() else { return };
        self.show(Ask::Status { status: shell.status() });
    }

    /// Show `first` in the open window, or in a new one.
    fn show(self: &Arc<Self>, first: Ask) {
        let Some(shell) = self.shell.upgrade() else { return };
        let mut open = lock(&self.open);
        if let Some((_, input)) = open.as_mut() {
            if wire::send(input, &first).is_ok() {
                return;
            }
            *open = None;
        }
        let opening = Opening { origin: None, locale: shell.locale(), logo: None };
        let mut process = match DialogProcess::start(&self.program, &opening, None) {
            Ok(process) => process,
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the main window");
                return;
            }
        };
        if process.send(&first).is_err() {
            process.release(Some(std::time::Duration::ZERO));
            return;
        }
        let (input, answers, child) = process.split();
        let number = self.opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *open = Some((number, input));
        let window = Arc::clone(self);
        std::thread::spawn(move || {
            while let Ok(answer) = answers.recv() {
                let Some(shell) = window.shell.upgrade() else { break };
                match answer {
                    Answer::Command { command } => shell.run(command),
                    Answer::ChangePin { token, old, new } => {
                        let outcome = shell.change_pin(&token, &old, &new);
                        drop((old, new));
                        window.tell(number, &Ask::PinChanged { outcome });
                    }
                    _ => continue,
                }
                window.refresh();
            }
            let mut open = lock(&window.open);
            if open.as_ref().is_some_and(|(n, _)| *n == number) {
                *open = None;
            }
            drop(open);
            reap(child, None);
        });
    }

    /// Tell the window numbered `number`, if it is still the open one.
    fn tell(&self, number: u64, ask: &Ask) {
        let mut open = lock(&self.open);
        if let Some((n, input)) = open.as_mut()
            && *n == number
            && wire::send(input, ask).is_err()
        {
            *open = None;
        }
    }

    /// Show the current state in the open window, if one is open.
    fn refresh(&self) {
        let Some(shell) = self.shell.upgrade() else { return };
        let mut open = lock(&self.open);
        if let Some((_, input)) = open.as_mut()
            && wire::send(input, &Ask::Status { status: shell.status() }).is_err()
        {
            *open = None;
        }
    }
}
