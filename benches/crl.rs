//! A CRL at NCA RK's scale (422 000 entries, made by `openssl ca -gencrl` for a CA
//! made here) checked the way the trust store checks it: the first check streams the
//! CRL and builds its index, later checks open the index and search it.
//! `cargo bench --bench crl` (Linux: memory from /proc/self/status); figures are in
//! the README ("Revocation at scale").

#[path = "../tests/common/openssl_ca.rs"]
mod openssl_ca;

use std::time::{Duration, Instant};

use openssl_ca::{OpensslCa, Revoked};
use qoltanba::trust::crl::Crl;
use qoltanba::trust::{ChainRule, Requirements, TrustStore};

const ENTRIES: u64 = 422_000;

fn serial_hex(i: u64) -> String {
    format!("4A0E1F{:034X}", u128::from(i) * 7919 + 12_345)
}

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// A `kB` line of /proc/self/status, in MiB.
fn status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(&dir.path().join("ca"), "Scale CA (bench)", "");
    ca.set_revoked((0..ENTRIES).map(|i| Revoked {
        serial_hex: serial_hex(i),
        date: format!("2501{:02}000000Z", 1 + i % 28),
        reason: i.is_multiple_of(10).then_some("keyCompromise"),
    }));
    let t = Instant::now();
    let der = ca.gencrl("big.crl", &[]);
    let gencrl = t.elapsed();
    let url = "http://127.0.0.1:9/big.crl";
    let cache = dir.path().join("cache");
    let path = qoltanba::trust::fetch::cache_path(&cache.join("crl"), url);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &der).unwrap();
    let size = der.len();
    // Digest throughput, for NCA RK's GOST CRLs (this CA signs with RSA/SHA-256).
    let mut digests = Vec::new();
    for (name, oid) in [
        ("SHA-256", "2.16.840.1.101.3.4.2.1"),
        ("Streebog-512 (GOST 2015)", "1.2.398.3.10.1.3.3"),
        ("GOST 34.311-95 (GOST 2004)", "1.2.398.3.10.1.3.1"),
    ] {
        let mut h = qoltanba::crypto::Hasher::for_oid(&der::asn1::ObjectIdentifier::new_unwrap(oid)).unwrap();
        let t = Instant::now();
        for chunk in der.chunks(64 * 1024) {
            h.update(chunk);
        }
        std::hint::black_box(h.finish());
        digests.push((name, t.elapsed()));
    }
    drop(der);
    let listed = qoltanba::keys::Certificate::from_der(&ca.issue(&serial_hex(4_242), url, "")).unwrap();
    let good = qoltanba::keys::Certificate::from_der(&ca.issue(&format!("4A0E1F{:034X}", 12_346), url, "")).unwrap();
    let ca_cert = ca.cert();

    // From here on: the checks alone. Reset the peak (Linux: clear_refs 5).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_mib("VmRSS:");

    let store = TrustStore::new(Some(cache.clone()), Vec::new(), false);
    let req = Requirements { chain: ChainRule::Listed(vec![ca_cert.clone()]), ..Default::default() };
    let t = Instant::now();
    let verdict = store.assess(&listed, &req, now_ms());
    let first = t.elapsed();
    assert!(verdict.refusal.is_some(), "{verdict:?}");
    let peak_first = status_mib("VmHWM:");

    // Later checks through the trust store (open the index, signature, one search).
    let mut later = Vec::new();
    for i in 0..2_000u32 {
        let cert = if i.is_multiple_of(2) { &good } else { &listed };
        let t = Instant::now();
        let verdict = store.assess(cert, &req, now_ms());
        later.push(t.elapsed());
        assert_eq!(verdict.refusal.is_none(), i.is_multiple_of(2));
    }
    later.sort();
    // Lookups alone in an open CRL.
    let crl = Crl::open(&path).unwrap();
    assert!(crl.is_signed_by(&ca_cert));
    let serials: Vec<Vec<u8>> = (0..10_000u64).map(|i| bytes(&serial_hex(i * 41 % ENTRIES))).collect();
    let t = Instant::now();
    for s in &serials {
        assert!(crl.lookup(s).is_some());
    }
    let lookup = t.elapsed() / serials.len() as u32;
    let peak = status_mib("VmHWM:");
    drop(crl);
    drop(store);
    let idle = status_mib("VmRSS:");

    println!("CRL: {ENTRIES} entries, {:.1} MB (openssl ca -gencrl: {:.2} s)", size as f64 / 1e6, gencrl.as_secs_f64());
    println!("cores: {}", std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!("first check (stream, verify, build index, search): {:.0} ms", first.as_secs_f64() * 1e3);
    println!(
        "later checks (open index, verify, search), {} runs: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        later.len(),
        percentile(&later, 0.5).as_secs_f64() * 1e3,
        percentile(&later, 0.99).as_secs_f64() * 1e3,
        later.last().unwrap().as_secs_f64() * 1e3
    );
    println!("one lookup in an open CRL: {:.1} µs", lookup.as_secs_f64() * 1e6);
    println!(
        "RSS before checks {before:.1} MiB; peak (VmHWM{}) after the first check {peak_first:.1} MiB, overall {peak:.1} MiB; after dropping everything {idle:.1} MiB",
        if reset { ", reset before the checks" } else { ", not resettable: includes setup" }
    );
    for (name, t) in digests {
        println!("{name} of the CRL file: {:.0} ms", t.as_secs_f64() * 1e3);
    }
}
