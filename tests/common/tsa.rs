//! A loopback RFC 3161 TSA written with the crate's own ASN.1 types (`der`, `cms`): it
//! reads the TimeStampReq, puts its imprint and nonce into a TSTInfo and signs that as
//! a CMS SignedData (signed attributes contentType id-ct-TSTInfo, signingTime,
//! messageDigest, signingCertificateV2) with any qoltanba signing key: an RSA key with
//! a timeStamping certificate made by openssl, or the Kazakh GOST keys of the NCA test
//! fixtures, which `openssl ts -reply` cannot use. Served by [`LoopbackHttp`], stopped
//! on drop.
//!
//! A [`Defect`], switched on between requests, spoils exactly one thing in the answer;
//! every exchange is recorded so a test can show that the rest of it is valid.
#![allow(dead_code)]

use qoltanba::cms::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, BitString, GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Sequence};
use qoltanba::cms::tsp::MessageImprint;
use qoltanba::cms::with_null;
use qoltanba::crypto::Hasher;
use qoltanba::keys::SigningKey;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

use crate::common::{LoopbackHttp, engine_verifies};
use qoltanba::crypto::gost::GostCurve;
use qoltanba::crypto::verify::gost_public_octets;

pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
pub const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
pub const SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// The policy used when the request names none (NCA RK's RSA policy).
const DEFAULT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.398.3.3.2.6.2");

/// PKIFailureInfo bits (RFC 3161 §2.4.2).
pub const BAD_ALG: usize = 0;
pub const BAD_DATA_FORMAT: usize = 5;
pub const UNACCEPTED_POLICY: usize = 15;

/// RFC 3161 TimeStampReq (extensions are not supported: such a request is refused
/// with badDataFormat).
#[derive(Clone, Debug, Sequence)]
pub struct TimeStampReq {
    pub version: u8,
    pub message_imprint: MessageImprint,
    pub req_policy: Option<ObjectIdentifier>,
    pub nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
}

/// RFC 3161 TSTInfo, the fields this TSA writes.
#[derive(Clone, Debug, Sequence)]
pub struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: u64,
    pub gen_time: GeneralizedTime,
    pub accuracy: Option<Accuracy>,
    pub nonce: Option<Int>,
}

#[derive(Clone, Debug, Sequence)]
pub struct Accuracy {
    pub seconds: Option<u8>,
}

#[derive(Clone, Debug, Sequence)]
pub struct PkiStatusInfo {
    pub status: u8,
    pub status_string: Option<Vec<String>>,
    pub fail_info: Option<BitString>,
}

/// TimeStampResp; the token is kept as `Any` so a test can put anything there.
#[derive(Clone, Debug, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    pub time_stamp_token: Option<Any>,
}

/// One thing wrong with the TSA's answer; everything else stays valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    None,
    /// The TSTInfo's messageImprint is the hash (same algorithm) of other data.
    OtherImprint,
    /// The TSTInfo's nonce differs from the request's in its last bit.
    WrongNonce,
    /// One byte in the middle of the TSA's signature value is flipped.
    FlippedSignature,
    /// Signed by another key (same algorithm) than the certificate the token names.
    ForeignKey,
    /// PKIStatus rejection (2), failInfo unacceptedPolicy, with a statusString.
    Rejected,
    /// Status granted, but in place of the token the bare TSTInfo (not a CMS).
    TokenNotCms,
    /// HTTP 200 with bytes that are not DER.
    Garbage,
    /// HTTP 500 with an empty body.
    Http500,
}

/// What the TSA received and answered.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub defect: Defect,
    pub request: Vec<u8>,
    pub status_line: &'static str,
    pub response: Vec<u8>,
    /// [`Defect::OtherImprint`]: the hash the token stamps instead of the requested one.
    pub stamped_hash: Option<Vec<u8>>,
}

struct State {
    key: Arc<dyn SigningKey>,
    foreign: Option<Arc<dyn SigningKey>>,
    defect: Defect,
    serial: u64,
    exchanges: Vec<Exchange>,
}

/// The TSA; see the module documentation.
pub struct RustTsa {
    http: LoopbackHttp,
    state: Arc<Mutex<State>>,
}

