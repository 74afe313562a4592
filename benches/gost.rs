//! GOST 34.10 sign and verify on each curve NCA keys use, with the key's own hash.
//! `cargo bench --bench gost`; figures are in the README next to the OpenSSL GOST
//! engine's on the same machine.

use criterion::{Criterion, criterion_group, criterion_main};
use qoltanba::crypto::gost::GostCurve;

fn bench(c: &mut Criterion) {
    for (name, curve) in [
        ("gost2015_512", GostCurve::Tc26_512A),
        ("gost2015_256", GostCurve::Tc26_256A),
        ("gost2004", GostCurve::CryptoProA),
    ] {
        let d = vec![0x11u8; curve.size()];
        let digest = vec![0x5Au8; curve.size()];
        let public = curve.public_key(&d).unwrap();
        let signature = curve.sign(&d, &digest).unwrap();
        c.bench_function(&format!("{name}/sign"), |b| b.iter(|| curve.sign(&d, &digest).unwrap()));
        c.bench_function(&format!("{name}/verify"), |b| b.iter(|| assert!(curve.verify(&public, &digest, &signature))));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
