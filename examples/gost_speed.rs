//! Timings for `benches/compare.sh`: GOST 34.10 sign and verify on the three curves NCA
//! keys use, and the throughput of the GOST hashes, one machine-readable line each.
//!
//!   cargo run --release --example gost_speed
//!
//! Lines: `sign CURVE MS`, `verify CURVE MS`, `hash NAME MB_PER_S`.

use std::time::{Duration, Instant};

use qoltanba::crypto::Hasher;
use qoltanba::crypto::gost::GostCurve;
use qoltanba::keys::KeyAlgorithm;

/// Milliseconds per call of `f`, over at least `budget`.
fn per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let (start, mut calls) = (Instant::now(), 0u32);
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() * 1000.0 / f64::from(calls)
}

fn main() {
    let budget = Duration::from_secs(2);
    for (name, curve) in [
        ("gost2015_512", GostCurve::Tc26_512A),
        ("gost2015_256", GostCurve::Tc26_256A),
        ("gost2004", GostCurve::CryptoProA),
    ] {
        let d = vec![0x11u8; curve.size()];
        let digest = vec![0x5Au8; curve.size()];
        let public = curve.public_key(&d).expect("a valid key");
        let signature = curve.sign(&d, &digest).expect("a signature");
        println!("sign {name} {:.4}", per_call(budget, || drop(curve.sign(&d, &digest))));
        println!("verify {name} {:.4}", per_call(budget, || assert!(curve.verify(&public, &digest, &signature))));
    }
    let data = vec![0xA5u8; 64 << 20];
    for (name, algorithm) in [
        ("streebog256", KeyAlgorithm::Gost2015_256),
        ("streebog512", KeyAlgorithm::Gost2015_512),
        ("gost34311", KeyAlgorithm::Gost2004),
    ] {
        let start = Instant::now();
        let mut hasher = Hasher::for_algorithm(algorithm).expect("a GOST hash");
        hasher.update(&data);
        std::hint::black_box(hasher.finish());
        println!("hash {name} {:.1}", 64.0 * 1.048_576 / start.elapsed().as_secs_f64());
    }
}
