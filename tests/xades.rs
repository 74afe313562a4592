//! XAdES for XML (`xmldsig::sign_xades`): XAdES-BES and -T with the RSA, GOST 2015-512
//! and GOST 2004 NCA test keys, timestamped by the loopback TSA written in Rust
//! (`common/tsa.rs`).
//!
//! * Our verifier: valid, claimed time = SigningTime, timestamped time = genTime; a
//!   changed SignedProperties or SigningTime, a timestamp of another signature, a
//!   signature whose SignedProperties are not signed, a SigningCertificate of another
//!   certificate: each is a problem.
//! * Co-signatures: XAdES over XAdES (and plain XMLDSig after it): all verify.
//! * Independent verifiers: `xmlsec1 --verify` (XMLDSig core of the RSA ones, both
//!   References) and signxml's `XAdESVerifier` (RSA XAdES-BES and -T: core,
//!   SignedProperties, SigningCertificateV2, the path to NCA's RSA test CA at a time
//!   inside the expired test certificate's validity). The timestamps: `openssl ts
//!   -verify` over the SignatureValue element canonicalized by xmllint (RSA TSA), and
//!   for GOST Debian's GOST engine (Streebog-512 of that element = the imprint; the
//!   TSA's GOST signature over its signed attributes).
//! * The wire: basics `sign` with `format:"xml"` and a `tsaProfile` returns XAdES-T;
//!   commonUtils `signXml` of the same daemon stays plain XMLDSig.

mod common;
#[path = "common/tsa.rs"]
mod tsa;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use qoltanba::cms::tsp::TsaConfig;
use qoltanba::crypto::gost::GostCurve;
use qoltanba::keys::{SigningKey, load_key_file};
use qoltanba::xmldsig::{SignatureReport, sign_xades, verify_xml};
use serde_json::json;
use tsa::RustTsa;

const GOST_2015: &str = "nca-test/keys2026/individual.p12";
const GOST_2004: &str = "nca-test/keys/gost2004_ceo.p12";
/// The GOST TSA's key (GOST 34.10-2015 512).
const GOST_TSA: &str = "nca-test/keys2026/legal_employee.p12";
const DOC: &str = "<contract xmlns=\"urn:contract\" xml:lang=\"kk\"><party>Алма</party><sum>100</sum></contract>";
const NS_XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";

fn key(path: &str) -> Box<dyn SigningKey> {
    load_key_file(&fixture(path), PASSWORD).unwrap().remove(0)
}

/// A TSA with an RSA certificate made by openssl (which `openssl ts -verify` accepts):
/// the directory that holds the certificate, its path, the TSA.
fn rsa_tsa() -> (tempfile::TempDir, std::path::PathBuf, RustTsa) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = tsa::openssl_tsa_identity(dir.path());
    (dir, cert, RustTsa::start(key))
}

fn tsa_config(tsa: &RustTsa) -> TsaConfig {
    TsaConfig { url: tsa.url(), timeout: Duration::from_secs(15) }
}

fn at(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds as u64)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn reports(xml: &str) -> Vec<SignatureReport> {
    verify_xml(xml).unwrap()
}

/// The text between `open` and the next `close` (the first occurrence).
fn between<'a>(xml: &'a str, open: &str, close: &str) -> &'a str {
    let start = xml.find(open).unwrap_or_else(|| panic!("{open} in {xml}")) + open.len();
    let end = xml[start..].find(close).unwrap() + start;
    &xml[start..end]
}

/// The `ds:SignatureValue` element of the `n`-th signature, canonicalized (exclusive
/// C14N) by xmllint: what a SignatureTimeStamp covers, computed independently of us.
fn xmllint_canonical_signature_value(xml: &str, n: usize) -> Vec<u8> {
    let start = xml.match_indices("<ds:SignatureValue>").nth(n).unwrap().0;
    let end = xml[start..].find("</ds:SignatureValue>").unwrap() + start + "</ds:SignatureValue>".len();
    let element = xml[start..end].replacen(
        "<ds:SignatureValue>",
        "<ds:SignatureValue xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
        1,
    );
    // Wrapped in an element that declares more namespaces: exclusive C14N drops them.
    let wrapped = format!("<w xmlns=\"urn:contract\" xmlns:u=\"urn:unused\">{element}</w>");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.xml"), wrapped).unwrap();
    let out = Command::new("xmllint")
        .arg("--exc-c14n")
        .arg(dir.path().join("w.xml"))
        .output()
        .expect("xmllint (apt-get install libxml2-utils)");
    let text = String::from_utf8(out.stdout).unwrap();
    let start = text.find("<ds:SignatureValue").unwrap_or_else(|| panic!("xmllint: {text}"));
    let end = text.find("</ds:SignatureValue>").unwrap() + "</ds:SignatureValue>".len();
    text.as_bytes()[start..end].to_vec()
}

