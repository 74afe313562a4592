//! The dialog process (`qoltanba dialog`): one window for one request, drawn with egui.
//!
//! Reads [`Ask`]s from stdin (the first line is the [`Opening`]: who asks, in which
//! language), shows each as a page, writes the [`Answer`] to stdout. Escape and the
//! window's close button answer Cancel. The confirm button works only after
//! [`CONFIRM_DELAY`] and is focused then, so an Enter meant for an earlier page can
//! never approve a signature. The process ends when the daemon says [`Ask::Close`] or
//! its stdin closes (the daemon went away).

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, Key, RichText, Ui, ViewportCommand};
use zeroize::Zeroizing;

use super::EXIT_NO_WINDOW;
use super::change_pin::{PinAct, PinForm};
use super::password::PasswordField;
use super::wire::{self, Answer, Ask, ConfirmView, KeyView, Opening};
use crate::i18n::dialog::{Text, size};
use crate::i18n::{Locale, Word, action_word};
use crate::signing::Action;
use crate::sites::Permission;
use crate::ui::sanitize::shown;
use crate::ui::shell::{Command, Status, signed_line};
use crate::ui::{KeyDescription, Shown, SiteAnswer, TokenSlot};

/// How long the confirm button stays disabled after the confirmation appears.
pub const CONFIRM_DELAY: Duration = Duration::from_millis(1200);

/// Lines of a text preview shown per document.
const PREVIEW_LINES: usize = 6;

/// Run the dialog process. See the module documentation.
pub fn run() -> ExitCode {
    let mut input = BufReader::new(std::io::stdin());
    let Some(opening) = wire::receive::<Opening>(&mut input) else {
        eprintln!("qoltanba dialog: this program is started by the qoltanba daemon, not by hand");
        return ExitCode::from(2);
    };
    // The site is named in the window, in full; a title bar would cut it at its end
    // (`https://egov.kz.attacker…`).
    let title = "qoltanba";
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_app_id("qoltanba")
            .with_inner_size([620.0, 560.0])
            .with_min_inner_size([420.0, 360.0])
            .with_always_on_top()
            .with_active(true),
        centered: true,
        ..Default::default()
    };
    let (tx, asks) = mpsc::channel();
    let started = eframe::run_native(
        "qoltanba",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            std::thread::spawn(move || read_asks(input, tx, ctx));
            Ok(Box::new(DialogApp::new(opening, asks)))
        }),
    );
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qoltanba dialog: cannot open a window: {e}");
            ExitCode::from(EXIT_NO_WINDOW as u8)
        }
    }
}

/// Forward the daemon's questions to the window; end the process when told to close
/// or when the daemon is gone.
/// `None` on the channel: the daemon is gone (the window may still show an error).
fn read_asks(mut input: BufReader<std::io::Stdin>, tx: mpsc::Sender<Option<Ask>>, ctx: egui::Context) {
    loop {
        let ask = match wire::receive::<Ask>(&mut input) {
            Some(Ask::Close) => std::process::exit(0),
            other => other,
        };
        let gone = ask.is_none();
        if tx.send(ask).is_err() {
            std::process::exit(0);
        }
        ctx.request_repaint();
        if gone {
            return;
        }
    }
}

enum Page {
    Waiting,
    Site {
        action: Action,
        since: Instant,
    },
    Key {
        action: Action,
        recent: Vec<PathBuf>,
        tokens: Vec<TokenSlot>,
        path: String,
    },
    Password {
        file: PathBuf,
        attempt: u32,
        tries_left: u32,
        text: Zeroizing<String>,
        caps_lock: bool,
    },
    Checking,
    PickKey {
        keys: Vec<KeyView>,
        selected: Option<usize>,
    },
    Confirm {
        view: ConfirmView,
        since: Instant,
    },
    ChooseFile {
        extension: String,
        /// Where the system's file chooser opens (the page's hint, if a directory).
        start: Option<PathBuf>,
        path: String,
    },
    Failed {
        message: String,
    },
    Status {
        status: Status,
        /// The timestamp authority field, as typed.
        tsa: String,
    },
    ChangePin(Box<PinForm>),
}