impl RustTsa {
    /// Start a TSA that signs with `key` and carries its certificate.
    pub fn start(key: Box<dyn SigningKey>) -> Self {
        let state = Arc::new(Mutex::new(State {
            key: Arc::from(key),
            foreign: None,
            defect: Defect::None,
            serial: 0,
            exchanges: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        let http = LoopbackHttp::start(Box::new(move |_, _, query| {
            let mut state = shared.lock().unwrap();
            let (status_line, response, stamped_hash) = answer(&mut state, query);
            let exchange =
                Exchange { defect: state.defect, request: query.to_vec(), status_line, response, stamped_hash };
            state.exchanges.push(exchange);
            (status_line, state.exchanges.last().unwrap().response.clone())
        }));
        RustTsa { http, state }
    }

    pub fn url(&self) -> String {
        self.http.url("/")
    }

    /// How many requests the TSA has answered.
    pub fn hits(&self) -> usize {
        self.state.lock().unwrap().exchanges.len()
    }

    pub fn set_defect(&self, defect: Defect) {
        self.state.lock().unwrap().defect = defect;
    }

    /// Sign from now on with `key` (and carry its certificate).
    pub fn set_key(&self, key: Box<dyn SigningKey>) {
        self.state.lock().unwrap().key = Arc::from(key);
    }

    /// The key [`Defect::ForeignKey`] signs with.
    pub fn set_foreign_key(&self, key: Box<dyn SigningKey>) {
        self.state.lock().unwrap().foreign = Some(Arc::from(key));
    }

    /// The DER certificate the TSA's tokens carry.
    pub fn cert_der(&self) -> Vec<u8> {
        self.state.lock().unwrap().key.certificate().der().to_vec()
    }

    pub fn last_exchange(&self) -> Exchange {
        self.state.lock().unwrap().exchanges.last().expect("the TSA was asked").clone()
    }
}

const OK: &str = "200 OK";

/// The answer to one request: status line, body, and for `OtherImprint` the hash stamped.
fn answer(state: &mut State, query: &[u8]) -> (&'static str, Vec<u8>, Option<Vec<u8>>) {
    let defect = state.defect;
    match defect {
        Defect::Http500 => return ("500 Internal Server Error", Vec::new(), None),
        Defect::Garbage => return (OK, b"<html><body>Service temporarily unavailable</body></html>".to_vec(), None),
        Defect::Rejected => {
            return (OK, rejection(UNACCEPTED_POLICY, "the test TSA does not accept this policy"), None);
        }
        _ => {}
    }
    let Ok(request) = TimeStampReq::from_der(query) else {
        return (OK, rejection(BAD_DATA_FORMAT, "not a TimeStampReq"), None);
    };
    // A hash algorithm this TSA knows, with a hash of its length; else badAlg, as a TSA
    // that knows no Kazakh hashes (openssl's) answers.
    let imprint = &request.message_imprint;
    let Some(hasher) = Hasher::for_oid(&imprint.hash_algorithm.oid) else {
        return (OK, rejection(BAD_ALG, "unknown hash algorithm"), None);
    };
    if hasher.digest(b"").len() != imprint.hashed_message.as_bytes().len() {
        return (OK, rejection(BAD_DATA_FORMAT, "the hash has the wrong length"), None);
    }
    let mut imprint = imprint.clone();
    let mut stamped_hash = None;
    if defect == Defect::OtherImprint {
        let other = Hasher::for_oid(&imprint.hash_algorithm.oid).unwrap().digest(b"other data");
        imprint.hashed_message = OctetString::new(other.clone()).unwrap();
        stamped_hash = Some(other);
    }
    let nonce = match (defect, request.nonce) {
        (Defect::WrongNonce, Some(nonce)) => {
            let mut bytes = nonce.as_bytes().to_vec();
            *bytes.last_mut().unwrap() ^= 1;
            Some(Int::new(&bytes).unwrap())
        }
        (Defect::WrongNonce, None) => Some(Int::new(&[42]).unwrap()),
        (_, nonce) => nonce,
    };
    state.serial += 1;
    let info = TstInfo {
        version: 1,
        policy: request.req_policy.unwrap_or(DEFAULT_POLICY),
        message_imprint: imprint,
        serial_number: state.serial,
        gen_time: GeneralizedTime::from_system_time(SystemTime::now()).unwrap(),
        accuracy: Some(Accuracy { seconds: Some(1) }),
        nonce,
    };
    let info_der = info.to_der().unwrap();
    let token = if defect == Defect::TokenNotCms {
        Any::from_der(&info_der).unwrap()
    } else {
        let signer = match defect {
            Defect::ForeignKey => state.foreign.clone().expect("set_foreign_key before ForeignKey"),
            _ => Arc::clone(&state.key),
        };
        let mut token = sign_token(state.key.as_ref(), signer.as_ref(), &info_der, request.cert_req);
        if defect == Defect::FlippedSignature {
            token = flip_signature_byte(&token);
        }
        Any::from_der(&token).unwrap()
    };
    let response = TimeStampResp {
        status: PkiStatusInfo { status: 0, status_string: None, fail_info: None },
        time_stamp_token: Some(token),
    };
    (OK, response.to_der().unwrap(), stamped_hash)
}

/// A TimeStampResp with PKIStatus rejection, failInfo `bit` and `text`.
pub fn rejection(bit: usize, text: &str) -> Vec<u8> {
    // DER named bits: no trailing zero bits, so the last byte ends at `bit`.
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    let fail_info = BitString::new((7 - bit % 8) as u8, bytes).unwrap();
    TimeStampResp {
        status: PkiStatusInfo { status: 2, status_string: Some(vec![text.to_owned()]), fail_info: Some(fail_info) },
        time_stamp_token: None,
    }
    .to_der()
    .unwrap()
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Attribute {
    Attribute { oid, values: SetOfVec::try_from(vec![value]).unwrap() }
}

/// The timestamp token: a ContentInfo with SignedData over `info_der`, naming and
/// carrying `key`'s certificate (when `with_cert`), signed by `signer`.
pub fn sign_token(key: &dyn SigningKey, signer: &dyn SigningKey, info_der: &[u8], with_cert: bool) -> Vec<u8> {
    let algorithm = key.algorithm();
    assert_eq!(signer.algorithm(), algorithm, "a foreign key of the same algorithm");
    let cert = key.certificate().parsed();
    let tbs = cert.tbs_certificate();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(qoltanba::crypto::sha256(key.certificate().der())).unwrap(),
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            },
        }],
    };
    let digest = algorithm.digest(info_der).unwrap();
    let signed_attrs = SetOfVec::try_from(vec![
        attribute(CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO).unwrap()),
        attribute(SIGNING_TIME, Any::encode_from(&UtcTime::from_system_time(SystemTime::now()).unwrap()).unwrap()),
        attribute(MESSAGE_DIGEST, Any::encode_from(&OctetString::new(digest).unwrap()).unwrap()),
        attribute(SIGNING_CERTIFICATE_V2, Any::encode_from(&ess).unwrap()),
    ])
    .unwrap();
    let signature = signer.sign(&signed_attrs.to_der().unwrap()).unwrap();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: with_null(algorithm.digest_oid()),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: with_null(algorithm.signature_oid()),
        signature: OctetString::new(signature).unwrap(),
        unsigned_attrs: None,
    };
    let certificates = with_cert
        .then(|| CertificateSet(SetOfVec::try_from(vec![CertificateChoices::Certificate(cert.clone())]).unwrap()));
    let signed_data = SignedData {
        // RFC 5652 §5.1: version 3 for an eContentType other than id-data.
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![with_null(algorithm.digest_oid())]).unwrap(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::encode_from(&OctetString::new(info_der).unwrap()).unwrap()),
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).unwrap()),
    };
    ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data).unwrap() }.to_der().unwrap()
}

