//! Elliptic-curve arithmetic for GOST 34.10 over short Weierstrass curves
//! `y² = x³ + ax + b (mod p)` with a prime-order subgroup of order `q`.
//!
//! Field elements come from [`super::field`]: special-form arithmetic for the
//! production primes 2^n − c, Montgomery arithmetic for anything else; both constant
//! time. Scalars mod q are crypto-bigint Montgomery forms.
//!
//! Anything touching a private key or a nonce is constant time. Points are projective
//! and added with the complete formulas of Renes–Costello–Batina 2015 (Algorithms 1
//! and 2, any `a`), which have no exceptional cases inside the prime-order subgroup.
//! A multiple of the generator `k·G` uses a table of affine points j·32^i·G
//! (j = 1..16) built once per curve: `k` is recoded into signed 5-bit digits without
//! branches, and each window costs one mixed addition, the entry picked by a
//! constant-time scan of its sixteen, its sign by a conditional negation, a zero digit
//! by a conditional keep. Other multiples (the subgroup check) use a Montgomery
//! ladder over all bits with constant-time swaps.
//!
//! Verification touches public values only, so it takes the fast, variable-time road:
//! `u1·G + u2·Q` in one Jacobian doubling chain (Straus), with width-7 NAF digits of
//! `u1` over a table of the odd multiples 1..63·G built once, and width-5 digits of
//! `u2` over the odd multiples 1..15·Q (doubling 1M+8S, mixed addition 7M+4S; tables
//! made affine with one batched inversion).

use super::field::{FieldElement, PrimeField, SpecialField};
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use std::sync::OnceLock;

use crypto_bigint::{Choice, NonZero, Odd, Uint};
#[cfg(test)]
use crypto_bigint::{U256, U512};

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
struct Point<E> {
    x: E,
    y: E,
    z: E,
}

impl<E: FieldElement> Point<E> {
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
struct Jacobian<E> {
    x: E,
    y: E,
    z: E,
}

fn is_zero<E: FieldElement>(f: &E) -> bool {
    bool::from(f.is_zero())
}

/// NAF width for the public key's multiple: odd digits in (−16, 16), eight table entries.
const NAF_WIDTH: usize = 5;

/// NAF width for the generator's multiple in verification: odd digits in (−64, 64), a
/// table of 32 points built once.
const G_NAF_WIDTH: usize = 7;

/// Signed window width of the generator table for signing.
const G_WINDOW: usize = 5;

/// The width-`width` non-adjacent form of `k`, least significant digit first
/// (variable time: public scalars only).
fn wnaf<const L: usize>(k: &Uint<L>, width: usize) -> Vec<i8> {
    let mut words = k.to_words().to_vec();
    words.extend([0, 0]);
    let bits = Uint::<L>::BITS as usize;
    let (full, mask) = (1u64 << width, (1u64 << width) - 1);
    let mut naf = vec![0i8; bits + width + 1];
    let (mut pos, mut carry) = (0usize, 0u64);
    while pos <= bits {
        let window = carry + (bits_at(&words, pos, width) & mask);
        if window & 1 == 0 {
            pos += 1;
            continue;
        }
        // window < 2^width ≤ 128: the digit fits an i8 either way.
        if window < full / 2 {
            carry = 0;
            naf[pos] = window as i8;
        } else {
            carry = 1;
            naf[pos] = (window as i16 - full as i16) as i8;
        }
        pos += width;
    }
    naf
}

/// The `width` (< 64) bits of `words` from bit `pos` on, zeros past the end. The
/// position is public; the bits may be secret (no branch on them).
fn bits_at(words: &[u64], pos: usize, width: usize) -> u64 {
    let (index, shift) = (pos / 64, pos % 64);
    let low = words.get(index).map_or(0, |w| w >> shift);
    let high = match words.get(index + 1) {
        Some(w) if shift + width > 64 => w << (64 - shift),
        _ => 0,
    };
    (low | high) & ((1u64 << width) - 1)
}

/// An affine point as field elements (never the identity).
type AffineFe<E> = (E, E);

/// A curve ready for arithmetic.
pub struct Curve<const L: usize, F: PrimeField<L> = SpecialField<L>> {
    field: F,
    scalar: FixedMontyParams<L>,
    q: NonZero<Uint<L>>,
    a: F::Fe,
    /// a = −3 (CryptoPro-A, TC26-512-A): multiplications by a become additions.
    a_is_minus_3: bool,
    b: F::Fe,
    b3: F::Fe,
    /// 3b when it is a small constant (CryptoPro-A: 498): a cheaper multiplication.
    b3_small: Option<u32>,
    g: Point<F::Fe>,
    /// `sign_table[i][j] = (j + 1) · 32^i · G`, affine; built on first use.
    sign_table: OnceLock<Vec<[AffineFe<F::Fe>; 16]>>,
    /// `verify_table[j] = (2j + 1) · G`, affine; built on first use.
    verify_table: OnceLock<Vec<AffineFe<F::Fe>>>,
}

/// An affine point as integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Affine<const L: usize> {
    pub x: Uint<L>,
    pub y: Uint<L>,
}

