//! The page that changes a token's PIN (the tray's and the main window's "Change token
//! PIN…"): which token, the current PIN, the new PIN twice, each in a masked
//! [`PasswordField`]. The new PIN is checked here first
//! ([`check_new_pin`](crate::keys::pkcs11::check_new_pin)); only then do the PINs go to
//! the daemon, which asks the token and sends back what it said
//! ([`Ask::PinChanged`](super::wire::Ask::PinChanged)), shown on the page.

use eframe::egui::{self, Color32, RichText, Ui};
use zeroize::Zeroizing;

use super::password::PasswordField;
use super::wire::Answer;
use crate::i18n::Locale;
use crate::i18n::pin::{Pin, outcome};
use crate::keys::pkcs11::{PinChange, check_new_pin};
use crate::ui::TokenSlot;
use crate::ui::sanitize::shown;
use crate::ui::shell::Status;

/// The fields, in order.
const CURRENT: usize = 0;
const NEW: usize = 1;
const AGAIN: usize = 2;

/// What the page asks for this frame.
pub enum PinAct {
    /// Nothing.
    None,
    /// Send this to the daemon.
    Answer(Answer),
    /// Leave the page.
    Close,
}

/// See the module documentation.
pub struct PinForm {
    tokens: Vec<TokenSlot>,
    chosen: usize,
    /// The current PIN, the new one, the new one again.
    fields: [Zeroizing<String>; 3],
    caps_lock: [bool; 3],
    /// The field that gets the keyboard at the next frame.
    focus: Option<usize>,
    /// The field that had the keyboard last.
    typing: usize,
    /// What the last try came to: the check here, or the token's answer.
    said: Option<PinChange>,
    /// The PINs went to the token; its answer has not come yet.
    waiting: bool,
    /// The main window under this page: closing the page goes back to it.
    pub back: Option<Status>,
}

impl PinForm {
    /// A page offering `tokens`, over the main window `back` if it was open.
    pub fn new(tokens: Vec<TokenSlot>, back: Option<Status>) -> Self {
        Self {
            tokens,
            chosen: 0,
            fields: Default::default(),
            caps_lock: [false; 3],
            focus: Some(CURRENT),
            typing: CURRENT,
            said: None,
            waiting: false,
            back,
        }
    }

    /// The token's answer came.
    pub fn answered(&mut self, answer: PinChange) {
        self.waiting = false;
        let token = self.tokens.get_mut(self.chosen);
        match (&answer, token) {
            (PinChange::Changed, _) => self.fields = Default::default(),
            (PinChange::WrongPin { final_try }, Some(token)) => {
                token.pin_final_try = *final_try;
                self.focus = Some(CURRENT);
            }
            (PinChange::Locked, Some(token)) => token.pin_locked = true,
            _ => self.focus = Some(CURRENT),
        }
        self.said = Some(answer);
    }

    /// The PIN was changed: nothing is left to do here.
    fn done(&self) -> bool {
        matches!(self.said, Some(PinChange::Changed))
    }

    /// The chosen token's PIN is locked: no PIN can change it.
    fn locked(&self) -> bool {
        self.tokens.get(self.chosen).is_none_or(|t| t.pin_locked)
    }

