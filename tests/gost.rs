//! GOST 34.10 against real NCA RK material: signatures made by the NCA test CA with
//! Kalkan verify under our implementation (curve, hash, S-box and byte order right),
//! and our signatures are accepted by an independent implementation (Debian's GOST
//! engine for OpenSSL, crypto-and-formats.md §4.2).

mod common;

use common::{engine_verifies, fixture};
use der::{Decode, Encode};
use qoltanba::crypto::verify::{verify, verify_certificate, verify_gost_digest};
use qoltanba::keys::{KeyAlgorithm, load_key_file};

fn cert(path: &str) -> x509_cert::Certificate {
    qoltanba::keys::certificate::parse_x509(&std::fs::read(fixture(path)).unwrap()).unwrap()
}

fn spki(c: &x509_cert::Certificate) -> &spki::SubjectPublicKeyInfoOwned {
    c.tbs_certificate().subject_public_key_info()
}

fn key_cert(file: &str, password: &str) -> x509_cert::Certificate {
    load_key_file(&fixture(file), password).unwrap()[0].certificate().parsed().clone()
}

#[test]
fn nca_gost2015_certificates_verify_under_their_ca() {
    let ca = cert("nca-test/ca/nca_gost2015_test.cer");
    let mut files = vec![("nca-test/keys/gost2015_individual.p12", "Aa123456")];
    for f in ["individual", "legal_head", "legal_employee", "individual_revoked"] {
        files.push((Box::leak(format!("nca-test/keys2026/{f}.p12").into_boxed_str()), "Qwerty12"));
    }
    for (file, password) in files {
        let c = key_cert(file, password);
        assert_eq!(verify_certificate(&c, spki(&ca)), Ok(()), "{file}");
        // Any change to the signed bytes breaks it.
        let mut bad_tbs = c.tbs_certificate().to_der().unwrap();
        let i = bad_tbs.len() - 40;
        bad_tbs[i] ^= 1;
        let sig = c.signature().as_bytes().unwrap();
        assert!(verify(spki(&ca), &c.signature_algorithm().oid, &bad_tbs, sig).is_err(), "{file}");
    }
    // The intermediate under the test root.
    let root = cert("nca-test/ca/root_test_gost_2022.cer");
    assert_eq!(verify_certificate(&ca, spki(&root)), Ok(()));
    assert_eq!(verify_certificate(&root, spki(&root)), Ok(()));
    // A certificate does not verify under a different CA.
    assert!(verify_certificate(&ca, spki(&ca)).is_err());
}

fn verify_crl(crl_file: &str, ca: &x509_cert::Certificate) {
    let bytes = std::fs::read(fixture(crl_file)).unwrap();
    let crl = x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&bytes).unwrap();
    let tbs = crl.tbs_cert_list.to_der().unwrap();
    let sig = crl.signature.as_bytes().unwrap();
    assert_eq!(verify(spki(ca), &crl.signature_algorithm.oid, &tbs, sig), Ok(()), "{crl_file}");
    let mut bad = tbs.clone();
    bad[20] ^= 1;
    assert!(verify(spki(ca), &crl.signature_algorithm.oid, &bad, sig).is_err());
}

#[test]
fn nca_crls_verify_gost2015_and_gost2004() {
    let gost2015 = cert("nca-test/ca/nca_gost2015_test.cer");
    verify_crl("nca-test/crl/nca_gost2022_test.crl", &gost2015);
    verify_crl("nca-test/crl/nca_gost2022_test_2026.crl", &gost2015);
    // GOST 34.310-2004 with GOST 34.311-95 (test S-box) on CryptoPro-A.
    verify_crl("nca-test/crl/nca_gost_test.crl", &cert("nca-test/ca/nca_gost_test.crt"));
    verify_crl("nca-test/crl/nca_rsa_test.crl", &cert("nca-test/ca/nca_rsa_test.crt"));
}

