//! The tray on Windows (`tray-icon`): the same menu as the Linux tray, drawn from
//! [`crate::ui::shell::menu`], its clicks run through [`Shell::run`] in order on a
//! thread of their own. Windows wants a
//! message loop on the thread that owns the icon: a winit event loop on a thread of its
//! own. Written for Windows and compile-checked (`x86_64-pc-windows-gnu`), not run here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tray_icon::menu::{IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};

type MenuResult = tray_icon::menu::Result<()>;
use tray_icon::{TrayIcon, TrayIconBuilder};
use winit::application::ApplicationHandler;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::platform::windows::EventLoopBuilderExtWindows;
use winit::window::WindowId;

use crate::ui::shell::{Command, Item, Shell, Status, menu};

/// How often the menu is compared with the shell's state.
const REFRESH: Duration = Duration::from_millis(500);

/// Show the tray icon; `false` when it could not be started.
pub fn start(shell: Arc<Shell>) -> bool {
    let clicks = match shell.in_order() {
        Ok(clicks) => clicks,
        Err(e) => {
            tracing::info!(error = %e, "no tray: no thread for its clicks");
            return false;
        }
    };
    std::thread::Builder::new()
        .name("tray".into())
        .spawn(move || {
            let event_loop = match EventLoop::builder().with_any_thread(true).build() {
                Ok(event_loop) => event_loop,
                Err(e) => return tracing::info!(error = %e, "no tray: start qoltanba again to open its window"),
            };
            let mut app = TrayApp { shell, clicks, icon: None, commands: HashMap::new(), shown: None };
            if let Err(e) = event_loop.run_app(&mut app) {
                tracing::info!(error = %e, "the tray stopped");
            }
        })
        .is_ok()
}

struct TrayApp {
    shell: Arc<Shell>,
    /// Clicks but Quit go here ([`Shell::in_order`]).
    clicks: std::sync::mpsc::Sender<Command>,
    icon: Option<TrayIcon>,
    /// What each menu entry does, by its id.
    commands: HashMap<String, Command>,
    /// The state the menu was built for.
    shown: Option<Status>,
}

impl TrayApp {
    /// Build the menu again when the state changed.
    fn refresh(&mut self) {
        let status = self.shell.status();
        if self.shown.as_ref() == Some(&status) {
            return;
        }
        self.commands.clear();
        let menu = Menu::new();
        for item in menu_items(&status, &self.shell) {
            append(&|entry| menu.append(entry), &item, &mut self.commands);
        }
        match &self.icon {
            Some(icon) => icon.set_menu(Some(Box::new(menu))),
            None => {
                let built = TrayIconBuilder::new().with_tooltip("qoltanba").with_menu(Box::new(menu)).build();
                match built {
                    Ok(icon) => self.icon = Some(icon),
                    Err(e) => tracing::info!(error = %e, "no tray icon"),
                }
            }
        }
        self.shown = Some(status);
    }
}

fn menu_items(status: &Status, shell: &Shell) -> Vec<Item> {
    menu(status, shell.locale())
}

/// Add `item` through `push` (a menu's or a submenu's `append`); actions get an id
/// that maps to their command.
fn append(push: &dyn Fn(&dyn IsMenuItem) -> MenuResult, item: &Item, commands: &mut HashMap<String, Command>) {
    let added = match item {
        Item::Action { label, command } => {
            let entry = MenuItem::new(label, true, None);
            commands.insert(entry.id().0.clone(), command.clone());
            push(&entry)
        }
        Item::Info(text) => push(&MenuItem::new(text, false, None)),
        Item::Separator => push(&PredefinedMenuItem::separator()),
        Item::Submenu { label, items } => {
            let submenu = Submenu::new(label, true);
            for inner in items {
                append(&|entry| submenu.append(entry), inner, commands);
            }
            push(&submenu)
        }
    };
    if let Err(e) = added {
        tracing::debug!(error = %e, "a tray menu entry was not added");
    }
}

impl ApplicationHandler for TrayApp {
    fn resumed(&mut self, _event_loop: &ActiveEventLoop) {
        self.refresh();
    }

    fn window_event(&mut self, _event_loop: &ActiveEventLoop, _id: WindowId, _event: WindowEvent) {}

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        while let Ok(event) = MenuEvent::receiver().try_recv() {
            if let Some(command) = self.commands.get(&event.id.0).cloned() {
                // Quit at once, ahead of any click still running; the others in order on
                // their own thread (Shell::in_order), so the message loop never waits.
                if command == Command::Quit {
                    self.shell.run(command);
                    event_loop.exit();
                    return;
                }
                if self.clicks.send(command).is_err() {
                    tracing::error!("the tray's clicks are no longer carried out");
                }
            }
        }
        self.refresh();
        event_loop.set_control_flow(ControlFlow::WaitUntil(Instant::now() + REFRESH));
    }
}
