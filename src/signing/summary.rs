//! What the confirmation shows about each document: decided here, in one place, from
//! exactly what will be signed.

use der::{Decode, Encode};

use crate::keys::certificate::hex;
use crate::ui::{DocumentSummary, Shown};

/// Characters of a text document shown in the confirmation.
const PREVIEW_CHARS: usize = 300;

/// Describe `data` for the user: its start if it is text, else that it is binary.
pub fn summarize(data: &[u8]) -> DocumentSummary {
    DocumentSummary { size: data.len() as u64, shown: shown_data(data) }
}

fn shown_data(data: &[u8]) -> Shown {
    // Only the start is needed: never decode a whole large document for a preview.
    let head = &data[..data.len().min(PREVIEW_CHARS * 4 + 4)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A multi-byte character cut at the end of the head is fine.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Shown::Binary,
    };
    if text.chars().any(|c| c.is_control() && !c.is_whitespace()) || (text.is_empty() && !data.is_empty()) {
        return Shown::Binary;
    }
    let preview: String = text.chars().take(PREVIEW_CHARS).collect();
    Shown::Text { truncated: preview.len() < data.len(), preview }
}

/// A hash the page computed: the user cannot see the document.
pub fn summarize_digest(digest: &[u8]) -> DocumentSummary {
    DocumentSummary { size: digest.len() as u64, shown: Shown::BlindHash { hex: hex(digest) } }
}

/// An existing CMS the user's signature is added to. Attached content is shown like
/// any document; for a detached CMS the user signs the hash its signers claim, which
/// is a blind signature.
pub fn summarize_cosign(sd: &cms::signed_data::SignedData) -> DocumentSummary {
    let signers = sd.signer_infos.0.len();
    let content = sd
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|e| e.to_der().ok())
        .and_then(|der| der::asn1::OctetString::from_der(&der).ok());
    match content {
        Some(bytes) => {
            let inner = summarize(bytes.as_bytes());
            DocumentSummary { size: inner.size, shown: Shown::CoSign { signers, content: Box::new(inner.shown) } }
        }
        None => {
            let digest = sd
                .signer_infos
                .0
                .iter()
                .find_map(|si| {
                    si.signed_attrs.as_ref()?.iter().find(|a| a.oid == crate::oid::MESSAGE_DIGEST)?.values.get(0)
                })
                .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default();
            DocumentSummary {
                size: digest.len() as u64,
                shown: Shown::CoSign { signers, content: Box::new(Shown::BlindHash { hex: hex(&digest) }) },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_previewed_binary_is_described() {
        assert_eq!(summarize(b"11\n").shown, Shown::Text { preview: "11\n".into(), truncated: false });
        assert_eq!(summarize(&[0, 1, 2]).shown, Shown::Binary);
        let long = "ә".repeat(400);
        match summarize(long.as_bytes()).shown {
            Shown::Text { preview, truncated } => assert!(truncated && preview.chars().count() == PREVIEW_CHARS),
            other => panic!("{other:?}"),
        }
        assert_eq!(summarize_digest(&[0xab, 0x01]).shown, Shown::BlindHash { hex: "ab01".into() });
    }
}
