//! Revocation under a chain the page names (issue 16, part 1): a CA made by the test,
//! named in `signerParams.chain`, whose CRL (made by `openssl ca -gencrl`, served on
//! loopback from the certificate's distribution point) lists one of two user keys.
//! The revoked key is refused unless the site allows revoked keys; the good key signs.

mod common;
#[path = "common/openssl_ca.rs"]
mod openssl_ca;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;
use openssl_ca::{ENTRIES, OpensslCa, revoked, serial_hex};
use serde_json::{Value, json};

/// A CA, two user keys (.p12) whose certificates point at `crl_url`, and a CRL revoking
/// the first. Returns the CA certificate (PEM) and the CRL (DER).
fn make_pki(dir: &Path, crl_url: &str) -> (String, Vec<u8>) {
    make_pki_with(dir, crl_url, &[])
}

/// The same, with extra `openssl ca -gencrl` options (e.g. dates of a stale CRL).
fn make_pki_with(dir: &Path, crl_url: &str, crl_options: &[&str]) -> (String, Vec<u8>) {
    let ca = OpensslCa::new(dir, "Page CA (test)", "");
    let ext = format!(
        "keyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\ncrlDistributionPoints=URI:{crl_url}\n"
    );
    for (name, serial) in [("revoked", "1001"), ("good", "1002")] {
        ca.issue_p12(name, serial, &format!("/CN={name} user/serialNumber=IIN123456789012"), &ext, PASSWORD);
    }
    ca.revoke("revoked");
    (ca.cert_pem(), ca.gencrl("ca.crl", crl_options))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn sign_request(ca_pem: &str, allow_revoked: bool) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "format":"cms","data":"MTEK",
        "signingParams":{"decode":true,"encapsulate":false,"allowRevoked":allow_revoked},
        "signerParams":{"chain":[ca_pem]}}})
}

#[tokio::test]
async fn a_key_revoked_by_the_crl_of_a_ca_the_page_names_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let crl: Arc<Mutex<Vec<u8>>> = Arc::default();
    let served = Arc::clone(&crl);
    let server = LoopbackHttp::start(Box::new(move |_, path, _| match path {
        "/ca.crl" => ("200 OK", served.lock().unwrap().clone()),
        _ => ("404 Not Found", Vec::new()),
    }));
    let (ca_pem, crl_der) = make_pki(dir.path(), &server.url("/ca.crl"));
    *crl.lock().unwrap() = crl_der;
    let key = |name: &str| dir.path().join(format!("{name}.p12")).to_str().unwrap().to_owned();

    // The revoked key: refused (the user can only cancel), the CRL was fetched.
    let revoked = key("revoked");
    let daemon =
        Daemon::start_online(&["--auto-key", &revoked, "--auto-password", PASSWORD, "--auto-answer", "confirm"]);
    let mut ws = daemon.connect(Some("https://page.example")).await;
    let reply = ws.request(&sign_request(&ca_pem, false)).await;
    assert_eq!(reply, json!({"status": true, "body": {}}), "a revoked key must not sign");
    assert!(server.hits.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the CRL was asked for");
    // A site that allows revoked keys gets the signature.
    let reply = ws.request(&sign_request(&ca_pem, true)).await;
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
    assert!(openssl_verify(&cms, Some(b"11\n"), Some((&dir.path().join("ca.pem"), now()))).ok);

    // A page cannot make every key cost thousands of signature checks.
    let many: Vec<Value> = vec![json!(ca_pem); 33];
    let mut flood = sign_request(&ca_pem, false);
    flood["args"]["signerParams"]["chain"] = json!(many);
    let reply = ws.request(&flood).await;
    assert!(reply.to_string().contains("has more than 32 certificates"), "{reply}");
    drop(ws);
    drop(daemon);

    // The good key of the same CA signs; its revocation was checked against the CRL.
    let good = key("good");
    let daemon = Daemon::start_online(&["--auto-key", &good, "--auto-password", PASSWORD, "--auto-answer", "confirm"]);
    let mut ws = daemon.connect(Some("https://page.example")).await;
    let reply = ws.request(&sign_request(&ca_pem, false)).await;
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
    assert!(openssl_verify(&cms, Some(b"11\n"), Some((&dir.path().join("ca.pem"), now()))).ok);
}

/// The outcome of a basics CMS request under the page's CA with the key `name`:
/// `true` if it signed (verified by openssl), `false` if the key was refused.
async fn signs(daemon: &Daemon, ca_pem: &str, dir: &Path) -> bool {
    let mut ws = daemon.connect(Some("https://page.example")).await;
    let reply = ws.request(&sign_request(ca_pem, false)).await;
    match reply["body"]["result"][0].as_str() {
        Some(pem) => {
            assert!(openssl_verify(&cms_pem_to_der(pem), Some(b"11\n"), Some((&dir.join("ca.pem"), now()))).ok);
            true
        }
        None => {
            assert_eq!(reply, json!({"status": true, "body": {}}));
            false
        }
    }
}

