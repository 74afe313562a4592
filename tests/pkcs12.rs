//! The PKCS#12 reader on every real NCA test file.

mod common;

use common::fixture;
use qoltanba::keys::pkcs12::{self, Pkcs12Error};
use qoltanba::keys::{Certificate, KeyFileError, load_key_file};

const FILES: &[(&str, &str)] = &[
    ("nca-test/keys/rsa_sign_individual.p12", "Qwerty12"),
    ("nca-test/keys/rsa_auth_individual.p12", "Qwerty12"),
    ("nca-test/keys/gost2004_ceo.p12", "Qwerty12"),
    ("nca-test/keys/gost2015_individual.p12", "Aa123456"),
    ("nca-test/keys2026/individual.p12", "Qwerty12"),
    ("nca-test/keys2026/legal_head.p12", "Qwerty12"),
    ("nca-test/keys2026/legal_employee.p12", "Qwerty12"),
    ("nca-test/keys2026/individual_revoked.p12", "Qwerty12"),
];

#[test]
fn every_nca_file_opens_with_one_key_and_its_certificate() {
    for (file, password) in FILES {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let contents = pkcs12::open(&bytes, password).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(contents.keys.len(), 1, "{file}");
        assert_eq!(contents.certs.len(), 1, "{file}");
        let cert = Certificate::from_der(&contents.certs[0].der).unwrap();
        // The alias (friendly name) is the hex of the subject key identifier.
        assert_eq!(contents.keys[0].friendly_name, cert.subject_key_id_hex(), "{file}");
        assert_eq!(contents.keys[0].local_key_id, contents.certs[0].local_key_id, "{file}");
    }
}

#[test]
fn wrong_password_is_reported_as_such() {
    for (file, _) in FILES {
        let bytes = std::fs::read(fixture(file)).unwrap();
        assert!(matches!(pkcs12::open(&bytes, "wrong"), Err(Pkcs12Error::WrongPassword)), "{file}");
    }
}

#[test]
fn a_changed_mac_is_told_apart_from_a_wrong_password() {
    let mut bytes = std::fs::read(fixture("nca-test/keys/rsa_sign_individual.p12")).unwrap();
    // The MAC digest is the 20 bytes before the final INTEGER (iterations).
    let n = bytes.len();
    bytes[n - 6] ^= 0x01;
    assert_eq!(pkcs12::open(&bytes, "Qwerty12").err(), Some(Pkcs12Error::Tampered));
    assert_eq!(pkcs12::open(&bytes, "wrong").err(), Some(Pkcs12Error::WrongPassword));
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    let bytes = std::fs::read(fixture("nca-test/keys/gost2015_individual.p12")).unwrap();
    for cut in (0..bytes.len()).step_by(37) {
        assert!(pkcs12::open(&bytes[..cut], "Aa123456").is_err());
    }
    for i in (0..bytes.len()).step_by(13) {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x80;
        let _ = pkcs12::open(&flipped, "Aa123456");
    }
}

#[test]
fn every_key_type_loads_with_its_algorithm() {
    use qoltanba::keys::KeyAlgorithm;
    for (file, password, algorithm) in [
        ("nca-test/keys/rsa_sign_individual.p12", "Qwerty12", KeyAlgorithm::Rsa),
        ("nca-test/keys/gost2004_ceo.p12", "Qwerty12", KeyAlgorithm::Gost2004),
        ("nca-test/keys2026/individual.p12", "Qwerty12", KeyAlgorithm::Gost2015_512),
    ] {
        let keys = load_key_file(&fixture(file), password).unwrap();
        assert_eq!(keys[0].algorithm(), algorithm, "{file}");
        assert_eq!(keys[0].certificate().key_algorithm(), Some(algorithm), "{file}");
    }
    let wrong = load_key_file(&fixture("nca-test/keys2026/individual.p12"), "nope").err().unwrap();
    assert!(matches!(wrong, KeyFileError::Pkcs12(Pkcs12Error::WrongPassword)));
}
