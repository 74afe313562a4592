//! A private key on a token: it signs through the module's helper process, and every
//! signature is checked against the key's certificate before it is handed out (a token
//! that answers garbage, or signs with another key, is caught here).
//!
//! RSA: `CKM_RSA_PKCS` over a SHA-256 DigestInfo the daemon made. GOST: over the
//! daemon's GOST hash where the token offers it (`CKM_GOSTR3410` for 256-bit keys, TC26's
//! `CKM_GOSTR3410_512` for 512-bit ones), else TC26's Streebog mechanisms, where the token hashes the (small: signed attributes, an XML
//! `SignedInfo`) data itself. PKCS#11 returns GOST signatures as `s ‖ r` big-endian
//! (RFC 4491); Kalkan's order is the byte reversal, `r_LE ‖ s_LE`.

use std::sync::{Arc, OnceLock};

use super::TokenSlot;
use super::client::{LoginOutcome, Module};
use super::helper::{
    CKM_GOSTR3410, CKM_GOSTR3410_512, CKM_GOSTR3410_WITH_GOSTR3411_12_256, CKM_GOSTR3410_WITH_GOSTR3411_12_512,
    SignMechanism,
};
use crate::keys::source::{KeySource, OpenError, SourceKind};
use crate::keys::{Certificate, KeyAlgorithm, KeyError, SigningKey};

/// A token plugged in, as a source of keys: opened with the PIN, it logs in and pairs
/// its certificates with its private keys by `CKA_ID`.
pub struct TokenSource {
    module: Arc<Module>,
    token: TokenSlot,
    shown: std::path::PathBuf,
}

impl TokenSource {
    pub fn new(module: Arc<Module>, token: TokenSlot) -> Self {
        let shown = std::path::PathBuf::from(&token.label);
        Self { module, token, shown }
    }
}

impl KeySource for TokenSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Token
    }

    fn shown_as(&self) -> &std::path::Path {
        &self.shown
    }

    fn final_try(&self) -> bool {
        self.token.pin_final_try
    }

    fn locked(&self) -> bool {
        self.token.pin_locked
    }

    fn open(&self, pin: &str) -> Result<Vec<Box<dyn SigningKey>>, OpenError> {
        let failed = |e: super::client::ModuleError| OpenError::Token(e.to_string());
        let (slot, module) = (self.token.slot, &self.module);
        let owner = match module.login(slot, &self.token.label, pin).map_err(failed)? {
            LoginOutcome::LoggedIn(owner) => owner,
            LoginOutcome::Refused { locked: true, .. } => return Err(OpenError::Locked),
            LoginOutcome::Refused { final_try, .. } => return Err(OpenError::WrongSecret { final_try }),
            LoginOutcome::RefusedBefore => return Err(OpenError::RefusedBefore),
            LoginOutcome::Busy => {
                return Err(OpenError::Token("the token is in use by another request: try again".into()));
            }
            LoginOutcome::Changed => return Err(OpenError::Token("the token was taken out or changed".into())),
        };
        let login = Login::new(module.clone(), slot, owner);
        let keys: Vec<Box<dyn SigningKey>> = module
            .certificates(slot, Some(owner))
            .map_err(failed)?
            .into_iter()
            // Only certificates whose private key is on the token (not CA certificates).
            .filter(|view| view.has_key != Some(false))
            .filter_map(|view| {
                use base64::Engine;
                let der = base64::engine::general_purpose::STANDARD.decode(&view.der).ok()?;
                let certificate = Certificate::from_der(&der).ok()?;
                // Keys of algorithms qoltanba cannot sign with (P-384, …) are not offered.
                certificate.key_algorithm()?;
                let key: Box<dyn SigningKey> = Box::new(TokenKey::new(login.clone(), view.id, view.label, certificate));
                Some(key)
            })
            .collect();
        if keys.is_empty() { Err(OpenError::Empty) } else { Ok(keys) }
    }
}

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
    /// The token's mechanisms, asked once.
    mechanisms: OnceLock<Vec<u64>>,
}