impl Page {
    fn of(ask: Ask) -> Self {
        match ask {
            Ask::Site { action } => Page::Site { action, since: Instant::now() },
            Ask::Key { action, recent_files, tokens } => {
                let path = recent_files.first().map(|p| p.display().to_string()).unwrap_or_default();
                Page::Key { action, recent: recent_files, tokens, path }
            }
            Ask::Password { file, attempt, tries_left } => {
                Page::Password { file, attempt, tries_left, text: Zeroizing::default(), caps_lock: false }
            }
            Ask::Checking | Ask::Close => Page::Checking,
            Ask::PickKey { keys } => {
                let selected = keys.iter().position(|k| k.unusable.is_none());
                Page::PickKey { keys, selected }
            }
            Ask::Confirm(view) => Page::Confirm { view, since: Instant::now() },
            // The page's directory is only where the chooser opens: a path the page wrote is
            // never offered as the answer (it would count as picked by the person).
            Ask::ChooseFile { extension, directory } => {
                // Never touched here (a network path could hang the window or leak
                // credentials); the core passes only local absolute paths.
                let start = Some(PathBuf::from(directory)).filter(|d| d.is_absolute());
                Page::ChooseFile { extension, start, path: String::new() }
            }
            Ask::Failed { message } => Page::Failed { message },
            Ask::Status { status } => Page::Status { tsa: status.tsa_url.clone(), status },
            Ask::ChangePin { tokens } => Page::ChangePin(Box::new(PinForm::new(tokens, None))),
            // Only the PIN page asks for it (see `DialogApp::ui`).
            Ask::PinChanged { .. } => Page::Waiting,
        }
    }
}

/// What the buttons row asks for this frame.
enum Act {
    None,
    Answer(Answer),
    Cancel,
    Exit,
}

struct DialogApp {
    origin: Option<String>,
    locale: Locale,
    asks: mpsc::Receiver<Option<Ask>>,
    page: Page,
    /// The page just appeared: give its main field the keyboard.
    fresh: bool,
    /// A native file chooser is open; its answer comes here.
    chooser: Option<mpsc::Receiver<Option<PathBuf>>>,
    /// The confirm button got the keyboard after the delay.
    confirm_focused: bool,
    /// Did the window have the keyboard last frame?
    had_keyboard: bool,
    /// The page's picture, decoded once.
    logo: Option<egui::TextureHandle>,
    logo_png: Option<String>,
}

impl DialogApp {
    fn new(opening: Opening, asks: mpsc::Receiver<Option<Ask>>) -> Self {
        Self {
            origin: opening.origin,
            locale: opening.locale,
            asks,
            page: Page::Waiting,
            fresh: true,
            chooser: None,
            confirm_focused: false,
            had_keyboard: false,
            logo: None,
            logo_png: opening.logo,
        }
    }

    fn t(&self, text: Text) -> &'static str {
        text.get(self.locale)
    }

    fn answer(&mut self, answer: Answer) {
        if wire::send(&mut std::io::stdout().lock(), &answer).is_err() {
            std::process::exit(0);
        }
        // The main window stays as it is (with what is typed) until its update comes;
        // the PIN page until the token's answer comes.
        if !matches!(self.page, Page::Status { .. } | Page::ChangePin(_)) {
            self.page = Page::Waiting;
        }
    }

    /// Open the platform's file chooser on its own thread (it blocks).
    fn browse(&mut self, keys: bool, start: Option<PathBuf>) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut dialog = rfd::FileDialog::new();
            if keys {
                dialog = dialog.add_filter("PKCS#12", &["p12", "pfx", "P12", "PFX"]);
            }
            if let Some(start) = start {
                dialog = dialog.set_directory(start);
            }
            let _ = tx.send(dialog.pick_file());
        });
        self.chooser = Some(rx);
    }

    /// The requesting site, large and first; the page's own picture, if any, on the
    /// right, small, captioned as the site's.
    fn header(&mut self, ui: &mut Ui) {
        if let Some(png) = self.logo_png.take() {
            self.logo = decode_logo(&png).map(|image| ui.ctx().load_texture("logo", image, Default::default()));
        }
        ui.add_space(6.0);
        let full = ui.max_rect();
        let room = if self.logo.is_some() { LOGO_BOX.x + 24.0 } else { 0.0 };
        ui.vertical(|ui| {
            ui.set_max_width((full.width() - room).max(200.0));
            ui.label(RichText::new(self.t(Text::Site)).small());
            let origin = match &self.origin {
                Some(origin) => RichText::new(shown(origin)).size(22.0).strong(),
                None => {
                    RichText::new(Word::NoOrigin.get(self.locale)).size(18.0).color(Color32::from_rgb(0xd0, 0x60, 0x30))
                }
            };
            ui.add(egui::Label::new(origin).wrap());
        });
        if let Some(logo) = &self.logo {
            // At the far right, framed and captioned: never part of the site's name.
            let corner = egui::pos2(full.right() - LOGO_BOX.x - 16.0, full.top() + 4.0);
            let rect = egui::Rect::from_min_size(corner, LOGO_BOX + egui::vec2(12.0, 30.0));
            ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                egui::Frame::group(ui.style()).inner_margin(4.0).show(ui, |ui| {
                    ui.add(egui::Image::new(logo).max_size(LOGO_BOX));
                    ui.label(RichText::new(self.t(Text::SiteLogo)).small().italics());
                });
            });
        }
        ui.add_space(4.0);
    }
}