/// The DER token of the `n`-th EncapsulatedTimeStamp.
fn token(xml: &str, n: usize) -> Vec<u8> {
    let open = "<xades:EncapsulatedTimeStamp>";
    let start = xml.match_indices(open).nth(n).unwrap().0;
    unb64(between(&xml[start..], open, "</xades:EncapsulatedTimeStamp>"))
}

/// Our verifier on a one-signature XAdES document: valid, claimed time `signed_at`,
/// timestamped (around now) if `stamped`.
fn assert_valid(xml: &str, signed_at: i64, stamped: bool) {
    let reports = reports(xml);
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert!(report.is_valid(), "{:?}\n{xml}", report.problems);
    assert_eq!(report.evidence.claimed_time_ms, Some(signed_at * 1000));
    match report.evidence.timestamp_time_ms {
        Some(t) => {
            assert!(stamped, "a timestamp where none was asked");
            assert!((t - now_ms()).abs() < 120_000, "genTime {t} is now");
        }
        None => assert!(!stamped, "no timestamp time: {report:?}"),
    }
    assert!(report.evidence.certificate.is_some());
}

/// The shape every XAdES signature of ours has.
fn assert_shape(xml: &str, key: &dyn SigningKey) {
    let (signature_uri, digest_uri) = qoltanba::xmldsig::algorithm_uris(key.algorithm());
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#));
    let sig_id = between(xml, "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"", "\"");
    for part in [
        format!(r#"<ds:SignatureMethod Algorithm="{signature_uri}"/>"#),
        format!(r#"<ds:DigestMethod Algorithm="{digest_uri}"/>"#),
        r##"<ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#"##.to_owned(),
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#.to_owned(),
        format!(r##"<xades:QualifyingProperties xmlns:xades="{NS_XADES}" Target="#{sig_id}">"##),
        format!(r#"<xades:SignedProperties Id="{sig_id}-signedprops">"#),
        "<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>".to_owned(),
        "<xades:IssuerSerialV2>".to_owned(),
    ] {
        assert!(xml.contains(&part), "{part} in\n{xml}");
    }
    // The certificate digest uses the key's hash.
    let cert_digest_value = between(xml, "<xades:CertDigest>", "</xades:CertDigest>");
    let value = unb64(between(cert_digest_value, "<ds:DigestValue>", "</ds:DigestValue>"));
    assert_eq!(value, key.algorithm().digest(key.certificate().der()).unwrap());
    // The document itself is kept byte for byte.
    assert!(xml.contains("<contract xmlns=\"urn:contract\" xml:lang=\"kk\"><party>Алма</party><sum>100</sum>"));
}

#[test]
fn bes_and_t_with_rsa_gost_2015_and_gost_2004() {
    let gost_tsa = RustTsa::start(key(GOST_TSA));
    let (_dir, _, rsa_tsa) = rsa_tsa();
    for (path, tsa, imprint_oid) in [
        (RSA_KEY, &rsa_tsa, "2.16.840.1.101.3.4.2.1"),
        (GOST_2015, &gost_tsa, "1.2.398.3.10.1.3.3"),
        (GOST_2004, &gost_tsa, "1.2.398.3.10.1.3.1"),
    ] {
        let signer = key(path);
        let bes = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), None).unwrap();
        assert_shape(&bes, signer.as_ref());
        assert!(!bes.contains("UnsignedProperties"));
        assert_valid(&bes, RSA_KEY_VALID_AT, false);

        let hits = tsa.hits();
        let t = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), Some(&tsa_config(tsa))).unwrap();
        assert_eq!(tsa.hits(), hits + 1, "{path}: one request to the TSA");
        assert_shape(&t, signer.as_ref());
        assert!(
            t.contains("<xades:UnsignedProperties><xades:UnsignedSignatureProperties><xades:SignatureTimeStamp Id=\"")
        );
        assert!(t.contains(r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><xades:EncapsulatedTimeStamp>"#));
        assert_valid(&t, RSA_KEY_VALID_AT, true);
        // The request hashed the canonical SignatureValue element with the key's hash.
        let request = <tsa::TimeStampReq as der::Decode>::from_der(&tsa.last_exchange().request).unwrap();
        assert_eq!(request.message_imprint.hash_algorithm.oid.to_string(), imprint_oid, "{path}");
        let canonical = xmllint_canonical_signature_value(&t, 0);
        assert!(canonical.starts_with(b"<ds:SignatureValue xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"));
        assert_eq!(
            request.message_imprint.hashed_message.as_bytes(),
            signer.algorithm().digest(&canonical).unwrap().as_slice(),
            "{path}: the imprint is the hash of the canonical SignatureValue"
        );
    }
}

#[test]
fn tampering_is_detected() {
    let gost_tsa = RustTsa::start(key(GOST_TSA));
    let config = tsa_config(&gost_tsa);
    for path in [RSA_KEY, GOST_2015] {
        let signer = key(path);
        let signed = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), Some(&config)).unwrap();
        let problems = |xml: &str| reports(xml).remove(0).problems.join("; ");
        assert_eq!(problems(&signed), "");

        // A signed property changed: the SignedProperties Reference fails.
        let time = between(&signed, "<xades:SigningTime>", "</xades:SigningTime>").to_owned();
        assert_eq!(time, "2021-05-03T00:00:00Z");
        let later = signed.replace(&time, "2021-05-04T00:00:00Z");
        let why = problems(&later);
        assert!(why.contains("-signedprops\": the digest does not match"), "{why}");
        // …and the claimed time is the changed one, in a report that says it is invalid.
        assert_eq!(reports(&later)[0].evidence.claimed_time_ms, Some((RSA_KEY_VALID_AT + 86_400) * 1000));
        let other_type = signed.replace("<xades:MimeType>text/xml<", "<xades:MimeType>text/plain<");
        assert!(problems(&other_type).contains("the digest does not match"), "{}", problems(&other_type));

        // A timestamp taken from another signature of the same document.
        let other = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), Some(&config)).unwrap();
        let foreign = signed.replace(&b64(&token(&signed, 0)), &b64(&token(&other, 0)));
        assert_ne!(foreign, signed);
        let report = reports(&foreign).remove(0);
        assert_eq!(report.problems, ["XAdES SignatureTimeStamp: it stamps another signature value"], "{path}");
        assert_eq!(report.evidence.timestamp_time_ms, None);
        // A token whose TSA signature is broken.
        let flipped = signed.replace(&b64(&token(&signed, 0)), &b64(&tsa::flip_signature_byte(&token(&signed, 0))));
        let why = problems(&flipped);
        assert!(why.starts_with("XAdES SignatureTimeStamp: the TSA's signature"), "{why}");

        // SignedProperties that no Reference covers (the Reference points elsewhere).
        let sig_id = between(&signed, " Id=\"", "\"").to_owned();
        let unsigned = signed.replace(&format!("URI=\"#{sig_id}-signedprops\""), &format!("URI=\"#{sig_id}-ref0\""));
        let why = problems(&unsigned);
        assert!(why.contains("XAdES SignedProperties are not signed"), "{why}");

        // The certificate in KeyInfo is not the one SigningCertificateV2 names.
        let other_cert = key(RSA_AUTH_KEY);
        let swapped = signed.replace(&b64(signer.certificate().der()), &b64(other_cert.certificate().der()));
        let why = problems(&swapped);
        assert!(why.contains("XAdES SigningCertificate: the certificate digest does not match"), "{why}");

        // QualifyingProperties of another signature.
        let retargeted = signed.replace(&format!("Target=\"#{sig_id}\""), "Target=\"#elsewhere\"");
        assert!(problems(&retargeted).contains("do not target this signature"));
    }
}

