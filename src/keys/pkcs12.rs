//! Reader for PKCS#12 key files as NCA RK issues them (RFC 7292).
//!
//! NCA files are plain legacy PKCS#12, but the AuthenticatedSafe inside is BER with
//! indefinite lengths, which most PKCS#12 crates refuse. The layout we read:
//! MAC HMAC-SHA1 over the raw authSafe octets, a `pkcs8ShroudedKeyBag` encrypted with
//! pbeWithSHAAnd3-KeyTripleDES-CBC and an `encryptedData` holding the certificate with
//! pbeWithSHAAnd40BitRC2-CBC; the password enters the KDF as a BMPString.
//!
//! Files re-exported by OpenSSL 3 use PBES2 instead (PBKDF2-HMAC-SHA256 + AES-256-CBC,
//! MAC HMAC-SHA256, RFC 9579); those are read too. PBES2 takes the password as UTF-8,
//! the PKCS#12 KDF as a BMPString, so `Password` carries both.
//!
//! Everything secret (password bytes, derived keys, decrypted PKCS#8) lives in
//! [`Zeroizing`] buffers. Sizes and counts are bounded so a hostile file cannot make us
//! allocate or spin without limit.

use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use der::asn1::{Any, BmpString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, EncodingRules, Sequence};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;
use sha2::digest::{Digest, block_api::BlockSizeUser};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use crate::oid;

/// Largest key file we read. NCA files are about 4 KiB.
pub const MAX_FILE_SIZE: usize = 1 << 20;
/// Upper bound on PBE/MAC iteration counts (NCA uses 1024, OpenSSL 3 uses 2048).
const MAX_ITERATIONS: u32 = 1_000_000;
/// Upper bound on bags in one file.
const MAX_BAGS: usize = 64;

/// Why a PKCS#12 file could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkcs12Error {
    /// The bytes are not a PKCS#12 file (or are truncated beyond recognition).
    Malformed(String),
    /// The password does not open the file.
    WrongPassword,
    /// The password is right (the contents decrypt) but the integrity check fails:
    /// the file was changed or damaged after it was issued.
    Tampered,
    /// The file uses an algorithm we do not implement.
    Unsupported(String),
}

impl std::fmt::Display for Pkcs12Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "not a valid PKCS#12 key file ({why})"),
            Self::WrongPassword => f.write_str("wrong password for the key file"),
            Self::Tampered => f.write_str("the key file is damaged: its integrity check failed"),
            Self::Unsupported(what) => write!(f, "unsupported PKCS#12 algorithm {what}"),
        }
    }
}

impl std::error::Error for Pkcs12Error {}

impl From<der::Error> for Pkcs12Error {
    fn from(e: der::Error) -> Self {
        Self::Malformed(e.to_string())
    }
}

/// A decrypted private key with the bag attributes that tie it to its certificate.
pub struct KeyBag {
    /// DER `PrivateKeyInfo` (PKCS#8), wiped on drop.
    pub pkcs8: Zeroizing<Vec<u8>>,
    pub local_key_id: Option<Vec<u8>>,
    pub friendly_name: Option<String>,
}

/// A certificate from a cert bag.
pub struct CertBag {
    pub der: Vec<u8>,
    pub local_key_id: Option<Vec<u8>>,
    pub friendly_name: Option<String>,
}

/// What a PKCS#12 file holds once opened.
#[derive(Default)]
pub struct Pkcs12Contents {
    pub keys: Vec<KeyBag>,
    pub certs: Vec<CertBag>,
}

#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: DataContentInfo,
    mac_data: Option<MacData>,
}

/// ContentInfo whose content is `id-data` (an OCTET STRING).
#[derive(Sequence)]
struct DataContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: OctetString,
}

#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
    #[asn1(default = "one")]
    iterations: u32,
}

fn one() -> u32 {
    1
}

#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

#[derive(Sequence)]
struct ContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    content: Option<Any>,
}

#[derive(Sequence)]
struct EncryptedData {
    version: u8,
    info: EncryptedContentInfo,
}

#[derive(Sequence)]
struct EncryptedContentInfo {
    content_type: ObjectIdentifier,
    algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    content: Option<OctetString>,
}