impl<const L: usize, F: PrimeField<L>> Curve<L, F> {
    /// Build from domain parameters. Panics only on malformed built-in constants.
    pub fn new(params: &CurveParams) -> Self {
        let odd = |hex: &str| Odd::new(Uint::<L>::from_be_hex(hex)).expect("odd modulus");
        let field = F::new(&Uint::<L>::from_be_hex(params.p)).expect("a prime this arithmetic serves");
        let scalar = FixedMontyParams::new(odd(params.q));
        let fe = |hex: &str| field.element(&Uint::<L>::from_be_hex(hex));
        let (a, b) = (fe(params.a), fe(params.b));
        let three = field.one().double() + field.one();
        let a_is_minus_3 = is_zero(&(a + three));
        let b3 = b + b + b;
        let b3_words = field.retrieve(&b3).to_words();
        let b3_small = b3_words[1..].iter().all(|w| *w == 0).then(|| u32::try_from(b3_words[0]).ok()).flatten();
        let g = Point { x: fe(params.gx), y: fe(params.gy), z: field.one() };
        let q = NonZero::new(Uint::<L>::from_be_hex(params.q)).expect("non-zero order");
        let (sign_table, verify_table) = (OnceLock::new(), OnceLock::new());
        Self { field, scalar, q, a, a_is_minus_3, b, b3, b3_small, g, sign_table, verify_table }
    }

    /// The subgroup order.
    pub fn order(&self) -> &Uint<L> {
        self.q.as_ref()
    }

    fn identity(&self) -> Point<F::Fe> {
        Point { x: self.field.zero(), y: self.field.one(), z: self.field.zero() }
    }

    /// `a · x`; for a = −3 by additions. (Which branch is taken depends on the curve
    /// only.)
    fn mul_a(&self, x: F::Fe) -> F::Fe {
        if self.a_is_minus_3 { -(x.double() + x) } else { self.a * x }
    }

    /// `3b · x`.
    fn mul_b3(&self, x: F::Fe) -> F::Fe {
        match self.b3_small {
            Some(k) => x.mul_small(k),
            None => self.b3 * x,
        }
    }

    /// Complete addition (Renes–Costello–Batina 2015, Algorithm 1); also doubles.
    fn add(&self, p: &Point<F::Fe>, q: &Point<F::Fe>) -> Point<F::Fe> {
        let xx = p.x * q.x;
        let yy = p.y * q.y;
        let zz = p.z * q.z;
        let xy = (p.x + p.y) * (q.x + q.y) - (xx + yy);
        let xz = (p.x + p.z) * (q.x + q.z) - (xx + zz);
        let yz = (p.y + p.z) * (q.y + q.z) - (yy + zz);
        self.add_tail(xx, yy, zz, xy, xz, yz)
    }

