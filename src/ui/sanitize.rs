//! Showing text a page wrote (origins, paths, extensions, names in certificates,
//! document previews) so that it cannot act on the screen it is shown on.
//!
//! C0 and C1 control characters (escape sequences that clear the screen, move the
//! cursor or write the clipboard), DEL, and the Unicode format characters that reorder
//! or hide text (bidi embeddings, overrides and isolates, marks, zero-width and
//! invisible characters) are replaced by a visible `\u{…}` form. What a person sees is
//! then exactly the characters that are there.

/// Characters that change how surrounding text is laid out or are invisible.
pub(crate) fn is_format(c: char) -> bool {
    matches!(c,
        '\u{061C}'                 // Arabic letter mark
        | '\u{115F}' | '\u{1160}'  // Hangul fillers (render as nothing)
        | '\u{180E}'               // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'  // zero-width space/joiners, LRM, RLM
        | '\u{2028}' | '\u{2029}'  // line and paragraph separators
        | '\u{202A}'..='\u{202E}'  // embeddings and overrides
        | '\u{2060}'..='\u{2064}'  // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}'  // isolates
        | '\u{206A}'..='\u{206F}'  // deprecated format characters
        | '\u{3164}' | '\u{FFA0}'  // Hangul fillers
        | '\u{FEFF}'               // zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'  // interlinear annotations
        | '\u{E0000}'..='\u{E007F}' // tags
    )
}

/// `text` on one line, with every control and format character made visible and runs
/// of spaces shortened to one (so wrapping cannot line fake text up under a label).
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_format(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A document preview: like [`shown`], but line breaks and tabs, which documents
/// have, are shown as `↵` and a space, so the preview stays on its own lines.
pub fn preview(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('↵'),
            '\r' => {}
            c if c.is_control() && c != '\t' || is_format(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_become_visible() {
        assert_eq!(shown("ALL\u{1b}]52;c;aGk=\u{7}\u{1b}[2J"), "ALL\\u{1b}]52;c;aGk=\\u{7}\\u{1b}[2J");
        assert_eq!(shown("a\u{9b}2Jb"), "a\\u{9b}2Jb", "C1 CSI");
        assert_eq!(shown("https://evil.kz\u{202e}zk.vog"), "https://evil.kz\\u{202e}zk.vog");
        assert_eq!(shown("x\ny\rz\u{7f}"), "x\\u{a}y\\u{d}z\\u{7f}");
        assert_eq!(shown("ҚАЗАҚСТАН Ω ✓"), "ҚАЗАҚСТАН Ω ✓");
        assert_eq!(preview("a\r\nb\tc\u{1b}[2A"), "a↵b c\\u{1b}[2A");
        assert_eq!(shown("x                                Сайт: egov.kz"), "x Сайт: egov.kz");
        for text in ["\u{200b}", "\u{2066}", "\u{feff}", "\u{e0041}"] {
            assert!(shown(text).starts_with("\\u{"), "{text:?}");
        }
    }
}
