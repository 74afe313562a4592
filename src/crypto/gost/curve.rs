//! Elliptic-curve arithmetic for GOST 34.10 over short Weierstrass curves
//! `y² = x³ + ax + b (mod p)` with a prime-order subgroup of order `q`.
//!
//! Field and scalar elements are crypto-bigint Montgomery forms, whose operations are
//! constant time. Points are projective and added with the complete formulas of
//! Renes–Costello–Batina 2015 (Algorithm 1, any `a`), which have no exceptional cases
//! inside the prime-order subgroup, so a scalar multiplication is the same sequence of
//! operations whatever the scalar: a Montgomery ladder over all bits with constant-time
//! conditional swaps. Multiples of the generator use a table of j·16^i·G built once
//! per curve: one addition per 4-bit window, the entry picked by a constant-time scan
//! of all sixteen.
//!
//! Verification touches public values only, so it takes the fast, variable-time road:
//! the generator's multiple from the same table by direct lookup, the public key's by a
//! width-5 NAF in Jacobian coordinates (doubling 1M+8S, mixed addition 7M+4S, against
//! 12M for a complete addition), precomputed odd multiples made affine with one batched
//! inversion.

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Choice, CtAssign, NonZero, Odd, Uint};
#[cfg(test)]
use crypto_bigint::{U256, U512};

type Fe<const L: usize> = FixedMontyForm<L>;

/// Domain parameters as big-endian hex, each exactly the curve size wide.
pub struct CurveParams {
    pub p: &'static str,
    pub a: &'static str,
    pub b: &'static str,
    pub q: &'static str,
    pub gx: &'static str,
    pub gy: &'static str,
}

/// A projective point (X : Y : Z); the identity is (0 : 1 : 0).
#[derive(Clone, Copy)]
struct Point<const L: usize> {
    x: Fe<L>,
    y: Fe<L>,
    z: Fe<L>,
}

impl<const L: usize> Point<L> {
    fn swap_if(a: &mut Self, b: &mut Self, choice: Choice) {
        let t = *a;
        a.x.ct_assign(&b.x, choice);
        a.y.ct_assign(&b.y, choice);
        a.z.ct_assign(&b.z, choice);
        b.x.ct_assign(&t.x, choice);
        b.y.ct_assign(&t.y, choice);
        b.z.ct_assign(&t.z, choice);
    }
}

/// A Jacobian point (x = X/Z², y = Y/Z³) for variable-time arithmetic on public
/// values; Z = 0 is the identity.
#[derive(Clone, Copy)]
struct Jacobian<const L: usize> {
    x: Fe<L>,
    y: Fe<L>,
    z: Fe<L>,
}

fn is_zero<const L: usize>(f: &Fe<L>) -> bool {
    !bool::from(f.as_montgomery().is_nonzero())
}

/// NAF width for the public-key multiple: odd digits in (−16, 16), eight table entries.
const NAF_WIDTH: usize = 5;

/// The width-`NAF_WIDTH` non-adjacent form of `k`, least significant digit first
/// (variable time: public scalars only).
fn wnaf<const L: usize>(k: &Uint<L>) -> Vec<i8> {
    let bytes = k.to_le_bytes();
    let mut limbs: Vec<u64> =
        bytes.as_ref().chunks(8).map(|c| c.iter().rev().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))).collect();
    limbs.extend([0, 0]);
    let bits = Uint::<L>::BITS as usize;
    let (width, mask) = (1u64 << NAF_WIDTH, (1u64 << NAF_WIDTH) - 1);
    let mut naf = vec![0i8; bits + NAF_WIDTH + 1];
    let (mut pos, mut carry) = (0usize, 0u64);
    while pos <= bits {
        let (index, shift) = (pos / 64, pos % 64);
        let buffer = if shift + NAF_WIDTH <= 64 {
            limbs[index] >> shift
        } else {
            (limbs[index] >> shift) | (limbs[index + 1] << (64 - shift))
        };
        let window = carry + (buffer & mask);
        if window & 1 == 0 {
            pos += 1;
            continue;
        }
        if window < width / 2 {
            carry = 0;
            naf[pos] = window as i8;
        } else {
            carry = 1;
            naf[pos] = window as i8 - width as i8;
        }
        pos += NAF_WIDTH;
    }
    naf
}