#[derive(Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    value: Any,
    attributes: Option<SetOfVec<Attribute>>,
}

#[derive(Sequence, PartialEq, Eq, PartialOrd, Ord, der::ValueOrd)]
struct Attribute {
    oid: ObjectIdentifier,
    values: SetOfVec<Any>,
}

#[derive(Sequence)]
struct EncryptedPrivateKeyInfo {
    algorithm: AlgorithmIdentifierOwned,
    data: OctetString,
}

#[derive(Sequence)]
struct Pkcs12PbeParams {
    salt: OctetString,
    iterations: u32,
}

#[derive(Sequence)]
struct CertBagValue {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    value: OctetString,
}

fn ber<'a, T>(any: &'a Any) -> Result<T, Pkcs12Error>
where
    T: der::Choice<'a> + der::DecodeValue<'a>,
    Pkcs12Error: From<<T as der::DecodeValue<'a>>::Error>,
{
    Ok(any.decode_as_encoding::<T>(EncodingRules::Ber)?)
}

/// Open a PKCS#12 file with `password`.
///
/// The MAC is checked first; if it fails we still try to decrypt, to tell a wrong
/// password (nothing decrypts) from a damaged file (the contents decrypt).
pub fn open(file: &[u8], password: &str) -> Result<Pkcs12Contents, Pkcs12Error> {
    if file.len() > MAX_FILE_SIZE {
        return Err(Pkcs12Error::Malformed("file too large".into()));
    }
    let pfx = Pfx::from_ber(file)?;
    if pfx.version != 3 {
        return Err(Pkcs12Error::Malformed(format!("version {}", pfx.version)));
    }
    if pfx.auth_safe.content_type != oid::ID_DATA {
        return Err(Pkcs12Error::Unsupported(format!(
            "authSafe content type {} (public-key integrity mode)",
            pfx.auth_safe.content_type
        )));
    }
    let auth_safe = pfx.auth_safe.content.as_bytes();
    let password = Password::new(password);
    let mac_ok = match &pfx.mac_data {
        Some(mac) => verify_mac(mac, auth_safe, &password.bmp)?,
        None => true,
    };
    let contents = decrypt_auth_safe(auth_safe, &password);
    match (mac_ok, contents) {
        (true, Ok(c)) => Ok(c),
        (true, Err(Pkcs12Error::WrongPassword)) => Err(Pkcs12Error::Tampered),
        (true, Err(e)) => Err(e),
        (false, Ok(_)) => Err(Pkcs12Error::Tampered),
        (false, Err(Pkcs12Error::Unsupported(what))) => Err(Pkcs12Error::Unsupported(what)),
        (false, Err(_)) => Err(Pkcs12Error::WrongPassword),
    }
}

/// The password in the two encodings PKCS#12 uses.
struct Password {
    /// For the PKCS#12 KDF (MAC and PKCS#12 PBE schemes).
    bmp: Zeroizing<Vec<u8>>,
    /// For PBES2.
    utf8: Zeroizing<Vec<u8>>,
}

impl Password {
    fn new(password: &str) -> Self {
        Self { bmp: bmp_password(password), utf8: Zeroizing::new(password.as_bytes().to_vec()) }
    }
}

/// The password as PKCS#12 wants it: BMPString (UTF-16BE) with a two-byte zero terminator.
fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

fn verify_mac(mac: &MacData, data: &[u8], password: &[u8]) -> Result<bool, Pkcs12Error> {
    let iterations = bounded_iterations(mac.iterations)?;
    let salt = mac.mac_salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    let alg = &mac.mac.algorithm.oid;
    let ok = if *alg == oid::SHA1 {
        let key = kdf::<Sha1>(password, salt, 3, iterations, 20);
        let mut m = <Hmac<Sha1> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key");
        m.update(data);
        m.verify_slice(expected).is_ok()
    } else if *alg == oid::SHA256 {
        let key = kdf::<Sha256>(password, salt, 3, iterations, 32);
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key");
        m.update(data);
        m.verify_slice(expected).is_ok()
    } else {
        return Err(Pkcs12Error::Unsupported(format!("MAC digest {alg}")));
    };
    Ok(ok)
}

