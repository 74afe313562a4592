//! Which sites may use qoltanba, over the real socket: the headless answerer answers
//! the site question (`--auto-site`), `qoltanba sites` changes the answers of a running
//! daemon, denied and backing-off sites get `canceled` without a dialog.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const COMMON: &str = "kz.gov.pki.knca.commonUtils";
const CANCELED: &str = "action.canceled";

fn sign() -> Value {
    json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE","MTEK",false]})
}

fn daemon(site: &str, answer: &str, extra: &[&str]) -> Daemon {
    let key = fixture(RSA_KEY);
    let mut args = vec![
        "--auto-key",
        key.to_str().unwrap(),
        "--auto-password",
        PASSWORD,
        "--auto-answer",
        answer,
        "--auto-site",
        site,
    ];
    args.extend_from_slice(extra);
    Daemon::start(&args)
}

/// `qoltanba sites ARGS --data-dir DIR`: (exit code, stdout).
fn sites(daemon: &Daemon, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .arg("sites")
        .args(args)
        .arg("--data-dir")
        .arg(&daemon.data_dir)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The remembered answers, origin → permission.
fn listed(daemon: &Daemon) -> Vec<(String, String)> {
    let (code, out) = sites(daemon, &["list", "--json"]);
    assert_eq!(code, 0, "{out}");
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    all.iter()
        .map(|s| (s["origin"].as_str().unwrap().to_owned(), s["permission"].as_str().unwrap().to_owned()))
        .collect()
}

/// Sign from `origin`: the reply's `code` or `message`.
async fn ask(daemon: &Daemon, origin: &str) -> String {
    let mut ws = daemon.connect(Some(origin)).await;
    let reply = ws.request(&sign()).await;
    if reply["code"] == "200" { "signed".into() } else { reply["message"].as_str().unwrap_or_default().to_owned() }
}

#[tokio::test]
async fn always_is_remembered_and_never_refuses_without_asking_again() {
    let always = daemon("always", "confirm", &[]);
    assert_eq!(ask(&always, "https://sigex.kz").await, "signed");
    assert_eq!(listed(&always), vec![("https://sigex.kz".to_owned(), "allow".to_owned())]);

    // Kept after the daemon stops: a second daemon reads the same answers.
    let data_dir = tempfile::tempdir().unwrap();
    let key = fixture(RSA_KEY);
    let headless = |site: &'static str| {
        let key = key.to_str().unwrap().to_owned();
        Daemon::start_in(data_dir.path(), &["--auto-key", &key, "--auto-password", PASSWORD, "--auto-site", site])
    };
    let never = headless("never");
    assert_eq!(ask(&never, "https://evil.example").await, CANCELED, "the person said never");
    assert_eq!(listed(&never), vec![("https://evil.example".to_owned(), "deny".to_owned())]);
    // Remembered in the file: a new daemon on the same data dir that would answer
    // "always" and confirm everything still refuses, so no dialog was opened.
    drop(never);
    let again = headless("always");
    assert_eq!(ask(&again, "https://evil.example").await, CANCELED);
    assert_eq!(ask(&again, "https://egov.kz").await, "signed", "other sites are asked as before");
}

#[tokio::test]
async fn once_lets_the_request_through_and_remembers_nothing() {
    let once = daemon("once", "confirm", &[]);
    assert_eq!(ask(&once, "https://egov.kz").await, "signed");
    assert_eq!(listed(&once), vec![]);
    let cancel = daemon("cancel", "confirm", &[]);
    assert_eq!(ask(&cancel, "https://egov.kz").await, CANCELED, "the site question closed");
    assert_eq!(listed(&cancel), vec![]);
}

#[tokio::test]
async fn the_sites_command_changes_a_running_daemon_at_once() {
    let d = daemon("always", "confirm", &[]);
    let (code, out) = sites(&d, &["deny", "HTTPS://Cabinet.Salyk.KZ/"]);
    assert_eq!(code, 0);
    assert!(out.contains("https://cabinet.salyk.kz"), "{out}");
    assert_eq!(ask(&d, "https://cabinet.salyk.kz").await, CANCELED, "denied: no dialog, which would have allowed it");
    assert_eq!(sites(&d, &["allow", "https://cabinet.salyk.kz"]).0, 0);
    assert_eq!(ask(&d, "https://cabinet.salyk.kz").await, "signed");
    assert_eq!(sites(&d, &["deny", "https://cabinet.salyk.kz"]).0, 0);
    assert_eq!(ask(&d, "https://cabinet.salyk.kz").await, CANCELED);
    assert_eq!(sites(&d, &["forget", "https://cabinet.salyk.kz"]).0, 0);
    assert_eq!(sites(&d, &["forget", "https://cabinet.salyk.kz"]).0, 2, "nothing left to forget");
    // Forgotten: asked again, and the headless answerer says "always".
    assert_eq!(ask(&d, "https://cabinet.salyk.kz").await, "signed");
    assert_eq!(listed(&d), vec![("https://cabinet.salyk.kz".to_owned(), "allow".to_owned())]);
    // Not an origin: refused with a clear message, nothing written.
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["sites", "allow", "https://a.kz/path?x", "--data-dir"])
        .arg(&d.data_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a site origin"));
}

#[tokio::test]
async fn a_site_whose_requests_are_cancelled_again_and_again_backs_off() {
    // The person takes 400 ms to answer (and cancels): a request that reaches the
    // dialog takes that long; a refused one comes back at once.
    let d = daemon("once", "cancel", &["--auto-delay-ms", "400"]);
    let timed = |origin: &'static str| {
        let d = &d;
        async move {
            let start = Instant::now();
            let reply = ask(d, origin).await;
            (reply, start.elapsed())
        }
    };
    for i in 0..5 {
        let (reply, took) = timed("https://spam.example").await;
        assert_eq!(reply, CANCELED);
        assert!(took >= Duration::from_millis(400), "request {i} reached the person: {took:?}");
    }
    let (reply, took) = timed("https://spam.example").await;
    assert_eq!(reply, CANCELED);
    assert!(took < Duration::from_millis(300), "the sixth is refused without a dialog: {took:?}");
    let (reply, took) = timed("https://egov.kz").await;
    assert_eq!(reply, CANCELED);
    assert!(took >= Duration::from_millis(400), "another site still reaches the person: {took:?}");
}
