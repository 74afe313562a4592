//! The example page in a real browser: headless Chromium trusts qoltanba's local CA
//! through an NSS database (as `certutil` sets it up for a user, see README), loads
//! `examples/web`, clicks "Sign" and gets a CMS from `qoltanba --demo`, which openssl
//! verifies against the demo CA.
//!
//! Needs `chromium` and `certutil` (Debian: `apt-get install chromium libnss3-tools`).

mod common;

use std::process::Command;

use common::*;

#[test]
fn example_page_signs_in_chromium_with_the_demo_key() {
    let data = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_in(data.path(), &["--demo"]);

    // A user's browser profile that trusts the CA, made the way the README says.
    let home = tempfile::tempdir().unwrap();
    let nssdb = home.path().join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).unwrap();
    let db = format!("sql:{}", nssdb.display());
    let certutil = |args: &[&str]| {
        let out = Command::new("certutil").args(args).output().expect("certutil (apt-get install libnss3-tools)");
        assert!(out.status.success(), "certutil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    certutil(&["-N", "-d", &db, "--empty-password"]);
    certutil(&["-A", "-d", &db, "-t", "C,,", "-n", "qoltanba local CA", "-i", daemon.ca_path().to_str().unwrap()]);

    let out = tempfile::tempdir().unwrap();
    let url = format!("wss://127.0.0.1:{}", daemon.addr.port());
    run_node(
        "browser.js",
        &[out.path().as_os_str()],
        &[("QOLTANBA_URL", url.as_ref()), ("NSS_HOME", home.path().as_os_str())],
    );

    let pem = std::fs::read_to_string(out.path().join("page-cms.pem")).unwrap();
    let text = std::fs::read(out.path().join("page-text.txt")).unwrap();
    let cms = cms_pem_to_der(&pem);
    assert_eq!(openssl_attached_content(&cms), text, "the page signed its text, attached");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let verdict = openssl_verify(&cms, None, Some((&data.path().join("demo/demo-ca.pem"), now)));
    assert!(verdict.ok, "{}", verdict.output);
}
