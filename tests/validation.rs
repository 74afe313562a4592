//! `qoltanba verify` as NCA RK's checking rules ask (issue 15): forged certificates,
//! NCA RK test keys (valid, revoked, expired, authentication key, IIN mismatch), OCSP
//! receipts given offline, and long-term CAdES (LT) checked offline later.

mod common;
#[path = "common/openssl_ca.rs"]
mod openssl_ca;
#[path = "common/tsa.rs"]
mod tsa;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::*;
use openssl_ca::{OpensslCa, openssl_in as openssl, self_signed};
use qoltanba::keys::SigningKey;
use serde_json::Value;

const TEST_ROOT: &str = "nca-test/ca/root_test_gost_2022.cer";
const CRL_2026: &str = "nca-test/crl/nca_gost2022_test_2026.crl";

fn key(rel: &str, password: &str) -> Box<dyn SigningKey> {
    qoltanba::keys::load_key_file(&fixture(&format!("nca-test/{rel}")), password).unwrap().remove(0)
}

/// An attached CAdES-BES of "hello" by `key`, claiming `at` as its signing time.
fn cms_by(key: &dyn SigningKey, at: SystemTime) -> Vec<u8> {
    let content = qoltanba::cms::Content::Data { bytes: b"hello", attach: true };
    qoltanba::cms::sign_cades_bes(key, content, at).unwrap()
}

fn at_unix(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// `qoltanba verify <kind> FILE --json --offline <args>`: the exit code and each signer's report.
fn verify(kind: &str, file: &Path, data_dir: &Path, args: &[&str]) -> (i32, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["verify", kind])
        .arg(file)
        .args(["--json", "--offline", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reports = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code().unwrap_or(-1), reports)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn outcome<'v>(report: &'v Value, check: &str) -> (&'v str, &'v str) {
    (report[check]["outcome"].as_str().unwrap(), report[check]["detail"].as_str().unwrap())
}

#[test]
fn a_forged_self_signed_cms_and_xml_are_not_valid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let signing = ["keyUsage=critical,digitalSignature,nonRepudiation"];
    self_signed(d, "k.pem", "c.pem", "/CN=ПРЕЗИДЕНТ/serialNumber=IIN000000000001", &signing);
    write(d, "doc.txt", b"payment order");
    openssl(
        d,
        &[
            "cms",
            "-sign",
            "-nodetach",
            "-binary",
            "-md",
            "sha256",
            "-in",
            "doc.txt",
            "-signer",
            "c.pem",
            "-inkey",
            "k.pem",
            "-outform",
            "DER",
            "-out",
            "forged.cms",
        ],
    );
    let (code, reports) = verify("cms", &d.join("forged.cms"), d, &[]);
    assert_eq!(code, 1, "{reports:?}");
    assert_eq!(reports[0]["verdict"], "invalid");
    assert_eq!(outcome(&reports[0], "signature").0, "passed", "the signature itself is intact");
    let (result, why) = outcome(&reports[0], "chain");
    assert_eq!(result, "failed");
    assert!(why.contains("self-signed"), "{why}");

    // A name with a terminal escape sequence is shown, not obeyed, in the text report.
    let evil_subject = "/CN=evil\u{1b}[2Jcleared/serialNumber=IIN000000000001";
    self_signed(d, "ek.pem", "ec.pem", evil_subject, &[]);
    openssl(
        d,
        &[
            "cms",
            "-sign",
            "-nodetach",
            "-binary",
            "-in",
            "doc.txt",
            "-signer",
            "ec.pem",
            "-inkey",
            "ek.pem",
            "-outform",
            "DER",
            "-out",
            "evil.cms",
        ],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["verify", "cms", "--offline", "--data-dir"])
        .arg(d)
        .arg(d.join("evil.cms"))
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(!text.contains('\u{1b}') && text.contains("evil\\u{1b}[2Jcleared"), "{text}");

    // The same key signs an XML payment order (xmlsec1 fills a signature template).
    write(
        d,
        "order.xml",
        br##"<?xml version="1.0" encoding="UTF-8"?>
<order><sum>1000000</sum><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo></Signature></order>
"##,
    );
    let out = Command::new("xmlsec1")
        .current_dir(d)
        .args(["--sign", "--privkey-pem", "k.pem,c.pem", "--output", "signed.xml", "order.xml"])
        .output()
        .expect("xmlsec1");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, reports) = verify("xml", &d.join("signed.xml"), d, &[]);
    assert_eq!(code, 1, "{reports:?}");
    assert_eq!(outcome(&reports[0], "signature").0, "passed");
    assert!(outcome(&reports[0], "chain").1.contains("self-signed"));
    assert!(outcome(&reports[0], "validity").1.contains("does not say when"), "XMLDSig has no signing time");
}

