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

/// Re-export an NCA key the way a user would with OpenSSL 3 defaults (PBES2:
/// PBKDF2-HMAC-SHA256 + AES-256-CBC, MAC HMAC-SHA256), with a non-ASCII password.
fn openssl3_reexport(dir: &std::path::Path, password: &str) -> std::path::PathBuf {
    let pem = dir.join("key.pem");
    let out = dir.join("reexport.p12");
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl").args(args).output().unwrap();
        assert!(status.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&status.stderr));
    };
    let src = fixture("nca-test/keys/rsa_sign_individual.p12");
    run(&[
        "pkcs12",
        "-legacy",
        "-in",
        src.to_str().unwrap(),
        "-passin",
        "pass:Qwerty12",
        "-nodes",
        "-out",
        pem.to_str().unwrap(),
    ]);
    run(&[
        "pkcs12",
        "-export",
        "-in",
        pem.to_str().unwrap(),
        "-passout",
        &format!("pass:{password}"),
        "-out",
        out.to_str().unwrap(),
    ]);
    let info = std::process::Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-in", out.to_str().unwrap(), "-passin", &format!("pass:{password}")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&info.stderr).contains("PBES2, PBKDF2, AES-256-CBC"), "OpenSSL 3 defaults");
    out
}

#[test]
fn a_pbes2_reexport_from_openssl3_opens_and_signs() {
    let dir = tempfile::tempdir().unwrap();
    let file = openssl3_reexport(dir.path(), "Пароль-1");
    let keys = load_key_file(&file, "Пароль-1").unwrap();
    let original = load_key_file(&fixture("nca-test/keys/rsa_sign_individual.p12"), "Qwerty12").unwrap();
    assert_eq!(keys[0].certificate().der(), original[0].certificate().der());
    assert_eq!(keys[0].sign(b"x").unwrap(), original[0].sign(b"x").unwrap(), "same key (PKCS#1 v1.5 is deterministic)");

    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(pkcs12::open(&bytes, "Пароль-2").err(), Some(Pkcs12Error::WrongPassword));
    let mut tampered = bytes.clone();
    let n = tampered.len();
    tampered[n - 20] ^= 1; // inside the SHA-256 MAC value
    assert_eq!(pkcs12::open(&tampered, "Пароль-1").err(), Some(Pkcs12Error::Tampered));
}