    /// Complete mixed addition `p + (x2, y2)` (RCB 2015, Algorithm 2): `(x2, y2)` is an
    /// affine point, never the identity; `p` may be.
    fn add_affine(&self, p: &Point<F::Fe>, (x2, y2): &AffineFe<F::Fe>) -> Point<F::Fe> {
        let xx = p.x * *x2;
        let yy = p.y * *y2;
        let xy = (p.x + p.y) * (*x2 + *y2) - (xx + yy);
        let xz = *x2 * p.z + p.x;
        let yz = *y2 * p.z + p.y;
        self.add_tail(xx, yy, p.z, xy, xz, yz)
    }

    /// The common end of both additions, from the products XX, YY, ZZ and the cross
    /// sums XY = X1Y2 + X2Y1, XZ, YZ.
    fn add_tail(&self, xx: F::Fe, yy: F::Fe, zz: F::Fe, xy: F::Fe, xz: F::Fe, yz: F::Fe) -> Point<F::Fe> {
        let azz = self.mul_a(zz);
        let t = self.mul_b3(zz) + self.mul_a(xz);
        let x3 = yy - t;
        let z3 = yy + t;
        let y3 = x3 * z3;
        let u = xx.double() + xx + azz;
        let v = self.mul_b3(xz) + self.mul_a(xx - azz);
        Point { x: xy * x3 - yz * v, y: y3 + u * v, z: yz * z3 + xy * u }
    }