/// A curve ready for arithmetic.
pub struct Curve<const L: usize> {
    field: FixedMontyParams<L>,
    scalar: FixedMontyParams<L>,
    q: NonZero<Uint<L>>,
    a: Fe<L>,
    b: Fe<L>,
    b3: Fe<L>,
    g: Point<L>,
    /// `g_table[i][j] = j · 16^i · G`, built on first use.
    g_table: std::sync::OnceLock<Vec<[Point<L>; 16]>>,
}

/// An affine point as integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Affine<const L: usize> {
    pub x: Uint<L>,
    pub y: Uint<L>,
}

impl<const L: usize> Curve<L> {
    /// Build from domain parameters. Panics only on malformed built-in constants.
    pub fn new(params: &CurveParams) -> Self {
        let odd = |hex: &str| Odd::new(Uint::<L>::from_be_hex(hex)).expect("odd modulus");
        let field = FixedMontyParams::new(odd(params.p));
        let scalar = FixedMontyParams::new(odd(params.q));
        let fe = |hex: &str| Fe::new(&Uint::<L>::from_be_hex(hex), &field);
        let (a, b) = (fe(params.a), fe(params.b));
        let b3 = b + b + b;
        let g = Point { x: fe(params.gx), y: fe(params.gy), z: Fe::one(&field) };
        let q = NonZero::new(Uint::<L>::from_be_hex(params.q)).expect("non-zero order");
        Self { field, scalar, q, a, b, b3, g, g_table: std::sync::OnceLock::new() }
    }

    /// The subgroup order.
    pub fn order(&self) -> &Uint<L> {
        self.q.as_ref()
    }

    fn identity(&self) -> Point<L> {
        Point { x: Fe::zero(&self.field), y: Fe::one(&self.field), z: Fe::zero(&self.field) }
    }

    /// Complete addition (Renes–Costello–Batina 2015, Algorithm 1); also doubles.
    fn add(&self, p: &Point<L>, q: &Point<L>) -> Point<L> {
        let (a, b3) = (&self.a, &self.b3);
        let xx = p.x * q.x;
        let yy = p.y * q.y;
        let zz = p.z * q.z;
        let xy = (p.x + p.y) * (q.x + q.y) - (xx + yy);
        let xz = (p.x + p.z) * (q.x + q.z) - (xx + zz);
        let yz = (p.y + p.z) * (q.y + q.z) - (yy + zz);
        let azz = *a * zz;
        let t = *b3 * zz + *a * xz;
        let x3 = yy - t;
        let z3 = yy + t;
        let y3 = x3 * z3;
        let u = xx + xx + xx + azz;
        let v = *b3 * xz + *a * (xx - azz);
        Point { x: xy * x3 - yz * v, y: y3 + u * v, z: yz * z3 + xy * u }
    }

    /// `k · p` with a Montgomery ladder over every bit of `k`'s width: constant time.
    fn mul(&self, k: &Uint<L>, p: &Point<L>) -> Point<L> {
        let mut r0 = self.identity();
        let mut r1 = *p;
        for i in (0..Uint::<L>::BITS).rev() {
            let bit = k.bit(i);
            Point::swap_if(&mut r0, &mut r1, bit);
            r1 = self.add(&r0, &r1);
            r0 = self.add(&r0, &r0);
            Point::swap_if(&mut r0, &mut r1, bit);
        }
        r0
    }

    fn generator_table(&self) -> &[[Point<L>; 16]] {
        self.g_table.get_or_init(|| {
            let windows = (Uint::<L>::BITS as usize).div_ceil(4);
            let mut table = Vec::with_capacity(windows);
            let mut base = self.g; // 16^i · G
            for _ in 0..windows {
                let mut row = [self.identity(); 16];
                for j in 1..16 {
                    row[j] = self.add(&row[j - 1], &base);
                }
                base = self.add(&row[15], &base);
                table.push(row);
            }
            table
        })
    }

