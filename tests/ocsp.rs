//! OCSP responses from NCA RK's test responder: read, their responder's signature
//! checked against the issuing CA, matched to the certificate, dated.

mod common;

use common::*;
use qoltanba::keys::load_key_file;
use qoltanba::trust::ocsp::{OcspStatus, status};
use qoltanba::trust::{ChainRule, Requirements, TrustStore};

/// 2022-09-02 17:00 UTC, right after the responses were produced.
const THEN: i64 = 1_662_138_000_000;

fn issuer() -> x509_cert::Certificate {
    qoltanba::keys::certificate::parse_x509(&std::fs::read(fixture("nca-test/ca/nca_gost2015_test.cer")).unwrap())
        .unwrap()
}

fn individual_2015() -> qoltanba::keys::Certificate {
    load_key_file(&fixture("nca-test/keys/gost2015_individual.p12"), "Aa123456").unwrap()[0].certificate().clone()
}

#[test]
fn nca_test_responder_answers_are_read_and_checked() {
    let response = std::fs::read(fixture("nca-test/ocsp/ocsp_response_individual_2015.bin")).unwrap();
    // The test responder reports the key as revoked (at the epoch: Kalkan's "on hold").
    assert_eq!(status(&response, &individual_2015(), &issuer(), THEN), Ok(OcspStatus::Revoked(0)));
    // A day-old response without nextUpdate is not trusted any more.
    assert_eq!(
        status(&response, &individual_2015(), &issuer(), THEN + 2 * 86_400_000),
        Err("the OCSP response is out of date".into())
    );
    // It says nothing about another certificate.
    let other =
        load_key_file(&fixture("nca-test/keys2026/individual.p12"), "Qwerty12").unwrap()[0].certificate().clone();
    assert_eq!(
        status(&response, &other, &issuer(), THEN),
        Err("the OCSP response does not cover this certificate".into())
    );
    // A changed byte in the signed data breaks the responder's signature.
    let mut tampered = response.clone();
    let at = response.windows(4).position(|w| w == b"2022").unwrap();
    tampered[at + 3] = b'3';
    assert!(status(&tampered, &individual_2015(), &issuer(), THEN).unwrap_err().contains("not signed"));
    // Under the wrong issuer nothing verifies.
    let rsa = qoltanba::keys::certificate::parse_x509(&std::fs::read(fixture("nca-test/ca/nca_rsa_test.crt")).unwrap())
        .unwrap();
    assert!(status(&response, &individual_2015(), &rsa, THEN).is_err());
    // The other response parses and verifies too, for a certificate we do not hold.
    let ceo = std::fs::read(fixture("nca-test/ocsp/ocsp_response_ceo_2015_revoked.bin")).unwrap();
    assert_eq!(
        status(&ceo, &individual_2015(), &issuer(), THEN),
        Err("the OCSP response does not cover this certificate".into())
    );
}

#[test]
fn a_cached_ocsp_answer_decides_when_no_crl_is_current() {
    let dir = tempfile::tempdir().unwrap();
    let cert = individual_2015();
    std::fs::create_dir_all(dir.path().join("ocsp")).unwrap();
    std::fs::copy(
        fixture("nca-test/ocsp/ocsp_response_individual_2015.bin"),
        dir.path().join("ocsp").join(format!("{}.der", cert.serial_hex())),
    )
    .unwrap();
    let store = TrustStore::new(Some(dir.path().to_owned()), Vec::new(), false);
    let req = |allow_revoked| Requirements { chain: ChainRule::Any, allow_expired: true, allow_revoked };
    let verdict = store.assess(&cert, &req(false), THEN);
    // "Revoked, certificateHold, 1970-01-01" is the responder's "never issued" (RFC 6960 §2.2).
    let never = Some("NCA RK's OCSP service does not know this certificate");
    assert_eq!(verdict.refusal.as_ref().map(ToString::to_string).as_deref(), never, "{verdict:?}");
    assert_eq!(store.assess(&cert, &req(true), THEN).refusal, None);
    // Like a revocation, it stays true when the receipt is old.
    let later = store.assess(&cert, &req(false), THEN + 30 * 86_400_000);
    assert_eq!(later.refusal.as_ref().map(ToString::to_string).as_deref(), never, "{later:?}");
}

#[test]
fn our_ocsp_request_reads_in_openssl() {
    let request = qoltanba::trust::ocsp::request(&individual_2015(), &issuer()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("req.der"), &request).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-req_text", "-reqin"])
        .arg(dir.path().join("req.der"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Serial Number: 0FF06211DC82BEB00253FFA000F1DE84ABEF454F"), "{text}");
}