#[test]
fn nca_test_keys_valid_revoked_expired_authentication_and_iin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = fixture(TEST_ROOT);
    let crl = fixture(CRL_2026);
    let trusted = ["--trust", root.to_str().unwrap(), "--crl", crl.to_str().unwrap()];

    let good = write(d, "good.cms", &cms_by(key("keys2026/individual.p12", PASSWORD).as_ref(), SystemTime::now()));
    let (code, reports) = verify("cms", &good, d, &[&trusted[..], &["--expect-iin", "123456789011"]].concat());
    assert_eq!(code, 0, "{reports:?}");
    let r = &reports[0];
    assert_eq!(r["verdict"], "valid");
    assert_eq!(r["chain"]["root"], "test", "NCA RK TEST is marked");
    assert_eq!(r["chain"]["path"].as_array().unwrap().len(), 3, "user, NCA TEST CA, TEST root");
    assert_eq!(r["revocation"]["source"], "crl");
    assert_eq!(r["signingTime"]["source"], "claimed");
    assert_eq!(outcome(r, "identity").0, "passed");

    // Without the test root: a test key is not a legal signature.
    let (code, reports) = verify("cms", &good, d, &["--crl", crl.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(outcome(&reports[0], "chain").1.contains("TEST"), "{reports:?}");
    // Without a CRL and offline: intact, but revocation could not be checked.
    let (code, reports) = verify("cms", &good, d, &["--trust", root.to_str().unwrap()]);
    assert_eq!(code, 4, "{reports:?}");
    assert_eq!(reports[0]["verdict"], "indeterminate");
    assert_eq!(outcome(&reports[0], "revocation").0, "unknown");
    // The wrong IIN.
    let (code, reports) = verify("cms", &good, d, &[&trusted[..], &["--expect-iin", "990101300000"]].concat());
    assert_eq!(code, 1);
    assert!(outcome(&reports[0], "identity").1.contains("not 990101300000"));

    // The revoked 2026 key, listed in the 2026 CRL.
    let revoked = key("keys2026/individual_revoked.p12", PASSWORD);
    let revoked = write(d, "revoked.cms", &cms_by(revoked.as_ref(), SystemTime::now()));
    let (code, reports) = verify("cms", &revoked, d, &trusted);
    assert_eq!(code, 1);
    let (result, why) = outcome(&reports[0], "revocation");
    assert_eq!(result, "failed");
    assert!(why.starts_with("revoked on"), "{why}");

    // An expired key (GOST 2015, valid 2022-07-28 to 2023-07-28) signing now.
    let expired =
        write(d, "expired.cms", &cms_by(key("keys/gost2015_individual.p12", "Aa123456").as_ref(), SystemTime::now()));
    let (code, reports) = verify("cms", &expired, d, &trusted);
    assert_eq!(code, 1);
    let (result, why) = outcome(&reports[0], "validity");
    assert_eq!(result, "failed");
    assert!(why.starts_with("expired"), "{why}");

    // An authentication key used to sign a document (while it was valid).
    let auth = key("keys/rsa_auth_individual.p12", PASSWORD);
    let auth = write(d, "auth.cms", &cms_by(auth.as_ref(), at_unix(1_546_300_800)));
    let (code, reports) = verify("cms", &auth, d, &[]);
    assert_eq!(code, 1);
    let (result, why) = outcome(&reports[0], "keyUsage");
    assert_eq!(result, "failed");
    assert!(why.contains("authentication certificate"), "{why}");
    let (_, reports) = verify("cms", &auth, d, &["--usage", "auth"]);
    assert_eq!(outcome(&reports[0], "keyUsage").0, "passed", "as a login key it is fine");
}

#[test]
fn ocsp_receipts_from_nca_rk_are_read_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // gost2015_individual.p12 (valid 2022-07-28 to 2023-07-28), signed 2022-09-01: NCA RK's
    // test responder answered on 2022-09-02 "revoked, certificateHold, 1970-01-01", its
    // way of saying the certificate is unknown to it (RFC 6960 §2.2).
    let signed = cms_by(key("keys/gost2015_individual.p12", "Aa123456").as_ref(), at_unix(1_662_000_000));
    let signed = write(d, "signed.cms", &signed);
    let root = fixture(TEST_ROOT);
    let receipt = fixture("nca-test/ocsp/ocsp_response_individual_2015.bin");
    let other = fixture("nca-test/ocsp/ocsp_response_ceo_2015_revoked.bin");
    let args = ["--trust", root.to_str().unwrap(), "--at", "2022-09-03", "--ocsp-response"];
    let (code, reports) = verify("cms", &signed, d, &[&args[..], &[receipt.to_str().unwrap()]].concat());
    assert_eq!(code, 1, "{reports:?}");
    let (result, why) = outcome(&reports[0], "revocation");
    assert_eq!(result, "failed");
    assert!(why.contains("never issued"), "{why}");
    assert_eq!(reports[0]["revocation"]["source"], "ocsp");
    // A receipt about another certificate decides nothing.
    let (code, reports) = verify("cms", &signed, d, &[&args[..], &[other.to_str().unwrap()]].concat());
    assert_eq!(code, 4, "{reports:?}");
    assert!(outcome(&reports[0], "revocation").1.contains("does not cover"));
}