#[test]
fn co_signatures_all_verify() {
    let gost_tsa = RustTsa::start(key(GOST_TSA));
    let config = tsa_config(&gost_tsa);
    let (rsa, gost) = (key(RSA_KEY), key(GOST_2015));
    let once = sign_xades(DOC, rsa.as_ref(), at(RSA_KEY_VALID_AT), Some(&config)).unwrap();
    let twice = sign_xades(&once, gost.as_ref(), at(RSA_KEY_VALID_AT + 60), Some(&config)).unwrap();
    let thrice = sign_xades(&twice, rsa.as_ref(), at(RSA_KEY_VALID_AT + 120), None).unwrap();
    let plain =
        qoltanba::xmldsig::sign_xml(gost.as_ref(), &thrice, "", "", qoltanba::xmldsig::Layout::Compact).unwrap();
    let reports = reports(&plain);
    assert_eq!(reports.len(), 4);
    for r in &reports {
        assert!(r.is_valid(), "{:?}", r.problems);
    }
    let claimed: Vec<Option<i64>> = reports.iter().map(|r| r.evidence.claimed_time_ms).collect();
    let base = RSA_KEY_VALID_AT * 1000;
    assert_eq!(claimed, [Some(base), Some(base + 60_000), Some(base + 120_000), None]);
    let stamped: Vec<bool> = reports.iter().map(|r| r.evidence.timestamp_time_ms.is_some()).collect();
    assert_eq!(stamped, [true, true, false, false]);
    // Distinct Ids.
    let ids: std::collections::HashSet<&str> =
        plain.match_indices(" Id=\"xades-").map(|(i, _)| &plain[i + 5..i + 27]).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    // Each timestamp stamps its own signature.
    assert!(xmllint_canonical_signature_value(&plain, 1) != xmllint_canonical_signature_value(&plain, 0));
    // A change to the document breaks all four.
    let changed = plain.replace("<sum>100</sum>", "<sum>900</sum>");
    assert!(verify_xml(&changed).unwrap().iter().all(|r| !r.is_valid()));
}

