//! RFC 3161 timestamps for CAdES-T: the client that asks a TSA, and the unsigned
//! attribute `signatureTimeStampToken` that carries the answer.
//!
//! The request hashes the SignerInfo's signature value with the algorithm of the key
//! (SHA-256 for RSA, Streebog-512 for GOST 2015, GOST 34.311 for GOST 2004) under NCA
//! RK's policy for it, with a random nonce and certReq. The response is accepted only
//! if it grants, its token's imprint and nonce are ours, and the token's signature
//! verifies with the TSA certificate it carries. Any failure is an error: a signature
//! the page asked to be timestamped is never returned without the timestamp. Every
//! failure of the TSA or of its answer is a [`CmsError::Timestamp`] (a refusal with its
//! PKIStatus and failInfo by name), so the user reads that the timestamp failed.

use std::time::Duration;

use cms::signed_data::SignedData;
use der::asn1::{Any, BitString, Int, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, DecodeValue, Encode, FixedTag, Header, Reader, Sequence, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;

use super::{CmsError, attribute, encode_signed_data, parse_signed_data, with_null};
use crate::keys::KeyAlgorithm;

/// NCA RK's TSA.
pub const DEFAULT_TSA_URL: &str = "http://tsp.pki.gov.kz";
/// `id-aa-signatureTimeStampToken`.
pub const SIGNATURE_TIMESTAMP_TOKEN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// Largest TSA response we read.
const MAX_RESPONSE: u64 = 1 << 20;

/// Where and how to ask for timestamps.
#[derive(Clone, Debug)]
pub struct TsaConfig {
    pub url: String,
    pub timeout: Duration,
}

impl Default for TsaConfig {
    fn default() -> Self {
        Self { url: DEFAULT_TSA_URL.into(), timeout: Duration::from_secs(15) }
    }
}

/// The TSA policy NCA RK uses for each key algorithm.
fn policy(algorithm: KeyAlgorithm) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(match algorithm {
        KeyAlgorithm::Rsa | KeyAlgorithm::EcdsaP256 => "1.2.398.3.3.2.6.2",
        KeyAlgorithm::Gost2004 => "1.2.398.3.3.2.6.1",
        KeyAlgorithm::Gost2015_256 | KeyAlgorithm::Gost2015_512 => "1.2.398.3.3.2.6.4",
    })
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

#[derive(Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    req_policy: Option<ObjectIdentifier>,
    nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    cert_req: bool,
}

/// The parts of a TSTInfo we check and report.
#[derive(Clone, Debug)]
pub struct TstInfo {
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    /// genTime as written (`YYYYMMDDHHMMSS[.f]Z`).
    pub gen_time: String,
    pub nonce: Option<Int>,
}

impl FixedTag for TstInfo {
    const TAG: Tag = Tag::Sequence;
}

impl<'a> DecodeValue<'a> for TstInfo {
    type Error = der::Error;

    /// Read by hand: genTime may carry fractional seconds, which `der`'s
    /// GeneralizedTime refuses, and the optional fields are told apart by their tags.
    fn decode_value<R: Reader<'a>>(reader: &mut R, _header: Header) -> der::Result<Self> {
        let _version: u8 = reader.decode()?;
        let policy: ObjectIdentifier = reader.decode()?;
        let message_imprint: MessageImprint = reader.decode()?;
        let _serial: Int = reader.decode()?;
        let time: Any = reader.decode()?;
        if time.tag() != Tag::GeneralizedTime {
            return Err(
                der::ErrorKind::TagUnexpected { expected: Some(Tag::GeneralizedTime), actual: time.tag() }.into()
            );
        }
        let gen_time = String::from_utf8_lossy(time.value()).into_owned();
        let mut nonce = None;
        while !reader.is_finished() {
            let field: Any = reader.decode()?;
            if field.tag() == Tag::Integer {
                nonce = Some(field.decode_as::<Int>()?);
            }
        }
        Ok(Self { policy, message_imprint, gen_time, nonce })
    }
}

impl TstInfo {
    /// genTime as Unix seconds (fractions dropped).
    pub fn gen_time_unix(&self) -> Option<i64> {
        let t = self.gen_time.trim_end_matches('Z');
        let t = t.split('.').next()?;
        if t.len() != 14 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().ok();
        let date = time::Date::from_calendar_date(
            n(0..4)? as i32,
            time::Month::try_from(n(4..6)? as u8).ok()?,
            n(6..8)? as u8,
        )
        .ok()?;
        Some(date.with_hms(n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8).ok()?.assume_utc().unix_timestamp())
    }
}

