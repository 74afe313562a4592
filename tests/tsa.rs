//! Timestamps over the real wire: a real daemon (`--tsa-url`) asks a loopback TSA
//! written in Rust (`common/tsa.rs`), which signs with an openssl-made RSA TSA
//! certificate or with NCA GOST test keys.
//!
//! * Every check of the TSA's answer fails the request: a token for other data, a wrong
//!   nonce, a TSA signature that does not verify (flipped byte, foreign key), a
//!   rejection with failInfo, a granted answer without a CMS token, garbage, HTTP 500.
//!   Each gives an error reply saying the timestamp failed, never a signature, and the
//!   daemon goes on serving. Each bad answer has exactly one defect: `openssl ts
//!   -verify` accepts the same TSA's answers without it and names that defect.
//! * A GOST 2015-512 signature timestamped by a GOST TSA (which `openssl ts -reply`
//!   cannot be: it knows no Kazakh hash OIDs): our verifier accepts it, and Debian's
//!   GOST engine independently confirms the imprint (Streebog-512 of the signature
//!   value) and the TSA's GOST signature.

mod common;
#[path = "common/tsa.rs"]
mod tsa;

use std::process::Command;

use common::*;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use qoltanba::crypto::gost::GostCurve;
use qoltanba::keys::{SigningKey, load_key_file};
use serde_json::{Value, json};
use tsa::{Defect, Exchange, RustTsa, TimeStampReq};

const COMMON: &str = "kz.gov.pki.knca.commonUtils";
/// The English text of `Msg::TimestampFailed`, which every such error starts with.
const TIMESTAMP_FAILED: &str = "No timestamp could be obtained, so nothing was signed.";
const STREEBOG_512: &str = "1.2.398.3.10.1.3.3";
const GOST_34311: &str = "1.2.398.3.10.1.3.1";

fn key(path: &str, password: &str) -> Box<dyn SigningKey> {
    load_key_file(&fixture(path), password).unwrap().remove(0)
}

fn daemon_with_tsa(key: &str, password: &str, tsa_url: &str) -> Daemon {
    let key = fixture(key);
    Daemon::start(&["--auto-key", key.to_str().unwrap(), "--auto-password", password, "--tsa-url", tsa_url])
}

/// A reply for an assertion message, without pages of base64.
fn brief(reply: &Value) -> String {
    let text = reply.to_string();
    if text.len() > 300 { format!("{}…", &text[..300]) } else { text }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn common_call(ws: &mut Ws, method: &str, args: Value) -> Value {
    ws.request(&json!({"module":COMMON,"method":method,"args":args})).await
}

/// commonUtils createCMSSignatureFromBase64 of "11\n" (always timestamped).
async fn common_sign(ws: &mut Ws) -> Value {
    common_call(ws, "createCMSSignatureFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", false])).await
}

/// basics sign of "11\n" as a detached CMS with `tsaProfile: {}`.
async fn basics_sign(ws: &mut Ws) -> Value {
    ws.request(&json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":"MTEK",
        "signingParams":{"decode":true,"encapsulate":false,"tsaProfile":{},"allowExpired":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]}}}))
        .await
}

/// Our verifier on a detached CMS over "11\n".
fn verify_over_11(cms: &[u8]) -> qoltanba::cms::verify::Report {
    let mut content: &[u8] = b"11\n";
    qoltanba::cms::verify::verify_cms(cms, Some(&mut content)).unwrap()
}

fn common_cms(reply: &Value) -> Vec<u8> {
    unb64(reply["responseObject"].as_str().unwrap_or_else(|| panic!("a signature: {reply}")))
}

fn basics_cms(reply: &Value) -> Vec<u8> {
    cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("a signature: {reply}")))
}

/// `openssl ts -verify` of a TimeStampResp against the request it answers.
fn openssl_accepts_against_query(exchange: &Exchange, tsa_cert: &std::path::Path) -> (bool, String) {
    let ca = std::fs::read(tsa_cert).unwrap();
    let (ok, text) = tsa::openssl_ts(
        &["-verify", "-in", "{resp}", "-queryfile", "{req}", "-CAfile", "{ca}"],
        &[("resp", &exchange.response), ("req", &exchange.request), ("ca", &ca)],
    );
    (ok && text.contains("Verification: OK"), text)
}

/// `openssl ts -verify` of a TimeStampResp against a bare digest (no nonce check).
fn openssl_accepts_digest(response: &[u8], digest: &[u8], tsa_cert: &std::path::Path) -> (bool, String) {
    let ca = std::fs::read(tsa_cert).unwrap();
    let (ok, text) = tsa::openssl_ts(
        &["-verify", "-in", "{resp}", "-digest", &hex(digest), "-CAfile", "{ca}"],
        &[("resp", response), ("ca", &ca)],
    );
    (ok && text.contains("Verification: OK"), text)
}

