//! Verifying CMS signatures: each signer's messageDigest against the content, its
//! signature over the signed attributes with its certificate, and its timestamp token
//! (imprint over the signature value, the TSA's own signature). Used by
//! `qoltanba verify cms`, by timestamping and by the tests; it reads CMS made by Kalkan
//! as well as ours, with RSA and GOST signers mixed.

use std::io::Read;

use cms::cert::CertificateChoices;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};

use super::tsp::{SIGNATURE_TIMESTAMP_TOKEN, token_info};
use super::{CmsError, parse_signed_data};
use crate::crypto::Hasher;
use crate::crypto::verify::verify;
use crate::keys::{Certificate, KeyAlgorithm};
use crate::oid;

/// The verdict on one signer.
#[derive(Clone, Debug, Default)]
pub struct SignerReport {
    /// The signer certificate's subject, NCALayer notation.
    pub subject: String,
    /// The signature algorithm OID.
    pub algorithm: String,
    /// Why the signature is not valid; empty when it is.
    pub problems: Vec<String>,
    /// What a check of the signer's certificate needs (see `crate::validation`).
    pub evidence: Evidence,
}

/// What a signature carries about its signer, for the checks beyond the signature
/// itself: the certificate, the other certificates and revocation data that came with
/// it, and the times it claims or a TSA proves.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// The signer's certificate (DER), when the signature carries it.
    pub certificate: Option<Vec<u8>>,
    /// Every other certificate the signature carries (DER): intermediates, the TSA's.
    pub other_certificates: Vec<Vec<u8>>,
    /// The time the signer claims (signingTime, XAdES SigningTime), epoch ms.
    pub claimed_time_ms: Option<i64>,
    /// The genTime of a timestamp whose imprint and TSA signature verified, epoch ms.
    pub timestamp_time_ms: Option<i64>,
    /// The certificate of the TSA that made that timestamp (DER).
    pub timestamp_certificate: Option<Vec<u8>>,
    /// CRLs the signature carries (DER).
    pub crls: Vec<Vec<u8>>,
    /// OCSP responses the signature carries (DER OCSPResponse).
    pub ocsp_responses: Vec<Vec<u8>>,
}

impl SignerReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The verdict on a whole CMS.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub attached: bool,
    pub signers: Vec<SignerReport>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        !self.signers.is_empty() && self.signers.iter().all(SignerReport::is_valid)
    }
}

/// The key algorithm behind a SignerInfo's signature algorithm.
pub fn key_algorithm_of(si: &SignerInfo) -> Option<KeyAlgorithm> {
    match si.signature_algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.5" => Some(KeyAlgorithm::Rsa),
        "1.2.398.3.10.1.1.1.2" => Some(KeyAlgorithm::Gost2004),
        "1.2.398.3.10.1.1.2.3.1" => Some(KeyAlgorithm::Gost2015_256),
        "1.2.398.3.10.1.1.2.3.2" => Some(KeyAlgorithm::Gost2015_512),
        "1.2.840.10045.4.3.2" => Some(KeyAlgorithm::EcdsaP256),
        _ => None,
    }
}

/// Verify `cms` (DER, BER, PEM or base64). `content` supplies the document of a
/// detached signature; it is read once, streamed through every digest the signers use.
pub fn verify_cms(cms: &[u8], content: Option<&mut dyn Read>) -> Result<Report, CmsError> {
    let der = decode_armor(cms);
    let sd = parse_signed_data(&der)?;
    let econtent = match &sd.encap_content_info.econtent {
        Some(e) => Some(OctetString::from_der(&e.to_der()?).map_err(|e| CmsError::Malformed(e.to_string()))?),
        None => None,
    };
    let digest_oids: Vec<ObjectIdentifier> = sd.signer_infos.0.iter().map(|si| si.digest_alg.oid).collect();
    let digests = match (&econtent, content) {
        (Some(octets), _) => Some(hash_all(&digest_oids, &mut octets.as_bytes())?),
        (None, Some(reader)) => Some(hash_all(&digest_oids, reader)?),
        (None, None) => None,
    };
    let signers = sd
        .signer_infos
        .0
        .iter()
        .map(|si| {
            let digest = digests
                .as_ref()
                .and_then(|d| d.iter().find(|(o, _)| *o == si.digest_alg.oid))
                .map(|(_, d)| d.as_slice());
            report_signer(&sd, si, digest)
        })
        .collect();
    Ok(Report { attached: econtent.is_some(), signers })
}