impl eframe::App for DialogApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        while let Ok(next) = self.asks.try_recv() {
            let Some(ask) = next else {
                // The daemon is gone: an error stays readable until closed; nothing else
                // has anybody to answer to.
                if !matches!(self.page, Page::Failed { .. }) {
                    std::process::exit(0);
                }
                continue;
            };
            if let Ask::Status { status } = &ask {
                self.locale = status.language;
            }
            // The PIN page takes the token's answer, and keeps the main window under it
            // up to date; with no PIN page, an answer is for nobody.
            let ask = match (&mut self.page, ask) {
                (Page::ChangePin(form), Ask::PinChanged { outcome }) => {
                    form.answered(outcome);
                    trace_name(form.trace_name().unwrap_or("change-pin"));
                    continue;
                }
                (Page::ChangePin(form), Ask::Status { status }) => {
                    if form.back.is_some() {
                        form.back = Some(status);
                    }
                    continue;
                }
                (_, Ask::PinChanged { .. }) => continue,
                (_, ask) => ask,
            };
            // The PIN page opened over the main window goes back to it when closed.
            let back = match &mut self.page {
                Page::Status { status, .. } => Some(status.clone()),
                Page::ChangePin(form) => form.back.take(),
                _ => None,
            };
            // A refreshed main window keeps what is being typed into it.
            let typing = match &self.page {
                Page::Status { status, tsa } if *tsa != status.tsa_url => Some(tsa.clone()),
                _ => None,
            };
            // Only a new question takes the focus: the main window's updates do not
            // jump in front of anything.
            let update = matches!(self.page, Page::Status { .. }) && matches!(ask, Ask::Status { .. });
            self.page = Page::of(ask);
            if let (Page::Status { tsa, .. }, Some(typed)) = (&mut self.page, typing) {
                *tsa = typed;
            }
            if let Page::ChangePin(form) = &mut self.page {
                form.back = back;
            }
            if update {
                continue;
            }
            trace(&self.page);
            self.fresh = true;
            self.confirm_focused = false;
            ctx.send_viewport_cmd(ViewportCommand::Focus);
        }
        // The window (back) in front: the page's field gets the keyboard again, and a
        // confirmation waits its delay again before Enter can approve.
        let has_keyboard = ctx.input(|i| i.focused);
        if has_keyboard && !self.had_keyboard {
            self.fresh = true;
            self.confirm_focused = false;
            if let Page::Confirm { since, .. } = &mut self.page {
                *since = Instant::now();
            }
        }
        self.had_keyboard = has_keyboard;
        if let Some(picked) = self.chooser.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.chooser = None;
            if let (Some(p), Page::Key { path, .. } | Page::ChooseFile { path, .. }) = (picked, &mut self.page) {
                *path = p.display().to_string();
            }
        }
        // Closing these pages answers nothing: nobody waits for them.
        let failed = matches!(self.page, Page::Failed { .. } | Page::Status { .. } | Page::ChangePin(_));
        if ctx.input(|i| i.viewport().close_requested()) && !failed {
            self.answer(Answer::Cancel);
            return;
        }
        // A held Enter or Space (key repeat) never presses a button; on the
        // confirmation, no Enter or Space counts before the Sign button is armed.
        let unarmed = matches!(&self.page, Page::Confirm { since, .. } if since.elapsed() < CONFIRM_DELAY);
        ctx.input_mut(|i| {
            i.events.retain(|e| match e {
                egui::Event::Key { key: Key::Enter | Key::Space, repeat, .. } => !*repeat && !unarmed,
                _ => true,
            })
        });
        let mut act = if ctx.input(|i| i.key_pressed(Key::Escape)) {
            if failed { Act::Exit } else { Act::Cancel }
        } else {
            Act::None
        };

        if !matches!(self.page, Page::Status { .. } | Page::ChangePin(_)) {
            egui::Panel::top("site").show(ui, |ui| self.header(ui));
        }
        egui::Panel::bottom("buttons").exact_size(56.0).show(ui, |ui| {
            let row = egui::vec2(ui.available_width(), 56.0);
            ui.allocate_ui_with_layout(row, egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let buttons = self.buttons(ui, &ctx);
                if !matches!(buttons, Act::None) {
                    act = buttons;
                }
            });
        });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
                let body = self.body(ui);
                if !matches!(body, Act::None) {
                    act = body;
                }
            })
        });
        self.fresh = false;
        match act {
            Act::None => {}
            Act::Answer(answer) => self.answer(answer),
            Act::Cancel => self.answer(Answer::Cancel),
            Act::Exit => self.leave(&ctx),
        }
    }
}

