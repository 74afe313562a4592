//! CRLs at NCA RK's scale (issue 16, items 2 and 4): a CRL of 422 000 entries made by
//! `openssl ca -gencrl` for a CA made by the test, read from the cache through its
//! index (built once, rebuilt when the file changes) and used by the trust store;
//! CRLs of another key, stale, delta, indirect or with an unknown critical extension.

#[path = "common/openssl_ca.rs"]
mod openssl_ca;

use std::path::Path;
use std::time::Instant;

use openssl_ca::{ENTRIES, OpensslCa, Revoked, revoked, serial_hex};
use qoltanba::trust::crl::{Crl, Entry, Status, freshest_urls_of};
use qoltanba::trust::{ChainRule, Requirements, TrustStore};

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// 2025-01-`day` 00:00 UTC.
fn jan_2025_ms(day: u64) -> i64 {
    1_735_689_600_000 + (day as i64 - 1) * 86_400_000
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn cert(der: &[u8]) -> qoltanba::keys::Certificate {
    qoltanba::keys::Certificate::from_der(der).unwrap()
}

#[test]
fn a_crl_of_422_000_entries_is_indexed_once_and_searched() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(&dir.path().join("ca"), "Scale CA (test)", "");
    ca.set_revoked((0..ENTRIES).map(revoked));
    let t = Instant::now();
    let der = ca.gencrl("big.crl", &[]);
    eprintln!("openssl ca -gencrl of {ENTRIES} entries: {:?}, {} bytes", t.elapsed(), der.len());

    // In the trust store's cache, where a certificate's distribution point leads.
    let url = "http://127.0.0.1:9/big.crl";
    let cache = dir.path().join("cache");
    let path = qoltanba::trust::fetch::cache_path(&cache.join("crl"), url);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &der).unwrap();
    drop(der);

    let t = Instant::now();
    let crl = Crl::open(&path).unwrap();
    let first = t.elapsed();
    assert!(crl.is_signed_by(&ca.cert()));
    eprintln!("first open (index built) and signature: {first:?}");
    assert_eq!(crl.len(), ENTRIES);
    assert!(crl.is_current(now_ms()));
    assert_eq!(crl.number(), Some(vec![1]));
    assert_eq!(crl.delta_base(), None);
    // The first, last and some entries between; a serial with redundant leading zeros.
    for i in [0, 1, 9, 10, 12_345, ENTRIES / 2, ENTRIES - 2, ENTRIES - 1] {
        let entry = crl.lookup(&bytes(&serial_hex(i))).unwrap_or_else(|| panic!("entry {i}"));
        assert_eq!(entry, Entry { revoked_at_ms: jan_2025_ms(1 + i % 28), remove_from_crl: false }, "entry {i}");
    }
    let mut padded = vec![0, 0];
    padded.extend(bytes(&serial_hex(77)));
    assert!(crl.lookup(&padded).is_some());
    // Serials that are not listed: between entries, before the first, after the last.
    for hex in [
        format!("4A0E1F{:034X}", 12_346),
        format!("4A0E1F{:034X}", 12_344),
        format!("4A0E1F{:034X}", u128::from(ENTRIES) * 7919 + 12_345),
        "01".into(),
        "7F".repeat(20),
    ] {
        assert_eq!(crl.lookup(&bytes(&hex)), None, "{hex}");
    }

    // Later checks: the index is used as it is.
    let idx = path.with_file_name("big.crl.idx");
    let built = std::fs::metadata(&idx).unwrap().modified().unwrap();
    let t = Instant::now();
    let again = Crl::open(&path).unwrap();
    let found = again.lookup(&bytes(&serial_hex(ENTRIES / 3)));
    eprintln!("later open and lookup: {:?}", t.elapsed());
    assert!(found.is_some());
    assert!(again.is_signed_by(&ca.cert()));
    assert_eq!(std::fs::metadata(&idx).unwrap().modified().unwrap(), built, "not rebuilt");

    // The trust store decides with it: a listed certificate is revoked, another good.
    let listed = cert(&ca.issue(&serial_hex(4_242), url, ""));
    let good = cert(&ca.issue(&format!("4A0E1F{:034X}", 12_346), url, ""));
    let store = TrustStore::new(Some(cache.clone()), Vec::new(), false);
    let req = Requirements { chain: ChainRule::Listed(vec![ca.cert()]), ..Default::default() };
    let verdict = store.assess(&listed, &req, now_ms());
    assert_eq!(
        verdict.refusal.as_ref().map(ToString::to_string).as_deref(),
        Some("the certificate was revoked on 2025-01-15"),
        "{verdict:?}"
    );
    assert_eq!(crl.status_of(&listed), Status::Revoked(jan_2025_ms(15)));
    let verdict = store.assess(&good, &req, now_ms());
    assert_eq!((verdict.refusal, verdict.notes), (None, Vec::new()));
    assert_eq!(crl.status_of(&good), Status::Good);

    // A new CRL in the file (one more entry, the next number): the index is rebuilt.
    let mut index = std::fs::OpenOptions::new().append(true).open(ca.dir.join("index.txt")).unwrap();
    std::io::Write::write_all(
        &mut index,
        format!("R\t300101000000Z\t250201000000Z\t{}\tunknown\t/CN=new\n", serial_hex(ENTRIES)).as_bytes(),
    )
    .unwrap();
    std::fs::write(&path, ca.gencrl("big2.crl", &[])).unwrap();
    let t = Instant::now();
    let next = Crl::open(&path).unwrap();
    eprintln!("open after the CRL changed (index rebuilt): {:?}", t.elapsed());
    assert_eq!((next.len(), next.number()), (ENTRIES + 1, Some(vec![2])));
    assert_eq!(next.lookup(&bytes(&serial_hex(ENTRIES))).map(|e| e.revoked_at_ms), Some(jan_2025_ms(32)));
    assert!(next.is_signed_by(&ca.cert()));
    // The CRL opened before still answers from the index it had.
    assert_eq!(crl.lookup(&bytes(&serial_hex(ENTRIES))), None);
    let mut names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["big.crl", "big.crl.idx"], "no temporary files left");
}

