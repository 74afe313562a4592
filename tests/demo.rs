//! `qoltanba --demo`: works out of the box with a generated, clearly labelled DEMO key.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn demo_mode_signs_with_a_labelled_demo_key() {
    let data = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_in(data.path(), &["--demo"]);
    let banner = daemon.stdout_lines.join("\n");
    assert!(banner.contains("DEMO") && banner.contains("NOT legal"), "{banner}");

    let mut ws = daemon.connect(Some("http://localhost:8000")).await;
    let info =
        ws.request(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["PKCS12"]})).await;
    assert!(info["responseObject"]["subjectDn"].as_str().unwrap().contains("DEMO"), "{info}");
    assert!(info["responseObject"]["issuerDn"].as_str().unwrap().contains("DEMO CA"), "{info}");

    let reply = ws
        .request(&json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
            "format":"cms","data":"0KHTmdC70LXQvA==",
            "signingParams":{"decode":true,"encapsulate":false},
            "signerParams":{"extKeyUsageOids":["1.3.6.1.5.5.7.3.4"],"chain":[]}}}))
        .await;
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().expect("a signature"));
    // Full chain to the demo CA, at the current time.
    let ca = data.path().join("demo/demo-ca.pem");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let verdict = openssl_verify(&cms, Some("Сәлем".as_bytes()), Some((&ca, now)));
    assert!(verdict.ok, "{}", verdict.output);

    // The demo key is made once and reused.
    let key = std::fs::read(data.path().join("demo/demo-key.pem")).unwrap();
    drop(ws);
    drop(daemon);
    let again = Daemon::start_in(data.path(), &["--demo"]);
    assert_eq!(std::fs::read(data.path().join("demo/demo-key.pem")).unwrap(), key);
    drop(again);
}