/// Read the TSTInfo inside a timestamp token (a SignedData ContentInfo).
pub fn token_info(token: &SignedData) -> Result<TstInfo, CmsError> {
    if token.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(CmsError::Timestamp("the token does not hold a TSTInfo".into()));
    }
    let econtent = token.encap_content_info.econtent.as_ref().ok_or(CmsError::Timestamp("empty token".into()))?;
    let octets = OctetString::from_der(&econtent.to_der()?).map_err(|e| CmsError::Timestamp(e.to_string()))?;
    TstInfo::from_der(octets.as_bytes()).map_err(|e| CmsError::Timestamp(format!("TSTInfo: {e}")))
}

/// Ask the TSA for a token over `data` hashed with `algorithm`'s digest. Returns the
/// token's DER ContentInfo, checked (see the module documentation).
pub fn request_token(config: &TsaConfig, algorithm: KeyAlgorithm, data: &[u8]) -> Result<Vec<u8>, CmsError> {
    let imprint = MessageImprint {
        hash_algorithm: with_null(algorithm.digest_oid()),
        hashed_message: OctetString::new(algorithm.digest(data)?)?,
    };
    let mut nonce_bytes = [0u8; 8];
    getrandom::fill(&mut nonce_bytes).map_err(|e| CmsError::Timestamp(format!("random: {e}")))?;
    nonce_bytes[0] &= 0x7F; // a positive INTEGER
    nonce_bytes[0] |= 0x01; // and minimal: no leading zero byte
    let nonce = Int::new(&nonce_bytes)?;
    let request = TimeStampReq {
        version: 1,
        message_imprint: imprint.clone(),
        req_policy: Some(policy(algorithm)),
        nonce: Some(nonce.clone()),
        cert_req: true,
    };
    let response = post(config, &request.to_der()?)?;
    let token = parse_response(&response)?;
    // Whatever is wrong with the answer, it is the timestamp that failed.
    let sd = parse_signed_data(&token).map_err(|e| CmsError::Timestamp(format!("the TSA's token: {e}")))?;
    let info = token_info(&sd)?;
    if info.message_imprint != imprint {
        return Err(CmsError::Timestamp("the TSA stamped a different hash".into()));
    }
    if info.nonce.as_ref() != Some(&nonce) {
        return Err(CmsError::Timestamp("the TSA's nonce does not match the request".into()));
    }
    super::verify::verify_token_signature(&sd).map_err(CmsError::Timestamp)?;
    Ok(token)
}

fn post(config: &TsaConfig, body: &[u8]) -> Result<Vec<u8>, CmsError> {
    if !config.url.starts_with("http://") {
        return Err(CmsError::Timestamp(format!("{}: only http:// TSAs are supported", config.url)));
    }
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(config.timeout)).http_status_as_error(false).build().into();
    let mut response = agent
        .post(&config.url)
        .header("Content-Type", "application/timestamp-query")
        .send(body)
        .map_err(|e| CmsError::Timestamp(format!("the TSA {} cannot be reached: {e}", config.url)))?;
    if !response.status().is_success() {
        return Err(CmsError::Timestamp(format!("the TSA {} answered HTTP {}", config.url, response.status())));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE)
        .read_to_vec()
        .map_err(|e| CmsError::Timestamp(format!("reading the TSA's answer: {e}")))
}

/// TimeStampResp: PKIStatusInfo, then the token when granted (status 0 or 1).
fn parse_response(bytes: &[u8]) -> Result<Vec<u8>, CmsError> {
    let bad = |why: &dyn std::fmt::Display| CmsError::Timestamp(format!("malformed TSA response: {why}"));
    let parts: Vec<Any> = Vec::<Any>::from_der(bytes).map_err(|e| bad(&e))?;
    let status_info = parts.first().ok_or_else(|| bad(&"empty"))?;
    let fields: Vec<Any> = status_info.decode_as().map_err(|e: der::Error| bad(&e))?;
    let status: u8 = fields.first().ok_or_else(|| bad(&"no status"))?.decode_as().map_err(|e: der::Error| bad(&e))?;
    if status > 1 {
        // statusString (SEQUENCE OF UTF8String) and failInfo (BIT STRING) are optional.
        let text = fields
            .iter()
            .find(|f| f.tag() == Tag::Sequence)
            .and_then(|f| f.decode_as::<Vec<String>>().ok())
            .map(|t| format!(": {}", t.join("; ")))
            .unwrap_or_default();
        let fail_info = fields
            .iter()
            .find(|f| f.tag() == Tag::BitString)
            .and_then(|f| f.decode_as::<BitString>().ok())
            .map(|bits| format!(", {}", fail_info_names(&bits)))
            .unwrap_or_default();
        return Err(CmsError::Timestamp(format!(
            "the TSA refused (status {status}, {}{fail_info}){text}",
            status_name(status)
        )));
    }
    parts.get(1).ok_or_else(|| bad(&"granted but no token"))?.to_der().map_err(|e| bad(&e))
}