    /// `k · G` from the table: the same additions and scans whatever `k` is.
    fn mul_generator(&self, k: &Uint<L>) -> Point<L> {
        let table = self.generator_table();
        let mut acc = self.identity();
        for (i, row) in table.iter().enumerate() {
            // The window's four bits, read without branches (and without copying k).
            let nibble = (0..4u32).fold(0u8, |n, b| n | (k.bit(4 * i as u32 + b).to_u8() << b));
            let mut entry = row[0];
            for (j, candidate) in row.iter().enumerate().skip(1) {
                let hit = Choice::from_u8_eq(j as u8, nibble);
                entry.x.ct_assign(&candidate.x, hit);
                entry.y.ct_assign(&candidate.y, hit);
                entry.z.ct_assign(&candidate.z, hit);
            }
            acc = self.add(&acc, &entry);
        }
        acc
    }

    fn jacobian_identity(&self) -> Jacobian<L> {
        let one = Fe::one(&self.field);
        Jacobian { x: one, y: one, z: Fe::zero(&self.field) }
    }

    /// Doubling, dbl-2007-bl (any a): 1M + 8S + one multiplication by a. The identity
    /// (Z = 0) stays the identity.
    fn jacobian_double(&self, p: &Jacobian<L>) -> Jacobian<L> {
        let xx = p.x.square();
        let yy = p.y.square();
        let yyyy = yy.square();
        let zz = p.z.square();
        let s = ((p.x + yy).square() - xx - yyyy).double();
        let m = xx.double() + xx + self.a * zz.square();
        let t = m.square() - s.double();
        let y = m * (s - t) - yyyy.double().double().double();
        let z = (p.y + p.z).square() - yy - zz;
        Jacobian { x: t, y, z }
    }

