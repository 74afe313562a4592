//! Field arithmetic for the curves: [`SpecialField`] for primes of the form
//! p = 2^n − c, n = 64·L, with a small c, and [`MontyField`] (crypto-bigint's generic
//! Montgomery arithmetic) for any other odd prime, such as those of the test curves of
//! RFC 7091 that pin the curve code. The curve code is written once against
//! [`PrimeField`].
//!
//! Every curve NCA keys use has such a prime: CryptoPro-A and TC26-256-A share
//! 2^256 − 617, TC26-512-A is 2^512 − 569. A product of two field elements, `hi·2^n +
//! lo`, is then reduced as `lo + hi·c` (since 2^n ≡ c), folded once more: a schoolbook
//! multiplication and a few single-word multiplications, against the two full
//! multiplications of a generic Montgomery reduction.
//!
//! Elements are always kept fully reduced in [0, p), so equality and zero tests are
//! plain comparisons. Every operation is constant time: carries and borrows become
//! masks (through `Choice`, which keeps the optimiser from turning them back into
//! branches), never branches or indices. Inversion goes to crypto-bigint's
//! constant-time safegcd.

use std::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub};

#[cfg(test)]
use crypto_bigint::CtAssign;
#[cfg(test)]
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Choice, CtOption, Odd, Uint};

/// What the curve code needs of a field element. All constant time.
pub trait FieldElement:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Neg<Output = Self> + MulAssign + AddAssign
{
    fn square(&self) -> Self;
    fn double(&self) -> Self;
    fn is_zero(&self) -> Choice;
    /// `self = other` where `choice` is set, without a branch.
    fn ct_assign(&mut self, other: &Self, choice: Choice);
    /// `self · k` for a small constant `k` < 2^32.
    fn mul_small(&self, k: u32) -> Self;
}

/// A prime field.
pub trait PrimeField<const L: usize>: Sized + Send + Sync {
    type Fe: FieldElement + Send + Sync;
    /// The field of the prime `p`; `None` if this arithmetic cannot serve it.
    fn new(p: &Uint<L>) -> Option<Self>;
    fn modulus(&self) -> &Uint<L>;
    /// `x mod p` for `x` below 2^n.
    fn element(&self, x: &Uint<L>) -> Self::Fe;
    /// The element as an integer in [0, p).
    fn retrieve(&self, x: &Self::Fe) -> Uint<L>;
    fn zero(&self) -> Self::Fe;
    fn one(&self) -> Self::Fe;
    /// The inverse, constant time; none for zero.
    fn invert(&self, a: &Self::Fe) -> CtOption<Self::Fe>;
    /// The inverse of a public value, variable time; none for zero.
    fn invert_vartime(&self, a: &Self::Fe) -> CtOption<Self::Fe>;
}

/// The largest supported width, in 64-bit words (512 bits).
const MAX_LIMBS: usize = 8;

/// A prime p = 2^(64·L) − c.
#[derive(Clone, Copy, Debug)]
pub struct SpecialField<const L: usize> {
    c: u64,
    p: Odd<Uint<L>>,
}

/// An element of a [`SpecialField`], fully reduced.
#[derive(Clone, Copy, Debug)]
pub struct Fe<const L: usize> {
    v: [u64; L],
    c: u64,
}

/// `a + b + carry` as (sum, carry).
#[inline(always)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(a) + u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `a − b − borrow` as (difference, borrow).
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = u128::from(a).wrapping_sub(u128::from(b) + u128::from(borrow));
    (t as u64, (t >> 127) as u64)
}

/// `acc + a·b + carry` as (low word, high word); cannot overflow 128 bits.
#[inline(always)]
fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(acc) + u128::from(a) * u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// All ones if `bit` (0 or 1) is 1, else zero, without a branch.
#[inline(always)]
fn mask(bit: u64) -> u64 {
    Choice::from_u64_lsb(bit).to_u64_mask()
}

impl<const L: usize> PrimeField<L> for SpecialField<L> {
    type Fe = Fe<L>;

    /// `None` unless p = 2^(64·L) − c with 0 < c < 2^32 (the reduction needs the
    /// small c).
    fn new(p: &Uint<L>) -> Option<Self> {
        if L == 0 || L > MAX_LIMBS {
            return None;
        }
        let c = Uint::<L>::ZERO.wrapping_sub(p);
        let words = c.to_words();
        let small = words[1..].iter().all(|w| *w == 0) && words[0] != 0 && words[0] < 1 << 32;
        let p = Odd::new(*p).into_option()?;
        small.then_some(Self { c: words[0], p })
    }

