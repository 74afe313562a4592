//! Key selection rules that need NCA RK's trust data: chain, validity, revocation.
//! Library-level checks of every rule (with the reasons and notes the user sees), then
//! the same rules over the wire.

mod common;

use std::path::Path;

use common::*;
use qoltanba::keys::{Certificate, load_key_file};
use qoltanba::trust::{ChainRule, Requirements, TrustStore};
use serde_json::json;

fn cert_of(file: &str) -> Certificate {
    let password = if file.contains("gost2015_individual") { "Aa123456" } else { "Qwerty12" };
    load_key_file(&fixture(file), password).unwrap()[0].certificate().clone()
}

fn ca(path: &str) -> x509_cert::Certificate {
    qoltanba::keys::certificate::parse_x509(&std::fs::read(fixture(path)).unwrap()).unwrap()
}

/// 2026-11-23 (inside the 2026 keys' validity and the 2026 CRL's period).
const NOW: i64 = 1_795_392_000_000;

fn req(chain: ChainRule, allow_expired: bool, allow_revoked: bool) -> Requirements {
    Requirements { chain, allow_expired, allow_revoked }
}

/// A trust store whose CRL cache holds `crl` under the name of the 2026 keys' CDP.
fn store_with_crl(dir: &Path, crl: Option<&str>) -> TrustStore {
    if let Some(crl) = crl {
        std::fs::create_dir_all(dir.join("crl")).unwrap();
        std::fs::copy(fixture(crl), dir.join("crl/nca_gost2022_test.crl")).unwrap();
    }
    TrustStore::new(Some(dir.to_owned()), Vec::new(), false)
}

#[test]
fn expired_keys_are_refused_unless_allowed() {
    let store = TrustStore::offline();
    let cert = cert_of(RSA_KEY);
    let refused = store.assess(&cert, &req(ChainRule::Any, false, false), NOW);
    assert_eq!(refused.refusal.map(|r| r.to_string()).as_deref(), Some("the certificate expired on 2022-01-18"));
    assert_eq!(store.assess(&cert, &req(ChainRule::Any, true, false), NOW).refusal, None);
    // Not yet valid: the 2026 key before its issue date.
    let early = store.assess(
        &cert_of("nca-test/keys2026/individual.p12"),
        &req(ChainRule::Any, false, false),
        1_700_000_000_000,
    );
    assert!(early.refusal.unwrap().to_string().starts_with("the certificate is valid only from 2026-"));
}

#[test]
fn chain_rules() {
    let store = TrustStore::offline();
    let key2026 = cert_of("nca-test/keys2026/individual.p12");
    // Absent chain: NCA RK production only; test CA keys are named as such.
    let refusal =
        store.assess(&key2026, &req(ChainRule::NcaProduction, false, false), NOW).refusal.unwrap().to_string();
    assert!(refusal.contains("TEST CA"), "{refusal}");
    let refusal =
        store.assess(&cert_of(RSA_KEY), &req(ChainRule::NcaProduction, true, false), NOW).refusal.unwrap().to_string();
    assert!(refusal.contains("TEST CA"), "{refusal}");
    // Offline, an issuer that carries NCA RK's production name passes by name, and says so.
    let by_name =
        store.assess(&cert_of("nca-test/keys/gost2004_ceo.p12"), &req(ChainRule::NcaProduction, true, false), NOW);
    assert_eq!(by_name.refusal, None);
    assert!(by_name.notes.iter().any(|n| n.to_string().contains("checked by name only")), "{by_name:?}");
    // `[]`: anything.
    assert_eq!(store.assess(&key2026, &req(ChainRule::Any, false, false), NOW).refusal, None);
    // A list: keys signed by one of them.
    let listed = ChainRule::Listed(vec![ca("nca-test/ca/nca_gost2015_test.cer")]);
    assert_eq!(store.assess(&key2026, &req(listed, false, false), NOW).refusal, None);
    let other = ChainRule::Listed(vec![ca("nca-test/ca/nca_rsa_test.crt")]);
    let refusal = store.assess(&key2026, &req(other, false, false), NOW).refusal.unwrap().to_string();
    assert!(refusal.contains("not issued by the CAs the site named"), "{refusal}");
}