    /// `p + (x2, y2)` for an affine `(x2, y2)`, madd-2007-bl: 7M + 4S; the exceptional
    /// cases (identity, equal or opposite points) by branches, as the values are public.
    fn jacobian_add_affine(&self, p: &Jacobian<L>, x2: &Fe<L>, y2: &Fe<L>) -> Jacobian<L> {
        if is_zero(&p.z) {
            return Jacobian { x: *x2, y: *y2, z: Fe::one(&self.field) };
        }
        let z1z1 = p.z.square();
        let u2 = *x2 * z1z1;
        let s2 = *y2 * p.z * z1z1;
        let h = u2 - p.x;
        let r = (s2 - p.y).double();
        if is_zero(&h) {
            return if is_zero(&r) { self.jacobian_double(p) } else { self.jacobian_identity() };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h * i;
        let v = p.x * i;
        let x = r.square() - j - v.double();
        let y = r * (v - x) - (p.y * j).double();
        let z = (p.z + h).square() - z1z1 - hh;
        Jacobian { x, y, z }
    }

    /// Jacobian points as affine field elements, with one inversion for all (Montgomery's
    /// trick); `None` if any is the identity.
    fn jacobian_to_affine_all(&self, points: &[Jacobian<L>]) -> Option<Vec<(Fe<L>, Fe<L>)>> {
        let mut prefix = Vec::with_capacity(points.len());
        let mut acc = Fe::one(&self.field);
        for p in points {
            if is_zero(&p.z) {
                return None;
            }
            prefix.push(acc);
            acc *= p.z;
        }
        let mut inverse = acc.invert_vartime().into_option()?;
        let mut out = vec![(acc, acc); points.len()];
        for (i, p) in points.iter().enumerate().rev() {
            let z_inv = inverse * prefix[i];
            inverse *= p.z;
            let z_inv2 = z_inv.square();
            out[i] = (p.x * z_inv2, p.y * z_inv2 * z_inv);
        }
        Some(out)
    }

    /// `k · p` for public `k` and an affine `p` (Z = 1, from [`Curve::lift`]) of the
    /// prime-order subgroup (verification): width-5 NAF in Jacobian coordinates,
    /// variable time; returned in the projective form of [`Curve::add`].
    fn mul_public(&self, k: &Uint<L>, p: &Point<L>) -> Point<L> {
        // 1p, 3p, …, 15p, affine.
        let base = Jacobian { x: p.x, y: p.y, z: p.z };
        let twice = self.jacobian_double(&base);
        let Some(twice) = self.jacobian_to_affine_all(&[twice]) else { return self.mul(k, p) };
        let (tx, ty) = twice[0];
        let mut odd = vec![base];
        for _ in 1..(1 << (NAF_WIDTH - 2)) {
            let next = self.jacobian_add_affine(&odd[odd.len() - 1], &tx, &ty);
            odd.push(next);
        }
        // A point of small order would make a multiple the identity: the ladder then.
        let Some(table) = self.jacobian_to_affine_all(&odd) else { return self.mul(k, p) };
        let mut acc = self.jacobian_identity();
        for &digit in wnaf(k).iter().rev() {
            acc = self.jacobian_double(&acc);
            if digit != 0 {
                let (x, y) = table[(digit.unsigned_abs() / 2) as usize];
                let y = if digit > 0 { y } else { -y };
                acc = self.jacobian_add_affine(&acc, &x, &y);
            }
        }
        if is_zero(&acc.z) {
            return self.identity();
        }
        // Jacobian (X, Y, Z) is projective (X·Z : Y : Z³).
        Point { x: acc.x * acc.z, y: acc.y, z: acc.z.square() * acc.z }
    }

    /// `k · G` for a public `k`: the generator table, entries looked up directly.
    fn mul_generator_public(&self, k: &Uint<L>) -> Point<L> {
        let mut acc = self.identity();
        for (i, row) in self.generator_table().iter().enumerate() {
            let nibble = (0..4u32).fold(0usize, |n, b| n | ((k.bit_vartime(4 * i as u32 + b) as usize) << b));
            if nibble != 0 {
                acc = self.add(&acc, &row[nibble]);
            }
        }
        acc
    }

    /// Affine coordinates; `None` for the identity.
    fn to_affine(&self, p: &Point<L>) -> Option<Affine<L>> {
        let z_inv = p.z.invert().into_option()?;
        Some(Affine { x: (p.x * z_inv).retrieve(), y: (p.y * z_inv).retrieve() })
    }

    fn lift(&self, a: &Affine<L>) -> Option<Point<L>> {
        let p = self.field.modulus().as_ref();
        if a.x >= *p || a.y >= *p {
            return None;
        }
        let x = Fe::new(&a.x, &self.field);
        let y = Fe::new(&a.y, &self.field);
        // On the curve: y² = x³ + ax + b.
        let lhs = y * y;
        let rhs = x * x * x + self.a * x + self.b;
        (lhs.retrieve() == rhs.retrieve()).then(|| Point { x, y, z: Fe::one(&self.field) })
    }

    /// `d · G` as an affine point.
    pub fn public_key(&self, d: &Uint<L>) -> Option<Affine<L>> {
        self.to_affine(&self.mul_generator(d))
    }

    /// Is `point` on the curve and in the subgroup of order q?
    pub fn is_valid_public_key(&self, point: &Affine<L>) -> bool {
        match self.lift(point) {
            Some(p) => self.to_affine(&self.mul(self.q.as_ref(), &p)).is_none(),
            None => false,
        }
    }

    /// `x mod q`.
    pub fn reduce(&self, x: &Uint<L>) -> Uint<L> {
        x.rem_vartime(&self.q)
    }

    /// The signature equations of GOST 34.10 for an already reduced `e` (non-zero) and
    /// a nonce `k` in [1, q): r = x(kG) mod q, s = (r·d + k·e) mod q. `None` if r or s
    /// comes out zero (the caller draws another k).
    pub fn sign(&self, d: &Uint<L>, e: &Uint<L>, k: &Uint<L>) -> Option<(Uint<L>, Uint<L>)> {
        let c = self.to_affine(&self.mul_generator(k))?;
        let r = self.reduce(&c.x);
        if bool::from(r.is_nonzero().not()) {
            return None;
        }
        let sc = |x: &Uint<L>| Fe::new(x, &self.scalar);
        let s = (sc(&r) * sc(d) + sc(k) * sc(e)).retrieve();
        if bool::from(s.is_nonzero().not()) {
            return None;
        }
        Some((r, s))
    }

    /// GOST 34.10 verification for a reduced, non-zero `e`.
    pub fn verify(&self, public: &Affine<L>, e: &Uint<L>, r: &Uint<L>, s: &Uint<L>) -> bool {
        let q = self.q.as_ref();
        let in_range = |x: &Uint<L>| bool::from(x.is_nonzero()) && x < q;
        if !in_range(r) || !in_range(s) || !bool::from(e.is_nonzero()) {
            return false;
        }
        let Some(qp) = self.lift(public) else { return false };
        let sc = |x: &Uint<L>| Fe::new(x, &self.scalar);
        let Some(v) = sc(e).invert_vartime().into_option() else { return false };
        let z1 = (sc(s) * v).retrieve();
        let z2 = (-(sc(r) * v)).retrieve();
        let c = self.add(&self.mul_generator_public(&z1), &self.mul_public(&z2, &qp));
        // Public values: the variable-time inversion.
        let Some(z_inv) = c.z.invert_vartime().into_option() else { return false };
        self.reduce(&(c.x * z_inv).retrieve()) == *r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast public paths agree with the constant-time ones on every production
    /// curve, for random scalars and the edges (0, 1, 2, q−2, q−1, 2^n around the top).
    fn agree<const L: usize>(params: &CurveParams) {
        let curve = Curve::<L>::new(params);
        let q = *curve.order();
        let mut scalars = vec![Uint::<L>::ZERO, Uint::ONE, Uint::from_u8(2), q - Uint::from_u8(2), q - Uint::ONE];
        scalars.push(Uint::ONE << (q.bit_width() - 1));
        scalars.push((Uint::ONE << (q.bit_width() - 1)) - Uint::ONE);
        for _ in 0..24 {
            let mut bytes = vec![0u8; Uint::<L>::BYTES];
            getrandom::fill(&mut bytes).unwrap();
            scalars.push(curve.reduce(&Uint::from_le_slice(&bytes)));
        }
        // A public key: a random multiple of G, lifted from affine as verification does.
        let point = curve.lift(&curve.public_key(&scalars[scalars.len() - 1]).unwrap()).unwrap();
        for k in &scalars {
            let expected = curve.to_affine(&curve.mul(k, &point));
            assert_eq!(curve.to_affine(&curve.mul_public(k, &point)), expected, "k·P for k = {k}");
            let expected = curve.to_affine(&curve.mul_generator(k));
            assert_eq!(curve.to_affine(&curve.mul_generator_public(k)), expected, "k·G for k = {k}");
        }
        // P + P through the mixed addition's equal-points branch, and P − P.
        let jp = Jacobian { x: point.x, y: point.y, z: point.z };
        let doubled = curve.jacobian_add_affine(&jp, &point.x, &point.y);
        let via_double = curve.jacobian_double(&jp);
        assert_eq!(
            curve.jacobian_to_affine_all(&[doubled]).map(|v| (v[0].0.retrieve(), v[0].1.retrieve())),
            curve.jacobian_to_affine_all(&[via_double]).map(|v| (v[0].0.retrieve(), v[0].1.retrieve()))
        );
        assert!(is_zero(&curve.jacobian_add_affine(&jp, &point.x, &-point.y).z));
    }

    #[test]
    fn fast_public_multiplication_agrees_with_the_ladder() {
        agree::<{ U256::LIMBS }>(&super::super::params::CRYPTOPRO_A);
        agree::<{ U256::LIMBS }>(&super::super::params::TC26_256_A);
        agree::<{ U512::LIMBS }>(&super::super::params::TC26_512_A);
    }

    #[test]
    fn the_naf_digits_add_up_to_the_scalar() {
        let k = U256::from_be_hex("80000000000000000000000000000001FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
        let naf = wnaf(&k);
        assert!(naf.iter().all(|d| *d == 0 || (d % 2 != 0 && d.unsigned_abs() < 16)));
        // Σ dᵢ·2ⁱ, in a wider integer so that the carry at the top fits.
        let mut sum = crypto_bigint::U320::ZERO;
        for (i, d) in naf.iter().enumerate() {
            let term = crypto_bigint::U320::from_u8(d.unsigned_abs()) << i as u32;
            sum = if *d >= 0 { sum.wrapping_add(&term) } else { sum.wrapping_sub(&term) };
        }
        assert_eq!(sum, k.resize());
    }
}