    fn modulus(&self) -> &Uint<L> {
        self.p.as_ref()
    }

    fn element(&self, x: &Uint<L>) -> Fe<L> {
        Fe { v: x.to_words(), c: self.c }.normalized(0)
    }

    fn retrieve(&self, x: &Fe<L>) -> Uint<L> {
        Uint::from_words(x.v)
    }

    fn zero(&self) -> Fe<L> {
        Fe { v: [0; L], c: self.c }
    }

    fn one(&self) -> Fe<L> {
        let mut v = [0; L];
        v[0] = 1;
        Fe { v, c: self.c }
    }

    fn invert(&self, a: &Fe<L>) -> CtOption<Fe<L>> {
        self.retrieve(a).invert_odd_mod(&self.p).map(|x| Fe { v: x.to_words(), c: self.c })
    }

    fn invert_vartime(&self, a: &Fe<L>) -> CtOption<Fe<L>> {
        self.retrieve(a).invert_odd_mod_vartime(&self.p).map(|x| Fe { v: x.to_words(), c: self.c })
    }
}

impl<const L: usize> FieldElement for Fe<L> {
    fn is_zero(&self) -> Choice {
        Choice::from_u64_nz(self.v.iter().fold(0, |acc, w| acc | w)).not()
    }

    fn ct_assign(&mut self, other: &Self, choice: Choice) {
        let m = choice.to_u64_mask();
        for (a, b) in self.v.iter_mut().zip(other.v.iter()) {
            *a ^= m & (*a ^ *b);
        }
    }

    #[inline]
    fn square(&self) -> Self {
        self.squared()
    }

    fn double(&self) -> Self {
        *self + *self
    }

    fn mul_small(&self, k: u32) -> Self {
        let mut v = [0u64; L];
        let mut carry = 0;
        for (v, a) in v.iter_mut().zip(self.v.iter()) {
            (*v, carry) = mac(0, *a, u64::from(k), carry);
        }
        Self::fold(v, carry, self.c)
    }
}

impl<const L: usize> Fe<L> {
    /// Reduces `high·2^n + v` for `v` below 2^n and `high` 0 or 1, when the value is
    /// below 2p: subtracts p (adds c modulo 2^n) if it is at least p.
    #[inline(always)]
    fn normalized(mut self, high: u64) -> Self {
        let mut t = [0u64; L];
        let mut carry = self.c;
        for (t, v) in t.iter_mut().zip(self.v.iter()) {
            (*t, carry) = adc(*v, carry, 0);
        }
        let m = mask(carry | high);
        for (v, t) in self.v.iter_mut().zip(t.iter()) {
            *v ^= m & (*v ^ *t);
        }
        self
    }

    /// `hi·2^n + lo` reduced: `lo + hi·c`, then the (small) overflow folded again.
    #[inline(always)]
    fn reduce(lo: &[u64], hi: &[u64], c: u64) -> Self {
        let mut v = [0u64; L];
        let mut carry = 0;
        for i in 0..L {
            (v[i], carry) = mac(lo[i], hi[i], c, carry);
        }
        Self::fold(v, carry, c)
    }

    /// Reduces `carry·2^n + v` for `carry` < 2^32: `v + carry·c`, folded once more.
    #[inline(always)]
    fn fold(mut v: [u64; L], carry: u64, c: u64) -> Self {
        let (w, mut k) = mac(v[0], carry, c, 0);
        v[0] = w;
        for w in v.iter_mut().skip(1) {
            (*w, k) = adc(*w, k, 0);
        }
        // If that overflowed once more, the low part is below carry·c < 2^64 − c: adding c cannot
        // carry out of the lowest word.
        v[0] = v[0].wrapping_add(c & mask(k));
        Fe { v, c }.normalized(0)
    }

    /// The product, through a schoolbook multiplication.
    #[inline]
    fn multiply(&self, other: &Self) -> Self {
        let mut t = [0u64; 2 * MAX_LIMBS];
        for i in 0..L {
            let mut carry = 0;
            for j in 0..L {
                (t[i + j], carry) = mac(t[i + j], self.v[i], other.v[j], carry);
            }
            t[i + L] = carry;
        }
        Self::reduce(&t[..L], &t[L..2 * L], self.c)
    }

