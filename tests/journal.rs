//! The signing journal end to end: the real daemon signs over a real socket, then
//! `qoltanba journal` shows and checks what it recorded, and finds a changed line.

mod common;

use std::process::Command;

use common::*;
use serde_json::{Value, json};

const COMMON: &str = "kz.gov.pki.knca.commonUtils";

fn journal(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("journal")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("QOLTANBA_DATA_DIR")
        .env("LANG", "en_US.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .expect("run qoltanba journal")
}

/// `journal --json`, parsed.
fn json_lines(dir: &std::path::Path) -> Vec<Value> {
    let out = journal(dir, &["--json"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The daemon in `dir`, answering every request with the RSA test key and `answer`.
fn start(dir: &std::path::Path, answer: &str) -> Daemon {
    let key = fixture(RSA_KEY);
    Daemon::start_in(dir, &["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD, "--auto-answer", answer])
}

fn sha256_hex(bytes: &[u8]) -> String {
    qoltanba::journal::hex_sha256(bytes)
}

#[tokio::test]
async fn signatures_are_journaled_and_a_changed_line_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = fixture(RSA_KEY);
    let mut daemon = start(dir.path(), "confirm");
    let origin = "https://journal.example.kz";
    let mut ws = daemon.connect(Some(origin)).await;
    let document = b"Journal test document: the contract text 7f3e9a";
    let reply = ws
        .request(&json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE",b64(document),false]}))
        .await;
    assert_eq!(reply["code"], "200", "{reply}");
    let xml = "<doc><contract>Journal test XML 51c2b8</contract></doc>";
    let reply = ws.request(&json!({"module":COMMON,"method":"signXml","args":["PKCS12","SIGNATURE",xml,"",""]})).await;
    assert_eq!(reply["code"], "200", "{reply}");
    daemon.terminate();

    // Two lines, one object each.
    let lines = json_lines(dir.path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (cms, signed_xml) = (&lines[0], &lines[1]);
    for (entry, action, method, hash, size) in [
        (cms, "sign_cms", "createCAdESFromBase64", sha256_hex(document), document.len()),
        (signed_xml, "sign_xml", "signXml", sha256_hex(xml.as_bytes()), xml.len()),
    ] {
        assert_eq!(entry["origin"], origin);
        assert_eq!(entry["action"], action);
        assert_eq!(entry["method"], method);
        assert_eq!(entry["result"], "signed");
        assert_eq!(entry["documents"], 1);
        assert_eq!(entry["docs"][0]["sha256"], hash);
        assert_eq!(entry["docs"][0]["size"], size);
        assert_eq!(entry["signer"]["key"], json!({"source":"file","path":key.to_str().unwrap()}));
        assert!(entry["signer"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{entry}");
        assert!(entry["signer"]["iin"].as_str().is_some_and(|n| n.len() == 12), "{entry}");
        assert!(entry["signer"]["not_after"].as_str().unwrap().ends_with('Z'), "{entry}");
        assert!(entry["time"].as_str().unwrap().ends_with('Z'), "{entry}");
    }

    // No document content, no password.
    let path = dir.path().join("journal.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    for secret in [std::str::from_utf8(document).unwrap(), "7f3e9a", "51c2b8", "<contract>", &b64(document), PASSWORD] {
        assert!(!text.contains(secret), "{secret:?} is in the journal");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let table = journal(dir.path(), &[]);
    assert!(table.status.success());
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("Time"), "{table}");
    assert!(table.contains(origin) && table.contains("signXml") && table.contains("signed"), "{table}");
    let one = journal(dir.path(), &["--json", "--limit", "1"]);
    assert_eq!(String::from_utf8(one.stdout).unwrap().lines().count(), 1);

    let verified = journal(dir.path(), &["--verify"]);
    assert_eq!(verified.status.code(), Some(0), "{verified:?}");
    assert!(String::from_utf8(verified.stdout).unwrap().contains("intact: 2 entries"));

    // One byte of the first line's document hash changed: the second line no longer follows.
    let mut changed = bytes.clone();
    let at = text.find("\"sha256\":\"").unwrap() + 10;
    changed[at] = if changed[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&path, &changed).unwrap();
    let broken = journal(dir.path(), &["--verify"]);
    assert_eq!(broken.status.code(), Some(1), "{broken:?}");
    let said = String::from_utf8(broken.stdout).unwrap();
    assert!(said.contains("journal.jsonl, line 2 does not follow line 1"), "{said}");
    let broken = journal(dir.path(), &["--verify", "--json"]);
    assert_eq!(broken.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(
        report,
        json!({"ok":false,"broken":{"file":"journal.jsonl","line":2,"problem":{"kind":"does_not_follow"}}})
    );

    // A restart appends after the damage; the tray's list comes from the journal.
    let mut daemon = start(dir.path(), "confirm");
    let mut ws = daemon.connect(Some(origin)).await;
    let reply = ws
        .request(
            &json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE",b64(b"3"),true]}),
        )
        .await;
    assert_eq!(reply["code"], "200", "{reply}");
    daemon.terminate();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    assert_eq!(journal(dir.path(), &["--verify"]).status.code(), Some(1));
    let recent = qoltanba::journal::recent_signatures(dir.path(), 20);
    assert_eq!(recent.iter().map(|s| s.documents).collect::<Vec<_>>(), [1, 1, 1]);
    assert_eq!(recent[2].origin.as_deref(), Some(origin));
}

#[tokio::test]
async fn a_canceled_request_is_journaled_without_a_signer() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = start(dir.path(), "cancel");
    let mut ws = daemon.connect(None).await;
    let reply = ws
        .request(
            &json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE",b64(b"x"),false]}),
        )
        .await;
    assert_eq!(reply["message"], "action.canceled", "{reply}");
    // Showing a key signs nothing: not journaled.
    ws.request(&json!({"module":COMMON,"method":"getKeyInfo","args":["PKCS12"]})).await;
    daemon.terminate();
    let lines = json_lines(dir.path());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["result"], "canceled");
    assert!(lines[0].get("origin").is_none() && lines[0].get("signer").is_none(), "{}", lines[0]);
    assert_eq!(lines[0]["docs"][0]["sha256"], sha256_hex(b"x"));
    assert_eq!(journal(dir.path(), &["--verify"]).status.code(), Some(0));
}
