//! Building CAdES-BES: a new SignedData, or one more SignerInfo in an existing one.
//!
//! Layout (spec §9.1): `SignedData` v1; digest and signature algorithm identifiers with
//! explicit NULL parameters; the signer certificate; `SignerInfo` v1 identified by
//! issuer and serial number, with the DER-sorted signed attributes contentType,
//! signingTime (UTCTime), messageDigest and signingCertificateV2 (ESSCertIDv2, SHA-256,
//! default hash algorithm omitted). The signature covers the DER `SET OF` of those.

use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Sequence};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use super::{CmsError, attribute, encode_signed_data, parse_signed_data, with_null};
use crate::keys::SigningKey;
use crate::oid;

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
    let (digest, econtent) = match content {
        Content::Data { bytes, attach } => {
            let econtent = if attach { Some(Any::encode_from(&OctetString::new(bytes)?)?) } else { None };
            (key.algorithm().digest(bytes)?, econtent)
        }
        Content::Digest(d) => (d.to_vec(), None),
    };
    let signer_info = signer_info(key, &digest, signing_time)?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![with_null(key.algorithm().digest_oid())])?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: oid::ID_DATA, econtent },
        certificates: Some(CertificateSet(SetOfVec::try_from(vec![CertificateChoices::Certificate(
            key.certificate().parsed().clone(),
        )])?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    encode_signed_data(&signed_data)
}

/// Add `key`'s signature to an existing CMS SignedData (co-signing, as NCALayer does
/// when `createCAdESFromBase64` is given a CMS). The content is the encapsulated one; for
/// a detached CMS the messageDigest of an existing signer with the same digest
/// algorithm is reused, which signs the same document. Existing signers are kept as
/// they are.
pub fn cosign(key: &dyn SigningKey, existing: &[u8], signing_time: SystemTime) -> Result<Vec<u8>, CmsError> {
    let mut sd = parse_signed_data(existing)?;
    let algorithm = key.algorithm();
    let digest = match &sd.encap_content_info.econtent {
        Some(econtent) => {
            let content = OctetString::from_der(&econtent.to_der()?).map_err(|e| CmsError::Malformed(e.to_string()))?;
            algorithm.digest(content.as_bytes())?
        }
        None => existing_message_digest(&sd, &algorithm.digest_oid()).ok_or_else(|| {
            CmsError::Malformed(
                "a detached CMS can only be co-signed with a key of the same hash algorithm as its signers".into(),
            )
        })?,
    };
    let signer_info = signer_info(key, &digest, signing_time)?;
    sd.signer_infos.0.insert(signer_info)?;
    let digest_alg = with_null(algorithm.digest_oid());
    if !sd.digest_algorithms.iter().any(|a| a.oid == digest_alg.oid) {
        sd.digest_algorithms.insert(digest_alg)?;
    }
    let cert = CertificateChoices::Certificate(key.certificate().parsed().clone());
    match &mut sd.certificates {
        Some(set) if set.0.iter().any(|c| *c == cert) => {}
        Some(set) => set.0.insert(cert)?,
        None => sd.certificates = Some(CertificateSet(SetOfVec::try_from(vec![cert])?)),
    }
    encode_signed_data(&sd)
}

/// The messageDigest of the first signer that used `digest_oid`.
fn existing_message_digest(sd: &SignedData, digest_oid: &der::asn1::ObjectIdentifier) -> Option<Vec<u8>> {
    sd.signer_infos.0.iter().filter(|si| si.digest_alg.oid == *digest_oid).find_map(super::message_digest)
}

/// One signer's SignerInfo over `digest`.
fn signer_info(key: &dyn SigningKey, digest: &[u8], signing_time: SystemTime) -> Result<SignerInfo, CmsError> {
    let algorithm = key.algorithm();
    let cert = key.certificate().parsed();
    let signed_attrs = signed_attributes(digest, signing_time, key.certificate().der(), cert)?;
    let signature = key.sign(&signed_attrs.to_der()?)?;
    let tbs = cert.tbs_certificate();
    Ok(SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: with_null(algorithm.digest_oid()),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: super::signature_algorithm(algorithm),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    })
}

/// ESSCertIDv2 (RFC 5035) with the default hash algorithm (SHA-256) omitted.
#[derive(Sequence)]
pub struct EssCertIdV2 {
    pub cert_hash: OctetString,
    pub issuer_serial: IssuerSerial,
}

/// IssuerSerial (RFC 5035).
#[derive(Sequence)]
pub struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// The signingCertificateV2 attribute (RFC 5035).
#[derive(Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
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
