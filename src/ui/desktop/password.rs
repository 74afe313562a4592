//! A masked password field that keeps what is typed only in zeroizing memory.
//!
//! egui's own `TextEdit` keeps undo copies of its text in egui's memory; this field
//! keeps none: it reads the frame's key events, appends to a [`Zeroizing`] buffer and
//! draws bullets. The accessibility tree sees a password input whose value is the
//! bullets, never the text.

use eframe::egui::{self, Event, Key, Response, Sense, Ui, Widget, WidgetInfo};
use zeroize::Zeroizing;

/// The bullet drawn for each character.
const BULLET: char = '•';

/// See the module documentation.
pub struct PasswordField<'a> {
    text: &'a mut Zeroizing<String>,
    /// Set when typed letters suggest Caps Lock is on.
    caps_lock: &'a mut bool,
    label: &'a str,
    /// The first of this frame's events the field reads: those before it were typed
    /// into an earlier field, before an Enter that moved the keyboard here.
    from: usize,
    /// Take the keyboard now, before this frame's typing is read.
    focus: bool,
    /// Read no typing this frame.
    quiet: bool,
}

/// Does `c`, typed with `shift` held or not, suggest Caps Lock? Only letters tell.
fn suggests_caps_lock(c: char, shift: bool) -> Option<bool> {
    (c.is_alphabetic() && c.is_lowercase() != c.is_uppercase()).then_some(c.is_uppercase() != shift)
}

/// Append `c`; when the buffer is full, move to one twice the size and wipe the old
/// one (a `String` growing by itself would leave the old bytes behind, unwiped).
fn push_wiped(text: &mut Zeroizing<String>, c: char) {
    if text.len() + c.len_utf8() > text.capacity() {
        let mut grown = Zeroizing::new(String::with_capacity((text.capacity() * 2).max(64)));
        grown.push_str(text);
        // The old buffer is wiped as it is dropped.
        *text = grown;
    }
    text.push(c);
}

impl<'a> PasswordField<'a> {
    pub fn new(text: &'a mut Zeroizing<String>, caps_lock: &'a mut bool, label: &'a str) -> Self {
        Self { text, caps_lock, label, from: 0, focus: false, quiet: false }
    }

    /// Read this frame's events from the `from`th on.
    pub fn reading_from(self, from: usize) -> Self {
        Self { from, ..self }
    }

    /// Take the keyboard this frame if `focus`.
    pub fn focused(self, focus: bool) -> Self {
        Self { focus, ..self }
    }

    /// Read no typing this frame if `quiet`: another field takes the keyboard in it.
    pub fn quiet(self, quiet: bool) -> Self {
        Self { quiet, ..self }
    }

    /// The field, and the index among this frame's events of the Enter that ended what
    /// was typed into it, if one did. Typing after that Enter is left for the next field:
    /// a person who types ahead faster than the window draws loses nothing.
    pub fn show(self, ui: &mut Ui) -> (Response, Option<usize>) {
        let height = ui.spacing().interact_size.y * 1.4;
        let size = egui::vec2(ui.available_width(), height);
        let (rect, mut response) = ui.allocate_exact_size(size, Sense::click());
        if response.clicked() || self.focus {
            response.request_focus();
        }
        let mut entered = None;
        if response.has_focus() && ui.is_enabled() && !self.quiet {
            let before = self.text.chars().count();
            ui.input(|input| {
                for (at, event) in input.events.iter().enumerate().skip(self.from) {
                    match event {
                        Event::Text(typed) | Event::Paste(typed) => {
                            for c in typed.chars().filter(|c| !c.is_control()) {
                                if let Some(caps) = suggests_caps_lock(c, input.modifiers.shift) {
                                    *self.caps_lock = caps;
                                }
                                push_wiped(self.text, c);
                            }
                        }
                        Event::Key { key: Key::Backspace, pressed: true, .. } => {
                            self.text.pop();
                        }
                        Event::Key { key: Key::Enter, pressed: true, .. } => {
                            entered = Some(at);
                            break;
                        }
                        _ => {}
                    }
                }
            });
            if self.text.chars().count() != before {
                response.mark_changed();
            }
            // Keep Tab and the arrows inside the field from moving focus mid-typing.
            ui.memory_mut(|m| {
                m.set_focus_lock_filter(response.id, egui::EventFilter { tab: false, ..Default::default() })
            });
        }

        let masked: String = std::iter::repeat_n(BULLET, self.text.chars().count()).collect();
        let visuals = ui.style().interact(&response);
        let painter = ui.painter();
        painter.rect(
            rect,
            visuals.corner_radius,
            ui.visuals().extreme_bg_color,
            if response.has_focus() { ui.visuals().selection.stroke } else { visuals.bg_stroke },
            egui::StrokeKind::Inside,
        );
        let font = egui::TextStyle::Body.resolve(ui.style());
        let text_pos = rect.left_center() + egui::vec2(8.0, 0.0);
        let galley = painter.layout_no_wrap(masked.clone(), font, ui.visuals().text_color());
        let galley_width = galley.size().x;
        painter.galley(text_pos - egui::vec2(0.0, galley.size().y / 2.0), galley, ui.visuals().text_color());
        if response.has_focus() {
            let x = text_pos.x + galley_width + 1.0;
            let stroke = egui::Stroke::new(1.5, ui.visuals().text_color());
            painter.line_segment([egui::pos2(x, rect.top() + 6.0), egui::pos2(x, rect.bottom() - 6.0)], stroke);
        }
        let label = self.label.to_owned();
        response.widget_info(|| WidgetInfo::text_edit(true, masked.clone(), masked.clone(), label.as_str()));
        ui.ctx().accesskit_node_builder(response.id, |node| {
            node.set_role(egui::accesskit::Role::PasswordInput);
            node.set_value(masked.clone());
            node.set_label(label.clone());
        });
        (response, entered)
    }
}