#[tokio::test]
async fn the_cached_crl_decides_offline_and_a_stale_one_still_proves_revocation() {
    // A URL nobody serves: only the cache can answer.
    let url = "http://127.0.0.1:9/page-ca.crl";
    for stale in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let dates: &[&str] =
            if stale { &["-crl_lastupdate", "20250101000000Z", "-crl_nextupdate", "20250102000000Z"] } else { &[] };
        let (ca_pem, crl_der) = make_pki_with(dir.path(), url, dates);
        let crl = qoltanba::trust::crl::Crl::from_der(&crl_der).unwrap();
        assert_eq!(crl.is_current(now() * 1000), !stale, "the CRL made for this case");
        let data = dir.path().join("data");
        let crl_dir = data.join("trust/crl");
        std::fs::create_dir_all(&crl_dir).unwrap();
        std::fs::write(qoltanba::trust::fetch::cache_path(&crl_dir, url), &crl_der).unwrap();
        for (name, expected) in [("revoked", false), ("good", true)] {
            let key = dir.path().join(format!("{name}.p12"));
            let daemon = Daemon::start_in(
                &data,
                &["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD, "--auto-answer", "confirm"],
            );
            // Revoked stays revoked even by an out-of-date CRL; "not listed" in a stale
            // CRL proves nothing, so the good key signs (revocation unknown, said in the
            // dialog) rather than being locked out.
            assert_eq!(signs(&daemon, &ca_pem, dir.path()).await, expected, "{name}, stale CRL: {stale}");
        }
    }
}