/// The token (DER ContentInfo) with one byte in the middle of its signature value
/// flipped; flipping twice restores it.
pub fn flip_signature_byte(token: &[u8]) -> Vec<u8> {
    let mut info = ContentInfo::from_der(token).unwrap();
    let mut sd: SignedData = info.content.decode_as().unwrap();
    let mut signers: Vec<SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
    let mut signature = signers[0].signature.as_bytes().to_vec();
    let middle = signature.len() / 2;
    signature[middle] ^= 0x01;
    signers[0].signature = OctetString::new(signature).unwrap();
    sd.signer_infos = SignerInfos(SetOfVec::try_from(signers).unwrap());
    info.content = Any::encode_from(&sd).unwrap();
    info.to_der().unwrap()
}

/// The TimeStampResp `response` with its token's signature byte flipped back.
pub fn unflip_response(response: &[u8]) -> Vec<u8> {
    let mut resp = TimeStampResp::from_der(response).unwrap();
    let token = resp.time_stamp_token.take().unwrap().to_der().unwrap();
    resp.time_stamp_token = Some(Any::from_der(&flip_signature_byte(&token)).unwrap());
    resp.to_der().unwrap()
}

/// The token of a granted TimeStampResp, as DER.
pub fn response_token(response: &[u8]) -> Vec<u8> {
    TimeStampResp::from_der(response).unwrap().time_stamp_token.unwrap().to_der().unwrap()
}

