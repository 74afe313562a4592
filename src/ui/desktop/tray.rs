//! The tray icon on Linux desktops: a StatusNotifierItem over D-Bus (KDE, Cinnamon,
//! XFCE, GNOME with the AppIndicator extension), without GTK. It draws
//! [`shell::menu`](crate::ui::shell::menu) and hands clicks to the [`Shell`]. Where
//! the desktop shows no tray (stock GNOME), starting `qoltanba` again opens the main
//! window with the same commands.

use std::sync::Arc;
use std::sync::mpsc::Sender;

use ksni::TrayMethods;
use ksni::menu::{StandardItem, SubMenu};

use crate::ui::shell::{Command, Item, Shell, menu};

struct QoltanbaTray {
    shell: Arc<Shell>,
    /// Clicks run in order on a thread of their own ([`Shell::in_order`]): the tray's
    /// D-Bus task never waits for one.
    clicks: Sender<Command>,
}

/// A 32×32 icon: a green seal with a white ring (ARGB, network byte order).
fn icon(paused: bool) -> ksni::Icon {
    const SIZE: i32 = 32;
    let fill: [u8; 3] = if paused { [0x80, 0x80, 0x80] } else { [0x1f, 0x8f, 0x4f] };
    let mut data = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f32 - 15.5, y as f32 - 15.5);
            let r = (dx * dx + dy * dy).sqrt();
            let (a, rgb) = match r {
                r if r < 9.0 => (0xff, fill),
                r if r < 11.0 => (0xff, [0xff, 0xff, 0xff]),
                r if r < 15.0 => (0xff, fill),
                _ => (0x00, [0, 0, 0]),
            };
            data.extend([a, rgb[0], rgb[1], rgb[2]]);
        }
    }
    ksni::Icon { width: SIZE, height: SIZE, data }
}

fn items(list: Vec<Item>) -> Vec<ksni::MenuItem<QoltanbaTray>> {
    list.into_iter()
        .map(|item| match item {
            Item::Action { label, command } => StandardItem {
                label: mnemonic_free(&label),
                activate: Box::new(move |tray: &mut QoltanbaTray| tray.click(command.clone())),
                ..Default::default()
            }
            .into(),
            Item::Info(label) => {
                StandardItem { label: mnemonic_free(&label), enabled: false, ..Default::default() }.into()
            }
            Item::Separator => ksni::MenuItem::Separator,
            Item::Submenu { label, items: inner } => {
                SubMenu { label: mnemonic_free(&label), submenu: items(inner), ..Default::default() }.into()
            }
        })
        .collect()
}

impl QoltanbaTray {
    fn click(&self, command: Command) {
        // Quit at once (it only tells the daemon to stop), ahead of any slow click.
        if command == Command::Quit {
            return self.shell.run(command);
        }
        if self.clicks.send(command).is_err() {
            tracing::error!("the tray's clicks are no longer carried out");
        }
    }
}

/// Underscores mark access keys in tray menus: show them as written.
fn mnemonic_free(label: &str) -> String {
    label.replace('_', "__")
}

impl ksni::Tray for QoltanbaTray {
    fn id(&self) -> String {
        "qoltanba".into()
    }
    fn title(&self) -> String {
        "qoltanba".into()
    }
    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        vec![icon(self.shell.activity().is_paused())]
    }
    fn tool_tip(&self) -> ksni::ToolTip {
        let first = menu(&self.shell.status(), self.shell.locale()).into_iter().next();
        let title = match first {
            Some(Item::Info(text)) => text,
            _ => "qoltanba".into(),
        };
        ksni::ToolTip { title, ..Default::default() }
    }
    fn activate(&mut self, _x: i32, _y: i32) {
        self.click(Command::OpenWindow);
    }
    /// The panel opens the menu: it is drawn again from the current state (sites
    /// answered, keys used and tokens plugged in since the last change are in it).
    fn menu_about_to_show(&mut self) {}
    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        items(menu(&self.shell.status(), self.shell.locale()))
    }
}

/// Show the tray icon, redrawn on every change of the shell's activity. `false`
/// when the desktop has no tray.
pub async fn start(shell: Arc<Shell>) -> bool {
    let activity = Arc::clone(shell.activity());
    let clicks = match shell.in_order() {
        Ok(clicks) => clicks,
        Err(e) => {
            tracing::warn!(error = %e, "no thread for the tray's clicks");
            return false;
        }
    };
    match (QoltanbaTray { shell, clicks }).spawn().await {
        Ok(handle) => {
            let runtime = tokio::runtime::Handle::current();
            activity.on_change(Box::new(move || {
                let handle = handle.clone();
                runtime.spawn(async move { handle.update(|_| {}).await });
            }));
            true
        }
        Err(e) => {
            tracing::info!(error = %e, "no tray on this desktop: start qoltanba again to open its window");
            false
        }
    }
}
