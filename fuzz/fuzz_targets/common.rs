//! Shared by the targets: a stand-in signing key. It carries a real certificate (the
//! RSA test key's) but "signs" with fixed bytes, so the code around signing
//! (co-signing a CMS, splicing an XML signature) runs at full speed.

use qoltanba::keys::file::load_key_bytes;
use qoltanba::keys::{Certificate, KeyAlgorithm, KeyError, SigningKey};

pub const RSA_P12: &[u8] = include_bytes!("../../tests/fixtures/nca-test/keys/rsa_sign_individual.p12");

pub struct FakeKey {
    certificate: Certificate,
}

impl FakeKey {
    pub fn new() -> Self {
        let keys = load_key_bytes(RSA_P12, "Qwerty12").expect("the RSA test key opens");
        Self { certificate: keys[0].certificate().clone() }
    }
}

impl SigningKey for FakeKey {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }
    fn alias(&self) -> &str {
        "fuzz"
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        // 256 bytes like an RSA-2048 signature; depends on the input so that nothing
        // downstream can rely on it being constant.
        Ok((0..256).map(|i| message.get(i).copied().unwrap_or(i as u8)).collect())
    }
    fn algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::Rsa
    }
}