/// The RSA daemon signs with the TSA free of defects: a CAdES-T that openssl accepts
/// (signature with the NCA chain, token with `ts -verify` over the signature value, the
/// TSA's answer against the daemon's own request) and our verifier too.
async fn signs_with_a_good_timestamp(ws: &mut Ws, tsa: &RustTsa, tsa_cert: &std::path::Path) {
    let hits = tsa.hits();
    let cms = common_cms(&common_sign(ws).await);
    assert_eq!(tsa.hits(), hits + 1);
    let (ca, at) = (fixture("nca-test/ca/nca_rsa_test.crt"), RSA_KEY_VALID_AT);
    let verdict = openssl_verify(&cms, Some(b"11\n"), Some((&ca, at)));
    assert!(verdict.ok, "{}", verdict.output);
    let signers = signer_tokens(&cms);
    let (signature, token) = &signers[0];
    assert!(openssl_ts_verify(signature, token.as_ref().expect("a token"), tsa_cert), "openssl ts -verify");
    let (ok, text) = openssl_accepts_against_query(&tsa.last_exchange(), tsa_cert);
    assert!(ok, "the answer fits the request (imprint, nonce, policy): {text}");
    let report = verify_over_11(&cms);
    assert!(report.is_valid(), "{report:?}");
    assert!(report.signers[0].evidence.timestamp_time_ms.is_some());
}

/// The bad answer has exactly the one defect: shown with openssl on what the TSA sent.
fn prove_single_defect(exchange: &Exchange, tsa_cert: &std::path::Path, foreign_cert_pem: &str) {
    let request = TimeStampReq::from_der(&exchange.request).expect("the daemon sent a TimeStampReq");
    let asked = request.message_imprint.hashed_message.as_bytes();
    let against_query = || openssl_accepts_against_query(exchange, tsa_cert);
    match exchange.defect {
        Defect::OtherImprint => {
            let (ok, text) = against_query();
            assert!(!ok && text.contains("message imprint mismatch"), "{text}");
            let stamped = exchange.stamped_hash.as_ref().unwrap();
            assert_ne!(stamped.as_slice(), asked);
            let (ok, text) = openssl_accepts_digest(&exchange.response, stamped, tsa_cert);
            assert!(ok, "a valid token, for the other data: {text}");
        }
        Defect::WrongNonce => {
            let (ok, text) = against_query();
            assert!(!ok && text.contains("nonce mismatch"), "{text}");
            let (ok, text) = openssl_accepts_digest(&exchange.response, asked, tsa_cert);
            assert!(ok, "a valid token for our hash, only the nonce is wrong: {text}");
        }
        Defect::FlippedSignature => {
            let (ok, text) = against_query();
            assert!(!ok && text.contains("signature failure"), "{text}");
            let repaired = Exchange { response: tsa::unflip_response(&exchange.response), ..exchange.clone() };
            let (ok, text) = openssl_accepts_against_query(&repaired, tsa_cert);
            assert!(ok, "with the byte flipped back the answer is valid: {text}");
        }
        Defect::ForeignKey => {
            let (ok, text) = against_query();
            assert!(!ok && text.contains("signature failure"), "{text}");
            // The signature is a good one, by the foreign key (openssl dgst checks it).
            let sd = tsa::token_signed_data(&tsa::response_token(&exchange.response));
            let si = sd.signer_infos.0.iter().next().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = |n: &str| dir.path().join(n);
            std::fs::write(path("attrs"), si.signed_attrs.as_ref().unwrap().to_der().unwrap()).unwrap();
            std::fs::write(path("sig"), si.signature.as_bytes()).unwrap();
            let pubkey = openssl_x509(foreign_cert_pem, &["-pubkey"]);
            std::fs::write(path("pub.pem"), pubkey).unwrap();
            let out = Command::new("openssl")
                .args(["dgst", "-sha256", "-verify"])
                .arg(path("pub.pem"))
                .arg("-signature")
                .arg(path("sig"))
                .arg(path("attrs"))
                .output()
                .unwrap();
            assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"), "signed by the foreign key");
        }
        Defect::Rejected => {
            let (ok, text) = tsa::openssl_ts(&["-reply", "-in", "{resp}", "-text"], &[("resp", &exchange.response)]);
            assert!(ok, "a well-formed TimeStampResp: {text}");
            assert!(text.contains("Status: Rejected."), "{text}");
            assert!(text.contains("Failure info: the requested TSA policy is not supported"), "{text}");
            assert!(text.contains("the test TSA does not accept this policy"), "{text}");
        }
        Defect::TokenNotCms => {
            // Granted, and in place of the token a TSTInfo that is right for this request.
            let resp = tsa::TimeStampResp::from_der(&exchange.response).unwrap();
            assert_eq!(resp.status.status, 0);
            let info = tsa::TstInfo::from_der(&resp.time_stamp_token.unwrap().to_der().unwrap()).unwrap();
            assert_eq!(info.message_imprint, request.message_imprint);
            assert_eq!(info.nonce, request.nonce);
            let (ok, _) = tsa::openssl_ts(&["-reply", "-in", "{resp}", "-text"], &[("resp", &exchange.response)]);
            assert!(!ok, "openssl cannot read it either");
        }
        Defect::Garbage => {
            assert_eq!(exchange.status_line, "200 OK");
            assert!(der::asn1::Any::from_der(&exchange.response).is_err(), "not DER");
        }
        Defect::Http500 => {
            assert!(exchange.status_line.starts_with("500"));
            assert!(exchange.response.is_empty());
        }
        Defect::None => unreachable!(),
    }
}

