//! Decoding document data as NCALayer does, with Java's error texts (pages show them).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode standard base64 (line breaks and spaces ignored, padding optional).
/// The error text is Java's: `java.lang.IllegalArgumentException: Illegal base64 character 2d`.
/// Runs in the compute pool: documents can be hundreds of megabytes. The common case
/// (one line, no spaces) is one pass; the text is scanned again only to explain an error
/// or to drop line breaks.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    crate::compute::run_for(text.len(), || {
        let decode = |t: &str| LENIENT.decode(t.trim_end_matches('='));
        if let Ok(bytes) = decode(text) {
            return Ok(bytes);
        }
        let mut spaces = false;
        for b in text.bytes() {
            if b.is_ascii_whitespace() {
                spaces = true;
            } else if !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') {
                return Err(format!("java.lang.IllegalArgumentException: Illegal base64 character {b:x}"));
            }
        }
        let result = if spaces {
            // Line-wrapped base64 (rare from pages): one compact copy.
            decode(&text.chars().filter(|c| !c.is_ascii_whitespace()).collect::<String>())
        } else {
            decode(text)
        };
        result.map_err(|e| format!("java.lang.IllegalArgumentException: {e}"))
    })
}

/// Standard base64 on one line, as NCALayer returns DER.
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_java() {
        assert_eq!(decode_base64("MTEK").unwrap(), b"11\n");
        assert_eq!(decode_base64("MTE\r\nK").unwrap(), b"11\n");
        assert_eq!(
            decode_base64("-----BEGIN").unwrap_err(),
            "java.lang.IllegalArgumentException: Illegal base64 character 2d"
        );
        assert!(decode_base64("M").is_err());
    }
}
