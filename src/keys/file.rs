//! Opening key files: NCA PKCS#12 (`.p12`) and, for the demo key and keys people
//! export with OpenSSL, an unencrypted PEM bundle (`PRIVATE KEY` + `CERTIFICATE`).

use std::path::Path;

use pkcs8::PrivateKeyInfoRef;
use zeroize::Zeroizing;

use super::certificate::{Certificate, hex};
use super::pkcs12::{self, Pkcs12Error};
use super::software::{GostFileKey, RsaFileKey};
use super::{KeyAlgorithm, SigningKey};

/// Why a key file could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileError {
    /// The file could not be read.
    Io(String),
    /// The PKCS#12 container could not be opened.
    Pkcs12(Pkcs12Error),
    /// The file holds no private key with a certificate.
    NoKey,
    /// The file is not a key file we understand.
    Malformed(String),
    /// The key is of an algorithm we do not know.
    Unsupported(String),
}

impl std::fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read the key file: {e}"),
            Self::Pkcs12(e) => e.fmt(f),
            Self::NoKey => f.write_str("the key file holds no private key with its certificate"),
            Self::Malformed(e) => write!(f, "not a key file: {e}"),
            Self::Unsupported(a) => write!(f, "keys of type {a} are not supported yet"),
        }
    }
}

impl std::error::Error for KeyFileError {}

impl KeyFileError {
    pub fn is_wrong_password(&self) -> bool {
        matches!(self, Self::Pkcs12(Pkcs12Error::WrongPassword))
    }
}

/// Read a key file the user named (command line), bounded in size: only a regular file,
/// checked through the open handle, and never more than a key file can be (devices and
/// pipes report size 0 and would otherwise be read for ever). Files a page names go
/// through the signing core's stricter rules instead.
pub fn read_key_file(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    use std::io::Read;
    let io = |e: std::io::Error| KeyFileError::Io(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(KeyFileError::Io(format!("{}: not a regular file", path.display())));
    }
    let limit = pkcs12::MAX_FILE_SIZE as u64;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(KeyFileError::Malformed("file too large for a key file".into()));
    }
    Ok(bytes)
}

/// Does this file need a password to open? (PEM bundles here are unencrypted.)
pub fn needs_password(bytes: &[u8]) -> bool {
    !is_pem(bytes)
}

/// PEM text (explanatory lines before the first block are allowed), as opposed to a
/// DER PKCS#12, which starts with a SEQUENCE tag.
fn is_pem(bytes: &[u8]) -> bool {
    bytes.first() != Some(&0x30) && bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Open the key file at `path` and return every key in it.
pub fn load_key_file(path: &Path, password: &str) -> Result<Vec<Box<dyn SigningKey>>, KeyFileError> {
    let bytes = Zeroizing::new(read_key_file(path)?);
    load_key_bytes(&bytes, password)
}

/// Open a key file's bytes and return every key in it.
pub fn load_key_bytes(bytes: &[u8], password: &str) -> Result<Vec<Box<dyn SigningKey>>, KeyFileError> {
    let pairs = if is_pem(bytes) { pem_pairs(bytes)? } else { pkcs12_pairs(bytes, password)? };
    let keys = pairs
        .into_iter()
        .map(|(pkcs8, cert, alias, chain)| make_key(&pkcs8, cert, alias, chain))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(KeyFileError::NoKey);
    }
    Ok(keys)
}

/// A private key, its certificate, its alias, and the other certificates of its file.
type KeyPair = (Zeroizing<Vec<u8>>, Certificate, String, Vec<Certificate>);

fn pkcs12_pairs(bytes: &[u8], password: &str) -> Result<Vec<KeyPair>, KeyFileError> {
    let contents = pkcs12::open(bytes, password).map_err(KeyFileError::Pkcs12)?;
    let mut out = Vec::new();
    for (index, key) in contents.keys.into_iter().enumerate() {
        // Pair by localKeyId as PKCS#12 intends; NCA files hold one key and one cert,
        // so position is a safe fallback for files without the attribute.
        let cert_bag = contents
            .certs
            .iter()
            .find(|c| c.local_key_id.is_some() && c.local_key_id == key.local_key_id)
            .or_else(|| contents.certs.get(index));
        let Some(cert_bag) = cert_bag else { continue };
        let cert =
            Certificate::from_der(&cert_bag.der).map_err(|e| KeyFileError::Malformed(format!("certificate: {e}")))?;
        let alias = key
            .friendly_name
            .clone()
            .or_else(|| cert_bag.friendly_name.clone())
            .or_else(|| cert.subject_key_id_hex())
            .unwrap_or_else(|| hex(&key.local_key_id.clone().unwrap_or_default()));
        // The file's other certificates (CA certificates, when it carries its chain).
        let chain = contents
            .certs
            .iter()
            .filter(|c| c.der != cert_bag.der)
            .filter_map(|c| Certificate::from_der(&c.der).ok())
            .collect();
        out.push((key.pkcs8, cert, alias, chain));
    }
    Ok(out)
}

fn pem_pairs(bytes: &[u8]) -> Result<Vec<KeyPair>, KeyFileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| KeyFileError::Malformed("PEM is not text".into()))?;
    let mut key = None;
    let mut cert = None;
    for block in pem_blocks(text) {
        let (label, der) =
            der::pem::decode_vec(block.as_bytes()).map_err(|e| KeyFileError::Malformed(format!("PEM: {e}")))?;
        match label {
            "PRIVATE KEY" if key.is_none() => key = Some(Zeroizing::new(der)),
            "CERTIFICATE" if cert.is_none() => cert = Some(der),
            _ => {}
        }
    }
    let (Some(key), Some(cert)) = (key, cert) else { return Err(KeyFileError::NoKey) };
    let cert = Certificate::from_der(&cert).map_err(|e| KeyFileError::Malformed(format!("certificate: {e}")))?;
    let alias = cert.subject_key_id_hex().unwrap_or_else(|| cert.serial_hex());
    Ok(vec![(key, cert, alias, Vec::new())])
}

/// Split a PEM text into its `-----BEGIN …-----`/`-----END …-----` blocks.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END ") {
            blocks.extend(current.take());
        }
    }
    blocks
}

fn make_key(
    pkcs8: &[u8],
    cert: Certificate,
    alias: String,
    chain: Vec<Certificate>,
) -> Result<Box<dyn SigningKey>, KeyFileError> {
    let info = PrivateKeyInfoRef::try_from(pkcs8).map_err(|e| KeyFileError::Malformed(format!("private key: {e}")))?;
    match KeyAlgorithm::from_key_oid(&info.algorithm.oid) {
        Some(KeyAlgorithm::Rsa) => {
            let key = RsaFileKey::new(pkcs8, cert, alias).map_err(|e| KeyFileError::Malformed(e.to_string()))?;
            if !key.matches(key.certificate_ref()) {
                return Err(KeyFileError::Malformed("the private key does not match the certificate".into()));
            }
            Ok(Box::new(key.with_chain(chain)))
        }
        // EC keys are signed with on tokens only.
        Some(KeyAlgorithm::EcdsaP256) => Err(KeyFileError::Unsupported("EC".into())),
        Some(gost) => {
            let key = GostFileKey::new(gost, info.private_key.as_bytes(), cert, alias)
                .map_err(|e| KeyFileError::Malformed(e.to_string()))?;
            Ok(Box::new(key.with_chain(chain)))
        }
        None => Err(KeyFileError::Unsupported(info.algorithm.oid.to_string())),
    }
}