    /// The square: each cross product once, doubled, then the squares of the words.
    #[inline]
    fn squared(&self) -> Self {
        let a = &self.v;
        let mut t = [0u64; 2 * MAX_LIMBS];
        for i in 0..L {
            let mut carry = 0;
            for j in i + 1..L {
                (t[i + j], carry) = mac(t[i + j], a[i], a[j], carry);
            }
            t[i + L] = carry;
        }
        let mut top = 0;
        for w in t[..2 * L].iter_mut() {
            let next = *w >> 63;
            *w = (*w << 1) | top;
            top = next;
        }
        let mut carry = 0;
        for i in 0..L {
            let (lo, hi) = mac(t[2 * i], a[i], a[i], carry);
            t[2 * i] = lo;
            (t[2 * i + 1], carry) = adc(t[2 * i + 1], hi, 0);
        }
        Self::reduce(&t[..L], &t[L..2 * L], self.c)
    }
}

impl<const L: usize> Fe<L> {
    #[inline]
    fn sum(&self, other: &Self) -> Self {
        let mut v = [0u64; L];
        let mut carry = 0;
        for ((v, a), b) in v.iter_mut().zip(&self.v).zip(&other.v) {
            (*v, carry) = adc(*a, *b, carry);
        }
        Fe { v, c: self.c }.normalized(carry)
    }

    #[inline]
    fn difference(&self, other: &Self) -> Self {
        let mut v = [0u64; L];
        let mut borrow = 0;
        for ((v, a), b) in v.iter_mut().zip(&self.v).zip(&other.v) {
            (*v, borrow) = sbb(*a, *b, borrow);
        }
        // Wrapped: add p back, i.e. subtract c modulo 2^n. The wrapped value exceeds
        // 2^n − p = c, so this cannot borrow out.
        let mut b = self.c & mask(borrow);
        for w in v.iter_mut() {
            (*w, b) = sbb(*w, b, 0);
        }
        Fe { v, c: self.c }
    }
}

impl<const L: usize> Add for Fe<L> {
    type Output = Self;

    #[inline]
    fn add(self, other: Self) -> Self {
        self.sum(&other)
    }
}

impl<const L: usize> Sub for Fe<L> {
    type Output = Self;

    #[inline]
    fn sub(self, other: Self) -> Self {
        self.difference(&other)
    }
}

impl<const L: usize> Neg for Fe<L> {
    type Output = Self;

    fn neg(self) -> Self {
        Fe { v: [0; L], c: self.c } - self
    }
}

impl<const L: usize> Mul for Fe<L> {
    type Output = Self;

    #[inline]
    fn mul(self, other: Self) -> Self {
        self.multiply(&other)
    }
}

impl<const L: usize> AddAssign for Fe<L> {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl<const L: usize> MulAssign for Fe<L> {
    fn mul_assign(&mut self, other: Self) {
        *self = self.multiply(&other);
    }
}

/// Any odd prime, through crypto-bigint's Montgomery arithmetic (the RFC 7091 test
/// curves).
#[cfg(test)]
pub struct MontyField<const L: usize>(FixedMontyParams<L>);

#[cfg(test)]
impl<const L: usize> FieldElement for FixedMontyForm<L> {
    fn square(&self) -> Self {
        FixedMontyForm::square(self)
    }

    fn double(&self) -> Self {
        FixedMontyForm::double(self)
    }

    fn is_zero(&self) -> Choice {
        self.as_montgomery().is_nonzero().not()
    }

    fn ct_assign(&mut self, other: &Self, choice: Choice) {
        CtAssign::ct_assign(self, other, choice);
    }

    fn mul_small(&self, k: u32) -> Self {
        *self * FixedMontyForm::new(&Uint::from_u32(k), self.params())
    }
}

#[cfg(test)]
impl<const L: usize> PrimeField<L> for MontyField<L> {
    type Fe = FixedMontyForm<L>;

    fn new(p: &Uint<L>) -> Option<Self> {
        Some(Self(FixedMontyParams::new(Odd::new(*p).into_option()?)))
    }

    fn modulus(&self) -> &Uint<L> {
        self.0.modulus().as_ref()
    }

    fn element(&self, x: &Uint<L>) -> Self::Fe {
        FixedMontyForm::new(x, &self.0)
    }

    fn retrieve(&self, x: &Self::Fe) -> Uint<L> {
        x.retrieve()
    }

    fn zero(&self) -> Self::Fe {
        FixedMontyForm::zero(&self.0)
    }