    /// What the last try came to, for `QOLTANBA_DIALOG_TRACE` (never a PIN).
    pub fn trace_name(&self) -> Option<&'static str> {
        Some(match self.said.as_ref()? {
            PinChange::Changed => "pin-changed",
            PinChange::Rejected { .. } => "pin-rejected",
            PinChange::WrongPin { .. } => "pin-wrong",
            PinChange::Locked => "pin-locked",
            PinChange::Busy => "pin-busy",
            PinChange::Removed => "pin-removed",
            PinChange::Failed { .. } => "pin-failed",
        })
    }

    /// Check the new PIN; if it will do, the answer that sends the PINs to the token.
    fn submit(&mut self) -> Option<Answer> {
        if self.waiting || self.done() || self.locked() {
            return None;
        }
        if let Some(empty) = self.fields.iter().position(|f| f.is_empty()) {
            self.focus = Some(empty);
            return None;
        }
        if let Err(problem) = check_new_pin(&self.fields[NEW], &self.fields[AGAIN]) {
            self.said = Some(PinChange::Rejected { problem });
            self.fields[NEW] = Zeroizing::default();
            self.fields[AGAIN] = Zeroizing::default();
            self.focus = Some(NEW);
            return None;
        }
        self.waiting = true;
        self.said = None;
        let token = self.tokens.get(self.chosen)?.clone();
        // The current PIN is typed again after any answer; the new one stays typed
        // until the change is done.
        let old = std::mem::take(&mut self.fields[CURRENT]);
        let new = Zeroizing::new(self.fields[NEW].as_str().to_owned());
        Some(Answer::ChangePin { token, old, new })
    }

    /// The page. `fresh`: it just appeared or got the keyboard back.
    pub fn body(&mut self, ui: &mut Ui, locale: Locale, fresh: bool) -> PinAct {
        let t = |text: Pin| text.get(locale);
        let warning = ui.visuals().warn_fg_color;
        ui.add_space(6.0);
        ui.heading(t(Pin::Title));
        ui.add_space(6.0);
        let name = |token: &TokenSlot| format!("{} — {}", shown(&token.label), shown(&token.storage));
        if let [only] = self.tokens.as_slice() {
            ui.horizontal(|ui| {
                ui.label(t(Pin::Token));
                ui.label(RichText::new(name(only)).strong());
            });
        } else {
            ui.label(t(Pin::Token));
            let before = self.chosen;
            for (i, token) in self.tokens.iter().enumerate() {
                ui.radio_value(&mut self.chosen, i, name(token));
            }
            if self.chosen != before {
                self.said = None;
            }
        }
        let label = self.tokens.get(self.chosen).map(|t| t.label.clone()).unwrap_or_default();
        let final_try = self.tokens.get(self.chosen).is_some_and(|t| t.pin_final_try);
        if self.locked() {
            ui.label(RichText::new(format!("⚠ {}", outcome(&PinChange::Locked, "", locale))).color(warning).strong());
        } else if final_try && !self.done() {
            ui.label(RichText::new(format!("⚠ {}", t(Pin::FinalTryWarning))).color(warning).strong());
        }
        let mut act = PinAct::None;
        if !self.done() && !self.locked() {
            // Back in front: the keyboard goes back to the field it was in.
            if fresh && self.focus.is_none() {
                self.focus = Some(self.typing);
            }
            // The first of this frame's events not typed into a field above.
            let mut from = 0;
            // The field that takes the keyboard this frame, if one does.
            let target = self.focus;
            for (i, label) in [(CURRENT, Pin::Current), (NEW, Pin::New), (AGAIN, Pin::Again)] {
                ui.add_space(4.0);
                ui.label(t(label));
                let focus = self.focus == Some(i);
                if focus {
                    self.focus = None;
                }
                // A field above the one taking the keyboard reads nothing this frame:
                // a key would land in both.
                let quiet = target.is_some_and(|j| j > i);
                let field = PasswordField::new(&mut self.fields[i], &mut self.caps_lock[i], t(label));
                let field = field.reading_from(from).focused(focus).quiet(quiet);
                let (field, entered) = ui.add_enabled_ui(!self.waiting, |ui| field.show(ui)).inner;
                if field.has_focus() {
                    self.typing = i;
                }
                // Enter goes to the next empty field, which takes what was typed after it
                // in the same frame; with none left, it changes the PIN.
                if let Some(at) = entered {
                    from = at + 1;
                    match self.fields.iter().position(|f| f.is_empty()) {
                        Some(empty) => self.focus = Some(empty),
                        None => {
                            if let Some(answer) = self.submit() {
                                act = PinAct::Answer(answer);
                            }
                        }
                    }
                }
            }
            ui.label(RichText::new(t(Pin::Rules)).weak());
            if self.caps_lock.iter().any(|c| *c) {
                let caps = crate::i18n::dialog::Text::CapsLock.get(locale);
                ui.label(RichText::new(format!("⚠ {caps}")).color(warning));
            }
        }
        ui.add_space(8.0);
        if self.waiting {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t(Pin::Changing));
            });
        }
        let label = label.as_str();
        match &self.said {
            Some(PinChange::Changed) => {
                let said = format!("✔ {}", outcome(&PinChange::Changed, label, locale));
                ui.label(RichText::new(said).size(16.0).color(Color32::from_rgb(0x4f, 0xbf, 0x7f)));
            }
            // A locked PIN is said above already.
            Some(PinChange::Locked) | None => {}
            Some(other) => {
                let said = format!("⚠ {}", outcome(other, label, locale));
                ui.label(RichText::new(said).size(16.0).color(warning).strong());
            }
        }
        act
    }

    /// The page's buttons, right to left: Change (while there is something to change),
    /// then Close.
    pub fn buttons(&mut self, ui: &mut Ui, locale: Locale) -> PinAct {
        let big = |text: &str| egui::Button::new(RichText::new(text).size(16.0)).min_size(egui::vec2(110.0, 32.0));
        let mut act = PinAct::None;
        if !self.done() && !self.locked() {
            let change = ui.add_enabled(!self.waiting, big(Pin::Change.get(locale)));
            if change.clicked()
                && let Some(answer) = self.submit()
            {
                act = PinAct::Answer(answer);
            }
        }
        // Not while the token works: the answer would have no page to land on.
        if ui.add_enabled(!self.waiting, big(crate::i18n::dialog::Text::Close.get(locale))).clicked() {
            act = PinAct::Close;
        }
        act
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(label: &str) -> TokenSlot {
        TokenSlot {
            storage: "PKCS11".into(),
            slot: 1,
            label: label.into(),
            module: 0,
            pin_final_try: false,
            pin_locked: false,
        }
    }

    fn typed(form: &mut PinForm, pins: [&str; 3]) {
        for (field, pin) in form.fields.iter_mut().zip(pins) {
            *field = Zeroizing::new(pin.to_owned());
        }
    }

    #[test]
    fn the_new_pin_is_checked_before_anything_is_sent() {
        let mut form = PinForm::new(vec![token("a"), token("b")], None);
        typed(&mut form, ["12345678", "246813", "246814"]);
        assert!(form.submit().is_none());
        assert_eq!(form.trace_name(), Some("pin-rejected"));
        assert!(form.fields[NEW].is_empty() && form.fields[AGAIN].is_empty(), "typed again");
        typed(&mut form, ["12345678", "1234567890", "1234567890"]);
        assert!(form.submit().is_none(), "a factory PIN is refused");
        form.chosen = 1;
        typed(&mut form, ["12345678", "246813", "246813"]);
        match form.submit() {
            Some(Answer::ChangePin { token, old, new }) => {
                assert_eq!((token.label.as_str(), old.as_str(), new.as_str()), ("b", "12345678", "246813"))
            }
            other => panic!("{other:?}"),
        }
        assert!(form.submit().is_none(), "once, until the token answers");
        form.answered(PinChange::WrongPin { final_try: true });
        assert!(form.tokens[1].pin_final_try);
        assert!(form.fields[CURRENT].is_empty() && form.fields[NEW].as_str() == "246813");
        form.fields[CURRENT] = Zeroizing::new("87654321".into());
        assert!(form.submit().is_some());
        form.answered(PinChange::Changed);
        assert!(form.done() && form.fields.iter().all(|f| f.is_empty()));
        assert!(form.submit().is_none(), "nothing left to change");
    }

    /// One frame of the page with `events`; what the page asked for.
    fn frame(ctx: &egui::Context, form: &mut PinForm, events: Vec<egui::Event>, fresh: bool) -> Option<Answer> {
        let input = egui::RawInput { events, ..Default::default() };
        let mut asked = None;
        let mut output = ctx.run_ui(input, |ui| {
            if let PinAct::Answer(answer) = form.body(ui, Locale::En, fresh) {
                asked = Some(answer);
            }
        });
        // Nothing draws here: the font textures are let go unused.
        output.textures_delta.clear();
        asked
    }

    fn enter() -> egui::Event {
        egui::Event::Key {
            key: egui::Key::Enter,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: Default::default(),
        }
    }

    /// A person types the three PINs, each ended by Enter, faster than the window draws:
    /// everything arrives in one frame, and each PIN still lands in its own field.
    #[test]
    fn typing_ahead_across_fields_in_one_frame_loses_nothing() {
        use egui::Event::Text;
        let ctx = egui::Context::default();
        let mut form = PinForm::new(vec![token("a")], None);
        assert!(frame(&ctx, &mut form, vec![], true).is_none());
        let typed = vec![
            Text("0000".into()),
            Text("0000".into()),
            enter(),
            Text("24681357".into()),
            enter(),
            Text("2468".into()),
            Text("1357".into()),
            enter(),
            Text("99".into()),
        ];
        match frame(&ctx, &mut form, typed, false) {
            Some(Answer::ChangePin { old, new, .. }) => {
                assert_eq!((old.as_str(), new.as_str()), ("00000000", "24681357"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(form.fields[AGAIN].as_str(), "24681357", "what came after the last Enter is not typed in");
        // The token said the current PIN was wrong: the keyboard is back in its field.
        form.answered(PinChange::WrongPin { final_try: false });
        assert!(frame(&ctx, &mut form, vec![], false).is_none());
        match frame(&ctx, &mut form, vec![Text("12345678".into()), enter()], false) {
            Some(Answer::ChangePin { old, new, .. }) => {
                assert_eq!((old.as_str(), new.as_str()), ("12345678", "24681357"))
            }
            other => panic!("{other:?}"),
        }
    }

    /// The window goes behind another and comes back while the current PIN is half
    /// typed: the rest goes on in the same field, and in no other.
    #[test]
    fn back_in_front_the_keyboard_is_where_it_was() {
        use egui::Event::Text;
        let ctx = egui::Context::default();
        let mut form = PinForm::new(vec![token("a")], None);
        assert!(frame(&ctx, &mut form, vec![], true).is_none());
        assert!(frame(&ctx, &mut form, vec![Text("1234".into())], false).is_none());
        assert!(frame(&ctx, &mut form, vec![Text("5".into())], true).is_none());
        assert!(frame(&ctx, &mut form, vec![Text("678".into())], false).is_none());
        assert_eq!(form.fields[CURRENT].as_str(), "12345678");
        assert!(form.fields[NEW].is_empty() && form.fields[AGAIN].is_empty());
        // Told to go to a field below (the new PIN was refused): the key lands there only.
        form.focus = Some(NEW);
        assert!(frame(&ctx, &mut form, vec![Text("2".into())], false).is_none());
        assert_eq!((form.fields[CURRENT].as_str(), form.fields[NEW].as_str()), ("12345678", "2"));
    }

    /// While the token works the fields take no typing.
    #[test]
    fn nothing_is_typed_while_the_token_works() {
        let ctx = egui::Context::default();
        let mut form = PinForm::new(vec![token("a")], None);
        typed(&mut form, ["12345678", "246813", "246813"]);
        assert!(form.submit().is_some());
        form.focus = Some(CURRENT);
        assert!(frame(&ctx, &mut form, vec![egui::Event::Text("77".into()), enter()], false).is_none());
        assert!(form.fields[CURRENT].is_empty());
    }

    #[test]
    fn a_locked_token_takes_no_pin() {
        let mut form = PinForm::new(vec![TokenSlot { pin_locked: true, ..token("a") }], None);
        typed(&mut form, ["12345678", "246813", "246813"]);
        assert!(form.submit().is_none());
    }
}
