//! The demo key: a clearly labelled test CA and signing key made on first use, so a
//! newcomer can run `qoltanba --demo` and sign from the example page at once.
//!
//! Signatures made with it are NOT legal signatures: the CA is our own, generated on
//! this machine, and every name in the certificates says DEMO.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::platform::{create_private_dir, write_private_file, write_public_file};

/// The demo key file: unencrypted PEM (private key, certificate, CA certificate).
pub const DEMO_KEY_FILE: &str = "demo-key.pem";
/// The demo CA certificate, for verifying demo signatures.
pub const DEMO_CA_FILE: &str = "demo-ca.pem";

/// Where the demo key lives.
pub struct DemoKey {
    pub key_file: PathBuf,
    pub ca_file: PathBuf,
}

/// Return the demo key of `data_dir`, creating it the first time.
pub fn ensure_demo_key(data_dir: &Path) -> Result<DemoKey, String> {
    let dir = data_dir.join("demo");
    let demo = DemoKey { key_file: dir.join(DEMO_KEY_FILE), ca_file: dir.join(DEMO_CA_FILE) };
    if demo.key_file.exists() && demo.ca_file.exists() {
        return Ok(demo);
    }
    create_private_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let (key_pem, ca_pem) = generate().map_err(|e| format!("generating the demo key: {e}"))?;
    write_private_file(&demo.key_file, key_pem.as_bytes()).map_err(|e| format!("writing demo key: {e}"))?;
    write_public_file(&demo.ca_file, ca_pem.as_bytes()).map_err(|e| format!("writing demo CA: {e}"))?;
    Ok(demo)
}

fn printable(s: &str) -> Result<DnValue, rcgen::Error> {
    Ok(DnValue::PrintableString(s.try_into()?))
}

/// Make the demo CA (ECDSA P-256) and an RSA-2048 signing key shaped like an NCA
/// individual's certificate. Returns (key file PEM, CA PEM).
fn generate() -> Result<(Zeroizing<String>, String), Box<dyn std::error::Error>> {
    let now = OffsetDateTime::now_utc();

    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name.push(DnType::CountryName, printable("KZ")?);
    ca.distinguished_name.push(DnType::CommonName, "qoltanba DEMO CA (NOT FOR LEGAL SIGNATURES)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - Duration::days(1);
    ca.not_after = now + Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key)?;

    // The `rsa` crate is used only here, to generate the key; signing goes through ring.
    let rsa_key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)?;
    let pkcs8 = rsa::pkcs8::EncodePrivateKey::to_pkcs8_der(&rsa_key)?;
    let pkcs8_der = Zeroizing::new(pkcs8.as_bytes().to_vec());
    let signer_key = KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8_der.as_slice().into(), &rcgen::PKCS_RSA_SHA256)?;

    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = DistinguishedName::new();
    leaf.distinguished_name.push(DnType::CommonName, "ДЕМО ПАЙДАЛАНУШЫ (DEMO USER)");
    leaf.distinguished_name.push(DnType::CustomDnType(vec![2, 5, 4, 4]), "ДЕМО");
    leaf.distinguished_name.push(DnType::CustomDnType(vec![2, 5, 4, 5]), printable("IIN000000000000")?);
    leaf.distinguished_name.push(DnType::CountryName, printable("KZ")?);
    leaf.distinguished_name.push(DnType::CustomDnType(vec![2, 5, 4, 42]), "DEMO");
    leaf.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment, KeyUsagePurpose::KeyEncipherment];
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::EmailProtection,
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::Other(vec![1, 2, 398, 3, 3, 4, 1, 1]),
    ];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - Duration::days(1);
    leaf.not_after = now + Duration::days(730);
    let issuer = Issuer::new(ca, &ca_key);
    let leaf_cert = leaf.signed_by(&signer_key, &issuer)?;

    let key_pem = Zeroizing::new(format!(
        "qoltanba DEMO key: NOT a legal signature key. Made by `qoltanba --demo`.\n{}{}{}",
        crate::keys::certificate::pem_armor("PRIVATE KEY", &pkcs8_der),
        leaf_cert.pem(),
        ca_cert.pem()
    ));
    Ok((key_pem, ca_cert.pem()))
}