    fn one(&self) -> Self::Fe {
        FixedMontyForm::one(&self.0)
    }

    fn invert(&self, a: &Self::Fe) -> CtOption<Self::Fe> {
        a.invert()
    }

    fn invert_vartime(&self, a: &Self::Fe) -> CtOption<Self::Fe> {
        a.invert_vartime()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::{U256, U512};

    /// Every operation agrees with crypto-bigint's generic Montgomery arithmetic, on
    /// random values and on the edges: 0, 1, 2, p−2, p−1, c, 2^(n−1), and values with
    /// all-ones words.
    fn agree<const L: usize>(p_hex: &str) {
        let p = Uint::<L>::from_be_hex(p_hex);
        let field = SpecialField::new(&p).expect("a special-form prime");
        let monty = FixedMontyParams::new(Odd::new(p).unwrap());
        let m = |x: &Uint<L>| FixedMontyForm::new(x, &monty);
        let c = Uint::<L>::ZERO.wrapping_sub(&p);
        let mut values = vec![
            Uint::ZERO,
            Uint::ONE,
            Uint::from_u8(2),
            p.wrapping_sub(&Uint::from_u8(2)),
            p.wrapping_sub(&Uint::ONE),
            c,
            Uint::ONE << (Uint::<L>::BITS - 1),
            p.wrapping_sub(&c),
        ];
        let mut low_ones = [0u64; L];
        low_ones[..L / 2].fill(u64::MAX);
        values.push(Uint::from_words(low_ones));
        for _ in 0..40 {
            let mut bytes = vec![0u8; Uint::<L>::BYTES];
            getrandom::fill(&mut bytes).unwrap();
            values.push(Uint::<L>::from_le_slice(&bytes).rem_vartime(&p.to_nz().unwrap()));
        }
        for x in &values {
            let fx = field.element(x);
            assert_eq!(field.retrieve(&fx.square()), m(x).square().retrieve(), "{x}²");
            assert_eq!(field.retrieve(&-fx), (-m(x)).retrieve(), "−{x}");
            assert_eq!(field.retrieve(&fx.double()), m(x).double().retrieve(), "2·{x}");
            for k in [0, 1, 166, 498, u32::MAX] {
                let expected = (m(x) * m(&Uint::from_u32(k))).retrieve();
                assert_eq!(field.retrieve(&fx.mul_small(k)), expected, "{k}·{x}");
            }
            assert_eq!(bool::from(fx.is_zero()), *x == Uint::ZERO);
            let inverse = field.invert(&fx).into_option().map(|i| field.retrieve(&i));
            assert_eq!(inverse, m(x).invert().into_option().map(|i| i.retrieve()), "1/{x}");
            let inverse = field.invert_vartime(&fx).into_option().map(|i| field.retrieve(&i));
            assert_eq!(inverse, m(x).invert().into_option().map(|i| i.retrieve()), "1/{x}");
            for y in &values {
                let fy = field.element(y);
                assert_eq!(field.retrieve(&(fx * fy)), (m(x) * m(y)).retrieve(), "{x}·{y}");
                assert_eq!(field.retrieve(&(fx + fy)), (m(x) + m(y)).retrieve(), "{x}+{y}");
                assert_eq!(field.retrieve(&(fx - fy)), (m(x) - m(y)).retrieve(), "{x}−{y}");
                let mut chosen = fx;
                chosen.ct_assign(&fy, Choice::from_u8_lsb(1));
                assert_eq!(field.retrieve(&chosen), *y);
                chosen.ct_assign(&fx, Choice::from_u8_lsb(0));
                assert_eq!(field.retrieve(&chosen), *y);
            }
        }
        // Values between p and 2^n enter reduced.
        assert_eq!(field.retrieve(&field.element(&Uint::from_words([u64::MAX; L]))), c.wrapping_sub(&Uint::ONE));
    }

    #[test]
    fn special_form_arithmetic_agrees_with_montgomery_arithmetic() {
        agree::<{ U256::LIMBS }>("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97");
        agree::<{ U512::LIMBS }>(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
        );
    }

    #[test]
    fn only_special_form_primes_are_accepted() {
        assert!(
            SpecialField::<{ U256::LIMBS }>::new(&U256::from_be_hex(
                "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"
            ))
            .is_none()
        );
        assert!(SpecialField::<{ U256::LIMBS }>::new(&U256::ZERO).is_none());
    }
}