#[test]
fn nca_tsa_token_verifies() {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let bytes = std::fs::read(fixture("nca-test/tsp/tsp_token.bin")).unwrap();
    let ci = ContentInfo::from_der(&bytes).unwrap();
    let sd: SignedData = ci.content.decode_as().unwrap();
    let tsa = sd
        .certificates
        .as_ref()
        .unwrap()
        .0
        .iter()
        .find_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    // The TSA certificate under the GOST 2004 test CA.
    assert_eq!(verify_certificate(&tsa, spki(&cert("nca-test/ca/nca_gost_test.crt"))), Ok(()));
    // The token's signer info under the TSA certificate: GOST 34.311 over DER(SET OF attributes).
    let si = sd.signer_infos.0.iter().next().unwrap();
    let attrs = si.signed_attrs.as_ref().unwrap().to_der().unwrap();
    let digest = qoltanba::crypto::Hasher::for_oid(&si.digest_alg.oid).unwrap().digest(&attrs);
    assert_eq!(verify_gost_digest(spki(&tsa), &digest, si.signature.as_bytes()), Ok(()));
    // Kalkan puts the hash in messageDigest in its natural byte order.
    let econtent = sd.encap_content_info.econtent.as_ref().unwrap();
    let content = der::asn1::OctetString::from_der(&econtent.to_der().unwrap()).unwrap();
    let expected = qoltanba::crypto::Hasher::for_oid(&si.digest_alg.oid).unwrap().digest(content.as_bytes());
    let md = si.signed_attrs.as_ref().unwrap().iter().find(|a| a.oid.to_string() == "1.2.840.113549.1.9.4").unwrap();
    let md = der::asn1::OctetString::from_der(&md.values.iter().next().unwrap().to_der().unwrap()).unwrap();
    assert_eq!(md.as_bytes(), expected.as_slice());
}

#[test]
fn our_gost_signatures_verify_under_the_certificate_of_every_fixture_key() {
    for (file, password, algorithm) in [
        ("nca-test/keys/gost2004_ceo.p12", "Qwerty12", KeyAlgorithm::Gost2004),
        ("nca-test/keys/gost2015_individual.p12", "Aa123456", KeyAlgorithm::Gost2015_512),
        ("nca-test/keys2026/legal_head.p12", "Qwerty12", KeyAlgorithm::Gost2015_512),
    ] {
        let keys = load_key_file(&fixture(file), password).unwrap();
        let key = &keys[0];
        assert_eq!(key.algorithm(), algorithm);
        let message = "Қолтаңба — подпись".as_bytes();
        let sig = key.sign(message).unwrap();
        let cert = key.certificate().parsed();
        assert_eq!(verify(spki(cert), &algorithm.signature_oid(), message, &sig), Ok(()), "{file}");
        assert!(verify(spki(cert), &algorithm.signature_oid(), b"other", &sig).is_err(), "{file}");
    }
}

#[test]
fn debian_gost_engine_accepts_our_signatures_and_rejects_flipped_bits() {
    use qoltanba::crypto::gost::GostCurve;
    use qoltanba::crypto::verify::gost_public_octets;
    let message = "Электрондық құжат / электронный документ".as_bytes();
    // The NCA keys: GOST 2015-512 and GOST 2004.
    for (file, password, curve) in [
        ("nca-test/keys2026/individual.p12", "Qwerty12", GostCurve::Tc26_512A),
        ("nca-test/keys/gost2004_ceo.p12", "Qwerty12", GostCurve::CryptoProA),
    ] {
        let key = &load_key_file(&fixture(file), password).unwrap()[0];
        let public = gost_public_octets(spki(key.certificate().parsed())).unwrap();
        let sig = key.sign(message).unwrap();
        assert!(engine_verifies(curve, &public, message, &sig), "{file}: the engine rejected our signature");
        let mut flipped = sig.clone();
        flipped[10] ^= 0x01;
        assert!(!engine_verifies(curve, &public, message, &flipped), "{file}: a flipped bit passed");
    }
    // GOST 2015-256 (no NCA key exists): a key made here.
    let curve = GostCurve::Tc26_256A;
    let d = [0x12u8; 32]; // below q ≈ 2^254
    let public = curve.public_key(&d).unwrap();
    let digest = qoltanba::crypto::Hasher::for_algorithm(KeyAlgorithm::Gost2015_256).unwrap().digest(message);
    let sig = curve.sign(&d, &digest).unwrap();
    assert!(engine_verifies(curve, &public, message, &sig));
    assert!(!engine_verifies(curve, &public, b"another message", &sig));
}