/// The SignedData of a token (DER ContentInfo).
pub fn token_signed_data(token: &[u8]) -> SignedData {
    let info = ContentInfo::from_der(token).unwrap();
    assert_eq!(info.content_type, ID_SIGNED_DATA);
    info.content.decode_as().unwrap()
}

/// The eContent (DER TSTInfo) of a token's SignedData.
pub fn token_econtent(sd: &SignedData) -> Vec<u8> {
    assert_eq!(sd.encap_content_info.econtent_type, ID_CT_TST_INFO);
    let econtent = sd.encap_content_info.econtent.as_ref().unwrap();
    OctetString::from_der(&econtent.to_der().unwrap()).unwrap().as_bytes().to_vec()
}

/// An RSA TSA identity made by openssl (certificate with the critical timeStamping
/// EKU that `openssl ts -verify` wants): the certificate's path and the key.
pub fn openssl_tsa_identity(dir: &Path) -> (PathBuf, Box<dyn SigningKey>) {
    let (key, cert) = (dir.join("tsa.key"), dir.join("tsa.crt"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=qoltanba Rust test TSA"])
        .args(["-addext", "extendedKeyUsage=critical,timeStamping", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut pem = std::fs::read(&key).unwrap();
    pem.extend(std::fs::read(&cert).unwrap());
    let mut keys = qoltanba::keys::file::load_key_bytes(&pem, "").unwrap();
    (cert, keys.remove(0))
}

/// Run `openssl ts <args>` with `files` written to a temporary directory first
/// (`{name}` in an argument becomes the file's path). Returns (success, stdout+stderr).
pub fn openssl_ts(args: &[&str], files: &[(&str, &[u8])]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            files.iter().fold(a.to_string(), |a, (name, _)| {
                a.replace(&format!("{{{name}}}"), dir.path().join(name).to_str().unwrap())
            })
        })
        .collect();
    let out = Command::new("openssl").arg("ts").args(&args).output().expect("openssl is installed");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // `ts -verify` exits 0 only on "Verification: OK"; `ts -reply -text` on a readable reply.
    (out.status.success(), text)
}

/// Streebog-512 of `data` by Debian's GOST engine (independent of our hashes).
pub fn engine_streebog512(data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    std::fs::write(&path, data).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-engine", "gost", "-md_gost12_512", "-binary"])
        .arg(&path)
        .output()
        .expect("openssl with libengine-gost-openssl");
    assert!(out.status.success(), "GOST engine: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout.len(), 64);
    out.stdout
}

/// The TSA's signature on a token, checked with Debian's GOST engine: messageDigest
/// over the TSTInfo (the engine's Streebog-512 for a 2015 TSA), the GOST signature
/// over DER(signed attributes) by the key of the certificate the token carries, which
/// is `tsa_key`'s, and for these attributes only.
pub fn engine_checks_token_signature(sd: &SignedData, tsa_key: &dyn SigningKey, tsa_curve: GostCurve) {
    let si = sd.signer_infos.0.iter().next().unwrap();
    assert_eq!(si.digest_alg.oid, tsa_key.algorithm().digest_oid());
    assert_eq!(si.signature_algorithm.oid, tsa_key.algorithm().signature_oid());
    let attrs = si.signed_attrs.as_ref().unwrap();
    let md = attrs.iter().find(|a| a.oid == MESSAGE_DIGEST).unwrap();
    let md = OctetString::from_der(&md.values.iter().next().unwrap().to_der().unwrap()).unwrap();
    let econtent = token_econtent(sd);
    let expected_md = match tsa_curve {
        GostCurve::Tc26_512A => engine_streebog512(&econtent),
        _ => tsa_key.algorithm().digest(&econtent).unwrap(),
    };
    assert_eq!(md.as_bytes(), expected_md.as_slice());
    let tsa_cert = match sd.certificates.as_ref().unwrap().0.iter().next().unwrap() {
        CertificateChoices::Certificate(c) => c.clone(),
        _ => panic!("a certificate"),
    };
    assert_eq!(tsa_cert.to_der().unwrap(), tsa_key.certificate().der(), "the TSA's certificate");
    let public = gost_public_octets(tsa_cert.tbs_certificate().subject_public_key_info()).unwrap();
    let signed = attrs.to_der().unwrap();
    assert!(engine_verifies(tsa_curve, &public, &signed, si.signature.as_bytes()), "the engine accepts the TSA");
    let mut other = signed.clone();
    other[10] ^= 1;
    assert!(!engine_verifies(tsa_curve, &public, &other, si.signature.as_bytes()), "and only for these attributes");
}
