//! GOST 34.10 signatures as Kalkan (NCA RK's crypto provider) makes them.
//!
//! Curves: CryptoPro-A for GOST 34.310-2004 keys (NCA OID 1.2.398.3.10.1.1.1.1.1 =
//! RFC 4357's id-GostR3410-2001-CryptoPro-A-ParamSet), TC26 paramSet A for GOST
//! 34.10-2015 512-bit (1.2.398.3.10.1.1.2.2.1 = RFC 7836 id-tc26-gost-3410-12-512-paramSetA)
//! and 256-bit keys.
//!
//! Kalkan's byte conventions, the same in X.509, CMS and XMLDSig: the signature is
//! `r ‖ s`, each little-endian and curve-size wide; the digest is read little-endian
//! into the integer `e`; public keys are `X ‖ Y`, little-endian. (That is the byte
//! reversal of RFC 4491's `s ‖ r` big-endian form.)
//!
//! The nonce `k` comes from the operating system's CSPRNG, hedged: it is derived from
//! a SHA-512 hash of fresh random bytes, the private key and the digest, so a
//! broken RNG alone cannot repeat or bias `k` across different messages. Private
//! scalars and nonces live in zeroizing buffers.

mod curve;
mod field;
mod params;

use crypto_bigint::{U256, U512, Uint};
use sha2::{Digest, Sha512};
use std::sync::OnceLock;
use zeroize::{Zeroize, Zeroizing};

pub use curve::{Affine, Curve, CurveParams};

/// The GOST curves NCA keys use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GostCurve {
    /// GOST 34.310-2004 keys.
    CryptoProA,
    /// GOST 34.10-2015 256-bit keys.
    Tc26_256A,
    /// GOST 34.10-2015 512-bit keys.
    Tc26_512A,
}

/// Why a GOST operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GostError {
    /// The private key is zero or not below the group order.
    BadPrivateKey,
    /// The operating system's random generator failed.
    Random(String),
}

impl std::fmt::Display for GostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadPrivateKey => f.write_str("invalid GOST private key"),
            Self::Random(e) => write!(f, "random generator: {e}"),
        }
    }
}

impl std::error::Error for GostError {}

const L256: usize = U256::LIMBS;
const L512: usize = U512::LIMBS;

fn curve_256(which: GostCurve) -> &'static Curve<L256> {
    static CRYPTOPRO_A: OnceLock<Curve<L256>> = OnceLock::new();
    static TC26_256_A: OnceLock<Curve<L256>> = OnceLock::new();
    match which {
        GostCurve::Tc26_256A => TC26_256_A.get_or_init(|| Curve::new(&params::TC26_256_A)),
        _ => CRYPTOPRO_A.get_or_init(|| Curve::new(&params::CRYPTOPRO_A)),
    }
}

fn curve_512() -> &'static Curve<L512> {
    static TC26_512_A: OnceLock<Curve<L512>> = OnceLock::new();
    TC26_512_A.get_or_init(|| Curve::new(&params::TC26_512_A))
}

impl GostCurve {
    /// Coordinate and scalar size in bytes.
    pub fn size(self) -> usize {
        match self {
            Self::Tc26_512A => 64,
            Self::CryptoProA | Self::Tc26_256A => 32,
        }
    }

    /// Sign `digest` (the raw hash output) with the big-endian private scalar `d`.
    /// Returns Kalkan's `r_LE ‖ s_LE`.
    pub fn sign(self, d: &[u8], digest: &[u8]) -> Result<Vec<u8>, GostError> {
        match self {
            Self::Tc26_512A => sign_with(curve_512(), d, digest),
            other => sign_with(curve_256(other), d, digest),
        }
    }

    /// Verify Kalkan's `r_LE ‖ s_LE` over `digest` with the public key `X_LE ‖ Y_LE`.
    pub fn verify(self, public: &[u8], digest: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Tc26_512A => verify_with(curve_512(), public, digest, signature),
            other => verify_with(curve_256(other), public, digest, signature),
        }
    }

    /// The public key `X_LE ‖ Y_LE` of the big-endian private scalar `d`.
    pub fn public_key(self, d: &[u8]) -> Result<Vec<u8>, GostError> {
        match self {
            Self::Tc26_512A => public_with(curve_512(), d),
            other => public_with(curve_256(other), d),
        }
    }
}

/// Big-endian bytes (shorter than the width allowed) into a `Uint`.
fn uint_be<const L: usize>(bytes: &[u8]) -> Option<Uint<L>> {
    let width = Uint::<L>::BYTES;
    if bytes.len() > width {
        return None;
    }
    let mut buf = Zeroizing::new(vec![0u8; width]);
    buf[width - bytes.len()..].copy_from_slice(bytes);
    Some(Uint::from_be_slice(&buf))
}

/// Little-endian bytes of exactly the width into a `Uint`.
fn uint_le<const L: usize>(bytes: &[u8]) -> Option<Uint<L>> {
    (bytes.len() == Uint::<L>::BYTES).then(|| Uint::from_le_slice(bytes))
}

