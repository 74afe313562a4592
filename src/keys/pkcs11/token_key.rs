//! A private key on a token: it signs through the module's helper process, and every
//! signature is checked against the key's certificate before it is handed out (a token
//! that answers garbage, or signs with another key, is caught here).

use std::sync::Arc;

use super::client::Module;
use super::helper::SignMechanism;
use crate::keys::{Certificate, KeyAlgorithm, KeyError, SigningKey};

/// The person logged in on a token for one request (`owner`); logged out when the last
/// key of it is dropped.
pub struct Login {
    module: Arc<Module>,
    slot: u64,
    owner: u64,
}

impl Login {
    pub fn new(module: Arc<Module>, slot: u64, owner: u64) -> Arc<Self> {
        Arc::new(Self { module, slot, owner })
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        self.module.logout(self.slot, self.owner);
    }
}

/// See the module documentation.
pub struct TokenKey {
    login: Arc<Login>,
    /// `CKA_ID`, hex: pairs the certificate with the private key.
    id: String,
    alias: String,
    certificate: Certificate,
}

impl TokenKey {
    pub fn new(login: Arc<Login>, id: String, alias: String, certificate: Certificate) -> Self {
        Self { login, id, alias, certificate }
    }
}

impl SigningKey for TokenKey {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn alias(&self) -> &str {
        &self.alias
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.certificate.key_algorithm().unwrap_or(KeyAlgorithm::Rsa)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let algorithm = self.certificate.key_algorithm();
        // The daemon hashes: the token gets a DigestInfo of fixed size, whatever the document.
        let (mechanism, input) = match algorithm {
            Some(KeyAlgorithm::Rsa) => (SignMechanism::RsaPkcs, sha256_digest_info(message)),
            other => {
                let name = other.map_or("unknown", |a| a.key_info_name());
                return Err(KeyError::UnsupportedAlgorithm(format!("{name} on a token")));
            }
        };
        let signature = self
            .login
            .module
            .sign(self.login.slot, self.login.owner, &self.id, mechanism, &input)
            .map_err(|e| KeyError::Failed(e.to_string()))?;
        let spki = self.certificate.parsed().tbs_certificate().subject_public_key_info();
        crate::crypto::verify::verify(spki, &self.algorithm().signature_oid(), message, &signature)
            .map_err(|e| KeyError::Failed(format!("the token's signature does not match its certificate: {e}")))?;
        Ok(signature)
    }
}

/// PKCS#1 v1.5's DigestInfo for SHA-256 of `message` (RFC 8017 §9.2 note 1).
fn sha256_digest_info(message: &[u8]) -> Vec<u8> {
    const PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    let mut info = PREFIX.to_vec();
    info.extend_from_slice(&crate::crypto::sha256(message));
    info
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_digest_info_is_the_der_rfc_8017_gives() {
        let info = super::sha256_digest_info(b"abc");
        assert_eq!(info.len(), 51);
        assert_eq!(&info[..4], &[0x30, 0x31, 0x30, 0x0d]);
        assert_eq!(crate::keys::certificate::hex(&info[19..23]), "ba7816bf");
    }
}