fn bounded_iterations(n: u32) -> Result<u32, Pkcs12Error> {
    if n == 0 || n > MAX_ITERATIONS {
        return Err(Pkcs12Error::Malformed(format!("iteration count {n}")));
    }
    Ok(n)
}

fn decrypt_auth_safe(auth_safe: &[u8], password: &Password) -> Result<Pkcs12Contents, Pkcs12Error> {
    let infos = Vec::<ContentInfo>::from_ber(auth_safe)?;
    let mut contents = Pkcs12Contents::default();
    for info in infos.iter().take(MAX_BAGS) {
        let Some(content) = &info.content else { continue };
        let safe_contents: Zeroizing<Vec<u8>> = if info.content_type == oid::ID_DATA {
            Zeroizing::new(ber::<OctetString>(content)?.as_bytes().to_vec())
        } else if info.content_type == oid::ID_ENCRYPTED_DATA {
            let enc: EncryptedData = ber(content)?;
            let Some(ciphertext) = enc.info.content else { continue };
            pbe_decrypt(&enc.info.algorithm, ciphertext.as_bytes(), password)?
        } else {
            continue;
        };
        let bags = Vec::<SafeBag>::from_ber(&safe_contents)?;
        for bag in bags.iter().take(MAX_BAGS) {
            read_bag(bag, password, &mut contents)?;
        }
    }
    Ok(contents)
}

fn read_bag(bag: &SafeBag, password: &Password, out: &mut Pkcs12Contents) -> Result<(), Pkcs12Error> {
    let (local_key_id, friendly_name) = bag_attributes(bag);
    if bag.bag_id == oid::PKCS8_SHROUDED_KEY_BAG {
        let epki: EncryptedPrivateKeyInfo = ber(&bag.value)?;
        let pkcs8 = pbe_decrypt(&epki.algorithm, epki.data.as_bytes(), password)?;
        out.keys.push(KeyBag { pkcs8, local_key_id, friendly_name });
    } else if bag.bag_id == oid::KEY_BAG {
        let pkcs8 = Zeroizing::new(der::Encode::to_der(&bag.value)?);
        out.keys.push(KeyBag { pkcs8, local_key_id, friendly_name });
    } else if bag.bag_id == oid::CERT_BAG {
        let cert: CertBagValue = ber(&bag.value)?;
        if cert.cert_id == oid::X509_CERTIFICATE {
            out.certs.push(CertBag { der: cert.value.as_bytes().to_vec(), local_key_id, friendly_name });
        }
    }
    Ok(())
}

fn bag_attributes(bag: &SafeBag) -> (Option<Vec<u8>>, Option<String>) {
    let mut local_key_id = None;
    let mut friendly_name = None;
    for attr in bag.attributes.iter().flat_map(|a| a.iter()) {
        let Some(value) = attr.values.iter().next() else { continue };
        if attr.oid == oid::LOCAL_KEY_ID {
            local_key_id = ber::<OctetString>(value).ok().map(|o| o.as_bytes().to_vec());
        } else if attr.oid == oid::FRIENDLY_NAME {
            friendly_name = ber::<BmpString>(value).ok().map(|s| s.to_string());
        }
    }
    (local_key_id, friendly_name)
}