/// Whether `program` runs; a loud message when it does not.
fn tool_available(program: &str, args: &[&str], install: &str) -> bool {
    let ok = Command::new(program).args(args).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "\n*** SKIPPED: {program} {} is not available ({install}); .ci/run installs it ***\n",
            args.join(" ")
        );
    }
    ok
}

/// `xmlsec1 --verify` with the certificate of KeyInfo (no chain: the XMLDSig core),
/// Ids on XAdES' SignedProperties and on ds:Reference.
fn xmlsec_verifies(xml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.xml");
    std::fs::write(&path, xml).unwrap();
    let out = Command::new("xmlsec1")
        .args(["--verify", "--insecure", "--enabled-key-data", "x509"])
        .args(["--id-attr:Id", &format!("{NS_XADES}:SignedProperties")])
        .args(["--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:Signature"])
        .arg(&path)
        .output()
        .expect("xmlsec1");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn xmlsec1_checks_the_rsa_xmldsig_core() {
    if !tool_available("xmlsec1", &["--version"], "apt-get install xmlsec1") {
        return;
    }
    let (_dir, _, tsa) = rsa_tsa();
    let signer = key(RSA_KEY);
    for stamp in [None, Some(tsa_config(&tsa))] {
        let xml = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), stamp.as_ref()).unwrap();
        let (ok, text) = xmlsec_verifies(&xml);
        assert!(ok, "xmlsec1 rejected:\n{text}\n{xml}");
        // It checks the SignedProperties Reference: a changed property fails.
        let (ok, _) = xmlsec_verifies(&xml.replace("<xades:SigningTime>2021", "<xades:SigningTime>2022"));
        assert!(!ok, "xmlsec1 must reject a changed SigningTime");
        let (ok, _) = xmlsec_verifies(&xml.replace("<sum>100</sum>", "<sum>101</sum>"));
        assert!(!ok);
    }
}