/// Most bytes handed to a token that hashes them itself (the helper's request line is
/// bounded; what a key signs is signed attributes or a `SignedInfo`, far smaller).
const MAX_WHOLE_DATA: usize = 32 * 1024;

impl TokenKey {
    pub fn new(login: Arc<Login>, id: String, alias: String, certificate: Certificate) -> Self {
        Self { login, id, alias, certificate, mechanisms: OnceLock::new() }
    }

    /// Whether the token offers `mechanism`; the list is asked once (a failure to answer
    /// is reported as such, not as "no mechanism").
    fn offers(&self, mechanism: u64) -> Result<bool, KeyError> {
        if let Some(offered) = self.mechanisms.get() {
            return Ok(offered.contains(&mechanism));
        }
        let offered = self.login.module.mechanisms(self.login.slot).map_err(|e| KeyError::Failed(e.to_string()))?;
        Ok(self.mechanisms.get_or_init(|| offered).contains(&mechanism))
    }

    /// How to have the token sign `message` with a GOST key, and what to send it.
    fn gost_request(&self, algorithm: KeyAlgorithm, message: &[u8]) -> Result<(SignMechanism, Vec<u8>), KeyError> {
        // Over qoltanba's hash where the token can (a request of fixed size); 512-bit keys
        // have their own mechanism for that (TC26), CKM_GOSTR3410 is for 256-bit ones.
        let (over_hash, over_hash_mechanism) = match algorithm {
            KeyAlgorithm::Gost2015_512 => (SignMechanism::GostDigest512, CKM_GOSTR3410_512),
            _ => (SignMechanism::GostDigest, CKM_GOSTR3410),
        };
        if self.offers(over_hash_mechanism)? {
            return Ok((over_hash, algorithm.digest(message)?));
        }
        let whole = match algorithm {
            KeyAlgorithm::Gost2015_256 if self.offers(CKM_GOSTR3410_WITH_GOSTR3411_12_256)? => {
                Some(SignMechanism::GostStreebog256)
            }
            KeyAlgorithm::Gost2015_512 if self.offers(CKM_GOSTR3410_WITH_GOSTR3411_12_512)? => {
                Some(SignMechanism::GostStreebog512)
            }
            _ => None,
        };
        match whole {
            Some(_) if message.len() > MAX_WHOLE_DATA => {
                Err(KeyError::Failed("too much data for a token that hashes it itself".into()))
            }
            Some(mechanism) => Ok((mechanism, message.to_vec())),
            None => Err(KeyError::NoMechanism(algorithm.key_info_name().to_owned())),
        }
    }
}

impl SigningKey for TokenKey {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn alias(&self) -> &str {
        &self.alias
    }

    fn token_id(&self) -> Option<&str> {
        Some(&self.id)
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.certificate.key_algorithm().unwrap_or(KeyAlgorithm::Rsa)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let algorithm = self.certificate.key_algorithm();
        // The daemon hashes where it can: the token gets a request of fixed size.
        let (mechanism, input) = match algorithm {
            Some(KeyAlgorithm::Rsa) => (SignMechanism::RsaPkcs, sha256_digest_info(message)),
            Some(KeyAlgorithm::EcdsaP256) => (SignMechanism::Ecdsa, crate::crypto::sha256(message)),
            Some(gost) => self.gost_request(gost, message)?,
            None => return Err(KeyError::UnsupportedAlgorithm("unknown on a token".into())),
        };
        let mut signature = self
            .login
            .module
            .sign(self.login.slot, self.login.owner, &self.id, mechanism, &input)
            .map_err(|e| KeyError::Failed(e.to_string()))?;
        match mechanism {
            SignMechanism::RsaPkcs => {}
            // r ‖ s → DER, as X.509 and CMS carry it
            SignMechanism::Ecdsa => {
                signature = crate::crypto::ecdsa::raw_to_der(&signature)
                    .ok_or_else(|| KeyError::Failed("the token's ECDSA signature is malformed".into()))?;
            }
            // s_BE ‖ r_BE → r_LE ‖ s_LE
            _ => signature.reverse(),
        }
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