/// A CA made by openssl with two users (`good`, `revoked`, in `NAME.p12`) whose
/// certificates name an OCSP responder at `ocsp_url`; `revoked` is revoked in the CA's
/// database, which `openssl ocsp` answers from.
fn make_ocsp_pki(dir: &Path, ocsp_url: &str) -> OpensslCa {
    let ca = OpensslCa::new(dir, "OCSP test CA", "");
    let ext = format!("keyUsage=critical,digitalSignature,nonRepudiation\nauthorityInfoAccess=OCSP;URI:{ocsp_url}\n");
    for (name, serial) in [("good", "2001"), ("revoked", "2002")] {
        ca.issue_p12(name, serial, &format!("/CN={name}/serialNumber=IIN123456789012"), &ext, PASSWORD);
    }
    ca.revoke("revoked");
    ca
}

#[test]
fn ocsp_receipts_good_revoked_and_stale_used_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = make_ocsp_pki(d, "http://127.0.0.1:9/ocsp");
    let ca = d.join("ca.pem");
    let good_receipt = write(d, "good.ocsp", &pki.ocsp_answer(&pki.ocsp_request("good"), "1"));
    let revoked_receipt = write(d, "revoked.ocsp", &pki.ocsp_answer(&pki.ocsp_request("revoked"), "1"));
    let now = SystemTime::now();
    let signed = |name: &str, at: SystemTime| {
        let key = qoltanba::keys::load_key_file(&d.join(format!("{name}.p12")), PASSWORD).unwrap().remove(0);
        write(d, &format!("{name}.cms"), &cms_by(key.as_ref(), at))
    };
    let good = signed("good", now);
    let trust = ["--trust", ca.to_str().unwrap(), "--ocsp-response"];
    let (code, reports) = verify("cms", &good, d, &[&trust[..], &[good_receipt.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["revocation"]["source"], "ocsp");
    assert!(outcome(&reports[0], "revocation").1.contains("OCSP receipt of"));

    let revoked = signed("revoked", now);
    let (code, reports) = verify("cms", &revoked, d, &[&trust[..], &[revoked_receipt.to_str().unwrap()]].concat());
    assert_eq!(code, 1, "{reports:?}");
    assert!(outcome(&reports[0], "revocation").1.starts_with("revoked on"));

    // Stale: a receipt valid for a day, for a signature made two days after it.
    let later = signed("good", now + Duration::from_secs(2 * 86_400));
    let at = (now + Duration::from_secs(3 * 86_400)).duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let at = at.to_string();
    let args = [&trust[..], &[good_receipt.to_str().unwrap(), "--at", &at]].concat();
    let (code, reports) = verify("cms", &later, d, &args);
    assert_eq!(code, 4, "{reports:?}");
    assert!(outcome(&reports[0], "revocation").1.contains("predates"), "{reports:?}");
}

/// `qoltanba sign` with `args`; panics unless it succeeds.
fn sign(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .current_dir(dir)
        .arg("sign")
        .args(args)
        .args(["--offline", "--data-dir"])
        .arg(dir)
        .env("QOLTANBA_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "sign {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn long_term_cades_carries_its_ocsp_receipt_and_is_checked_offline_years_later() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    // The responder answers from the CA's database, made once its address is known.
    let pki = OpensslCa { dir: d.clone() };
    let responder = LoopbackHttp::start(Box::new(move |_, _, request| ("200 OK", pki.ocsp_answer(request, "1"))));
    make_ocsp_pki(&d, &responder.url("/ocsp"));
    let tsa = Tsa::start();
    write(&d, "contract.pdf", b"%PDF-1.4 a contract");
    // Online for the OCSP receipt (the responder on loopback), but no NCA RK downloads:
    // the CA is given with --trust.
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .current_dir(&d)
        .args([
            "sign",
            "contract.pdf",
            "--key",
            "good.p12",
            "--level",
            "LT",
            "--tsa-url",
            &tsa.url(),
            "--trust",
            "ca.pem",
        ])
        .args(["--nca-ca-url", "http://127.0.0.1:9/none.cer", "--data-dir"])
        .arg(&d)
        .env("QOLTANBA_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(responder);
    let cms = std::fs::read(d.join("contract.pdf.cms")).unwrap();
    let printed = openssl_print(&cms);
    assert!(printed.contains("id-smime-aa-ets-revocationValues"), "{printed}");
    assert!(printed.contains("id-smime-aa-timeStampToken"), "{printed}");
    assert!(printed.contains("CN=OCSP test CA"), "the chain is inside: {printed}");

    // Three years later, offline, with nothing but the CA and the TSA's certificate.
    let later = (SystemTime::now() + Duration::from_secs(3 * 365 * 86_400))
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let (ca, tsa_cert) = (d.join("ca.pem"), tsa.cert());
    let args = ["--trust", ca.to_str().unwrap(), "--trust", tsa_cert.to_str().unwrap(), "--at", &later];
    let (code, reports) = verify("cms", &d.join("contract.pdf.cms"), &d, &args);
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["signingTime"]["source"], "timestamp");
    assert_eq!(reports[0]["revocation"]["source"], "ocsp");
}

#[test]
fn long_term_cades_of_an_nca_test_key_carries_the_crl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tsa = tsa::RustTsa::start(key("keys2026/legal_employee.p12", PASSWORD));
    write(d, "act.txt", b"acceptance act");
    let root = fixture(TEST_ROOT);
    let crl = fixture(CRL_2026);
    let key_file = fixture("nca-test/keys2026/legal_head.p12");
    sign(
        d,
        &[
            "act.txt",
            "--key",
            key_file.to_str().unwrap(),
            "--level",
            "LT",
            "--tsa-url",
            &tsa.url(),
            "--trust",
            root.to_str().unwrap(),
            "--crl",
            crl.to_str().unwrap(),
        ],
    );
    let cms = std::fs::read(d.join("act.txt.cms")).unwrap();
    assert!(openssl_print(&cms).contains("id-smime-aa-ets-revocationValues"));
    // Detached (the file hashed as it is read): checked with the document, and not without.
    let args = ["act.txt", "--key", key_file.to_str().unwrap(), "--detached", "-o", "act.p7s"];
    sign(d, &args);
    let (act, trust) = (d.join("act.txt"), ["--trust", root.to_str().unwrap(), "--crl", crl.to_str().unwrap()]);
    let (code, reports) =
        verify("cms", &d.join("act.p7s"), d, &[&trust[..], &["--content", act.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{reports:?}");
    let (code, reports) = verify("cms", &d.join("act.p7s"), d, &trust);
    assert_eq!(code, 1);
    assert!(outcome(&reports[0], "signature").1.contains("content was not given"));
    // Offline, no CRL given: the embedded one decides.
    let (code, reports) =
        verify("cms", &d.join("act.txt.cms"), d, &["--trust", root.to_str().unwrap(), "--expect-bin", "123456789021"]);
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["revocation"]["source"], "crl");
    // A user's key is no TSA: its timestamp is not taken as the signing time.
    assert_eq!(reports[0]["signingTime"]["source"], "claimed");
    assert!(reports[0]["signingTime"]["timestampNotUsed"].as_str().unwrap().contains("timeStamping"));
}

#[test]
fn xades_from_the_command_line_is_checked_with_its_signing_time_and_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An NCA RK test key, XAdES-BES: the SigningTime is the claimed time.
    write(d, "order.xml", "<order><sum>1000</sum></order>".as_bytes());
    let key_file = fixture("nca-test/keys2026/legal_head.p12");
    sign(d, &["order.xml", "--key", key_file.to_str().unwrap(), "--format", "xades"]);
    let (root, crl) = (fixture(TEST_ROOT), fixture(CRL_2026));
    let args = ["--trust", root.to_str().unwrap(), "--crl", crl.to_str().unwrap(), "--expect-bin", "123456789021"];
    let (code, reports) = verify("xml", &d.join("order.signed.xml"), d, &args);
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["signingTime"]["source"], "claimed");

    // RSA key of a CA made here, XAdES-T from a TSA with timeStamping: the timestamp's time.
    let pki = make_ocsp_pki(d, "http://127.0.0.1:9/ocsp");
    let tsa = Tsa::start();
    write(d, "act.xml", "<act>done</act>".as_bytes());
    sign(d, &["act.xml", "--key", "good.p12", "--format", "xades", "--tsa", "--tsa-url", &tsa.url()]);
    let receipt = write(d, "good.ocsp", &pki.ocsp_answer(&pki.ocsp_request("good"), "1"));
    let (ca, tsa_cert) = (d.join("ca.pem"), tsa.cert());
    let args = [
        "--trust",
        ca.to_str().unwrap(),
        "--trust",
        tsa_cert.to_str().unwrap(),
        "--ocsp-response",
        receipt.to_str().unwrap(),
    ];
    let (code, reports) = verify("xml", &d.join("act.signed.xml"), d, &args);
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["signingTime"]["source"], "timestamp");
    // XAdES-LT is not offered: level LT is for CAdES.
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .current_dir(d)
        .args(["sign", "act.xml", "--key", "good.p12", "--format", "xades", "--level", "LT", "--force"])
        .env("QOLTANBA_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LT is made for CAdES"));
}