/// signxml's XAdESVerifier on `xml`, with NCA's RSA test CA at `at`: (ok, its output).
fn signxml_verifies(xml: &str, at: i64) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.xml");
    std::fs::write(&path, xml).unwrap();
    let ca = std::fs::read(fixture("nca-test/ca/nca_rsa_test.crt")).unwrap();
    let ca_pem = if ca.starts_with(b"-----") {
        ca
    } else {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &ca).unwrap().into_bytes()
    };
    std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/signxml_xades.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&path)
        .arg(dir.path().join("ca.pem"))
        .arg(at.to_string())
        .output()
        .expect("python3");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn signxml_verifies_rsa_xades_bes_and_t() {
    if !tool_available("python3", &["-c", "import signxml.xades"], "pip install signxml") {
        return;
    }
    let (_dir, _, tsa) = rsa_tsa();
    let signer = key(RSA_KEY);
    for stamp in [None, Some(tsa_config(&tsa))] {
        let xml = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), stamp.as_ref()).unwrap();
        let (ok, text) = signxml_verifies(&xml, RSA_KEY_VALID_AT);
        assert!(ok, "signxml rejected:\n{text}\n{xml}");
        assert!(text.contains("SigningTime 2021-05-03T00:00:00Z"), "{text}");
        // The same verifier rejects a changed property, a changed document, another
        // signing certificate digest, and the certificate outside its validity.
        let (ok, text) =
            signxml_verifies(&xml.replace("<xades:SigningTime>2021", "<xades:SigningTime>2022"), RSA_KEY_VALID_AT);
        assert!(!ok, "{text}");
        let (ok, _) = signxml_verifies(&xml.replace("<sum>100</sum>", "<sum>101</sum>"), RSA_KEY_VALID_AT);
        assert!(!ok);
        let (ok, text) = signxml_verifies(&xml, 1_900_000_000);
        assert!(!ok, "expired in 2030: {text}");
    }
}

#[test]
fn openssl_checks_the_rsa_tsa_timestamp() {
    let (_dir, tsa_cert, tsa) = rsa_tsa();
    let signer = key(RSA_KEY);
    let xml = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), Some(&tsa_config(&tsa))).unwrap();
    let canonical = xmllint_canonical_signature_value(&xml, 0);
    assert!(openssl_ts_verify(&canonical, &token(&xml, 0), &tsa_cert), "openssl ts -verify over the SignatureValue");
    let other = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), None).unwrap();
    assert!(!openssl_ts_verify(&xmllint_canonical_signature_value(&other, 0), &token(&xml, 0), &tsa_cert));
}

#[test]
fn gost_engine_checks_the_gost_timestamp() {
    if !tool_available("openssl", &["engine", "gost"], "apt-get install libengine-gost-openssl") {
        return;
    }
    let tsa = RustTsa::start(key(GOST_TSA));
    let signer = key(GOST_2015);
    let xml = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), Some(&tsa_config(&tsa))).unwrap();
    let canonical = xmllint_canonical_signature_value(&xml, 0);
    let token = token(&xml, 0);
    let sd = tsa::token_signed_data(&token);
    let info = <tsa::TstInfo as der::Decode>::from_der(&tsa::token_econtent(&sd)).unwrap();
    assert_eq!(info.message_imprint.hash_algorithm.oid.to_string(), "1.2.398.3.10.1.3.3");
    assert_eq!(
        info.message_imprint.hashed_message.as_bytes(),
        tsa::engine_streebog512(&canonical).as_slice(),
        "the imprint is Streebog-512 (by the GOST engine) of the canonical SignatureValue"
    );
    tsa::engine_checks_token_signature(&sd, key(GOST_TSA).as_ref(), GostCurve::Tc26_512A);
}