/// Decrypt with one of the PKCS#12 password-based schemes (RFC 7292 App. C) or PBES2.
/// Bad padding means the derived key is wrong: reported as [`Pkcs12Error::WrongPassword`].
fn pbe_decrypt(
    alg: &AlgorithmIdentifierOwned,
    ciphertext: &[u8],
    password: &Password,
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    if alg.oid == oid::PBES2 {
        return pbes2_decrypt(alg, ciphertext, &password.utf8);
    }
    let password = password.bmp.as_slice();
    let params: Pkcs12PbeParams = match &alg.parameters {
        Some(p) => ber(p)?,
        None => return Err(Pkcs12Error::Malformed("PBE without parameters".into())),
    };
    let salt = params.salt.as_bytes();
    let iterations = bounded_iterations(params.iterations)?;
    let plain = if alg.oid == oid::PBE_SHA1_3DES {
        let key = kdf::<Sha1>(password, salt, 1, iterations, 24);
        let iv = kdf::<Sha1>(password, salt, 2, iterations, 8);
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| Pkcs12Error::Malformed("3DES key".into()))?
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
    } else if alg.oid == oid::PBE_SHA1_RC2_40 || alg.oid == oid::PBE_SHA1_RC2_128 {
        let bits = if alg.oid == oid::PBE_SHA1_RC2_40 { 40 } else { 128 };
        let key = kdf::<Sha1>(password, salt, 1, iterations, bits / 8);
        let iv = kdf::<Sha1>(password, salt, 2, iterations, 8);
        let cipher = rc2::Rc2::new_with_eff_key_len(&key, bits);
        <cbc::Decryptor<rc2::Rc2> as cbc::cipher::InnerIvInit>::inner_iv_slice_init(cipher, &iv)
            .map_err(|_| Pkcs12Error::Malformed("RC2 IV".into()))?
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
    } else {
        return Err(Pkcs12Error::Unsupported(alg.oid.to_string()));
    };
    plain.map(Zeroizing::new).map_err(|_| Pkcs12Error::WrongPassword)
}

/// PBES2 (RFC 8018) as OpenSSL 3 writes it: PBKDF2 with an HMAC-SHA-2 PRF and AES-CBC.
fn pbes2_decrypt(
    alg: &AlgorithmIdentifierOwned,
    ciphertext: &[u8],
    password: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    let der = der::Encode::to_der(alg)?;
    let scheme = pkcs5::EncryptionScheme::try_from(der.as_slice())
        .map_err(|e| Pkcs12Error::Unsupported(format!("PBES2 parameters: {e}")))?;
    if let pkcs5::EncryptionScheme::Pbes2(params) = &scheme {
        match &params.kdf {
            pkcs5::pbes2::Kdf::Pbkdf2(kdf) => {
                bounded_iterations(kdf.iteration_count)?;
            }
            _ => return Err(Pkcs12Error::Unsupported("PBES2 key derivation other than PBKDF2".into())),
        }
    }
    scheme.decrypt(password, ciphertext).map(Zeroizing::new).map_err(|e| match e {
        pkcs5::Error::DecryptFailed => Pkcs12Error::WrongPassword,
        other => Pkcs12Error::Unsupported(format!("PBES2: {other}")),
    })
}

/// The PKCS#12 key derivation function (RFC 7292 Appendix B.2).
/// `id`: 1 = cipher key, 2 = IV, 3 = MAC key.
fn kdf<D: Digest + BlockSizeUser>(
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let u = <D as Digest>::output_size();
    let v = <D as BlockSizeUser>::block_size();
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let n = src.len().div_ceil(v) * v;
        src.iter().copied().cycle().take(n).collect()
    };
    let mut i = Zeroizing::new(fill(salt));
    i.extend_from_slice(&fill(password));
    let mut out = Zeroizing::new(Vec::with_capacity(len + u));
    while out.len() < len {
        let mut h = D::new();
        h.update(vec![id; v]);
        h.update(i.as_slice());
        let mut a = h.finalize();
        for _ in 1..iterations {
            a = D::digest(&a);
        }
        out.extend_from_slice(&a);
        if out.len() >= len {
            break;
        }
        // I_j = (I_j + B + 1) mod 2^(8v), where B is A repeated to v bytes.
        let b: Vec<u8> = a.iter().copied().cycle().take(v).collect();
        for chunk in i.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in chunk.iter_mut().zip(b.iter()).rev() {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdf_matches_rfc7292_reference() {
        // Vector from the OpenSSL/BouncyCastle PKCS#12 KDF tests: password "smeg",
        // salt 0A58CF64530D823F, id 1, 1 iteration, 24 bytes.
        let pw = bmp_password("smeg");
        let salt = [0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F];
        let key = kdf::<Sha1>(&pw, &salt, 1, 1, 24);
        assert_eq!(
            key.iter().map(|b| format!("{b:02X}")).collect::<String>(),
            "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3"
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for input in [&b""[..], b"\x30\x80", b"\x30\x03\x02\x01\x03", &[0xff; 64]] {
            assert!(matches!(open(input, "x"), Err(Pkcs12Error::Malformed(_))));
        }
    }
}
