//! Key info of every NCA test key, checked field by field against what
//! `openssl pkcs12 -legacy` + `openssl x509` say about the same certificate.

mod common;

use std::process::Command;

use common::*;
use qoltanba::keys::{KeyInfo, load_key_file};

const FILES: &[(&str, &str, &str)] = &[
    ("nca-test/keys/rsa_sign_individual.p12", "Qwerty12", "RSA"),
    ("nca-test/keys/rsa_auth_individual.p12", "Qwerty12", "RSA"),
    ("nca-test/keys/gost2004_ceo.p12", "Qwerty12", "ECGOST34310"),
    ("nca-test/keys/gost2015_individual.p12", "Aa123456", "ECGOST3410-2015"),
    ("nca-test/keys2026/individual.p12", "Qwerty12", "ECGOST3410-2015"),
    ("nca-test/keys2026/legal_head.p12", "Qwerty12", "ECGOST3410-2015"),
    ("nca-test/keys2026/legal_employee.p12", "Qwerty12", "ECGOST3410-2015"),
    ("nca-test/keys2026/individual_revoked.p12", "Qwerty12", "ECGOST3410-2015"),
];

/// The certificate and friendly name openssl extracts from a p12.
fn openssl_pkcs12(file: &str, password: &str) -> (String, String) {
    let out = Command::new("openssl")
        .args(["pkcs12", "-legacy", "-nokeys", "-clcerts", "-in"])
        .arg(fixture(file))
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let friendly = text.lines().find_map(|l| l.trim().strip_prefix("friendlyName: ")).unwrap().to_owned();
    let pem = &text[text.find("-----BEGIN CERTIFICATE-----").unwrap()..];
    (pem.to_owned(), friendly)
}

#[test]
fn key_info_of_every_fixture_matches_openssl() {
    for (file, password, algorithm) in FILES {
        let keys = load_key_file(&fixture(file), password).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(keys.len(), 1);
        let info = KeyInfo::of(keys[0].as_ref());
        let (pem, friendly) = openssl_pkcs12(file, password);
        assert_eq!(info.pem, pem, "{file}: PEM");
        assert_eq!(info.alias, friendly, "{file}: alias is the friendly name");
        assert_eq!(info.algorithm, *algorithm, "{file}");
        let facts = openssl_key_facts(&pem);
        let ours = [
            &info.subject_dn,
            &info.issuer_dn,
            &info.serial_number,
            &info.cert_not_before,
            &info.cert_not_after,
            &info.authority_key_identifier,
            &info.key_id,
        ];
        assert_eq!(ours.map(String::as_str), facts.each_ref().map(String::as_str), "{file}");
        assert!(info.subject_dn.contains("SERIALNUMBER=IIN"), "{file}");
        assert!(info.subject_dn.starts_with(&format!("CN={},", info.subject_cn)), "{file}");
        assert!(info.issuer_dn.contains(&format!("CN={}", info.issuer_cn)), "{file}");
        assert!(info.cert_not_before.bytes().all(|b| b.is_ascii_digit()));
    }
}

#[test]
fn legal_entity_keys_carry_the_bin() {
    let keys = load_key_file(&fixture("nca-test/keys2026/legal_head.p12"), "Qwerty12").unwrap();
    let cert = keys[0].certificate();
    assert_eq!(cert.bin().as_deref(), Some("123456789021"));
    assert_eq!(cert.iin().as_deref(), Some("123456789011"));
    assert!(KeyInfo::of(keys[0].as_ref()).subject_dn.contains(r#"O=АО \"ТЕСТ\",OU=BIN123456789021"#));
}