#[tokio::test]
async fn basics_xml_with_a_tsa_profile_is_xades_t_on_the_wire() {
    let tsa = RustTsa::start(key(GOST_TSA));
    let key_path = fixture(GOST_2015);
    let daemon = Daemon::start(&[
        "--auto-key",
        key_path.to_str().unwrap(),
        "--auto-password",
        PASSWORD,
        "--tsa-url",
        &tsa.url(),
    ]);
    let mut ws = daemon.connect(None).await;
    let sign = |profile: serde_json::Value| {
        json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"xml","data":DOC,
            "signingParams":{"tsaProfile":profile,"allowExpired":true},"signerParams":{"extKeyUsageOids":[],"chain":[]}}})
    };
    let hits = tsa.hits();
    let reply = ws.request(&sign(json!({}))).await;
    let xml = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert_eq!(tsa.hits(), hits + 1);
    assert!(xml.contains("<xades:SignatureTimeStamp"), "{xml}");
    let report = &reports(xml)[0];
    assert!(report.is_valid(), "{:?}", report.problems);
    let claimed = report.evidence.claimed_time_ms.expect("SigningTime");
    assert!((claimed - now_ms()).abs() < 120_000);
    assert!(report.evidence.timestamp_time_ms.is_some());

    // Without a tsaProfile: plain XMLDSig, as before.
    let reply = ws.request(&sign(serde_json::Value::Null)).await;
    let xml = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(!xml.contains("QualifyingProperties"));
    assert_eq!(tsa.hits(), hits + 1);
    // commonUtils signXml: NCALayer's XMLDSig, never XAdES.
    let reply = ws
        .request(
            &json!({"module":"kz.gov.pki.knca.commonUtils","method":"signXml","args":["PKCS12","SIGNATURE",DOC,"",""]}),
        )
        .await;
    let xml = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(!xml.contains("QualifyingProperties") && !xml.contains(" Id="), "{xml}");

    // A TSA that fails: an error, never a signature without its timestamp.
    tsa.set_defect(tsa::Defect::Http500);
    let reply = ws.request(&sign(json!({}))).await;
    assert_eq!(reply["status"], false, "{reply}");
    assert!(reply["body"].get("result").is_none(), "{reply}");
}

#[test]
fn hostile_qualifying_properties_are_problems_not_panics() {
    let tsa = RustTsa::start(key(GOST_TSA));
    let signer = key(RSA_KEY);
    let signed = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), Some(&tsa_config(&tsa))).unwrap();
    let problems = |xml: &str| verify_xml(xml).unwrap().remove(0).problems.join("; ");
    let token_b64 = b64(&token(&signed, 0));
    let stamp_start = signed.find("<xades:SignatureTimeStamp").unwrap();
    let stamp_end = signed.find("</xades:SignatureTimeStamp>").unwrap() + "</xades:SignatureTimeStamp>".len();
    let stamp = &signed[stamp_start..stamp_end];
    let cases: Vec<(String, &str)> = vec![
        (signed.replace(&token_b64, "!!!"), "XAdES SignatureTimeStamp: no readable EncapsulatedTimeStamp"),
        (signed.replace(&token_b64, &b64(b"not a token")), "XAdES SignatureTimeStamp: the token"),
        (signed.replace(stamp, &stamp.repeat(5)), "more than 4 XAdES SignatureTimeStamps"),
        (
            signed.replace(stamp, &stamp.replace("xml-exc-c14n#", "xml-exc-c14n#bogus")),
            "XAdES SignatureTimeStamp: unsupported CanonicalizationMethod",
        ),
        (
            signed.replace("2021-05-03T00:00:00Z", "3 May 2021"),
            "XAdES SigningTime \"3 May 2021\" is not an xs:dateTime with a time zone",
        ),
        (
            signed.replace("<xades:IssuerSerialV2>", "<xades:IssuerSerialV2>AAAA"),
            "XAdES SigningCertificate: the issuer and serial number are not the KeyInfo certificate's",
        ),
        (
            signed
                .replace("<xades:SigningCertificateV2>", "<xades:Nothing>")
                .replace("</xades:SigningCertificateV2>", "</xades:Nothing>"),
            "XAdES SignedProperties have no SigningCertificate",
        ),
    ];
    for (xml, expected) in cases {
        let why = problems(&xml);
        assert!(why.contains(expected), "{expected} in {why}");
    }
    // Only the timestamp is lost when the token is broken: the time is not reported.
    let report = verify_xml(&signed.replace(&token_b64, "!!!")).unwrap().remove(0);
    assert_eq!(report.evidence.timestamp_time_ms, None);
    assert_eq!(report.evidence.claimed_time_ms, Some(RSA_KEY_VALID_AT * 1000));
}