#[tokio::test]
async fn every_bad_tsa_answer_fails_the_signature_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (tsa_cert, tsa_key) = tsa::openssl_tsa_identity(dir.path());
    let tsa = RustTsa::start(tsa_key);
    // The foreign key: NCA's RSA test key, also sha256WithRSA.
    let foreign = key(RSA_KEY, PASSWORD);
    let foreign_pem = foreign.certificate().pem();
    tsa.set_foreign_key(foreign);
    let mut daemon = daemon_with_tsa(RSA_KEY, PASSWORD, &tsa.url());
    let mut ws = daemon.connect(None).await;
    assert_eq!(common_call(&mut ws, "changeLocale", json!(["en"])).await["code"], "200");

    // The same TSA without a defect: openssl accepts what it gives.
    signs_with_a_good_timestamp(&mut ws, &tsa, &tsa_cert).await;

    for (defect, reason) in [
        (Defect::OtherImprint, "the TSA stamped a different hash"),
        (Defect::WrongNonce, "the TSA's nonce does not match the request"),
        (Defect::FlippedSignature, "the TSA's signature: signature: the signature does not match"),
        (Defect::ForeignKey, "the TSA's signature: signature: the signature does not match"),
        (
            Defect::Rejected,
            "the TSA refused (status 2, rejection, unacceptedPolicy): the test TSA does not accept this policy",
        ),
        (Defect::TokenNotCms, "the TSA's token: not a usable CMS signature"),
        (Defect::Garbage, "malformed TSA response"),
        (Defect::Http500, "answered HTTP 500"),
    ] {
        tsa.set_defect(defect);
        let hits = tsa.hits();

        let reply = common_sign(&mut ws).await;
        assert_eq!(reply["code"], "500", "{defect:?}: {}", brief(&reply));
        assert!(reply.get("responseObject").is_none(), "{defect:?}: no signature");
        let message = reply["message"].as_str().unwrap();
        assert!(message.starts_with(TIMESTAMP_FAILED), "{defect:?}: {message}");
        assert!(message.contains(reason), "{defect:?}: {message}");
        let exchange = tsa.last_exchange();
        assert_eq!(exchange.defect, defect);

        let reply = basics_sign(&mut ws).await;
        assert_eq!(reply["status"], false, "{defect:?}: {}", brief(&reply));
        assert_eq!(reply["code"], "SIGNING_FAILURE", "{defect:?}: {}", brief(&reply));
        assert!(reply.get("body").is_none(), "{defect:?}: no signature");
        let details = reply["details"].as_str().unwrap();
        assert!(details.starts_with(TIMESTAMP_FAILED) && details.contains(reason), "{defect:?}: {details}");
        assert_eq!(tsa.hits(), hits + 2, "{defect:?}: both requests asked the TSA");

        prove_single_defect(&exchange, &tsa_cert, &foreign_pem);

        // The daemon serves on, and the same TSA without the defect stamps again.
        tsa.set_defect(Defect::None);
        signs_with_a_good_timestamp(&mut ws, &tsa, &tsa_cert).await;
    }
    assert!(daemon.is_running());
}

