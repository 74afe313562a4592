//! Revocation by OCSP (RFC 6960): reading a response about a certificate, checking it
//! was signed by its issuer or by a responder the issuer delegated, and asking the
//! responder named in the certificate when online.
//!
//! Responses are read field by field from their DER (tags decide the CHOICEs), so an
//! unusual but valid response is not refused for an optional field we do not use.

use der::asn1::{Any, BitString, GeneralizedTime, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;

use crate::crypto::verify::{verify, verify_certificate};
use crate::keys::Certificate;

const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
/// How long a response without nextUpdate is trusted after thisUpdate.
const NO_NEXT_UPDATE_VALIDITY_MS: i64 = 24 * 3600 * 1000;
/// Tolerated clock difference for thisUpdate in the future.
pub(super) const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// What an OCSP response says about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspStatus {
    Good,
    /// Revoked at this time (epoch ms).
    Revoked(i64),
    Unknown,
}

#[derive(Sequence)]
struct CertId {
    hash_algorithm: AlgorithmIdentifierOwned,
    issuer_name_hash: OctetString,
    issuer_key_hash: OctetString,
    serial_number: der::asn1::Int,
}

#[derive(Sequence)]
struct ResponseBytes {
    response_type: ObjectIdentifier,
    response: OctetString,
}

#[derive(Sequence)]
struct BasicOcspResponse {
    tbs_response_data: Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    certs: Option<Vec<x509_cert::Certificate>>,
}

fn bad(why: &str) -> String {
    format!("malformed OCSP response: {why}")
}

fn time_ms(any: &Any) -> Result<i64, String> {
    let t: GeneralizedTime = any.decode_as().map_err(|e: der::Error| bad(&e.to_string()))?;
    Ok(t.to_unix_duration().as_millis() as i64)
}

/// The hash of `data` with the CertID's algorithm (SHA-1 or SHA-256).
fn cert_id_hash(alg: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    crate::crypto::Hasher::for_oid(alg).map(|h| h.digest(data))
}

/// Does `id` name `cert` as issued by `issuer`?
fn names(id: &CertId, cert: &Certificate, issuer: &x509_cert::Certificate) -> bool {
    let serial = cert.parsed().tbs_certificate().serial_number().as_bytes();
    let id_serial = id.serial_number.as_bytes();
    let trim = |b: &[u8]| b.iter().skip_while(|x| **x == 0).copied().collect::<Vec<u8>>();
    if trim(serial) != trim(id_serial) {
        return false;
    }
    let alg = &id.hash_algorithm.oid;
    let name = issuer.tbs_certificate().subject().to_der().unwrap_or_default();
    let key = issuer.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes();
    cert_id_hash(alg, &name).as_deref() == Some(id.issuer_name_hash.as_bytes())
        && cert_id_hash(alg, key).as_deref() == Some(id.issuer_key_hash.as_bytes())
}

/// What an authentic OCSP response says about a certificate, and when it said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub status: OcspStatus,
    /// When the responder signed the response, epoch ms.
    pub produced_at_ms: i64,
    pub this_update_ms: i64,
    pub next_update_ms: Option<i64>,
}

impl Receipt {
    /// Until when the status is vouched for (nextUpdate, or a day after thisUpdate).
    pub fn valid_until_ms(&self) -> i64 {
        self.next_update_ms.unwrap_or(self.this_update_ms.saturating_add(NO_NEXT_UPDATE_VALIDITY_MS))
    }

    /// RFC 6960 §2.2: "revoked" with certificateHold as of 1970-01-01 is how a
    /// responder says it never issued the certificate.
    pub fn is_non_issued(&self) -> bool {
        self.status == OcspStatus::Revoked(0)
    }
}

/// Read `response` (a DER OCSPResponse) about `cert` issued by `issuer`, as of `now_ms`:
/// the status, if the response is current.
pub fn status(
    response: &[u8],
    cert: &Certificate,
    issuer: &x509_cert::Certificate,
    now_ms: i64,
) -> Result<OcspStatus, String> {
    let receipt = read(response, cert, issuer)?;
    if receipt.this_update_ms > now_ms + CLOCK_SKEW_MS {
        return Err("the OCSP response is from the future".into());
    }
    if now_ms > receipt.valid_until_ms() {
        return Err("the OCSP response is out of date".into());
    }
    Ok(receipt.status)
}