fn le_bytes<const L: usize>(x: &Uint<L>) -> Vec<u8> {
    x.to_le_bytes().as_ref().to_vec()
}

/// The private scalar, checked to lie in [1, q).
fn private_scalar<const L: usize>(curve: &Curve<L>, d: &[u8]) -> Result<Zeroizing<Uint<L>>, GostError> {
    let d = Zeroizing::new(uint_be::<L>(d).ok_or(GostError::BadPrivateKey)?);
    if bool::from(d.is_nonzero()) && *d < *curve.order() { Ok(d) } else { Err(GostError::BadPrivateKey) }
}

/// `e = LE(digest) mod q`, 1 if that is 0 (GOST 34.10 §6.1 step 2).
fn digest_to_e<const L: usize>(curve: &Curve<L>, digest: &[u8]) -> Uint<L> {
    let width = Uint::<L>::BYTES;
    let mut buf = vec![0u8; width];
    let n = digest.len().min(width);
    buf[..n].copy_from_slice(&digest[..n]);
    let e = curve.reduce(&Uint::from_le_slice(&buf));
    if bool::from(e.is_nonzero()) { e } else { Uint::ONE }
}

fn sign_with<const L: usize>(curve: &Curve<L>, d_bytes: &[u8], digest: &[u8]) -> Result<Vec<u8>, GostError> {
    let d = private_scalar(curve, d_bytes)?;
    let e = digest_to_e(curve, digest);
    let mut nonces = NonceSource::new(d_bytes, digest)?;
    loop {
        let k = nonces.next(curve);
        if let Some((r, s)) = curve.sign(&d, &e, &k) {
            let mut out = le_bytes(&r);
            out.extend(le_bytes(&s));
            return Ok(out);
        }
    }
}

fn verify_with<const L: usize>(curve: &Curve<L>, public: &[u8], digest: &[u8], signature: &[u8]) -> bool {
    let w = Uint::<L>::BYTES;
    if public.len() != 2 * w || signature.len() != 2 * w {
        return false;
    }
    let (Some(x), Some(y)) = (uint_le::<L>(&public[..w]), uint_le::<L>(&public[w..])) else { return false };
    let (Some(r), Some(s)) = (uint_le::<L>(&signature[..w]), uint_le::<L>(&signature[w..])) else { return false };
    curve.verify(&Affine { x, y }, &digest_to_e(curve, digest), &r, &s)
}

fn public_with<const L: usize>(curve: &Curve<L>, d: &[u8]) -> Result<Vec<u8>, GostError> {
    let d = private_scalar(curve, d)?;
    let point = curve.public_key(&d).ok_or(GostError::BadPrivateKey)?;
    let mut out = le_bytes(&point.x);
    out.extend(le_bytes(&point.y));
    Ok(out)
}

/// Hedged nonces: each candidate is SHA-512(label ‖ fresh ‖ d ‖ digest ‖ counter),
/// where `fresh` is 64 bytes from the OS drawn once per signature. So a broken RNG
/// alone cannot repeat or bias `k` across different messages, and one hash (two
/// SHA-512 blocks) per candidate keeps this cheap next to the curve arithmetic.
/// Candidates outside [1, q) are rejected (no modular bias).
struct NonceSource<'a> {
    fresh: Zeroizing<[u8; 64]>,
    d: &'a [u8],
    digest: &'a [u8],
    counter: u32,
}

impl<'a> NonceSource<'a> {
    fn new(d: &'a [u8], digest: &'a [u8]) -> Result<Self, GostError> {
        let mut fresh = Zeroizing::new([0u8; 64]);
        getrandom::fill(fresh.as_mut()).map_err(|e| GostError::Random(e.to_string()))?;
        Ok(Self { fresh, d, digest, counter: 0 })
    }

    fn next<const L: usize>(&mut self, curve: &Curve<L>) -> Zeroizing<Uint<L>> {
        let width = Uint::<L>::BYTES;
        let bits = curve.order().bit_width();
        loop {
            self.counter = self.counter.wrapping_add(1);
            let mut h = Sha512::new();
            h.update(b"qoltanba GOST 34.10 nonce");
            h.update(self.fresh.as_ref());
            h.update(self.d);
            h.update(self.digest);
            h.update(self.counter.to_be_bytes());
            let mut block = Zeroizing::new([0u8; 64]);
            block.copy_from_slice(&h.finalize());
            // Keep as many top bits as q has, so about half or more candidates fit.
            let excess = (width as u32) * 8 - bits;
            block[0] &= 0xFFu8 >> excess.min(8);
            let k = Zeroizing::new(Uint::<L>::from_be_slice(&block[..width]));
            block.zeroize();
            if bool::from(k.is_nonzero()) && *k < *curve.order() {
                return k;
            }
        }
    }
}

#[cfg(test)]
mod tests;
