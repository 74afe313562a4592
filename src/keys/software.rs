//! Keys held in memory after being decrypted from a file.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use super::{Certificate, KeyAlgorithm, KeyError, SigningKey};
use crate::crypto::gost::GostCurve;

/// Seed AWS-LC's random generator now, off the request path: its first use gathers
/// CPU-jitter entropy (some 40 ms of CPU), which the first RSA signature after a
/// start would otherwise wait for.
pub fn warm_up() {
    use aws_lc_rs::rand::SecureRandom;
    let _ = SystemRandom::new().fill(&mut [0u8; 1]);
}

/// An RSA key from a key file. AWS-LC (through aws-lc-rs) keeps the private key, clears
/// it when dropped, and signs in constant time with blinding.
pub struct RsaFileKey {
    pair: RsaKeyPair,
    certificate: Certificate,
    alias: String,
    chain: Vec<Certificate>,
}

impl RsaFileKey {
    /// Build from a PKCS#8 `PrivateKeyInfo` and the matching certificate.
    pub fn new(pkcs8: &[u8], certificate: Certificate, alias: String) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| KeyError::Failed(format!("RSA key: {e}")))?;
        Ok(Self { pair, certificate, alias, chain: Vec::new() })
    }

    /// The same key, with the CA certificates its file carries.
    pub fn with_chain(self, chain: Vec<Certificate>) -> Self {
        Self { chain, ..self }
    }

    pub fn certificate_ref(&self) -> &Certificate {
        &self.certificate
    }

    /// Does this private key belong to `cert`? Compares the public key.
    pub fn matches(&self, cert: &Certificate) -> bool {
        use aws_lc_rs::signature::KeyPair;
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

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    fn algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::Rsa
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| KeyError::Failed("RSA signing".into()))?;
        Ok(sig)
    }
}

/// A GOST key (34.310-2004 or 34.10-2015) from a key file. The private scalar is kept
/// big-endian in a zeroizing buffer, whatever the file's byte order.
pub struct GostFileKey {
    scalar: zeroize::Zeroizing<Vec<u8>>,
    algorithm: KeyAlgorithm,
    certificate: Certificate,
    alias: String,
    chain: Vec<Certificate>,
}

impl GostFileKey {
    /// Build from the PKCS#8 `privateKey` octets. NCA files differ by generation:
    /// GOST 2015 keys hold an OCTET STRING with the scalar little-endian, GOST 2004 keys
    /// a DER INTEGER (big-endian). The parse branches on the key algorithm.
    pub fn new(
        algorithm: KeyAlgorithm,
        private_key: &[u8],
        certificate: Certificate,
        alias: String,
    ) -> Result<Self, KeyError> {
        use der::Decode;
        let size = match algorithm {
            KeyAlgorithm::Gost2015_512 => 64,
            KeyAlgorithm::Gost2004 | KeyAlgorithm::Gost2015_256 => 32,
            KeyAlgorithm::Rsa | KeyAlgorithm::EcdsaP256 => return Err(KeyError::Failed("not a GOST key".into())),
        };
        let bad = || KeyError::Failed("malformed GOST private key".into());
        let mut scalar = zeroize::Zeroizing::new(Vec::with_capacity(size));
        match private_key.first() {
            Some(0x04) => {
                let octets = <&der::asn1::OctetStringRef>::from_der(private_key).map_err(|_| bad())?;
                scalar.extend(octets.as_bytes().iter().rev());
            }
            Some(0x02) => {
                let int = der::asn1::UintRef::from_der(private_key).map_err(|_| bad())?;
                scalar.extend_from_slice(int.as_bytes());
            }
            _ => return Err(bad()),
        }
        let first = scalar.iter().position(|b| *b != 0).ok_or_else(bad)?;
        scalar.drain(..first);
        if scalar.len() > size {
            return Err(bad());
        }
        let key = Self { scalar, algorithm, certificate, alias, chain: Vec::new() };
        key.check_matches_certificate()?;
        Ok(key)
    }

    /// The same key, with the CA certificates its file carries.
    pub fn with_chain(self, chain: Vec<Certificate>) -> Self {
        Self { chain, ..self }
    }

    fn curve(&self) -> GostCurve {
        match self.algorithm {
            KeyAlgorithm::Gost2004 => GostCurve::CryptoProA,
            KeyAlgorithm::Gost2015_256 => GostCurve::Tc26_256A,
            _ => GostCurve::Tc26_512A,
        }
    }

    /// d·G must be the certificate's public key: a file whose key and certificate
    /// disagree would produce signatures nobody can verify.
    fn check_matches_certificate(&self) -> Result<(), KeyError> {
        let spki = self.certificate.parsed().tbs_certificate().subject_public_key_info();
        let expected = crate::crypto::verify::gost_public_octets(spki);
        let actual = self.curve().public_key(&self.scalar).map_err(|e| KeyError::Failed(e.to_string()))?;
        if expected.as_deref() == Some(actual.as_slice()) {
            Ok(())
        } else {
            Err(KeyError::Failed("the private key does not match the certificate".into()))
        }
    }
}

impl SigningKey for GostFileKey {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn alias(&self) -> &str {
        &self.alias
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.sign_digest(&self.algorithm.digest(message)?)
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        if digest.len() != self.curve().size() {
            return Err(KeyError::Failed("a hash of the wrong length for this key".into()));
        }
        self.curve().sign(&self.scalar, digest).map_err(|e| KeyError::Failed(e.to_string()))
    }
}
