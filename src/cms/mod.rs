//! CMS SignedData as Kalkan makes it (CAdES-BES and CAdES-T, spec §9.1–9.2): building
//! (`sign`), co-signing an existing CMS, RFC 3161 timestamps ([`tsp`]) and
//! verification ([`verify`]).
//!
//! Everything goes through the `cms` crate's types; hashing and signing go through
//! [`crate::keys::SigningKey`], so tokens and GOST keys need nothing special here.

pub mod ltv;
mod sign;
pub mod tsp;
pub mod verify;

use der::asn1::{Any, Null, ObjectIdentifier, SetOfVec};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

pub use sign::{Content, EssCertIdV2, IssuerSerial, SigningCertificateV2, cosign, sign_cades_bes};

use crate::keys::KeyError;

/// Why a CMS could not be built or read.
#[derive(Debug)]
pub enum CmsError {
    Key(KeyError),
    Encoding(der::Error),
    /// The input is not a CMS SignedData we can work with.
    Malformed(String),
    /// Getting a timestamp failed.
    Timestamp(String),
}

impl std::fmt::Display for CmsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(e) => e.fmt(f),
            Self::Encoding(e) => write!(f, "CMS encoding: {e}"),
            Self::Malformed(why) => write!(f, "not a usable CMS signature: {why}"),
            Self::Timestamp(why) => write!(f, "timestamp: {why}"),
        }
    }
}

impl std::error::Error for CmsError {}

impl From<der::Error> for CmsError {
    fn from(e: der::Error) -> Self {
        Self::Encoding(e)
    }
}

impl From<KeyError> for CmsError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

/// The messageDigest signed attribute of a signer, if it has one.
pub fn message_digest(si: &cms::signed_data::SignerInfo) -> Option<Vec<u8>> {
    let attr = si.signed_attrs.as_ref()?.iter().find(|a| a.oid == crate::oid::MESSAGE_DIGEST)?;
    let value = attr.values.iter().next()?;
    value.decode_as::<der::asn1::OctetString>().ok().map(|o| o.as_bytes().to_vec())
}

/// An algorithm identifier with explicit NULL parameters, as Kalkan writes them.
pub fn with_null(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters: Some(Any::from(Null)) }
}

/// A SignerInfo's `signatureAlgorithm`: explicit NULL parameters as Kalkan writes them,
/// none for ECDSA (RFC 5758 §3.2 forbids them).
pub fn signature_algorithm(algorithm: crate::keys::KeyAlgorithm) -> AlgorithmIdentifierOwned {
    match algorithm {
        crate::keys::KeyAlgorithm::EcdsaP256 => {
            AlgorithmIdentifierOwned { oid: algorithm.signature_oid(), parameters: None }
        }
        other => with_null(other.signature_oid()),
    }
}

/// A single-valued attribute.
pub(crate) fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

/// Parse a DER (or BER) ContentInfo holding SignedData.
pub fn parse_signed_data(bytes: &[u8]) -> Result<cms::signed_data::SignedData, CmsError> {
    use der::Decode;
    let info = cms::content_info::ContentInfo::from_der(bytes)
        .or_else(|_| cms::content_info::ContentInfo::from_ber(bytes))
        .map_err(|e| CmsError::Malformed(e.to_string()))?;
    if info.content_type != crate::oid::ID_SIGNED_DATA {
        return Err(CmsError::Malformed(format!("content type {}", info.content_type)));
    }
    info.content.decode_as::<cms::signed_data::SignedData>().map_err(|e| CmsError::Malformed(e.to_string()))
}

/// Encode SignedData into a DER ContentInfo.
pub(crate) fn encode_signed_data(sd: &cms::signed_data::SignedData) -> Result<Vec<u8>, CmsError> {
    use der::Encode;
    let info =
        cms::content_info::ContentInfo { content_type: crate::oid::ID_SIGNED_DATA, content: Any::encode_from(sd)? };
    Ok(info.to_der()?)
}