/// `der` as a cache file in `dir`, opened through its index.
fn open_file(dir: &Path, name: &str, der: &[u8]) -> Result<Crl, qoltanba::trust::crl::CrlError> {
    let path = dir.join(name);
    std::fs::write(&path, der).unwrap();
    Crl::open(&path)
}

#[test]
fn a_crl_signed_by_another_key_of_the_same_name_is_not_the_issuers() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(&dir.path().join("ca"), "Same Name CA", "");
    let impostor = OpensslCa::new(&dir.path().join("impostor"), "Same Name CA", "");
    let other = OpensslCa::new(&dir.path().join("other"), "Other CA", "");
    impostor.set_revoked([revoked(1)]);
    let der = impostor.gencrl("x.crl", &[]);
    for crl in [Crl::from_der(&der).unwrap(), open_file(dir.path(), "x.crl", &der).unwrap()] {
        assert_eq!(crl.issuer(), ca.cert().tbs_certificate().subject());
        assert!(!crl.is_signed_by(&ca.cert()), "the names match, not the key");
        assert!(!crl.is_signed_by(&ca.cert()), "remembered");
        assert!(!crl.is_signed_by(&other.cert()));
        assert!(crl.is_signed_by(&impostor.cert()));
    }
    // One changed octet in the signed part: nobody's.
    let mut forged = der.clone();
    let at = forged.windows(3).position(|w| w == b"250").unwrap();
    forged[at + 2] = b'1';
    let forged = open_file(dir.path(), "forged.crl", &forged).unwrap();
    assert!(!forged.is_signed_by(&impostor.cert()));
}

