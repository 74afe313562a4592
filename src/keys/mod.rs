//! Signing keys: where they come from (PKCS#12 files, later tokens) and the one
//! interface the signing core uses to sign with them.
//!
//! Nothing above this module touches key bytes: the core hands a [`SigningKey`] the
//! message and gets the signature back, so a key that never leaves a token fits the
//! same interface as a key decrypted from a file.

pub mod certificate;
pub mod demo;
pub mod file;
pub mod hygiene;
pub mod pkcs11;
pub mod pkcs12;
pub mod recent;
mod software;
pub mod source;

use der::asn1::ObjectIdentifier;
use serde::Serialize;

pub use certificate::Certificate;
pub use file::{KeyFileError, load_key_file};
pub use software::warm_up;

use crate::oid;

/// The signature algorithm family of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA with SHA-256 (PKCS#1 v1.5).
    Rsa,
    /// GOST 34.310-2004 with GOST 34.311-95.
    Gost2004,
    /// GOST 34.10-2015 256-bit with GOST 34.11-2015 256.
    Gost2015_256,
    /// GOST 34.10-2015 512-bit with GOST 34.11-2015 512.
    Gost2015_512,
    /// ECDSA on NIST P-256 with SHA-256 (keys on foreign tokens; NCA RK issues none).
    EcdsaP256,
}

impl KeyAlgorithm {
    /// The algorithm a public-key OID names.
    pub fn from_key_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            o if o == oid::RSA_ENCRYPTION => Some(Self::Rsa),
            o if o == oid::GOST_2004_KEY => Some(Self::Gost2004),
            o if o == oid::GOST_2015_256_KEY => Some(Self::Gost2015_256),
            o if o == oid::GOST_2015_512_KEY => Some(Self::Gost2015_512),
            // The curve is in the parameters: see `Certificate::key_algorithm`.
            o if o == oid::EC_PUBLIC_KEY => Some(Self::EcdsaP256),
            _ => None,
        }
    }

    /// The name NCALayer's `getKeyInfo` reports in `algorithm`.
    pub fn key_info_name(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::Gost2004 => "ECGOST34310",
            Self::Gost2015_256 | Self::Gost2015_512 => "ECGOST3410-2015",
            Self::EcdsaP256 => "EC",
        }
    }

    /// The digest algorithm OID used with this key in CMS.
    pub fn digest_oid(self) -> ObjectIdentifier {
        match self {
            Self::Rsa | Self::EcdsaP256 => oid::SHA256,
            Self::Gost2004 => ObjectIdentifier::new_unwrap("1.2.398.3.10.1.3.1"),
            Self::Gost2015_256 => ObjectIdentifier::new_unwrap("1.2.398.3.10.1.3.2"),
            Self::Gost2015_512 => ObjectIdentifier::new_unwrap("1.2.398.3.10.1.3.3"),
        }
    }

    /// The signature algorithm OID used with this key in CMS.
    pub fn signature_oid(self) -> ObjectIdentifier {
        match self {
            Self::Rsa => oid::SHA256_WITH_RSA,
            Self::EcdsaP256 => oid::ECDSA_WITH_SHA256,
            Self::Gost2004 => ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.1.2"),
            Self::Gost2015_256 => ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.2.3.1"),
            Self::Gost2015_512 => ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.2.3.2"),
        }
    }

    /// Hash `data` with this key's digest algorithm.
    pub fn digest(self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut hasher = crate::crypto::Hasher::for_algorithm(self)?;
        hasher.update(data);
        Ok(hasher.finish())
    }
}

/// Why a key could not sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// This build cannot sign with that algorithm yet.
    UnsupportedAlgorithm(String),
    /// The token holding the key offers no mechanism qoltanba can sign it with.
    NoMechanism(String),
    /// The signing operation itself failed.
    Failed(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnsupportedAlgorithm(a) => write!(f, "signing with {a} keys is not supported yet"),
            Self::NoMechanism(a) => write!(f, "the token offers no mechanism to sign with its {a} key"),
            Self::Failed(why) => write!(f, "signing failed: {why}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// A private key able to sign, with its certificate.
///
/// Implementations keep their secret material in zeroizing storage (or on a token)
/// and never hand it out.
pub trait SigningKey: Send + Sync {
    /// The signer's certificate.
    fn certificate(&self) -> &Certificate;

    /// The key alias as NCALayer shows it (the friendly name of an NCA file).
    fn alias(&self) -> &str;

    /// CA certificates that came with the key (other certificates in its file), which
    /// may complete the path to a trusted CA.
    fn chain(&self) -> &[Certificate] {
        &[]
    }

    /// Sign `message`: hash it with the algorithm's digest and sign the hash.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// The key's `CKA_ID` (hex) when it lives on a token.
    fn token_id(&self) -> Option<&str> {
        None
    }

    /// Sign a hash made elsewhere with this key's digest algorithm. Keys that can only
    /// sign whole messages (RSA through `ring`, tokens) refuse.
    fn sign_digest(&self, _digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        Err(KeyError::UnsupportedAlgorithm(format!("{} over a ready hash", self.algorithm().key_info_name())))
    }

    /// The algorithm of this key.
    fn algorithm(&self) -> KeyAlgorithm;
}

/// `getKeyInfo`'s `responseObject`: exactly the 12 string fields of spec §3.4.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub alias: String,
    pub key_id: String,
    pub algorithm: String,
    pub subject_cn: String,
    pub subject_dn: String,
    pub issuer_cn: String,
    pub issuer_dn: String,
    pub serial_number: String,
    pub cert_not_before: String,
    pub cert_not_after: String,
    pub authority_key_identifier: String,
    pub pem: String,
}

impl KeyInfo {
    /// Collect the key info of `key`.
    pub fn of(key: &dyn SigningKey) -> Self {
        let cert = key.certificate();
        Self {
            alias: key.alias().to_owned(),
            key_id: cert.subject_key_id_hex().unwrap_or_default(),
            algorithm: key.algorithm().key_info_name().to_owned(),
            subject_cn: cert.subject_cn(),
            subject_dn: cert.subject_dn(),
            issuer_cn: cert.issuer_cn(),
            issuer_dn: cert.issuer_dn(),
            serial_number: cert.serial_hex(),
            cert_not_before: cert.not_before_ms().to_string(),
            cert_not_after: cert.not_after_ms().to_string(),
            authority_key_identifier: cert.authority_key_id_hex().unwrap_or_default(),
            pem: cert.pem(),
        }
    }
}
