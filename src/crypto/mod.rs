//! Hash algorithms behind one streaming interface, chosen by key algorithm.
//!
//! Streaming matters: `…FromFile` methods hash documents of gigabytes without
//! holding them in memory.

use sha2::{Digest, Sha256};

use crate::keys::{KeyAlgorithm, KeyError};

/// A running hash for one key algorithm's digest.
pub enum Hasher {
    Sha256(Sha256),
}

impl Hasher {
    /// The digest used with keys of `algorithm`.
    pub fn for_algorithm(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        match algorithm {
            KeyAlgorithm::Rsa => Ok(Self::Sha256(Sha256::new())),
            other => Err(KeyError::UnsupportedAlgorithm(format!("{other:?}"))),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// SHA-256 of `data` (used for ESS certificate hashes whatever the key algorithm).
pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}