#[test]
fn revoked_2026_key_is_refused_by_the_2026_crl_and_accepted_with_allow_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_crl(dir.path(), Some("nca-test/crl/nca_gost2022_test_2026.crl"));
    let revoked = cert_of("nca-test/keys2026/individual_revoked.p12");
    let verdict = store.assess(&revoked, &req(ChainRule::Any, false, false), NOW);
    assert!(
        verdict.refusal.as_ref().unwrap().to_string().starts_with("the certificate was revoked on 2026-"),
        "{verdict:?}"
    );
    let allowed = store.assess(&revoked, &req(ChainRule::Any, false, true), NOW);
    assert_eq!(allowed.refusal, None);
    assert!(allowed.notes[0].to_string().contains("allowed by the site"));
    // The sibling key is not on the list: no refusal, no note.
    let good = store.assess(&cert_of("nca-test/keys2026/individual.p12"), &req(ChainRule::Any, false, false), NOW);
    assert_eq!(good, Default::default());
}

#[test]
fn without_a_current_crl_revocation_is_reported_unknown_not_guessed() {
    let revoked = cert_of("nca-test/keys2026/individual_revoked.p12");
    for crl in [None, Some("nca-test/crl/nca_gost2022_test.crl")] {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_crl(dir.path(), crl);
        let verdict = store.assess(&revoked, &req(ChainRule::Any, false, false), NOW);
        assert_eq!(verdict.refusal, None, "{crl:?}");
        assert!(verdict.notes[0].to_string().starts_with("revocation could not be checked"), "{crl:?}: {verdict:?}");
    }
    // A CRL whose signature does not verify is not believed.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("nca-test/crl/nca_gost2022_test_2026.crl")).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    std::fs::create_dir_all(dir.path().join("crl")).unwrap();
    std::fs::write(dir.path().join("crl/nca_gost2022_test.crl"), bytes).unwrap();
    let store = TrustStore::new(Some(dir.path().to_owned()), Vec::new(), false);
    let verdict = store.assess(&revoked, &req(ChainRule::Any, false, false), NOW);
    assert_eq!(verdict.refusal, None);
    assert!(verdict.notes[0].to_string().contains("not signed by the issuer"), "{verdict:?}");
}

#[test]
fn nca_ca_certificates_are_downloaded_cached_and_used_for_the_chain() {
    let ca_bytes = std::fs::read(fixture("nca-test/ca/nca_gost2015_test.cer")).unwrap();
    let server = file_server(vec![("/cert/nca_gost_2022.cer", ca_bytes.clone())]);
    let dir = tempfile::tempdir().unwrap();
    let urls = vec![server.url("/cert/nca_gost_2022.cer"), server.url("/cert/missing.cer")];
    let store = TrustStore::new(Some(dir.path().to_owned()), urls.clone(), true);
    store.refresh_ca_certificates();
    assert_eq!(std::fs::read(dir.path().join("ca/nca_gost_2022.cer")).unwrap(), ca_bytes);
    // That certificate now stands for NCA RK: keys it issued pass the default chain rule.
    let key = cert_of("nca-test/keys2026/individual.p12");
    assert_eq!(store.assess(&key, &req(ChainRule::NcaProduction, false, false), NOW).refusal, None);
    // The cache serves a later, offline start; a fresh cache is not downloaded again.
    let hits = server.hits.load(std::sync::atomic::Ordering::SeqCst);
    let again = TrustStore::new(Some(dir.path().to_owned()), urls, true);
    again.refresh_ca_certificates();
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), hits + 1, "only the missing one is retried");
    assert_eq!(again.assess(&key, &req(ChainRule::NcaProduction, false, false), NOW).refusal, None);
}