/// PEM (`-----BEGIN CMS-----`, `PKCS7`) and base64 text become DER; DER stays.
fn decode_armor(input: &[u8]) -> Vec<u8> {
    if input.first() == Some(&0x30) {
        return input.to_vec();
    }
    if let Ok((_, der)) = der::pem::decode_vec(input) {
        return der;
    }
    std::str::from_utf8(input)
        .ok()
        .and_then(|t| crate::protocol::data::decode_base64(t.trim()).ok())
        .unwrap_or_else(|| input.to_vec())
}

/// Hash a stream once with every algorithm in `oids` (unknown ones are skipped).
pub fn hash_all(
    oids: &[ObjectIdentifier],
    reader: &mut dyn Read,
) -> Result<Vec<(ObjectIdentifier, Vec<u8>)>, CmsError> {
    let mut unique: Vec<ObjectIdentifier> = Vec::new();
    for oid in oids {
        if !unique.contains(oid) {
            unique.push(*oid);
        }
    }
    let mut hashers: Vec<(ObjectIdentifier, Hasher)> =
        unique.iter().filter_map(|o| Hasher::for_oid(o).map(|h| (*o, h))).collect();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).map_err(|e| CmsError::Malformed(format!("reading the content: {e}")))?;
        if n == 0 {
            break;
        }
        for (_, h) in hashers.iter_mut() {
            h.update(&buf[..n]);
        }
    }
    Ok(hashers.into_iter().map(|(o, h)| (o, h.finish())).collect())
}

/// The certificate a SignerInfo names, from the SignedData's certificates.
fn signer_certificate(sd: &SignedData, sid: &SignerIdentifier) -> Option<x509_cert::Certificate> {
    let certs = sd.certificates.as_ref()?;
    certs.0.iter().find_map(|c| {
        let CertificateChoices::Certificate(cert) = c else { return None };
        let tbs = cert.tbs_certificate();
        let matches = match sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                isn.issuer == *tbs.issuer() && isn.serial_number == *tbs.serial_number()
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                matches!(tbs.get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
            }
        };
        matches.then(|| cert.clone())
    })
}

/// The signature algorithm to verify with: rsaEncryption says nothing of the hash.
fn signature_oid(si: &SignerInfo) -> ObjectIdentifier {
    if si.signature_algorithm.oid == oid::RSA_ENCRYPTION {
        if si.digest_alg.oid == oid::SHA1 {
            return ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
        }
        return oid::SHA256_WITH_RSA;
    }
    si.signature_algorithm.oid
}

fn attribute_value<'a>(si: &'a SignerInfo, oid: &ObjectIdentifier) -> Option<&'a der::Any> {
    si.signed_attrs.as_ref()?.iter().find(|a| a.oid == *oid)?.values.iter().next()
}

/// Check one signer; `content_digest` is the content hashed with its digest algorithm.
fn report_signer(sd: &SignedData, si: &SignerInfo, content_digest: Option<&[u8]>) -> SignerReport {
    let mut report = SignerReport { algorithm: si.signature_algorithm.oid.to_string(), ..Default::default() };
    report.problems = check_signer(sd, si, content_digest, &mut report.subject);
    let signing_time = attribute_value(si, &oid::SIGNING_TIME);
    report.evidence = evidence(sd, si);
    report.evidence.claimed_time_ms = signing_time
        .and_then(|t| t.decode_as::<x509_cert::time::Time>().ok())
        .map(|t| i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX));
    let token = si.unsigned_attrs.as_ref().and_then(|a| a.iter().find(|x| x.oid == SIGNATURE_TIMESTAMP_TOKEN));
    if let Some(token) = token.and_then(|t| t.values.iter().next()) {
        match check_timestamp(si, token) {
            Ok((unix, tsa)) => {
                report.evidence.timestamp_time_ms = unix.map(|s| s.saturating_mul(1000));
                report.evidence.timestamp_certificate = tsa;
            }
            Err(why) => report.problems.push(format!("timestamp: {why}")),
        }
    }
    report
}