/// The v1 SigningCertificate (XAdES 1.3.2's, with X509IssuerName/X509SerialNumber) of
/// other signers is read too. The SignedProperties change, so their Reference fails;
/// what matters here is whether the certificate is recognised.
#[test]
fn a_v1_signing_certificate_is_checked() {
    let signer = key(RSA_KEY);
    let signed = sign_xades(DOC, signer.as_ref(), at(RSA_KEY_VALID_AT), None).unwrap();
    let v2 = &signed[signed.find("<xades:SigningCertificateV2>").unwrap()
        ..signed.find("</xades:SigningCertificateV2>").unwrap() + "</xades:SigningCertificateV2>".len()];
    let cert = signer.certificate();
    let serial = decimal(cert.parsed().tbs_certificate().serial_number().as_bytes());
    let mut other_serial = serial.clone();
    let last = other_serial.pop().unwrap();
    other_serial.push(if last == '1' { '2' } else { '1' });
    let digest = b64(&qoltanba::crypto::sha256(cert.der()));
    let v1 = |issuer: &str, serial: String| {
        format!(
            "<xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue>{digest}</ds:DigestValue></xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>{issuer}</ds:X509IssuerName><ds:X509SerialNumber>{serial}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate>"
        )
    };
    let problems = |xml: &str| verify_xml(xml).unwrap().remove(0).problems.join("; ");
    // The issuer as RFC 4514 writes it (other attribute names and order than ours).
    let issuer = format!("C=KZ, CN={}", cert.issuer_cn());
    let why = problems(&signed.replace(v2, &v1(&issuer, serial.clone())));
    assert!(why.contains("the digest does not match") && !why.contains("SigningCertificate"), "{why}");
    let why = problems(&signed.replace(v2, &v1(&issuer, other_serial)));
    assert!(why.contains("XAdES SigningCertificate: the issuer and serial number"), "{why}");
    let why = problems(&signed.replace(v2, &v1("CN=Somebody else, C=KZ", serial)));
    assert!(why.contains("XAdES SigningCertificate: the issuer and serial number"), "{why}");
}

/// A big-endian unsigned integer in decimal (schoolbook division by ten).
fn decimal(bytes: &[u8]) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::new();
    while number.iter().any(|b| *b != 0) {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 10) as u8;
            remainder = value % 10;
        }
        digits.push(char::from(b'0' + remainder as u8));
    }
    if digits.is_empty() {
        digits.push('0');
    }
    digits.iter().rev().collect()
}

#[test]
fn any_document_shape_signs_and_verifies() {
    let signer = key(GOST_2015);
    for doc in [
        "<a/>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- before --><r xmlns:p=\"urn:p\"><p:x a=\"1\">&#1178;<!-- c --></p:x><![CDATA[<raw>]]></r>\n",
        "<!DOCTYPE d [<!ATTLIST i key ID #IMPLIED>]><d><i key=\"k1\">1</i></d>",
    ] {
        let xml = sign_xades(doc, signer.as_ref(), at(RSA_KEY_VALID_AT), None).unwrap();
        assert_valid(&xml, RSA_KEY_VALID_AT, false);
    }
    // Not XML: refused with the parser's reason.
    let e = sign_xades("<a>", signer.as_ref(), at(RSA_KEY_VALID_AT), None).unwrap_err();
    assert!(e.to_string().starts_with("org.xml.sax.SAXParseException"), "{e}");
}

/// Every document of the XML fuzz corpus that can be signed is signed as XAdES, and our
/// signature verifies (the last one, for documents signed before).
#[test]
fn the_fuzz_corpus_signs_and_verifies() {
    let signer = key(RSA_KEY);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/xml");
    let mut signed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let Ok(text) = std::fs::read_to_string(entry.unwrap().path()) else { continue };
        if qoltanba::xmldsig::check(&text, "", "").is_err() {
            continue;
        }
        let xml = sign_xades(&text, signer.as_ref(), at(RSA_KEY_VALID_AT), None).unwrap();
        let ours = verify_xml(&xml).unwrap().pop().unwrap();
        assert!(ours.is_valid(), "{:?}\n{xml}", ours.problems);
        signed += 1;
    }
    assert!(signed >= 10, "{signed} documents");
}