impl DialogApp {
    /// Close the page: the PIN page goes back to the main window it was opened over;
    /// anything else closes the window.
    fn leave(&mut self, ctx: &egui::Context) {
        let back = match &mut self.page {
            Page::ChangePin(form) => form.back.take(),
            _ => None,
        };
        match back {
            Some(status) => {
                self.page = Page::Status { tsa: status.tsa_url.clone(), status };
                trace(&self.page);
                self.fresh = true;
            }
            None => ctx.send_viewport_cmd(ViewportCommand::Close),
        }
    }
}

impl DialogApp {
    /// The row of buttons: the page's action, then Cancel.
    fn buttons(&mut self, ui: &mut Ui, ctx: &egui::Context) -> Act {
        let locale = self.locale;
        let t = |text: Text| text.get(locale);
        let mut act = Act::None;
        let big = |text: &str| egui::Button::new(RichText::new(text).size(16.0)).min_size(egui::vec2(110.0, 32.0));
        match &mut self.page {
            Page::Failed { .. } => {
                if ui.add(big(t(Text::Close))).clicked() {
                    return Act::Exit;
                }
                return Act::None;
            }
            Page::Status { status, .. } => {
                if ui.add(big(t(Text::Close))).clicked() {
                    return Act::Exit;
                }
                if ui.add(big(t(Text::Quit))).clicked() {
                    return Act::Answer(Answer::Command { command: Command::Quit });
                }
                let (label, command) = if status.paused {
                    (t(Text::ResumeSigning), Command::Resume)
                } else {
                    (t(Text::StopSigning), Command::Pause)
                };
                if ui.add(big(label)).clicked() {
                    return Act::Answer(Answer::Command { command });
                }
                return Act::None;
            }
            Page::ChangePin(form) => {
                return match form.buttons(ui, locale) {
                    PinAct::None => Act::None,
                    PinAct::Answer(answer) => Act::Answer(answer),
                    PinAct::Close => Act::Exit,
                };
            }
            Page::Key { path, .. } | Page::ChooseFile { path, .. } => {
                let path = path.trim().to_owned();
                let label = if matches!(self.page, Page::Key { .. }) { t(Text::Next) } else { t(Text::Choose) };
                if ui.add_enabled(!path.is_empty(), big(label)).clicked() {
                    act = self.path_answer(path);
                }
            }
            Page::Password { text, .. } => {
                if ui.add(big(t(Text::Next))).clicked() {
                    act = Act::Answer(Answer::Password { password: std::mem::take(text) });
                }
            }
            Page::PickKey { selected, .. } => {
                if ui.add_enabled(selected.is_some(), big(t(Text::Next))).clicked()
                    && let Some(index) = *selected
                {
                    act = Act::Answer(Answer::Key { index });
                }
            }
            Page::Site { since, .. } => {
                // As for signing: nothing is answered by keys already pressed when the
                // window appeared.
                let ready = since.elapsed() >= CONFIRM_DELAY;
                if !ready {
                    ctx.request_repaint_after(CONFIRM_DELAY.saturating_sub(since.elapsed()));
                }
                for (text, answer) in [
                    (Text::AllowOnce, SiteAnswer::Once),
                    (Text::AllowAlways, SiteAnswer::Always),
                    (Text::DenySite, SiteAnswer::Never),
                ] {
                    let button = ui.add_enabled(ready, big(t(text)));
                    // Once ready, the keyboard starts on the narrowest yes: this request only.
                    if ready && !self.confirm_focused && answer == SiteAnswer::Once {
                        button.request_focus();
                        self.confirm_focused = true;
                    }
                    if button.clicked() {
                        act = Act::Answer(Answer::Site { choice: answer });
                    }
                }
            }
            Page::Confirm { since, .. } => {
                let ready = since.elapsed() >= CONFIRM_DELAY;
                if !ready {
                    ctx.request_repaint_after(CONFIRM_DELAY.saturating_sub(since.elapsed()));
                }
                let button = ui.add_enabled(ready, big(t(Text::Sign)).fill(Color32::from_rgb(0x1f, 0x6f, 0x3f)));
                if ready && !self.confirm_focused {
                    button.request_focus();
                    self.confirm_focused = true;
                }
                if button.clicked() {
                    act = Act::Answer(Answer::Confirm);
                }
            }
            Page::Waiting | Page::Checking => {}
        }
        if ui.add(big(t(Text::Cancel))).clicked() {
            act = Act::Cancel;
        }
        act
    }

    /// The answer for a typed or picked path.
    fn path_answer(&self, path: String) -> Act {
        let path = PathBuf::from(path);
        match self.page {
            Page::Key { .. } => Act::Answer(Answer::KeyFile { path }),
            _ => Act::Answer(Answer::File { path }),
        }
    }