#[test]
fn a_stale_crl_is_not_current_but_still_proves_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(&dir.path().join("ca"), "Stale CA", "");
    ca.set_revoked([revoked(5)]);
    let der = ca.gencrl("stale.crl", &["-crl_lastupdate", "20250101000000Z", "-crl_nextupdate", "20250102000000Z"]);
    let crl = open_file(dir.path(), "stale.crl", &der).unwrap();
    assert_eq!((crl.this_update_ms(), crl.next_update_ms()), (jan_2025_ms(1), Some(jan_2025_ms(2))));
    assert!(!crl.is_current(now_ms()) && crl.is_current(jan_2025_ms(1) + 1));
    assert!(crl.is_signed_by(&ca.cert()));
    assert!(crl.lookup(&bytes(&serial_hex(5))).is_some());

    // In the trust store: the listed key is refused, the other one is usable but
    // "revocation could not be checked" (a stale CRL never says good).
    let url = "http://127.0.0.1:9/stale.crl";
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("crl")).unwrap();
    std::fs::write(cache.join("crl/stale.crl"), &der).unwrap();
    let store = TrustStore::new(Some(cache), Vec::new(), false);
    let req = Requirements { chain: ChainRule::Listed(vec![ca.cert()]), ..Default::default() };
    let listed = store.assess(&cert(&ca.issue(&serial_hex(5), url, "")), &req, now_ms());
    assert_eq!(
        listed.refusal.as_ref().map(ToString::to_string).as_deref(),
        Some("the certificate was revoked on 2025-01-06")
    );
    let other = store.assess(&cert(&ca.issue(&serial_hex(6), url, "")), &req, now_ms());
    assert_eq!(other.refusal, None);
    assert!(
        matches!(&other.notes[..], [qoltanba::trust::TrustNote::RevocationUnknown { why }] if why.contains("out of date")),
        "{other:?}"
    );
}

#[test]
fn a_delta_crl_names_its_base_and_lifts_holds() {
    let dir = tempfile::tempdir().unwrap();
    let delta_url = "http://127.0.0.1:9/delta.crl";
    let ca = OpensslCa::new(
        &dir.path().join("ca"),
        "Delta CA",
        &format!("[base]\nfreshestCRL=URI:{delta_url}\n[delta]\n2.5.29.27=critical,DER:02:01:01\n"),
    );
    // The base CRL (number 1): a key on hold, one compromised; its FreshestCRL says
    // where the deltas are.
    ca.set_revoked([
        Revoked { serial_hex: "1001".into(), date: "250101000000Z".into(), reason: Some("certificateHold") },
        Revoked { serial_hex: "1002".into(), date: "250101000000Z".into(), reason: Some("keyCompromise") },
    ]);
    let base = open_file(dir.path(), "base.crl", &ca.gencrl("base.crl", &["-crlexts", "base"])).unwrap();
    assert_eq!((base.number(), base.delta_base()), (Some(vec![1]), None));
    assert_eq!(base.freshest_urls(), [delta_url]);
    // The delta (number 2, base 1): the hold is lifted, a third key revoked.
    ca.set_revoked([
        Revoked { serial_hex: "1001".into(), date: "250105000000Z".into(), reason: Some("removeFromCRL") },
        Revoked { serial_hex: "1003".into(), date: "250105000000Z".into(), reason: Some("superseded") },
    ]);
    let der = ca.gencrl("delta.crl", &["-crlexts", "delta"]);
    let delta = open_file(dir.path(), "delta.crl", &der).unwrap();
    // Read twice: the second time from the index's header.
    for crl in [delta, Crl::open(&dir.path().join("delta.crl")).unwrap(), Crl::from_der(&der).unwrap()] {
        assert_eq!((crl.number(), crl.delta_base()), (Some(vec![2]), Some(vec![1])));
        assert!(crl.freshest_urls().is_empty());
        assert!(crl.is_signed_by(&ca.cert()));
        assert_eq!(crl.lookup(&[0x10, 0x01]), Some(Entry { revoked_at_ms: jan_2025_ms(5), remove_from_crl: true }));
        assert_eq!(crl.lookup(&[0x10, 0x03]), Some(Entry { revoked_at_ms: jan_2025_ms(5), remove_from_crl: false }));
        assert_eq!(crl.lookup(&[0x10, 0x02]), None);
    }
    // A certificate's own FreshestCRL.
    let user = cert(&ca.issue("1004", "http://127.0.0.1:9/base.crl", &format!("freshestCRL=URI:{delta_url}\n")));
    assert_eq!(freshest_urls_of(&user), [delta_url]);
    assert_eq!(freshest_urls_of(&cert(&ca.issue("1005", "http://127.0.0.1:9/base.crl", ""))), Vec::<String>::new());
}

