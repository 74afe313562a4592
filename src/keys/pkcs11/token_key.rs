//! A private key on a token: it signs through the module's helper process, and every
//! signature is checked against the key's certificate before it is handed out (a token
//! that answers garbage, or signs with another key, is caught here).

use std::sync::Arc;

use super::client::Module;
use super::helper::SignMechanism;
use crate::keys::{Certificate, KeyAlgorithm, KeyError, SigningKey};

/// The person logged in on a token; logged out when the last key of it is dropped.
pub struct Login {
    module: Arc<Module>,
    slot: u64,
}

impl Login {
    pub fn new(module: Arc<Module>, slot: u64) -> Arc<Self> {
        Arc::new(Self { module, slot })
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        self.module.logout(self.slot);
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
        let mechanism = match algorithm {
            Some(KeyAlgorithm::Rsa) => SignMechanism::Sha256RsaPkcs,
            other => {
                let name = other.map_or("unknown", |a| a.key_info_name());
                return Err(KeyError::UnsupportedAlgorithm(format!("{name} on a token")));
            }
        };
        let signature = self
            .login
            .module
            .sign(self.login.slot, &self.id, mechanism, message)
            .map_err(|e| KeyError::Failed(e.to_string()))?;
        let spki = self.certificate.parsed().tbs_certificate().subject_public_key_info();
        crate::crypto::verify::verify(spki, &self.algorithm().signature_oid(), message, &signature)
            .map_err(|e| KeyError::Failed(format!("the token's signature does not match its certificate: {e}")))?;
        Ok(signature)
    }
}