    fn body(&mut self, ui: &mut Ui) -> Act {
        let locale = self.locale;
        let t = |text: Text| text.get(locale);
        let fresh = self.fresh;
        let enter = ui.input(|i| i.key_pressed(Key::Enter));
        match &mut self.page {
            Page::Waiting => {
                ui.spinner();
                Act::None
            }
            Page::Checking => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(t(Text::Checking));
                });
                Act::None
            }
            Page::Failed { message } => {
                ui.label(RichText::new(format!("⚠ {}", shown(message))).size(16.0).color(warning(ui)));
                Act::None
            }
            Page::ChangePin(form) => match form.body(ui, locale, fresh) {
                PinAct::None => Act::None,
                PinAct::Answer(answer) => Act::Answer(answer),
                PinAct::Close => Act::Exit,
            },
            Page::Status { status, tsa } => {
                let trust = main_page(ui, status, locale, fresh);
                match trust.or_else(|| settings_row(ui, status, tsa, enter)) {
                    Some(command) => Act::Answer(Answer::Command { command }),
                    None => Act::None,
                }
            }
            Page::Site { action, .. } => {
                ui.heading(t(Text::SiteTitle));
                ui.add_space(8.0);
                ui.label(RichText::new(shown(self.origin.as_deref().unwrap_or("—"))).size(20.0).strong().monospace());
                ui.add_space(8.0);
                ui.label(format!("{} {}", t(Text::SiteAsksFor), action_word(*action).get(locale)));
                ui.add_space(8.0);
                ui.label(t(Text::SiteExplained));
                Act::None
            }
            Page::Key { action, recent, tokens, path } => {
                ui.label(RichText::new(capitalized(action_word(*action).get(locale))).size(16.0));
                ui.add_space(8.0);
                ui.heading(t(Text::ChooseKeyTitle));
                ui.label(t(Text::KeyFilePath));
                let (mut typed, browse) = path_row(ui, path, fresh, enter, t(Text::Browse));
                if !recent.is_empty() {
                    ui.add_space(8.0);
                    ui.label(t(Text::RecentKeys));
                    for file in recent.iter() {
                        if ui.selectable_label(false, shown(&file.display().to_string())).double_clicked() {
                            typed = Some(file.display().to_string());
                        }
                    }
                }
                let mut token = None;
                if !tokens.is_empty() {
                    ui.add_space(8.0);
                    ui.label(t(Text::Tokens));
                    for slot in tokens.iter() {
                        let text = format!("{} — {}", shown(&slot.label), shown(&slot.storage));
                        if ui.button(text).clicked() {
                            token = Some(slot.clone());
                        }
                    }
                }
                if browse {
                    self.browse(true, None);
                    return Act::None;
                }
                match (typed, token) {
                    (_, Some(token)) => Act::Answer(Answer::Token { token }),
                    (Some(path), None) => self.path_answer(path),
                    (None, None) => Act::None,
                }
            }
            Page::Password { file, attempt, tries_left, text, caps_lock } => {
                ui.heading(t(Text::PasswordTitle));
                ui.label(shown(&file.display().to_string()));
                ui.add_space(8.0);
                if *attempt > 1 {
                    let wrong = format!("{} {} {}", t(Text::WrongPassword), t(Text::TriesLeft), tries_left);
                    ui.label(RichText::new(wrong).color(warning(ui)).strong());
                }
                ui.label(t(Text::Password));
                let (_, entered) = PasswordField::new(text, caps_lock, t(Text::Password)).focused(fresh).show(ui);
                if *caps_lock {
                    ui.label(RichText::new(format!("⚠ {}", t(Text::CapsLock))).color(warning(ui)));
                }
                // What was typed after Enter in the same frame is not part of the password.
                if entered.is_some() {
                    return Act::Answer(Answer::Password { password: std::mem::take(text) });
                }
                Act::None
            }
            Page::PickKey { keys, selected } => {
                ui.heading(t(Text::PickKeyTitle));
                if keys.iter().all(|k| k.unusable.is_some()) {
                    ui.label(RichText::new(t(Text::NoUsableKey)).color(warning(ui)).strong());
                }
                let mut chosen = None;
                for (i, view) in keys.iter().enumerate() {
                    ui.add_space(6.0);
                    let usable = view.unusable.is_none();
                    let frame = egui::Frame::group(ui.style()).fill(if *selected == Some(i) {
                        ui.visuals().selection.bg_fill.gamma_multiply(0.4)
                    } else {
                        Color32::TRANSPARENT
                    });
                    let card = frame
                        .show(ui, |ui| {
                            ui.set_width(ui.available_width());
                            ui.add_enabled_ui(usable, |ui| key_card(ui, &view.key, locale));
                            if let Some(reason) = &view.unusable {
                                ui.label(RichText::new(format!("✖ {}", shown(reason))).color(warning(ui)));
                            }
                            for note in &view.notes {
                                ui.label(RichText::new(format!("⚠ {}", shown(note))).small());
                            }
                        })
                        .response
                        .interact(egui::Sense::click());
                    if usable && card.clicked() {
                        *selected = Some(i);
                    }
                    if usable && card.double_clicked() {
                        chosen = Some(i);
                    }
                }
                match chosen {
                    Some(index) => Act::Answer(Answer::Key { index }),
                    None => Act::None,
                }
            }
            Page::Confirm { view, .. } => {
                let ConfirmView { operation, total, signer, notes, documents } = view;
                ui.label(RichText::new(shown(operation)).size(20.0).strong());
                ui.add_space(8.0);
                ui.label(RichText::new(t(Text::Signer)).small());
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    key_card(ui, signer, locale);
                });
                for note in notes.iter() {
                    ui.label(RichText::new(format!("⚠ {}", shown(note))).color(warning(ui)));
                }
                if !documents.is_empty() {
                    ui.add_space(8.0);
                    ui.label(RichText::new(format!("{} ({total})", t(Text::Documents))).small());
                    for (i, doc) in documents.iter().enumerate() {
                        egui::Frame::group(ui.style()).show(ui, |ui| {
                            ui.set_width(ui.available_width());
                            ui.label(RichText::new(format!("№{} · {}", i + 1, size(doc.size, locale))).strong());
                            document(ui, &doc.shown, locale);
                        });
                    }
                    if *total > documents.len() {
                        ui.label(format!("… {} {}", Word::More.get(locale), *total - documents.len()));
                    }
                }
                Act::None
            }
            Page::ChooseFile { extension, start, path } => {
                ui.heading(t(Text::ChooseFileTitle));
                if extension != "ALL" && !extension.is_empty() {
                    ui.label(format!("*.{}", shown(extension)));
                }
                ui.label(t(Text::FilePath));
                let (typed, browse) = path_row(ui, path, fresh, enter, t(Text::Browse));
                if browse {
                    let start = start.clone();
                    self.browse(false, start);
                }
                typed.map_or(Act::None, |p| self.path_answer(p))
            }
        }
    }
}