#[test]
fn indirect_crls_and_unknown_critical_extensions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = OpensslCa::new(
        &dir.path().join("ca"),
        "Strict CA",
        "[idp]\nissuingDistributionPoint=critical,@idps\n[idps]\nfullname=URI:http://127.0.0.1:9/a.crl\n\
         indirectCRL=TRUE\n[odd]\n1.2.3.4=critical,DER:05:00\n[mild]\n1.2.3.4=DER:05:00\n",
    );
    ca.set_revoked([revoked(1)]);
    for (section, refusal) in [("idp", "indirect"), ("odd", "unknown critical extension 1.2.3.4")] {
        let der = ca.gencrl(&format!("{section}.crl"), &["-crlexts", section]);
        let e = Crl::from_der(&der).unwrap_err().to_string();
        assert!(e.contains(refusal), "{section}: {e}");
        let e = open_file(dir.path(), &format!("{section}.crl"), &der).unwrap_err().to_string();
        assert!(e.contains(refusal), "{section}: {e}");
        assert!(!dir.path().join(format!("{section}.crl.idx")).exists(), "no index of a refused CRL");
    }
    let mild = open_file(dir.path(), "mild.crl", &ca.gencrl("mild.crl", &["-crlexts", "mild"])).unwrap();
    assert!(mild.is_signed_by(&ca.cert()) && mild.lookup(&bytes(&serial_hex(1))).is_some());
}

/// NCA RK's own test CRLs (GOST 2015-512, GOST 2004, RSA): the streamed reading
/// agrees with a whole parse by `x509-cert` on every entry and field, and the
/// signature, checked over the digest computed while streaming, verifies under the
/// issuing CA only.
#[test]
fn nca_test_crls_read_as_a_whole_parse_reads_them() {
    use der::{Decode, DecodePem};
    let fixture = |rel: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nca-test").join(rel);
    let ca = |rel: &str| {
        let bytes = std::fs::read(fixture(rel)).unwrap();
        x509_cert::Certificate::from_der(&bytes).or_else(|_| x509_cert::Certificate::from_pem(&bytes)).unwrap()
    };
    let gost2015 = ca("ca/nca_gost2015_test.cer");
    let gost2004 = ca("ca/nca_gost_test.crt");
    let rsa = ca("ca/nca_rsa_test.crt");
    let dir = tempfile::tempdir().unwrap();
    for (file, issuer) in [
        ("crl/nca_gost2022_test.crl", &gost2015),
        ("crl/nca_gost2022_test_2026.crl", &gost2015),
        ("crl/nca_gost_test.crl", &gost2004),
        ("crl/nca_rsa_test.crl", &rsa),
    ] {
        let der = std::fs::read(fixture(file)).unwrap();
        let whole = x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der).unwrap();
        let tbs = &whole.tbs_cert_list;
        let ms = |t: &x509_cert::time::Time| t.to_unix_duration().as_millis() as i64;
        let name = file.rsplit('/').next().unwrap();
        for crl in [Crl::from_der(&der).unwrap(), open_file(dir.path(), name, &der).unwrap()] {
            assert!(crl.is_signed_by(issuer), "{file}");
            for other in
                [&gost2015, &gost2004, &rsa].into_iter().filter(|c| c.tbs_certificate() != issuer.tbs_certificate())
            {
                assert!(!crl.is_signed_by(other), "{file}");
            }
            assert_eq!(crl.issuer(), &tbs.issuer);
            assert_eq!(crl.this_update_ms(), ms(&tbs.this_update));
            assert_eq!(crl.next_update_ms(), tbs.next_update.as_ref().map(ms));
            assert!(crl.number().is_some_and(|n| !n.is_empty()), "{file}");
            let entries = tbs.revoked_certificates.as_deref().unwrap_or_default();
            assert_eq!(crl.len(), entries.len() as u64, "{file}");
            for e in entries {
                let found = crl.lookup(e.serial_number.as_bytes()).unwrap_or_else(|| panic!("{file}: {e:?}"));
                assert_eq!(found.revoked_at_ms, ms(&e.revocation_date), "{file}");
                let mut other = e.serial_number.as_bytes().to_vec();
                *other.last_mut().unwrap() ^= 0x5a;
                if !entries.iter().any(|x| x.serial_number.as_bytes() == other) {
                    assert_eq!(crl.lookup(&other), None, "{file}");
                }
            }
        }
    }
}
