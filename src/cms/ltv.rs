//! Validation data inside a CMS, so that a signature can be checked years later without
//! the network (CAdES-LT style): the chain goes into SignedData `certificates`, and the
//! CRLs and OCSP responses into each signer's `revocationValues` unsigned attribute
//! (ETSI TS 101 733 §6.3.4, the attribute CAdES-X-L and CAdES-A use).
//!
//! OCSP responses are not put into SignedData `crls` as RFC 5940 `[1] other`
//! entries: the `cms` crate misreads that form, and a verifier that cannot read its
//! own output is worse than a second place to look.

use cms::cert::CertificateChoices;
use cms::signed_data::CertificateSet;
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Enumerated, Sequence};
use x509_cert::crl::CertificateList;

use super::{CmsError, attribute, encode_signed_data, parse_signed_data};

/// id-aa-ets-revocationValues.
pub const REVOCATION_VALUES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.24");
/// id-pkix-ocsp-basic.
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");

/// `RevocationValues` (explicit tags, as in the ETSI ExplicitSyntax88 module).
#[derive(Clone, Debug, Default, Sequence)]
pub struct RevocationValues {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub crl_vals: Option<Vec<CertificateList>>,
    /// BasicOCSPResponse values.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub ocsp_vals: Option<Vec<Any>>,
}

#[derive(Clone, Copy, Debug, Enumerated)]
#[repr(u32)]
enum ResponseStatus {
    Successful = 0,
}

#[derive(Sequence)]
struct ResponseBytes {
    response_type: ObjectIdentifier,
    response: OctetString,
}

#[derive(Sequence)]
struct OcspResponse {
    status: ResponseStatus,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bytes: ResponseBytes,
}

/// A BasicOCSPResponse wrapped back into the OCSPResponse a responder sends.
pub fn ocsp_response_of(basic: &Any) -> Result<Vec<u8>, der::Error> {
    let bytes = ResponseBytes { response_type: ID_PKIX_OCSP_BASIC, response: OctetString::new(basic.to_der()?)? };
    OcspResponse { status: ResponseStatus::Successful, bytes }.to_der()
}

/// The BasicOCSPResponse inside a successful OCSPResponse.
pub fn basic_of(response: &[u8]) -> Result<Any, der::Error> {
    let response = OcspResponse::from_der(response)?;
    if response.bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(der::Tag::ObjectIdentifier.value_error().into());
    }
    Any::from_der(response.bytes.response.as_bytes())
}

/// What [`add_validation_data`] embeds.
#[derive(Clone, Debug, Default)]
pub struct ValidationData {
    /// Certificates of the chains (DER); those already present are not repeated.
    pub certificates: Vec<Vec<u8>>,
    /// CRLs (DER).
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses (DER OCSPResponse, as a responder sends them).
    pub ocsp_responses: Vec<Vec<u8>>,
}

/// Add `data` to every signer of `cms` (DER ContentInfo of SignedData). A signer that
/// already has revocationValues keeps them and gets the new ones added.
pub fn add_validation_data(cms: &[u8], data: &ValidationData) -> Result<Vec<u8>, CmsError> {
    let mut sd = parse_signed_data(cms)?;
    let mut certs: Vec<CertificateChoices> = sd.certificates.take().map(|c| c.0.into_vec()).unwrap_or_default();
    for der in &data.certificates {
        let cert = x509_cert::Certificate::from_der(der)?;
        if !certs.iter().any(|c| matches!(c, CertificateChoices::Certificate(have) if *have == cert)) {
            certs.push(CertificateChoices::Certificate(cert));
        }
    }
    sd.certificates = Some(CertificateSet(certs.try_into()?));

    let crls = data.crls.iter().map(|c| CertificateList::from_der(c)).collect::<Result<Vec<_>, _>>()?;
    let ocsp = data.ocsp_responses.iter().map(|r| basic_of(r)).collect::<Result<Vec<_>, _>>()?;
    let mut signers = sd.signer_infos.0.into_vec();
    for si in &mut signers {
        let mut attrs = si.unsigned_attrs.take().map(|a| a.into_vec()).unwrap_or_default();
        let mut values = RevocationValues::default();
        if let Some(i) = attrs.iter().position(|a| a.oid == REVOCATION_VALUES) {
            let old = attrs.remove(i);
            if let Some(v) = old.values.iter().next() {
                values = v.decode_as()?;
            }
        }
        if !crls.is_empty() {
            values.crl_vals.get_or_insert_with(Vec::new).extend(crls.iter().cloned());
        }
        if !ocsp.is_empty() {
            values.ocsp_vals.get_or_insert_with(Vec::new).extend(ocsp.iter().cloned());
        }
        attrs.push(attribute(REVOCATION_VALUES, Any::encode_from(&values)?)?);
        si.unsigned_attrs = Some(attrs.try_into()?);
    }
    sd.signer_infos = cms::signed_data::SignerInfos(signers.try_into()?);
    encode_signed_data(&sd)
}