/// The main window's page: state, addresses, browser trust (with the button that
/// makes browsers trust us, focused when the page opens), this session's signatures,
/// keys.
fn main_page(ui: &mut Ui, status: &Status, locale: Locale, fresh: bool) -> Option<Command> {
    let t = |text: Text| text.get(locale);
    ui.add_space(6.0);
    ui.heading(t(Text::MainTitle));
    let state = if status.paused { t(Text::StatePaused) } else { t(Text::StateRunning) };
    let colour = if status.paused { warning(ui) } else { Color32::from_rgb(0x4f, 0xbf, 0x7f) };
    let sign = if status.paused { "⚠" } else { "✔" };
    ui.label(RichText::new(format!("{sign} {state} — {}", status.version)).size(16.0).color(colour));
    if status.paused {
        ui.label(t(Text::PausedExplained));
    }
    for address in &status.listening {
        ui.label(RichText::new(shown(address)).monospace());
    }
    let mut command = None;
    let trust = t(crate::ui::shell::trust_text(status.browsers_trusted));
    match status.browsers_trusted {
        Some(true) => {
            ui.label(RichText::new(format!("✔ {trust}")).color(Color32::from_rgb(0x4f, 0xbf, 0x7f)));
        }
        Some(false) => {
            ui.label(RichText::new(format!("⚠ {trust}")).color(warning(ui)));
            let button = ui.button(RichText::new(t(Text::TrustBrowsers)).size(15.0));
            if fresh {
                button.request_focus();
            }
            if button.clicked() {
                command = Some(Command::TrustBrowsers);
            }
        }
        None => {
            ui.label(trust);
        }
    }
    ui.add_space(8.0);
    ui.label(RichText::new(t(Text::RecentSignatures)).strong());
    if status.recent.is_empty() {
        ui.label(t(Text::NoSignaturesYet));
    }
    for signed in &status.recent {
        ui.label(signed_line(signed, locale));
    }
    ui.add_space(8.0);
    ui.label(RichText::new(t(Text::KeysMenu)).strong());
    if status.recent_keys.is_empty() {
        ui.label(t(Text::NoKeysYet));
    }
    for key in &status.recent_keys {
        ui.label(RichText::new(shown(&key.display().to_string())).monospace());
    }
    if !status.tokens.is_empty() {
        ui.add_space(8.0);
        ui.label(RichText::new(t(Text::Tokens)).strong());
        for token in &status.tokens {
            ui.label(format!("{} — {}", shown(&token.label), shown(&token.storage)));
        }
        if ui.button(RichText::new(t(Text::ChangeTokenPin)).size(15.0)).clicked() {
            command = Some(Command::ChangeTokenPin);
        }
    }
    // After the token's button: the keyboard reaches that first.
    ui.add_space(8.0);
    ui.label(RichText::new(t(Text::SitesMenu)).strong());
    if status.sites.is_empty() {
        ui.label(t(Text::NoSitesYet));
    }
    for (origin, permission) in &status.sites {
        ui.horizontal(|ui| {
            let (mark, other, label) = match permission {
                Permission::Allow => ("✓", Permission::Deny, Text::DenySiteCommand),
                Permission::Deny => ("✖", Permission::Allow, Text::AllowSiteCommand),
            };
            let name = if origin.is_empty() { t(Text::NoOrigin).to_owned() } else { shown(origin) };
            ui.label(RichText::new(format!("{mark} {name}")).monospace());
            if ui.small_button(t(label)).clicked() {
                command = Some(Command::SetSite(origin.clone(), other));
            }
            if ui.small_button(t(Text::ForgetSite)).clicked() {
                command = Some(Command::ForgetSite(origin.clone()));
            }
        });
    }
    command
}

