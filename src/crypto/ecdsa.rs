//! ECDSA signature encodings: PKCS#11 tokens and XMLDSig (RFC 4051) use `r ‖ s`, each
//! the curve's size, big-endian; X.509 and CMS the DER `Ecdsa-Sig-Value` (RFC 5480).

use der::asn1::UintRef;
use der::{Decode, Encode, Sequence};

#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// `r ‖ s` (two halves of equal size) as DER.
pub fn raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    EcdsaSigValue { r: UintRef::new(r).ok()?, s: UintRef::new(s).ok()? }.to_der().ok()
}

/// DER as `r ‖ s`, each `size` bytes.
pub fn der_to_raw(der: &[u8], size: usize) -> Option<Vec<u8>> {
    let value = EcdsaSigValue::from_der(der).ok()?;
    let mut raw = vec![0u8; 2 * size];
    for (half, int) in raw.chunks_mut(size).zip([value.r, value.s]) {
        let bytes = int.as_bytes();
        half.get_mut(size.checked_sub(bytes.len())?..)?.copy_from_slice(bytes);
    }
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_der_convert_both_ways_keeping_leading_zeros() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a sign byte in DER
        raw[33] = 0x01; // s starts with a zero byte
        raw[63] = 0x7f;
        let der = raw_to_der(&raw).unwrap();
        assert_eq!(&der[..4], &[0x30, 0x44, 0x02, 0x21]);
        assert_eq!(der_to_raw(&der, 32).unwrap(), raw);
        assert_eq!(der_to_raw(&der, 16), None, "too wide for the size");
        assert_eq!(raw_to_der(&raw[..63]), None);
        assert_eq!(der_to_raw(b"\x30\x00", 32), None);
    }
}
