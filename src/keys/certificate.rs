//! A signer's X.509 certificate and the facts NCALayer reports about it.
//!
//! Names are rendered the way Kalkan does (spec §3.4): RDNs in encoding order,
//! joined by `,` without spaces, with Kalkan's attribute symbols (`S` for the state,
//! `G` for the given name, `SERIALNUMBER`, `E`). Pages parse these strings with
//! `split(',')`, so the format is part of the wire contract.

use der::asn1::{Any, BmpString, Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;

use crate::keys::KeyAlgorithm;

/// A parsed certificate together with its DER encoding.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    parsed: x509_cert::Certificate,
}

impl Certificate {
    /// Parse a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, der::Error> {
        let parsed = x509_cert::Certificate::from_der(der)?;
        Ok(Self { der: der.to_vec(), parsed })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn parsed(&self) -> &x509_cert::Certificate {
        &self.parsed
    }

    pub fn subject_dn(&self) -> String {
        format_dn(self.parsed.tbs_certificate().subject())
    }

    pub fn issuer_dn(&self) -> String {
        format_dn(self.parsed.tbs_certificate().issuer())
    }

    pub fn subject_cn(&self) -> String {
        first_value(self.parsed.tbs_certificate().subject(), "2.5.4.3").unwrap_or_default()
    }

    pub fn issuer_cn(&self) -> String {
        first_value(self.parsed.tbs_certificate().issuer(), "2.5.4.3").unwrap_or_default()
    }

    /// Every value of subject attribute `oid` (dotted), in encoding order.
    pub fn subject_values(&self, oid: &str) -> Vec<String> {
        self.parsed
            .tbs_certificate()
            .subject()
            .iter()
            .filter(|atv| atv.oid.to_string() == oid)
            .filter_map(|atv| attribute_text(&atv.value))
            .collect()
    }

    /// The individual identification number from `SERIALNUMBER=IIN…`, if any.
    pub fn iin(&self) -> Option<String> {
        first_value(self.parsed.tbs_certificate().subject(), "2.5.4.5")
            .and_then(|v| v.strip_prefix("IIN").map(str::to_owned))
    }

    /// The business identification number from `OU=BIN…`, if any.
    pub fn bin(&self) -> Option<String> {
        self.parsed
            .tbs_certificate()
            .subject()
            .iter()
            .filter(|atv| atv.oid.to_string() == "2.5.4.11")
            .filter_map(|atv| attribute_text(&atv.value))
            .find_map(|v| v.strip_prefix("BIN").map(str::to_owned))
    }

    /// Serial number as lower-case hex without leading zero bytes.
    pub fn serial_hex(&self) -> String {
        let bytes = self.parsed.tbs_certificate().serial_number().as_bytes();
        let trimmed = match bytes.iter().position(|b| *b != 0) {
            Some(i) => &bytes[i..],
            None => &bytes[bytes.len().saturating_sub(1)..],
        };
        hex(trimmed)
    }

    pub fn not_before_ms(&self) -> i64 {
        let t = self.parsed.tbs_certificate().validity().not_before;
        t.to_unix_duration().as_millis() as i64
    }

    pub fn not_after_ms(&self) -> i64 {
        let t = self.parsed.tbs_certificate().validity().not_after;
        t.to_unix_duration().as_millis() as i64
    }

    pub fn subject_key_id_hex(&self) -> Option<String> {
        let tbs = self.parsed.tbs_certificate();
        match tbs.get_extension::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => Some(hex(ski.0.as_bytes())),
            _ => None,
        }
    }

    pub fn authority_key_id_hex(&self) -> Option<String> {
        let tbs = self.parsed.tbs_certificate();
        match tbs.get_extension::<AuthorityKeyIdentifier>() {
            Ok(Some((_, aki))) => aki.key_identifier.map(|k| hex(k.as_bytes())),
            _ => None,
        }
    }

    /// Extended key usage OIDs in dotted form (empty if the extension is absent).
    pub fn extended_key_usages(&self) -> Vec<String> {
        let tbs = self.parsed.tbs_certificate();
        match tbs.get_extension::<ExtendedKeyUsage>() {
            Ok(Some((_, eku))) => eku.0.iter().map(|o| o.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    /// The key usage extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        match self.parsed.tbs_certificate().get_extension::<KeyUsage>() {
            Ok(Some((_, ku))) => Some(ku),
            _ => None,
        }
    }

    /// The key algorithm named by the certificate's public key.
    pub fn key_algorithm(&self) -> Option<KeyAlgorithm> {
        let algorithm = &self.parsed.tbs_certificate().subject_public_key_info().algorithm;
        match KeyAlgorithm::from_key_oid(&algorithm.oid)? {
            // Of the EC curves, P-256 only.
            KeyAlgorithm::EcdsaP256 => algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                .filter(|curve| *curve == crate::oid::P256)
                .map(|_| KeyAlgorithm::EcdsaP256),
            other => Some(other),
        }
    }

    /// PEM with 64-column lines, `\n` line ends and a trailing newline.
    pub fn pem(&self) -> String {
        pem_armor("CERTIFICATE", &self.der)
    }

    /// Is `now_ms` (epoch milliseconds) inside the validity period?
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        self.not_before_ms() <= now_ms && now_ms <= self.not_after_ms()
    }
}