    /// `k · p` with a Montgomery ladder over every bit of `k`'s width: constant time.
    fn mul(&self, k: &Uint<L>, p: &Point<F::Fe>) -> Point<F::Fe> {
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

    /// Signed windows of `G_WINDOW` bits cover every `k` below 2^n plus the last carry.
    fn sign_windows() -> usize {
        (Uint::<L>::BITS as usize + 1).div_ceil(G_WINDOW)
    }

    fn sign_table(&self) -> &[[AffineFe<F::Fe>; 16]] {
        self.sign_table.get_or_init(|| {
            let mut points = Vec::with_capacity(Self::sign_windows() * 16);
            let mut base = self.g; // 32^i · G
            for _ in 0..Self::sign_windows() {
                let mut multiple = base;
                for _ in 0..16 {
                    points.push(multiple);
                    multiple = self.add(&multiple, &base);
                }
                // multiple = 17·base; 32·base = 2·(16·base).
                let sixteen = points[points.len() - 1];
                base = self.add(&sixteen, &sixteen);
            }
            let affine = self.to_affine_all(&points).expect("multiples of G below its order");
            affine.chunks_exact(16).map(|row| std::array::from_fn(|j| row[j])).collect()
        })
    }

    /// `k · G` for a secret `k` below 2^n: the same additions, scans and selections
    /// whatever `k` is.
    fn mul_generator(&self, k: &Uint<L>) -> Point<F::Fe> {
        let words = k.to_words();
        let mut acc = self.identity();
        let mut carry = 0u64;
        for (i, row) in self.sign_table().iter().enumerate() {
            // Digit v + carry in [0, 32] → d in [−15, 16], carry 1 when v + carry > 16.
            let v = bits_at(&words, i * G_WINDOW, G_WINDOW) + carry;
            carry = 16u64.wrapping_sub(v) >> 63;
            let negative = Choice::from_u64_lsb(carry).and(Choice::from_u64_eq(v, 32).not());
            // |d|: v for v ≤ 16, 32 − v above (0 for v = 32).
            let magnitude = (v ^ ((v ^ 32u64.wrapping_sub(v)) & carry.wrapping_neg())) & 31;
            let mut entry = row[0];
            for (j, candidate) in row.iter().enumerate().skip(1) {
                let hit = Choice::from_u64_eq(j as u64 + 1, magnitude);
                entry.0.ct_assign(&candidate.0, hit);
                entry.1.ct_assign(&candidate.1, hit);
            }
            let negated = -entry.1;
            entry.1.ct_assign(&negated, negative);
            let sum = self.add_affine(&acc, &entry);
            let nonzero = Choice::from_u64_nz(magnitude);
            acc.x.ct_assign(&sum.x, nonzero);
            acc.y.ct_assign(&sum.y, nonzero);
            acc.z.ct_assign(&sum.z, nonzero);
        }
        acc
    }

    fn jacobian_identity(&self) -> Jacobian<F::Fe> {
        let one = self.field.one();
        Jacobian { x: one, y: one, z: self.field.zero() }
    }

    /// Doubling, dbl-2007-bl (any a): 1M + 8S + one multiplication by a. The identity
    /// (Z = 0) stays the identity.
    fn jacobian_double(&self, p: &Jacobian<F::Fe>) -> Jacobian<F::Fe> {
        let xx = p.x.square();
        let yy = p.y.square();
        let yyyy = yy.square();
        let zz = p.z.square();
        let s = ((p.x + yy).square() - xx - yyyy).double();
        let m = xx.double() + xx + self.mul_a(zz.square());
        let t = m.square() - s.double();
        let y = m * (s - t) - yyyy.double().double().double();
        let z = (p.y + p.z).square() - yy - zz;
        Jacobian { x: t, y, z }
    }

    /// `p + (x2, y2)` for an affine `(x2, y2)`, madd-2007-bl: 7M + 4S; the exceptional
    /// cases (identity, equal or opposite points) by branches, as the values are public.
    fn jacobian_add_affine(&self, p: &Jacobian<F::Fe>, x2: &F::Fe, y2: &F::Fe) -> Jacobian<F::Fe> {
        if is_zero(&p.z) {
            return Jacobian { x: *x2, y: *y2, z: self.field.one() };
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

    /// Affine forms with one inversion for all (Montgomery's trick), given each
    /// point's Z and how to finish it from 1/Z; `None` if any Z is zero. The inversion
    /// is constant time: the generator's table goes through here too.
    fn batch_affine<P>(
        &self,
        points: &[P],
        z: impl Fn(&P) -> F::Fe,
        finish: impl Fn(&P, F::Fe) -> AffineFe<F::Fe>,
    ) -> Option<Vec<AffineFe<F::Fe>>> {
        let mut prefix = Vec::with_capacity(points.len());
        let mut acc = self.field.one();
        for p in points {
            if is_zero(&z(p)) {
                return None;
            }
            prefix.push(acc);
            acc *= z(p);
        }
        let mut inverse = self.field.invert(&acc).into_option()?;
        let mut out = vec![(acc, acc); points.len()];
        for (i, p) in points.iter().enumerate().rev() {
            let z_inv = inverse * prefix[i];
            inverse *= z(p);
            out[i] = finish(p, z_inv);
        }
        Some(out)
    }

    /// Projective points (x = X/Z, y = Y/Z) as affine field elements.
    fn to_affine_all(&self, points: &[Point<F::Fe>]) -> Option<Vec<AffineFe<F::Fe>>> {
        self.batch_affine(points, |p| p.z, |p, z_inv| (p.x * z_inv, p.y * z_inv))
    }

    /// Jacobian points (x = X/Z², y = Y/Z³) as affine field elements.
    fn jacobian_to_affine_all(&self, points: &[Jacobian<F::Fe>]) -> Option<Vec<AffineFe<F::Fe>>> {
        self.batch_affine(
            points,
            |p| p.z,
            |p, z_inv| {
                let z_inv2 = z_inv.square();
                (p.x * z_inv2, p.y * z_inv2 * z_inv)
            },
        )
    }

    /// The odd multiples 1p, 3p, …, (2^(width−1) − 1)p of an affine point, affine;
    /// `None` if one is the identity (a point of small order).
    fn odd_multiples(&self, (x, y): &AffineFe<F::Fe>, width: usize) -> Option<Vec<AffineFe<F::Fe>>> {
        let base = Jacobian { x: *x, y: *y, z: self.field.one() };
        let twice = self.jacobian_to_affine_all(&[self.jacobian_double(&base)])?[0];
        let mut odd = vec![base];
        for _ in 1..(1 << (width - 2)) {
            let next = self.jacobian_add_affine(&odd[odd.len() - 1], &twice.0, &twice.1);
            odd.push(next);
        }
        self.jacobian_to_affine_all(&odd)
    }

    fn verify_table(&self) -> &[AffineFe<F::Fe>] {
        self.verify_table
            .get_or_init(|| self.odd_multiples(&(self.g.x, self.g.y), G_NAF_WIDTH).expect("G has prime order"))
    }

    /// `u1·G + u2·q` for public scalars and a public affine point of the curve
    /// (Straus's interleaving, variable time), as Jacobian coordinates; `None` if `q`
    /// has small order (the caller takes the constant-time road then).
    fn mul_double_public(&self, u1: &Uint<L>, u2: &Uint<L>, q: &AffineFe<F::Fe>) -> Option<Jacobian<F::Fe>> {
        let q_table = self.odd_multiples(q, NAF_WIDTH)?;
        let g_table = self.verify_table();
        let (naf1, naf2) = (wnaf(u1, G_NAF_WIDTH), wnaf(u2, NAF_WIDTH));
        let mut acc = self.jacobian_identity();
        let add = |acc: &Jacobian<F::Fe>, table: &[AffineFe<F::Fe>], digit: i8| {
            let (x, y) = table[(digit.unsigned_abs() / 2) as usize];
            self.jacobian_add_affine(acc, &x, &if digit > 0 { y } else { -y })
        };
        for i in (0..naf1.len().max(naf2.len())).rev() {
            acc = self.jacobian_double(&acc);
            if let Some(&digit) = naf1.get(i).filter(|d| **d != 0) {
                acc = add(&acc, g_table, digit);
            }
            if let Some(&digit) = naf2.get(i).filter(|d| **d != 0) {
                acc = add(&acc, &q_table, digit);
            }
        }
        Some(acc)
    }

    /// Affine coordinates; `None` for the identity.
    fn to_affine(&self, p: &Point<F::Fe>) -> Option<Affine<L>> {
        let z_inv = self.field.invert(&p.z).into_option()?;
        Some(Affine { x: self.field.retrieve(&(p.x * z_inv)), y: self.field.retrieve(&(p.y * z_inv)) })
    }

    fn lift(&self, a: &Affine<L>) -> Option<Point<F::Fe>> {
        let p = self.field.modulus();
        if a.x >= *p || a.y >= *p {
            return None;
        }
        let x = self.field.element(&a.x);
        let y = self.field.element(&a.y);
        // On the curve: y² = x³ + ax + b.
        let lhs = y * y;
        let rhs = x * x * x + self.a * x + self.b;
        (self.field.retrieve(&lhs) == self.field.retrieve(&rhs)).then(|| Point { x, y, z: self.field.one() })
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
        let sc = |x: &Uint<L>| FixedMontyForm::new(x, &self.scalar);
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
        let sc = |x: &Uint<L>| FixedMontyForm::new(x, &self.scalar);
        let Some(v) = sc(e).invert_vartime().into_option() else { return false };
        let z1 = (sc(s) * v).retrieve();
        let z2 = (-(sc(r) * v)).retrieve();
        // Public values: the variable-time road, and its inversion.
        let x = match self.mul_double_public(&z1, &z2, &(qp.x, qp.y)) {
            Some(c) => match self.jacobian_to_affine_all(&[c]) {
                Some(affine) => affine[0].0,
                None => return false,
            },
            None => {
                let c = self.add(&self.mul_generator(&z1), &self.mul(&z2, &qp));
                let Some(z_inv) = self.field.invert_vartime(&c.z).into_option() else { return false };
                c.x * z_inv
            }
        };
        self.reduce(&self.field.retrieve(&x)) == *r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing table and the verification road agree with the constant-time ladder
    /// on every production curve, for random scalars and the edges (0, 1, 2, q−2, q−1,
    /// 2^n around the top, and scalars whose signed digits all carry).
    fn agree<const L: usize>(params: &CurveParams) {
        let curve = Curve::<L>::new(params);
        let q = *curve.order();
        let mut scalars = vec![Uint::<L>::ZERO, Uint::ONE, Uint::from_u8(2), q - Uint::from_u8(2), q - Uint::ONE];
        scalars.push(Uint::ONE << (q.bit_width() - 1));
        scalars.push((Uint::ONE << (q.bit_width() - 1)) - Uint::ONE);
        scalars.push(Uint::MAX);
        scalars.push(Uint::from_words([0x8421_0842_1084_2108; L])); // 10000 (binary) in every window
        scalars.push(Uint::from_words([0x1084_2108_4210_8421; L])); // 00001 in every window
        for _ in 0..24 {
            let mut bytes = vec![0u8; Uint::<L>::BYTES];
            getrandom::fill(&mut bytes).unwrap();
            scalars.push(curve.reduce(&Uint::from_le_slice(&bytes)));
        }
        // A public key: a random multiple of G, lifted from affine as verification does.
        let point = curve.lift(&curve.public_key(&scalars[scalars.len() - 1]).unwrap()).unwrap();
        let affine = (point.x, point.y);
        for (i, k) in scalars.iter().enumerate() {
            let expected = curve.to_affine(&curve.mul(k, &curve.g));
            assert_eq!(curve.to_affine(&curve.mul_generator(k)), expected, "k·G for k = {k}");
            let other = &scalars[(i * 7 + 3) % scalars.len()];
            let expected = curve.to_affine(&curve.add(&curve.mul(k, &curve.g), &curve.mul(other, &point)));
            let fast = curve.mul_double_public(k, other, &affine).unwrap();
            let fast = curve
                .jacobian_to_affine_all(&[fast])
                .map(|v| Affine { x: curve.field.retrieve(&v[0].0), y: curve.field.retrieve(&v[0].1) });
            assert_eq!(fast, expected, "{k}·G + {other}·P");
        }
        // P + P through the mixed addition's equal-points branch, and P − P.
        let jp = Jacobian { x: point.x, y: point.y, z: point.z };
        let doubled = curve.jacobian_add_affine(&jp, &point.x, &point.y);
        let via_double = curve.jacobian_double(&jp);
        let retrieve = |v: Vec<AffineFe<_>>| (curve.field.retrieve(&v[0].0), curve.field.retrieve(&v[0].1));
        assert_eq!(
            curve.jacobian_to_affine_all(&[doubled]).map(retrieve),
            curve.jacobian_to_affine_all(&[via_double]).map(retrieve)
        );
        assert!(is_zero(&curve.jacobian_add_affine(&jp, &point.x, &-point.y).z));
        // The complete mixed addition doubles and cancels too.
        let twice = curve.add_affine(&point, &affine);
        assert_eq!(curve.to_affine(&twice), curve.to_affine(&curve.add(&point, &point)));
        assert_eq!(curve.to_affine(&curve.add_affine(&point, &(point.x, -point.y))), None);
    }

    #[test]
    fn fast_multiplications_agree_with_the_ladder() {
        agree::<{ U256::LIMBS }>(&super::super::params::CRYPTOPRO_A);
        agree::<{ U256::LIMBS }>(&super::super::params::TC26_256_A);
        agree::<{ U512::LIMBS }>(&super::super::params::TC26_512_A);
    }

    #[test]
    fn the_naf_digits_add_up_to_the_scalar() {
        let k = U256::from_be_hex("80000000000000000000000000000001FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
        for width in [NAF_WIDTH, G_NAF_WIDTH] {
            let naf = wnaf(&k, width);
            let bound = 1u8 << (width - 1);
            assert!(naf.iter().all(|d| *d == 0 || (d % 2 != 0 && d.unsigned_abs() < bound)));
            // Σ dᵢ·2ⁱ, in a wider integer so that the carry at the top fits.
            let mut sum = crypto_bigint::U320::ZERO;
            for (i, d) in naf.iter().enumerate() {
                let term = crypto_bigint::U320::from_u8(d.unsigned_abs()) << i as u32;
                sum = if *d >= 0 { sum.wrapping_add(&term) } else { sum.wrapping_sub(&term) };
            }
            assert_eq!(sum, k.resize(), "width {width}");
        }
    }
}