#[tokio::test]
async fn the_rules_over_the_wire() {
    let sign = |signing: serde_json::Value, signer: serde_json::Value| {
        json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
            "format":"cms","data":"MTEK","signingParams":signing,"signerParams":signer}})
    };
    let canceled = json!({"status":true,"body":{}});
    // The revoked key with the 2026 CRL in the daemon's cache.
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("trust/crl")).unwrap();
    std::fs::copy(
        fixture("nca-test/crl/nca_gost2022_test_2026.crl"),
        data.path().join("trust/crl/nca_gost2022_test.crl"),
    )
    .unwrap();
    let key = fixture("nca-test/keys2026/individual_revoked.p12");
    let now = (NOW / 1000).to_string();
    let daemon = Daemon::start_in(
        data.path(),
        &["--auto-key", key.to_str().unwrap(), "--auto-password", "Qwerty12", "--check-time", &now],
    );
    let mut ws = daemon.connect(None).await;
    let any = json!({"extKeyUsageOids":[],"chain":[]});
    assert_eq!(ws.request(&sign(json!({}), any.clone())).await, canceled);
    let reply = ws.request(&sign(json!({"allowRevoked":true}), any)).await;
    assert!(reply["body"]["result"][0].as_str().unwrap().starts_with("-----BEGIN CMS-----"), "{reply}");

    // The chain rule: absent refuses the test CA's key, a list with its CA accepts it.
    let key = fixture("nca-test/keys2026/individual.p12");
    let daemon =
        Daemon::start(&["--auto-key", key.to_str().unwrap(), "--auto-password", "Qwerty12", "--check-time", &now]);
    let mut ws = daemon.connect(None).await;
    assert_eq!(ws.request(&sign(json!({}), json!({"extKeyUsageOids":[]}))).await, canceled);
    let ca_pem = std::fs::read_to_string(fixture("nca-test/ca/nca_gost_test.crt")).unwrap();
    assert_eq!(ws.request(&sign(json!({}), json!({"extKeyUsageOids":[],"chain":[ca_pem]}))).await, canceled);
    let own_ca = common::b64(&std::fs::read(fixture("nca-test/ca/nca_gost2015_test.cer")).unwrap());
    let reply = ws.request(&sign(json!({}), json!({"extKeyUsageOids":[],"chain":[own_ca]}))).await;
    assert!(reply["body"]["result"].is_array(), "{reply}");
    // Something that is not a certificate in `chain` is an error, not a silent "any".
    let reply = ws.request(&sign(json!({}), json!({"extKeyUsageOids":[],"chain":["garbage"]}))).await;
    assert_eq!(reply["code"], "INVOCATION_ERROR");
}

#[tokio::test]
async fn bin_and_serial_filters_pass_the_right_key_and_refuse_others() {
    let key = fixture("nca-test/keys2026/legal_head.p12");
    let now = (NOW / 1000).to_string();
    let daemon =
        Daemon::start(&["--auto-key", key.to_str().unwrap(), "--auto-password", "Qwerty12", "--check-time", &now]);
    let mut ws = daemon.connect(None).await;
    let sign = |signer: serde_json::Value| {
        json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
            "format":"cms","data":"MTEK","signingParams":{"decode":true},"signerParams":signer}})
    };
    let canceled = json!({"status":true,"body":{}});
    let head = ["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.2", "1.2.398.3.3.4.1.2.1"];
    for (signer, passes) in [
        (json!({"extKeyUsageOids":head,"bin":"123456789021","chain":[]}), true),
        (json!({"extKeyUsageOids":[],"bin":"999999999999","chain":[]}), false),
        (json!({"extKeyUsageOids":[],"serialNumber":"303eebdf17969f3edede9bd9828fb1355aabbe4e","chain":[]}), true),
        (json!({"extKeyUsageOids":[],"serialNumber":"303eebdf17969f3edede9bd9828fb1355aabbe4f","chain":[]}), false),
        (json!({"extKeyUsageOids":["1.2.398.3.3.4.1.2.5"],"chain":[]}), false), // employee, not head
    ] {
        let reply = ws.request(&sign(signer.clone())).await;
        if passes {
            assert!(reply["body"]["result"].is_array(), "{signer} should pass: {reply}");
        } else {
            assert_eq!(reply, canceled, "{signer} should be refused");
        }
    }
}
