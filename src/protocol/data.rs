//! Decoding document data as NCALayer does, with Java's error texts (pages show them).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode standard base64 (line breaks and spaces ignored, padding optional).
/// The error text is Java's: `java.lang.IllegalArgumentException: Illegal base64 character 2d`.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    if let Some(bad) =
        text.bytes().find(|b| !(b.is_ascii_alphanumeric() || b"+/=".contains(b) || b.is_ascii_whitespace()))
    {
        return Err(format!("java.lang.IllegalArgumentException: Illegal base64 character {bad:x}"));
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact.trim_end_matches('=')).map_err(|e| format!("java.lang.IllegalArgumentException: {e}"))
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