/// PKIStatus (RFC 3161 §2.4.2) in words.
fn status_name(status: u8) -> &'static str {
    match status {
        2 => "rejection",
        3 => "waiting",
        4 => "revocationWarning",
        5 => "revocationNotification",
        _ => "unknown status",
    }
}

/// The PKIFailureInfo bits that are set, by name (RFC 3161 §2.4.2).
fn fail_info_names(bits: &BitString) -> String {
    let names: Vec<String> = bits
        .bits()
        .enumerate()
        .filter(|(_, set)| *set)
        .map(|(bit, _)| match bit {
            0 => "badAlg".into(),
            2 => "badRequest".into(),
            5 => "badDataFormat".into(),
            14 => "timeNotAvailable".into(),
            15 => "unacceptedPolicy".into(),
            16 => "unacceptedExtension".into(),
            17 => "addInfoNotAvailable".into(),
            25 => "systemFailure".into(),
            other => format!("failure bit {other}"),
        })
        .collect();
    if names.is_empty() { "no failInfo".into() } else { names.join(", ") }
}

/// Add a timestamp token to every signer of `cms` that has none (CAdES-T;
/// `applyCAdEST`). The signatures themselves are unchanged.
pub fn add_timestamps(cms: &[u8], config: &TsaConfig) -> Result<Vec<u8>, CmsError> {
    let sd = parse_signed_data(cms)?;
    let mut signers = Vec::new();
    for si in sd.signer_infos.0.iter() {
        let mut si = si.clone();
        let has_token =
            si.unsigned_attrs.as_ref().is_some_and(|a| a.iter().any(|x| x.oid == SIGNATURE_TIMESTAMP_TOKEN));
        if !has_token {
            let algorithm = super::verify::key_algorithm_of(&si).ok_or_else(|| {
                CmsError::Malformed(format!("unknown signature algorithm {}", si.signature_algorithm.oid))
            })?;
            let token = request_token(config, algorithm, si.signature.as_bytes())?;
            let attr = attribute(SIGNATURE_TIMESTAMP_TOKEN, Any::from_der(&token)?)?;
            let mut unsigned = si.unsigned_attrs.take().unwrap_or_default();
            unsigned.insert(attr)?;
            si.unsigned_attrs = Some(unsigned);
        }
        signers.push(si);
    }
    let sd = SignedData { signer_infos: cms::signed_data::SignerInfos(SetOfVec::try_from(signers)?), ..sd };
    encode_signed_data(&sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TimeStampResp of `status_info` fields (and `token`).
    fn response(status_info: &[Any], token: Option<Any>) -> Vec<u8> {
        let mut parts = vec![Any::encode_from(&status_info.to_vec()).unwrap()];
        parts.extend(token);
        parts.to_der().unwrap()
    }

    fn timestamp_error(result: Result<Vec<u8>, CmsError>) -> String {
        match result {
            Err(CmsError::Timestamp(why)) => why,
            other => panic!("a timestamp error expected, got {other:?}"),
        }
    }

    #[test]
    fn refusals_name_their_status_and_fail_info() {
        let status = |n: u8| Any::encode_from(&n).unwrap();
        // badAlg (bit 0) and systemFailure (bit 25), no statusString.
        let bits = Any::encode_from(&BitString::new(6, vec![0x80, 0, 0, 0x40]).unwrap()).unwrap();
        let why = timestamp_error(parse_response(&response(&[status(2), bits], None)));
        assert_eq!(why, "the TSA refused (status 2, rejection, badAlg, systemFailure)");
        let text = Any::encode_from(&vec!["try later".to_owned()]).unwrap();
        let why = timestamp_error(parse_response(&response(&[status(3), text], None)));
        assert_eq!(why, "the TSA refused (status 3, waiting): try later");
        let why = timestamp_error(parse_response(&response(&[status(0)], None)));
        assert_eq!(why, "malformed TSA response: granted but no token");
        // grantedWithMods (1) is a grant.
        let token = Any::encode_from(&ID_CT_TST_INFO).unwrap();
        assert_eq!(parse_response(&response(&[status(1)], Some(token.clone()))).unwrap(), token.to_der().unwrap());
        assert!(timestamp_error(parse_response(b"<html>")).starts_with("malformed TSA response"));
    }
}
