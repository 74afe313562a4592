//! Algorithms: hashes behind one streaming interface, GOST 34.10 ([`gost`]) and
//! signature verification for every algorithm NCA RK uses ([`verify`]).
//!
//! Streaming matters: `…FromFile` methods hash documents of gigabytes without
//! holding them in memory.

pub mod ecdsa;
pub mod gost;
pub mod gost34311;
pub mod verify;

use sha2::{Digest, Sha256};

use crate::keys::{KeyAlgorithm, KeyError};

/// A running hash.
pub enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(Sha256),
    /// GOST 34.11-2015 (Streebog) 256-bit.
    Streebog256(streebog::Streebog256),
    /// GOST 34.11-2015 (Streebog) 512-bit.
    Streebog512(streebog::Streebog512),
    /// GOST 34.311-95 = GOST R 34.11-94 with the test S-box, as NCA RK uses it.
    Gost34311(gost34311::Gost34311),
}

impl Hasher {
    /// The digest used with keys of `algorithm`.
    pub fn for_algorithm(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        Ok(match algorithm {
            KeyAlgorithm::Rsa | KeyAlgorithm::EcdsaP256 => Self::Sha256(Sha256::new()),
            KeyAlgorithm::Gost2004 => Self::Gost34311(gost34311::Gost34311::new()),
            KeyAlgorithm::Gost2015_256 => Self::Streebog256(streebog::Streebog256::new()),
            KeyAlgorithm::Gost2015_512 => Self::Streebog512(streebog::Streebog512::new()),
        })
    }

    /// The hasher for a digest algorithm OID, if we know it.
    pub fn for_oid(oid: &der::asn1::ObjectIdentifier) -> Option<Self> {
        Some(match oid.to_string().as_str() {
            "1.3.14.3.2.26" => Self::Sha1(sha1::Sha1::new()),
            "2.16.840.1.101.3.4.2.1" => Self::Sha256(Sha256::new()),
            "1.2.398.3.10.1.3.1" => Self::Gost34311(gost34311::Gost34311::new()),
            "1.2.398.3.10.1.3.2" => Self::Streebog256(streebog::Streebog256::new()),
            "1.2.398.3.10.1.3.3" => Self::Streebog512(streebog::Streebog512::new()),
            _ => return None,
        })
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Streebog256(h) => h.update(data),
            Self::Streebog512(h) => h.update(data),
            Self::Gost34311(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Streebog256(h) => h.finalize().to_vec(),
            Self::Streebog512(h) => h.finalize().to_vec(),
            Self::Gost34311(h) => h.finalize().to_vec(),
        }
    }

    /// Hash `data` in one go.
    pub fn digest(mut self, data: &[u8]) -> Vec<u8> {
        self.update(data);
        self.finish()
    }
}

/// SHA-256 of `data` (used for ESS certificate hashes whatever the key algorithm).
pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}
