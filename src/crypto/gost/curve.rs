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

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Choice, CtAssign, NonZero, Odd, Uint};

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

    /// `k · p` for public `k` and `p` (verification): a 4-bit fixed window, variable time.
    fn mul_public(&self, k: &Uint<L>, p: &Point<L>) -> Point<L> {
        let mut multiples = [self.identity(); 16];
        for j in 1..16 {
            multiples[j] = self.add(&multiples[j - 1], p);
        }
        let mut acc = self.identity();
        for i in (0..(Uint::<L>::BITS as usize).div_ceil(4)).rev() {
            for _ in 0..4 {
                acc = self.add(&acc, &acc);
            }
            let nibble = (0..4u32).fold(0usize, |n, b| n | ((k.bit_vartime(4 * i as u32 + b) as usize) << b));
            if nibble != 0 {
                acc = self.add(&acc, &multiples[nibble]);
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
        let Some(v) = sc(e).invert().into_option() else { return false };
        let z1 = (sc(s) * v).retrieve();
        let z2 = (-(sc(r) * v)).retrieve();
        let c = self.add(&self.mul_generator(&z1), &self.mul_public(&z2, &qp));
        match self.to_affine(&c) {
            Some(c) => self.reduce(&c.x) == *r,
            None => false,
        }
    }
}
