//! Checking a signature made by someone else's key: certificates, CRLs, CMS signer
//! infos, XML signatures. One entry point for every algorithm NCA RK uses.

use der::asn1::ObjectIdentifier;
use spki::SubjectPublicKeyInfoOwned;

use super::Hasher;
use super::gost::GostCurve;
use crate::keys::KeyAlgorithm;

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The signature does not match.
    Invalid,
    /// The algorithm or key is one we do not know.
    Unsupported(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid => f.write_str("the signature does not match"),
            Self::Unsupported(what) => write!(f, "unsupported algorithm {what}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// The digest algorithm of a signature algorithm we verify; `None` for the others.
pub fn digest_of_signature(oid: &ObjectIdentifier) -> Option<ObjectIdentifier> {
    Some(ObjectIdentifier::new_unwrap(match oid.to_string().as_str() {
        "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" => "2.16.840.1.101.3.4.2.1",
        "1.2.840.113549.1.1.5" => "1.3.14.3.2.26",
        "1.2.398.3.10.1.1.1.2" => "1.2.398.3.10.1.3.1",
        "1.2.398.3.10.1.1.2.3.1" => "1.2.398.3.10.1.3.2",
        "1.2.398.3.10.1.1.2.3.2" => "1.2.398.3.10.1.3.3",
        _ => return None,
    }))
}

/// The GOST curve of a public key, from its algorithm and parameters.
pub fn gost_curve(spki: &SubjectPublicKeyInfoOwned) -> Option<GostCurve> {
    match KeyAlgorithm::from_key_oid(&spki.algorithm.oid)? {
        KeyAlgorithm::Gost2004 => Some(GostCurve::CryptoProA),
        KeyAlgorithm::Gost2015_256 => Some(GostCurve::Tc26_256A),
        KeyAlgorithm::Gost2015_512 => Some(GostCurve::Tc26_512A),
        KeyAlgorithm::Rsa | KeyAlgorithm::EcdsaP256 => None,
    }
}

/// A GOST public key's `X_LE ‖ Y_LE` octets (the BIT STRING holds a DER OCTET STRING).
pub fn gost_public_octets(spki: &SubjectPublicKeyInfoOwned) -> Option<Vec<u8>> {
    use der::Decode;
    let bits = spki.subject_public_key.as_bytes()?;
    let inner = der::asn1::OctetString::from_der(bits).ok()?;
    Some(inner.as_bytes().to_vec())
}

/// Verify `signature` over `message` with `signer`'s key, for the signature algorithm
/// `algorithm` (e.g. a certificate's `signatureAlgorithm`).
pub fn verify(
    signer: &SubjectPublicKeyInfoOwned,
    algorithm: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let digest_oid = digest_of_signature(algorithm).ok_or_else(|| VerifyError::Unsupported(algorithm.to_string()))?;
    let key = KeyAlgorithm::from_key_oid(&signer.algorithm.oid);
    // ECDSA signatures come from EC keys only, and EC keys make nothing else.
    if (*algorithm == crate::oid::ECDSA_WITH_SHA256) != (key == Some(KeyAlgorithm::EcdsaP256)) {
        return Err(VerifyError::Unsupported(format!("{algorithm} with this key")));
    }
    match key {
        Some(KeyAlgorithm::Rsa) => verify_rsa(signer, &digest_oid, message, signature),
        Some(KeyAlgorithm::EcdsaP256) => verify_ecdsa(signer, &digest_oid, message, signature),
        Some(_) => {
            let hasher =
                Hasher::for_oid(&digest_oid).ok_or_else(|| VerifyError::Unsupported(digest_oid.to_string()))?;
            verify_gost_digest(signer, &hasher.digest(message), signature)
        }
        None => Err(VerifyError::Unsupported(signer.algorithm.oid.to_string())),
    }
}

/// Verify a GOST signature (`r_LE ‖ s_LE`) over an already computed digest.
pub fn verify_gost_digest(
    signer: &SubjectPublicKeyInfoOwned,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let curve = gost_curve(signer).ok_or_else(|| VerifyError::Unsupported(signer.algorithm.oid.to_string()))?;
    let public = gost_public_octets(signer).ok_or(VerifyError::Unsupported("malformed GOST public key".into()))?;
    if curve.verify(&public, digest, signature) { Ok(()) } else { Err(VerifyError::Invalid) }
}

/// ECDSA P-256 with SHA-256, the signature DER-encoded (X.509, CMS).
fn verify_ecdsa(
    signer: &SubjectPublicKeyInfoOwned,
    digest_oid: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
    let p256 = signer.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if p256 != Some(crate::oid::P256) {
        return Err(VerifyError::Unsupported("an EC curve other than P-256".into()));
    }
    if *digest_oid != crate::oid::SHA256 {
        return Err(VerifyError::Unsupported(digest_oid.to_string()));
    }
    let point = signer.subject_public_key.raw_bytes();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point).verify(message, signature).map_err(|_| VerifyError::Invalid)
}

fn verify_rsa(
    signer: &SubjectPublicKeyInfoOwned,
    digest_oid: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    use ring::signature::{
        RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    };
    let params = match digest_oid.to_string().as_str() {
        "2.16.840.1.101.3.4.2.1" => &RSA_PKCS1_2048_8192_SHA256,
        "1.3.14.3.2.26" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        other => return Err(VerifyError::Unsupported(other.to_string())),
    };
    let key = signer.subject_public_key.raw_bytes();
    UnparsedPublicKey::new(params, key).verify(message, signature).map_err(|_| VerifyError::Invalid)
}

/// Verify `signature` by `signer` over a message whose digest (for the signature
/// algorithm `algorithm`) is `digest`, for data hashed as it streams (CRLs): GOST as
/// [`verify`] does; RSA by [`verify_rsa_digest`] (ring verifies only whole messages).
pub fn verify_digest(
    signer: &SubjectPublicKeyInfoOwned,
    algorithm: &ObjectIdentifier,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    match KeyAlgorithm::from_key_oid(&signer.algorithm.oid) {
        Some(KeyAlgorithm::Rsa) => verify_rsa_digest(signer, algorithm, digest, signature),
        Some(KeyAlgorithm::EcdsaP256) => Err(VerifyError::Unsupported("ECDSA over a ready hash".into())),
        Some(_) => verify_gost_digest(signer, digest, signature),
        None => Err(VerifyError::Unsupported(signer.algorithm.oid.to_string())),
    }
}

/// RSASSA-PKCS1-v1_5 verification over a digest (RFC 8017 §8.2.2): the public-key
/// operation (`rsa`'s key parsing and Montgomery parameters, `crypto-bigint`'s
/// exponentiation), then the whole expected encoding `00 01 FF… 00 ‖ DigestInfo`
/// compared byte for byte, so nothing in the signature is parsed.
fn verify_rsa_digest(
    signer: &SubjectPublicKeyInfoOwned,
    algorithm: &ObjectIdentifier,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    use crypto_bigint::BoxedUint;
    use crypto_bigint::modular::BoxedMontyForm;
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    // DigestInfo prefixes (RFC 8017 §9.2 note 1).
    const SHA256: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    const SHA1: &[u8] = &[0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14];
    let (prefix, digest_len) = match algorithm.to_string().as_str() {
        "1.2.840.113549.1.1.11" => (SHA256, 32),
        "1.2.840.113549.1.1.5" => (SHA1, 20),
        other => return Err(VerifyError::Unsupported(other.to_string())),
    };
    let key = rsa::PublicKey::from_pkcs1_der(signer.subject_public_key.raw_bytes())
        .map_err(|e| VerifyError::Unsupported(format!("malformed RSA key: {e}")))?;
    let k = key.size();
    // As ring: 2048 to 8192 bits.
    if !(256..=1024).contains(&k) {
        return Err(VerifyError::Unsupported("RSA key size".into()));
    }
    if digest.len() != digest_len || signature.len() != k {
        return Err(VerifyError::Invalid);
    }
    let s = BoxedUint::from_be_slice(signature, key.n_bits_precision()).map_err(|_| VerifyError::Invalid)?;
    if s >= *key.n().as_ref() {
        return Err(VerifyError::Invalid);
    }
    let m = BoxedMontyForm::new(s, key.n_params()).pow(key.e()).retrieve().to_be_bytes();
    let (zeros, em) = m.split_at(m.len().saturating_sub(k));
    let mut expected = vec![0xffu8; k];
    expected[0] = 0;
    expected[1] = 1;
    let t = k - prefix.len() - digest.len();
    expected[t - 1] = 0;
    expected[t..t + prefix.len()].copy_from_slice(prefix);
    expected[t + prefix.len()..].copy_from_slice(digest);
    if zeros.iter().all(|&b| b == 0) && em == expected.as_slice() { Ok(()) } else { Err(VerifyError::Invalid) }
}

/// Verify that `cert` was signed by the key of `issuer`.
pub fn verify_certificate(
    cert: &x509_cert::Certificate,
    issuer: &SubjectPublicKeyInfoOwned,
) -> Result<(), VerifyError> {
    use der::Encode;
    let tbs = cert.tbs_certificate().to_der().map_err(|e| VerifyError::Unsupported(e.to_string()))?;
    let signature = cert.signature().as_bytes().ok_or(VerifyError::Invalid)?;
    verify(issuer, &cert.signature_algorithm().oid, &tbs, signature)
}