/// The signer's certificate, the other certificates and the revocation data of a
/// SignedData: CRLs in `crls`, and CRLs and OCSP responses in the signer's
/// revocationValues attribute (CAdES, ETSI TS 101 733 §6.3.4).
fn evidence(sd: &SignedData, si: &SignerInfo) -> Evidence {
    let der_of = |c: &x509_cert::Certificate| c.to_der().ok();
    let signer = signer_certificate(sd, &si.sid).as_ref().and_then(der_of);
    let others = sd.certificates.iter().flat_map(|c| c.0.iter()).filter_map(|c| match c {
        CertificateChoices::Certificate(c) => der_of(c),
        _ => None,
    });
    let mut out = Evidence {
        other_certificates: others.filter(|c| Some(c) != signer.as_ref()).collect(),
        certificate: signer,
        ..Default::default()
    };
    for choice in sd.crls.iter().flat_map(|c| c.0.iter()) {
        if let cms::revocation::RevocationInfoChoice::Crl(crl) = choice {
            out.crls.extend(crl.to_der().ok());
        }
    }
    let values = si.unsigned_attrs.as_ref().and_then(|a| a.iter().find(|x| x.oid == super::ltv::REVOCATION_VALUES));
    if let Some(values) = values.and_then(|v| v.values.iter().next()).and_then(|v| v.decode_as().ok()) {
        let super::ltv::RevocationValues { crl_vals, ocsp_vals } = values;
        out.crls.extend(crl_vals.iter().flatten().filter_map(|c| c.to_der().ok()));
        out.ocsp_responses.extend(ocsp_vals.iter().flatten().filter_map(|b| super::ltv::ocsp_response_of(b).ok()));
    }
    out
}

fn check_signer(sd: &SignedData, si: &SignerInfo, content_digest: Option<&[u8]>, subject: &mut String) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(cert) = signer_certificate(sd, &si.sid) else {
        return vec!["the signer's certificate is not in the CMS".into()];
    };
    if let Ok(c) = Certificate::from_der(&cert.to_der().unwrap_or_default()) {
        *subject = c.subject_dn();
    }
    if Hasher::for_oid(&si.digest_alg.oid).is_none() {
        return vec![format!("unknown digest algorithm {}", si.digest_alg.oid)];
    }
    let spki = cert.tbs_certificate().subject_public_key_info();
    let signed = match &si.signed_attrs {
        Some(attrs) => {
            match super::message_digest(si) {
                None => problems.push("no messageDigest attribute".into()),
                Some(md) => match content_digest {
                    Some(d) if d == md.as_slice() => {}
                    Some(_) => problems.push("the content does not match the signed messageDigest".into()),
                    None => problems.push("detached signature: the content was not given".into()),
                },
            }
            attrs.to_der().unwrap_or_default()
        }
        None => return vec!["signatures without signed attributes are not supported".into()],
    };
    if let Err(e) = verify(spki, &signature_oid(si), &signed, si.signature.as_bytes()) {
        problems.push(format!("signature: {e}"));
    }
    problems
}

/// Check a signatureTimeStampToken: it stamps this signature value, and the TSA's
/// signature on it verifies. Returns genTime as Unix seconds and the TSA's certificate.
fn check_timestamp(si: &SignerInfo, token: &der::Any) -> Result<(Option<i64>, Option<Vec<u8>>), String> {
    let token_sd = parse_signed_data(&token.to_der().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let info = token_info(&token_sd).map_err(|e| e.to_string())?;
    let hasher = Hasher::for_oid(&info.message_imprint.hash_algorithm.oid)
        .ok_or_else(|| format!("unknown imprint hash {}", info.message_imprint.hash_algorithm.oid))?;
    if hasher.digest(si.signature.as_bytes()) != info.message_imprint.hashed_message.as_bytes() {
        return Err("it stamps another signature".into());
    }
    verify_token_signature(&token_sd)?;
    Ok((info.gen_time_unix(), token_signer_certificate(&token_sd)))
}

/// The certificate (DER) of the TSA that signed a timestamp token, if it carries it.
pub fn token_signer_certificate(token: &SignedData) -> Option<Vec<u8>> {
    let si = token.signer_infos.0.iter().next()?;
    signer_certificate(token, &si.sid)?.to_der().ok()
}

/// The TSA's signature on a token verifies with the certificate the token carries.
pub fn verify_token_signature(token: &SignedData) -> Result<(), String> {
    let econtent = token.encap_content_info.econtent.as_ref().ok_or("empty token")?;
    let octets = OctetString::from_der(&econtent.to_der().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let si = token.signer_infos.0.iter().next().ok_or("the token has no signer")?;
    let digest = Hasher::for_oid(&si.digest_alg.oid).map(|h| h.digest(octets.as_bytes()));
    let mut subject = String::new();
    let problems = check_signer(token, si, digest.as_deref(), &mut subject);
    if problems.is_empty() { Ok(()) } else { Err(format!("the TSA's signature: {}", problems.join("; "))) }
}