/// The main window's settings: language, offline mode, the timestamp authority.
fn settings_row(ui: &mut Ui, status: &Status, tsa: &mut String, enter: bool) -> Option<Command> {
    let t = |text: Text| text.get(status.language);
    let mut command = None;
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new(t(Text::Language)).strong());
        for (locale, name) in crate::i18n::LANGUAGES {
            if ui.selectable_label(status.language == locale, name).clicked() {
                command = Some(Command::SetLanguage(locale));
            }
        }
    });
    let mut offline = status.offline;
    let label = if offline { t(Text::OfflineOn) } else { t(Text::OfflineOff) };
    // What the command line fixed for this run is shown, not changeable.
    if ui.add_enabled(!status.forced.offline, egui::Checkbox::new(&mut offline, label)).changed() {
        command = Some(Command::SetOffline(offline));
    }
    let mut login = status.autostart;
    if ui.checkbox(&mut login, t(Text::StartAtLogin)).changed() {
        command = Some(Command::SetAutostart(login));
    }
    ui.add_space(4.0);
    ui.label(RichText::new(t(Text::TsaUrl)).strong());
    let valid = crate::settings::valid_tsa_url(tsa.trim());
    ui.horizontal(|ui| {
        let edit = egui::TextEdit::singleline(tsa).desired_width(ui.available_width() - 110.0);
        let field = ui.add_enabled(!status.forced.tsa, edit);
        let changed = valid && tsa.trim() != status.tsa_url && !status.forced.tsa;
        let save = ui.add_enabled(changed, egui::Button::new(t(Text::Save)));
        if save.clicked() || (field.lost_focus() && enter && changed) {
            command = Some(Command::SetTsaUrl(tsa.trim().to_owned()));
        }
    });
    if !valid {
        ui.label(RichText::new(t(Text::TsaInvalid)).color(warning(ui)));
    }
    command
}

/// Tests follow the pages through `QOLTANBA_DIALOG_TRACE`, a file that gets each
/// page's name (never what it shows) as the page appears.
fn trace(page: &Page) {
    let name = match page {
        Page::Waiting => "waiting",
        Page::Site { .. } => "site",
        Page::Key { .. } => "key",
        Page::Password { attempt: 1, .. } => "password",
        Page::Password { .. } => "password-again",
        Page::Checking => "checking",
        Page::PickKey { .. } => "pick-key",
        Page::Confirm { .. } => "confirm",
        Page::ChooseFile { .. } => "choose-file",
        Page::Failed { .. } => "failed",
        Page::Status { .. } => "status",
        Page::ChangePin(_) => "change-pin",
    };
    trace_name(name);
}

/// Add `name` to the page trace (see [`trace`]).
fn trace_name(name: &str) {
    let Some(file) = std::env::var_os("QOLTANBA_DIALOG_TRACE") else { return };
    let line = format!("{name}\n");
    let appended = std::fs::OpenOptions::new().create(true).append(true).open(file);
    let _ = appended.and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
}

/// The largest the page's picture is drawn.
const LOGO_BOX: egui::Vec2 = egui::vec2(160.0, 48.0);

/// The page's picture: a PNG of at most 1024×1024 pixels, decoded with bounded memory;
/// anything else is not shown.
fn decode_logo(base64: &str) -> Option<egui::ColorImage> {
    let png = crate::protocol::data::decode_base64(base64).ok()?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(png), image::ImageFormat::Png);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(1024);
    limits.max_image_height = Some(1024);
    limits.max_alloc = Some(8 * 1024 * 1024);
    reader.limits(limits);
    let rgba = reader.decode().ok()?.to_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Some(egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw()))
}