/// Parse a certificate given as PEM or DER.
pub fn parse_x509(bytes: &[u8]) -> Option<x509_cert::Certificate> {
    match der::pem::decode_vec(bytes) {
        Ok((_, der)) => x509_cert::Certificate::from_der(&der).ok(),
        Err(_) => x509_cert::Certificate::from_der(bytes).ok(),
    }
}

/// Every certificate in a PEM bundle, or the one DER certificate.
pub fn parse_x509_all(bytes: &[u8]) -> Vec<x509_cert::Certificate> {
    match x509_cert::Certificate::load_pem_chain(bytes) {
        Ok(certs) if !certs.is_empty() => certs,
        _ => x509_cert::Certificate::from_der(bytes).into_iter().collect(),
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// PEM armour with 64-column base64 lines and `\n` line ends.
pub fn pem_armor(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Kalkan's symbol for an attribute type, or the dotted OID.
fn attribute_symbol(oid: &str) -> &str {
    match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SURNAME",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "S",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.42" => "G",
        "2.5.4.43" => "INITIALS",
        "2.5.4.44" => "GENERATION",
        "2.5.4.46" => "DNQ",
        "1.2.840.113549.1.9.1" => "E",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => other,
    }
}

/// Render a name as NCALayer does: `CN=…,SURNAME=…,SERIALNUMBER=IIN…,C=KZ`.
pub fn format_dn(name: &Name) -> String {
    let mut parts = Vec::new();
    for rdn in name.iter_rdn() {
        let rdn_text: Vec<String> = rdn
            .iter()
            .map(|atv| {
                let oid = atv.oid.to_string();
                let value = match attribute_text(&atv.value) {
                    Some(text) => escape_dn_value(&text),
                    None => format!("#{}", hex(&atv.value.to_der().unwrap_or_default())),
                };
                format!("{}={}", attribute_symbol(&oid), value)
            })
            .collect();
        parts.push(rdn_text.join("+"));
    }
    parts.join(",")
}

/// The first value of attribute `oid` in `name`, as text.
fn first_value(name: &Name, oid: &str) -> Option<String> {
    name.iter().find(|atv| atv.oid.to_string() == oid).and_then(|atv| attribute_text(&atv.value))
}

/// Decode a DirectoryString-like attribute value to text.
fn attribute_text(value: &Any) -> Option<String> {
    let bytes = value.to_der().ok()?;
    match value.tag() {
        Tag::Utf8String => Utf8StringRef::from_der(&bytes).ok().map(|s| s.to_string()),
        Tag::PrintableString => PrintableStringRef::from_der(&bytes).ok().map(|s| s.to_string()),
        Tag::Ia5String => Ia5StringRef::from_der(&bytes).ok().map(|s| s.to_string()),
        Tag::TeletexString => TeletexStringRef::from_der(&bytes).ok().map(|s| s.to_string()),
        Tag::BmpString => BmpString::from_der(&bytes).ok().map(|s| s.to_string()),
        _ => None,
    }
}

/// Escape the characters RFC 2253 reserves, as Java's X500Name printer does.
fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let leading = i == 0 && (c == '#' || c == ' ');
        if leading || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_reserved_characters() {
        assert_eq!(escape_dn_value(r#"ТОО "Рога, и копыта""#), r#"ТОО \"Рога\, и копыта\""#);
        assert_eq!(escape_dn_value("#1"), "\\#1");
    }

    #[test]
    fn pem_lines_are_64_wide() {
        let pem = pem_armor("CMS", &[7u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CMS-----");
        assert_eq!(lines[1].len(), 64);
        assert!(pem.ends_with("-----END CMS-----\n"));
    }
}