#[tokio::test]
async fn an_intermediate_the_key_file_carries_completes_the_chain_and_its_crl_decides() {
    // The page names only a root; the user's CA is an intermediate under it, carried in
    // the key file (as .p12 files made with `-certfile` carry it). Its CRL, served on
    // loopback from the user certificate's distribution point, lists one of two keys.
    let dir = tempfile::tempdir().unwrap();
    let crl: Arc<Mutex<Vec<u8>>> = Arc::default();
    let served = Arc::clone(&crl);
    let server = LoopbackHttp::start(Box::new(move |_, path, _| match path {
        "/int.crl" => ("200 OK", served.lock().unwrap().clone()),
        _ => ("404 Not Found", Vec::new()),
    }));
    let root = OpensslCa::new(&dir.path().join("root"), "Page Root (test)", "");
    let int = root.intermediate(&dir.path().join("int"), "Page Intermediate (test)");
    let ext = format!(
        "keyUsage=critical,digitalSignature,nonRepudiation\ncrlDistributionPoints=URI:{}\n",
        server.url("/int.crl")
    );
    for (name, serial) in [("revoked", "3001"), ("good", "3002")] {
        int.issue_p12(name, serial, &format!("/CN={name} user/serialNumber=IIN123456789012"), &ext, PASSWORD);
    }
    int.revoke("revoked");
    *crl.lock().unwrap() = int.gencrl("int.crl", &[]);
    let root_pem = root.cert_pem();
    // openssl checks the signatures against the root and the intermediate.
    let cas = dir.path().join("cas.pem");
    std::fs::write(&cas, format!("{root_pem}{}", int.cert_pem())).unwrap();
    let outcome = |p12: std::path::PathBuf| {
        let (root_pem, cas) = (root_pem.clone(), cas.clone());
        async move {
            let key = p12.to_str().unwrap().to_owned();
            let daemon =
                Daemon::start_online(&["--auto-key", &key, "--auto-password", PASSWORD, "--auto-answer", "confirm"]);
            let mut ws = daemon.connect(Some("https://page.example")).await;
            let reply = ws.request(&sign_request(&root_pem, false)).await;
            match reply["body"]["result"][0].as_str() {
                Some(pem) => {
                    assert!(openssl_verify(&cms_pem_to_der(pem), Some(b"11\n"), Some((&cas, now()))).ok);
                    true
                }
                None => {
                    assert_eq!(reply, json!({"status": true, "body": {}}));
                    false
                }
            }
        }
    };
    assert!(outcome(int.p12_with_chain("good", PASSWORD)).await, "the good key signs under the root");
    assert!(!outcome(int.p12_with_chain("revoked", PASSWORD)).await, "the intermediate's CRL revokes");
    assert!(server.hits.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the CRL was asked for");
    // Without the intermediate in the file the key cannot be placed under the root.
    assert!(!outcome(int.dir.join("good.p12")).await, "no path to the page's root");
}

#[tokio::test]
async fn a_crl_of_nca_rk_size_and_its_delta_decide_on_the_wire() {
    // 422 000 entries from `openssl ca -gencrl`, served from the certificates'
    // distribution point, with a delta CRL at the FreshestCRL address; the page names
    // the CA. Three keys: one in the big CRL, one revoked only by the delta, one good.
    let dir = tempfile::tempdir().unwrap();
    let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
    let served = Arc::clone(&files);
    let server = LoopbackHttp::start(Box::new(move |_, path, _| match served.lock().unwrap().get(path) {
        Some(bytes) => ("200 OK", bytes.clone()),
        None => ("404 Not Found", Vec::new()),
    }));
    let (big_url, delta_url) = (server.url("/big.crl"), server.url("/delta.crl"));
    let sections = format!("[base]\nfreshestCRL=URI:{delta_url}\n[delta]\n2.5.29.27=critical,DER:02:01:01\n");
    let ca = OpensslCa::new(&dir.path().join("ca"), "Big CA (test)", &sections);
    let ext = format!("keyUsage=critical,digitalSignature,nonRepudiation\ncrlDistributionPoints=URI:{big_url}\n");
    let keys = [("listed", 4_242), ("in-delta", ENTRIES + 2), ("good", ENTRIES + 1)];
    for (name, i) in keys {
        ca.issue_p12(name, &serial_hex(i), &format!("/CN={name}/serialNumber=IIN123456789012"), &ext, PASSWORD);
    }
    ca.set_revoked((0..ENTRIES).map(revoked));
    let big = ca.gencrl("big.crl", &["-crlexts", "base"]);
    ca.set_revoked([revoked(ENTRIES + 2)]);
    let delta = ca.gencrl("delta.crl", &["-crlexts", "delta"]);
    let ca_pem = ca.cert_pem();
    let start = |name: &str, data: Option<&Path>| {
        let key = ca.dir.join(format!("{name}.p12"));
        let args = ["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD, "--auto-answer", "confirm"];
        match data {
            Some(data) => Daemon::start_in(data, &args),
            None => Daemon::start_online(&args),
        }
    };
    let expected = [("listed", false), ("in-delta", false), ("good", true)];

    // Online: both CRLs fetched from the addresses in the certificates and the CRL.
    files.lock().unwrap().extend([("/big.crl".to_owned(), big.clone()), ("/delta.crl".to_owned(), delta.clone())]);
    for (name, signs_expected) in expected {
        assert_eq!(signs(&start(name, None), &ca_pem, &ca.dir).await, signs_expected, "online, {name}");
    }
    // Offline, the CRLs only in the cache.
    let data = dir.path().join("data");
    let crl_dir = data.join("trust/crl");
    std::fs::create_dir_all(&crl_dir).unwrap();
    std::fs::write(qoltanba::trust::fetch::cache_path(&crl_dir, &big_url), &big).unwrap();
    std::fs::write(qoltanba::trust::fetch::cache_path(&crl_dir, &delta_url), &delta).unwrap();
    for (name, signs_expected) in expected {
        assert_eq!(signs(&start(name, Some(&data)), &ca_pem, &ca.dir).await, signs_expected, "cached, {name}");
    }

    // A stale big CRL (no delta) still proves a revocation; "not listed" in it proves
    // nothing, and the good key is not locked out.
    ca.set_revoked((0..ENTRIES).map(revoked));
    let stale = ca.gencrl("stale.crl", &["-crl_lastupdate", "20250101000000Z", "-crl_nextupdate", "20250102000000Z"]);
    let stale_data = dir.path().join("stale");
    let stale_dir = stale_data.join("trust/crl");
    std::fs::create_dir_all(&stale_dir).unwrap();
    std::fs::write(qoltanba::trust::fetch::cache_path(&stale_dir, &big_url), &stale).unwrap();
    assert!(!signs(&start("listed", Some(&stale_data)), &ca_pem, &ca.dir).await, "stale, listed");
    assert!(signs(&start("good", Some(&stale_data)), &ca_pem, &ca.dir).await, "stale, good");

    // A CRL under the CA's name but signed by another key revokes nothing.
    let impostor = OpensslCa::new(&dir.path().join("impostor"), "Big CA (test)", "");
    impostor.set_revoked([revoked(ENTRIES + 1)]);
    let forged = impostor.gencrl("forged.crl", &[]);
    *files.lock().unwrap() = HashMap::from([("/big.crl".to_owned(), forged)]);
    assert!(signs(&start("good", None), &ca_pem, &ca.dir).await, "a forged CRL listing the good key");
}