/// A path field with a Browse button: the typed path when Enter is pressed in it, and
/// whether Browse was clicked.
fn path_row(ui: &mut Ui, path: &mut String, fresh: bool, enter: bool, browse: &str) -> (Option<String>, bool) {
    let mut typed = None;
    let mut clicked = false;
    ui.horizontal(|ui| {
        let field = ui.add(egui::TextEdit::singleline(path).desired_width(ui.available_width() - 110.0));
        if fresh {
            field.request_focus();
        }
        if field.lost_focus() && enter && !path.trim().is_empty() {
            typed = Some(path.trim().to_owned());
        }
        clicked = ui.button(browse).clicked();
    });
    (typed, clicked)
}

/// The colour of warnings, readable on the current theme.
fn warning(ui: &Ui) -> Color32 {
    ui.visuals().warn_fg_color
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Who a key belongs to and what it is for.
fn key_card(ui: &mut Ui, key: &KeyDescription, locale: Locale) {
    let t = |text: Text| text.get(locale);
    let owner = if key.owner.is_empty() { &key.subject } else { &key.owner };
    ui.label(RichText::new(shown(owner)).size(17.0).strong());
    let mut ids = Vec::new();
    if let Some(iin) = &key.iin {
        ids.push(format!("{} {}", t(Text::Iin), shown(iin)));
    }
    if let Some(bin) = &key.bin {
        ids.push(format!("{} {}", t(Text::Bin), shown(bin)));
    }
    if !ids.is_empty() {
        ui.label(ids.join("   "));
    }
    if let Some(org) = &key.organization {
        ui.label(format!("{}: {}", t(Text::Organization), shown(org)));
    }
    let purposes: Vec<&str> = [(key.signing, Text::PurposeSigning), (key.authentication, Text::PurposeAuthentication)]
        .into_iter()
        .filter(|(has, _)| *has)
        .map(|(_, text)| t(text))
        .collect();
    if !purposes.is_empty() {
        ui.label(format!("{}: {}", t(Text::Purpose), purposes.join(", ")));
    }
    ui.label(format!("{}: {}", t(Text::Issuer), shown(&key.issuer)));
    if key.test {
        ui.label(RichText::new(t(Text::TestIssuer)).color(warning(ui)).strong());
    }
    ui.label(format!("{}: {} — {}", t(Text::Valid), date(key.not_before_ms), date(key.not_after_ms)));
}

/// A date as people in Kazakhstan write it: 31.12.2026.
fn date(ms: i64) -> String {
    crate::validation::in_astana(ms)
        .map(|t| format!("{:02}.{:02}.{}", t.day(), u8::from(t.month()), t.year()))
        .unwrap_or_default()
}

/// What can be shown of one document.
fn document(ui: &mut Ui, what: &Shown, locale: Locale) {
    match what {
        Shown::Text { preview, truncated } => {
            let mut lines: Vec<String> = preview.lines().take(PREVIEW_LINES).map(shown).collect();
            if *truncated || preview.lines().count() > PREVIEW_LINES {
                lines.push("…".into());
            }
            ui.label(RichText::new(lines.join("\n")).monospace());
        }
        Shown::Xml { root, fields, truncated } => {
            ui.label(RichText::new(format!("<{}>", shown(root))).monospace().strong());
            egui::Grid::new(ui.next_auto_id()).num_columns(2).show(ui, |ui| {
                for (name, value) in fields {
                    ui.label(RichText::new(shown(name)).monospace());
                    ui.label(RichText::new(shown(value)).monospace());
                    ui.end_row();
                }
            });
            if *truncated {
                ui.label("…");
            }
        }
        Shown::Pdf { pages } => {
            let pages = pages.map(|n| format!(", {n} {}", Word::Pages.get(locale))).unwrap_or_default();
            ui.label(format!("PDF{pages}"));
        }
        Shown::Binary => {
            ui.label(Word::BinaryData.get(locale));
        }
        Shown::BlindHash { hex } => {
            ui.label(RichText::new(shown(hex)).monospace());
            ui.label(RichText::new(format!("⚠ {}", Word::BlindWarning.get(locale))).color(warning(ui)).strong());
        }
        Shown::CoSign { signers, content } => {
            ui.label(format!("{} {signers}", Word::CoSignWith.get(locale)));
            document(ui, content, locale);
        }
        Shown::File { path, chosen_by_user } => {
            ui.label(RichText::new(shown(path)).monospace());
            if *chosen_by_user {
                ui.label(Word::FileChosen.get(locale));
            } else {
                ui.label(RichText::new(format!("⚠ {}", Word::FileNamedBySite.get(locale))).color(warning(ui)).strong());
            }
        }
    }
}
