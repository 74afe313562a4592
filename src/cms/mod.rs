//! CMS SignedData as Kalkan makes it (CAdES-BES, spec §9.1).
//!
//! Layout: `SignedData` v1; digest and signature algorithm identifiers with explicit
//! NULL parameters; the signer certificate; one `SignerInfo` v1 identified by issuer and
//! serial number, with the DER-sorted signed attributes contentType, signingTime
//! (UTCTime), messageDigest and signingCertificateV2 (ESSCertIDv2, SHA-256, default
//! hash algorithm omitted). The signature covers the DER `SET OF` of those attributes.
//!
//! The structure is assembled from the `cms` crate's types; hashing and signing go
//! through [`SigningKey`] so tokens and GOST keys need nothing special here.

use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, Null, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::keys::{KeyError, SigningKey};
use crate::oid;

/// Why a CMS could not be built.
#[derive(Debug)]
pub enum CmsError {
    Key(KeyError),
    Encoding(der::Error),
}

impl std::fmt::Display for CmsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(e) => e.fmt(f),
            Self::Encoding(e) => write!(f, "CMS encoding: {e}"),
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

/// What the signature is over.
pub enum Content<'a> {
    /// The document itself; `attach` embeds it as eContent.
    Data { bytes: &'a [u8], attach: bool },
    /// Only the document's digest (computed by the caller with the key's digest
    /// algorithm): always detached.
    Digest(&'a [u8]),
}

/// Build a CAdES-BES signature of `content` with `key`, signed at `signing_time`.
/// Returns the DER `ContentInfo`.
pub fn sign_cades_bes(
    key: &dyn SigningKey,
    content: Content<'_>,
    signing_time: SystemTime,
) -> Result<Vec<u8>, CmsError> {
    let algorithm = key.algorithm();
    let (digest, econtent) = match content {
        Content::Data { bytes, attach } => {
            let econtent = if attach { Some(Any::encode_from(&OctetString::new(bytes)?)?) } else { None };
            (algorithm.digest(bytes)?, econtent)
        }
        Content::Digest(d) => (d.to_vec(), None),
    };
    let cert = key.certificate().parsed();
    let signed_attrs = signed_attributes(&digest, signing_time, key.certificate().der(), cert)?;
    let to_be_signed = signed_attrs.to_der()?;
    let signature = key.sign(&to_be_signed)?;

    let tbs = cert.tbs_certificate();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: with_null(algorithm.digest_oid()),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: with_null(algorithm.signature_oid()),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![with_null(algorithm.digest_oid())])?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: oid::ID_DATA, econtent },
        certificates: Some(CertificateSet(SetOfVec::try_from(vec![CertificateChoices::Certificate(cert.clone())])?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let info = ContentInfo { content_type: oid::ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? };
    Ok(info.to_der()?)
}

/// An algorithm identifier with explicit NULL parameters, as Kalkan writes them.
fn with_null(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters: Some(Any::from(Null)) }
}

/// ESSCertIDv2 (RFC 5035) with the default hash algorithm (SHA-256) omitted.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

fn signed_attributes(
    digest: &[u8],
    signing_time: SystemTime,
    cert_der: &[u8],
    cert: &x509_cert::Certificate,
) -> Result<SetOfVec<Attribute>, CmsError> {
    let tbs = cert.tbs_certificate();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(crate::crypto::sha256(cert_der))?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            },
        }],
    };
    let attrs = vec![
        attribute(oid::CONTENT_TYPE, Any::encode_from(&oid::ID_DATA)?)?,
        attribute(oid::SIGNING_TIME, Any::encode_from(&UtcTime::from_system_time(signing_time)?)?)?,
        attribute(oid::MESSAGE_DIGEST, Any::encode_from(&OctetString::new(digest)?)?)?,
        attribute(oid::SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
    ];
    Ok(SetOfVec::try_from(attrs)?)
}