/// Read `response` (a DER OCSPResponse) about `cert` issued by `issuer`: its signature
/// is checked, its age is not.
pub fn read(response: &[u8], cert: &Certificate, issuer: &x509_cert::Certificate) -> Result<Receipt, String> {
    let outer: Vec<Any> = Vec::<Any>::from_der(response).map_err(|e| bad(&e.to_string()))?;
    let status = outer.first().ok_or_else(|| bad("empty"))?;
    if status.tag() != Tag::Enumerated || status.value() != [0] {
        return Err("the OCSP responder did not answer successfully".into());
    }
    let bytes = outer.get(1).ok_or_else(|| bad("no response bytes"))?;
    let bytes: ResponseBytes =
        Any::from_der(bytes.value()).and_then(|a| a.decode_as()).map_err(|e| bad(&e.to_string()))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(bad("not a basic OCSP response"));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| bad(&e.to_string()))?;
    check_signature(&basic, issuer)?;

    let data: Vec<Any> = basic.tbs_response_data.decode_as().map_err(|e: der::Error| bad(&e.to_string()))?;
    // [0] version? [1]/[2] responderID, producedAt, responses, [1] extensions?
    let produced_at = data.iter().find(|f| f.tag() == Tag::GeneralizedTime).ok_or_else(|| bad("no producedAt"))?;
    let produced_at_ms = time_ms(produced_at)?;
    let responses = data.iter().find(|f| f.tag() == Tag::Sequence).ok_or_else(|| bad("no responses"))?;
    let responses: Vec<Any> = responses.decode_as().map_err(|e: der::Error| bad(&e.to_string()))?;
    for single in responses {
        let fields: Vec<Any> = single.decode_as().map_err(|e: der::Error| bad(&e.to_string()))?;
        let [id, cert_status, this_update, rest @ ..] = fields.as_slice() else {
            return Err(bad("short SingleResponse"));
        };
        let id: CertId = id.decode_as().map_err(|e: der::Error| bad(&e.to_string()))?;
        if !names(&id, cert, issuer) {
            continue;
        }
        let this_update_ms = time_ms(this_update)?;
        let next_update_ms =
            match rest.iter().find(|f| f.tag().is_context_specific() && f.tag().number() == der::TagNumber(0)) {
                Some(n) => Some(time_ms(&Any::from_der(n.value()).map_err(|e| bad(&e.to_string()))?)?),
                None => None,
            };
        let status = match cert_status.tag().number().value() {
            0 => OcspStatus::Good,
            1 => {
                // [1] IMPLICIT RevokedInfo: the content starts with revocationTime.
                let mut reader = der::SliceReader::new(cert_status.value()).map_err(|e| bad(&e.to_string()))?;
                let at: GeneralizedTime =
                    der::Reader::decode(&mut reader).map_err(|e: der::Error| bad(&e.to_string()))?;
                OcspStatus::Revoked(at.to_unix_duration().as_millis() as i64)
            }
            _ => OcspStatus::Unknown,
        };
        return Ok(Receipt { status, produced_at_ms, this_update_ms, next_update_ms });
    }
    Err("the OCSP response does not cover this certificate".into())
}

/// The response must be signed by the issuer, or by a responder certificate the issuer
/// signed for OCSP signing.
fn check_signature(basic: &BasicOcspResponse, issuer: &x509_cert::Certificate) -> Result<(), String> {
    let tbs = basic.tbs_response_data.to_der().map_err(|e| e.to_string())?;
    let signature = basic.signature.as_bytes().ok_or_else(|| bad("signature"))?;
    let alg = &basic.signature_algorithm.oid;
    let issuer_key = issuer.tbs_certificate().subject_public_key_info();
    if verify(issuer_key, alg, &tbs, signature).is_ok() {
        return Ok(());
    }
    for responder in basic.certs.iter().flatten() {
        let delegated = verify_certificate(responder, issuer_key).is_ok()
            && Certificate::from_der(&responder.to_der().unwrap_or_default())
                .is_ok_and(|c| c.extended_key_usages().iter().any(|e| e == OCSP_SIGNING));
        if delegated && verify(responder.tbs_certificate().subject_public_key_info(), alg, &tbs, signature).is_ok() {
            return Ok(());
        }
    }
    Err("the OCSP response is not signed by the issuer or a responder it delegated".into())
}

#[derive(Sequence)]
struct Request {
    req_cert: CertId,
}

#[derive(Sequence)]
struct TbsRequest {
    request_list: Vec<Request>,
}

#[derive(Sequence)]
struct OcspRequest {
    tbs_request: TbsRequest,
}

/// An OCSPRequest for `cert` (CertID with SHA-256), to POST to its responder.
pub fn request(cert: &Certificate, issuer: &x509_cert::Certificate) -> Result<Vec<u8>, String> {
    let name = issuer.tbs_certificate().subject().to_der().map_err(|e| e.to_string())?;
    let key = issuer.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes();
    let req_cert = CertId {
        hash_algorithm: crate::cms::with_null(crate::oid::SHA256),
        issuer_name_hash: OctetString::new(crate::crypto::sha256(&name)).map_err(|e| e.to_string())?,
        issuer_key_hash: OctetString::new(crate::crypto::sha256(key)).map_err(|e| e.to_string())?,
        serial_number: der::asn1::Int::new(cert.parsed().tbs_certificate().serial_number().as_bytes())
            .map_err(|e| e.to_string())?,
    };
    let request = OcspRequest { tbs_request: TbsRequest { request_list: vec![Request { req_cert }] } };
    request.to_der().map_err(|e| e.to_string())
}