impl Widget for PasswordField<'_> {
    fn ui(self, ui: &mut Ui) -> Response {
        self.show(ui).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What assistive technology (screen readers, automation) can read of the window.
    fn accessible_texts(text: &str, typed: &str) -> (Vec<String>, Zeroizing<String>) {
        let ctx = egui::Context::default();
        ctx.enable_accesskit();
        let mut password = Zeroizing::new(text.to_owned());
        let mut caps = false;
        let mut texts = Vec::new();
        for frame in 0..3 {
            let mut input = egui::RawInput::default();
            if frame == 2 {
                input.events.push(Event::Text(typed.to_owned()));
            }
            let output = ctx.run_ui(input, |ui| {
                let field = ui.add(PasswordField::new(&mut password, &mut caps, "Password:"));
                if frame == 0 {
                    field.request_focus();
                }
            });
            let mut output = output;
            output.textures_delta.clear();
            let update = output.platform_output.accesskit_update.take().expect("accesskit is on");
            for (_, node) in update.nodes {
                texts.extend(node.value().map(str::to_owned));
                texts.extend(node.label().map(str::to_owned));
                if node.role() == egui::accesskit::Role::PasswordInput {
                    texts.push(format!("<password input: {}>", node.value().unwrap_or_default()));
                }
            }
        }
        (texts, password)
    }

    #[test]
    fn the_accessibility_tree_sees_bullets_never_the_password() {
        let (texts, password) = accessible_texts("sécret", "Ә1");
        assert_eq!(password.as_str(), "sécretӘ1", "typing reaches the buffer");
        assert!(texts.iter().any(|t| t == "<password input: ••••••••>"), "{texts:?}");
        assert!(texts.iter().all(|t| !t.contains("sécret") && !t.contains("Ә1")), "{texts:?}");
    }

    #[test]
    fn a_growing_password_moves_to_a_bigger_buffer_it_owns() {
        let mut text = Zeroizing::new(String::new());
        for c in "Ә".repeat(100).chars() {
            push_wiped(&mut text, c);
            assert!(text.capacity() >= text.len());
        }
        assert_eq!(text.as_str(), "Ә".repeat(100));
        assert_eq!(text.capacity(), 256, "doubled from 64 by the field itself, never by String");
    }

    #[test]
    fn only_letters_tell_about_caps_lock() {
        assert_eq!(suggests_caps_lock('A', false), Some(true));
        assert_eq!(suggests_caps_lock('a', true), Some(true));
        assert_eq!(suggests_caps_lock('a', false), Some(false));
        assert_eq!(suggests_caps_lock('Ә', false), Some(true));
        assert_eq!(suggests_caps_lock('1', false), None);
    }
}
