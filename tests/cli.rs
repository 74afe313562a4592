//! `qoltanba keys info`: what getKeyInfo would return, for people and scripts.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use serde_json::{Value, json};

fn keys_info(file: &str, args: &[&str], stdin: Option<&str>, env_password: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qoltanba"));
    cmd.args(["keys", "info"]).args(args).arg(fixture(file)).env_remove("QOLTANBA_PASSWORD");
    if let Some(pw) = env_password {
        cmd.env("QOLTANBA_PASSWORD", pw);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn json_is_exactly_what_get_key_info_returns_on_the_wire() {
    let out = keys_info(RSA_KEY, &["--json", "--password-stdin"], Some("Qwerty12\n"), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();

    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let wire =
        ws.request(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["PKCS12"]})).await;
    assert_eq!(cli, wire["responseObject"]);
}

#[test]
fn human_output_and_password_sources() {
    let out = keys_info("nca-test/keys2026/legal_head.p12", &[], None, Some("Qwerty12"));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("algorithm               ECGOST3410-2015"), "{text}");
    assert!(text.contains("OU=BIN123456789021"));
    assert!(text.contains("certNotAfter            1809760215000 (2027-05-08)"));
    assert!(text.contains("-----BEGIN CERTIFICATE-----"));

    let wrong = keys_info(RSA_KEY, &["--password-stdin"], Some("nope\n"), None);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong password"));

    let missing = keys_info("nca-test/keys/none.p12", &[], None, Some("x"));
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the key file"));
}
