//! Keys held in memory after being decrypted from a file.

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use super::{Certificate, KeyAlgorithm, KeyError, SigningKey};

/// An RSA key from a key file. `ring` keeps the private key and signs in constant time
/// with blinding.
pub struct RsaFileKey {
    pair: RsaKeyPair,
    certificate: Certificate,
    alias: String,
}

impl RsaFileKey {
    /// Build from a PKCS#8 `PrivateKeyInfo` and the matching certificate.
    pub fn new(pkcs8: &[u8], certificate: Certificate, alias: String) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| KeyError::Failed(format!("RSA key: {e}")))?;
        Ok(Self { pair, certificate, alias })
    }

    pub fn certificate_ref(&self) -> &Certificate {
        &self.certificate
    }

    /// Does this private key belong to `cert`? Compares the public key.
    pub fn matches(&self, cert: &Certificate) -> bool {
        use ring::signature::KeyPair;
        let spki = cert.parsed().tbs_certificate().subject_public_key_info();
        spki.subject_public_key.raw_bytes() == self.pair.public_key().as_ref()
    }
}

impl SigningKey for RsaFileKey {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn alias(&self) -> &str {
        &self.alias
    }

    fn algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::Rsa
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| KeyError::Failed("RSA signing".into()))?;
        Ok(sig)
    }
}