/// What a GOST CAdES-T must show: the daemon asked for the GOST hash under NCA's
/// policy, our verifier accepts signature and timestamp, the token stamps the hash of
/// the signature value and carries a GOST signature by the TSA's key.
fn check_gost_timestamp(
    cms: &[u8],
    exchange: &Exchange,
    imprint_oid: &str,
    policy: &str,
    tsa_key: &dyn SigningKey,
    tsa_curve: GostCurve,
) {
    // What the daemon asked.
    let request = TimeStampReq::from_der(&exchange.request).unwrap();
    assert_eq!(request.message_imprint.hash_algorithm.oid.to_string(), imprint_oid);
    assert_eq!(request.req_policy.unwrap().to_string(), policy);
    assert!(request.cert_req && request.nonce.is_some());

    // Our verifier: the signature and its timestamp are valid.
    let report = verify_over_11(cms);
    assert!(report.is_valid(), "{report:?}");
    let stamped = report.signers[0].evidence.timestamp_time_ms.expect("a timestamp");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((946_684_800_000..now + 86_400_000).contains(&stamped), "genTime in this century, not ahead: {stamped}");

    // The token is the one the TSA sent, and stamps the hash of the signature value.
    let signers = signer_tokens(cms);
    let (signature, token) = &signers[0];
    let token = token.as_ref().expect("a token");
    assert_eq!(*token, tsa::response_token(&exchange.response));
    let sd = tsa::token_signed_data(token);
    let info = tsa::TstInfo::from_der(&tsa::token_econtent(&sd)).unwrap();
    assert_eq!(info.message_imprint, request.message_imprint);
    assert_eq!(info.message_imprint.hash_algorithm.oid.to_string(), imprint_oid);
    let expected = match imprint_oid {
        // Independently: Debian's GOST engine.
        STREEBOG_512 => tsa::engine_streebog512(signature),
        // The engine's GOST R 34.11-94 uses the CryptoPro S-box, not NCA's test S-box;
        // our GOST 34.311 (src/crypto/gost34311.rs) is pinned to NCA's on the real NCA TSA token (tests/gost.rs).
        _ => qoltanba::crypto::Hasher::for_oid(&ObjectIdentifier::new_unwrap(imprint_oid)).unwrap().digest(signature),
    };
    assert_eq!(info.message_imprint.hashed_message.as_bytes(), expected.as_slice(), "imprint, natural byte order");

    tsa::engine_checks_token_signature(&sd, tsa_key, tsa_curve);
}

#[tokio::test]
async fn gost_signatures_timestamped_by_a_gost_tsa() {
    const TSA_2015: &str = "nca-test/keys2026/legal_employee.p12";
    const TSA_2004: &str = "nca-test/keys/gost2004_ceo.p12";
    let tsa = RustTsa::start(key(TSA_2015, PASSWORD));

    // GOST 34.10-2015 512-bit signer: Streebog-512 imprint under policy .6.4.
    let daemon = daemon_with_tsa("nca-test/keys2026/individual.p12", PASSWORD, &tsa.url());
    let mut ws = daemon.connect(None).await;
    let cms = common_cms(&common_sign(&mut ws).await);
    check_gost_timestamp(
        &cms,
        &tsa.last_exchange(),
        STREEBOG_512,
        "1.2.398.3.3.2.6.4",
        key(TSA_2015, PASSWORD).as_ref(),
        GostCurve::Tc26_512A,
    );
    let cms = basics_cms(&basics_sign(&mut ws).await);
    check_gost_timestamp(
        &cms,
        &tsa.last_exchange(),
        STREEBOG_512,
        "1.2.398.3.3.2.6.4",
        key(TSA_2015, PASSWORD).as_ref(),
        GostCurve::Tc26_512A,
    );

    // `qoltanba verify cms` says the same.
    let dir = tempfile::tempdir().unwrap();
    let (sig, data) = (dir.path().join("sig.p7s"), dir.path().join("data"));
    std::fs::write(&sig, &cms).unwrap();
    std::fs::write(&data, b"11\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["verify", "cms"])
        .arg(&sig)
        .arg("--content")
        .arg(&data)
        .arg("--offline")
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("signature     ok "), "the signature and its timestamp are intact: {text}");

    // A TSA signing with GOST 34.310-2004, as NCA RK's does.
    tsa.set_key(key(TSA_2004, PASSWORD));
    let cms = common_cms(&common_sign(&mut ws).await);
    check_gost_timestamp(
        &cms,
        &tsa.last_exchange(),
        STREEBOG_512,
        "1.2.398.3.3.2.6.4",
        key(TSA_2004, PASSWORD).as_ref(),
        GostCurve::CryptoProA,
    );

    // GOST 34.310-2004 signer: GOST 34.311-95 imprint under policy .6.1.
    tsa.set_key(key(TSA_2015, PASSWORD));
    let daemon = daemon_with_tsa(TSA_2004, PASSWORD, &tsa.url());
    let mut ws = daemon.connect(None).await;
    let cms = common_cms(&common_sign(&mut ws).await);
    check_gost_timestamp(
        &cms,
        &tsa.last_exchange(),
        GOST_34311,
        "1.2.398.3.3.2.6.1",
        key(TSA_2015, PASSWORD).as_ref(),
        GostCurve::Tc26_512A,
    );
}
