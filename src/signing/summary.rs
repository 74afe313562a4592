//! What the confirmation dialog shows about each document.

use crate::ui::DocumentSummary;

/// Characters of a text document shown in the confirmation.
const PREVIEW_CHARS: usize = 300;

/// Describe `data` for the user: its start if it is text, else its size.
pub fn summarize(data: &[u8]) -> DocumentSummary {
    let preview = match std::str::from_utf8(data) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) => {
            let mut shown: String = text.chars().take(PREVIEW_CHARS).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            shown
        }
        _ => format!("binary data, {} bytes", data.len()),
    };
    DocumentSummary { size: data.len() as u64, preview }
}

/// Describe a pre-computed digest: the user cannot see the document itself.
pub fn summarize_digest(digest: &[u8]) -> DocumentSummary {
    DocumentSummary {
        size: digest.len() as u64,
        preview: format!(
            "a document given only by its hash {} (the site did not show the document)",
            crate::keys::certificate::hex(digest)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_previewed_binary_is_described() {
        assert_eq!(summarize(b"11\n").preview, "11\n");
        assert_eq!(summarize(&[0, 1, 2]).preview, "binary data, 3 bytes");
        assert!(summarize("ә".repeat(400).as_bytes()).preview.ends_with('…'));
    }
}
