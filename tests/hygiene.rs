//! Key hygiene over the real daemon: a key used to sign is remembered with its
//! certificate's expiry; `qoltanba keys reminders --check-time` gives the 30/7/1-day
//! and expired reminders with the renewal steps; a running daemon tells them once; a
//! key file in Downloads is pointed out.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const DAY: i64 = 86_400;

/// Sign once with `key` (a path) on a headless daemon in `data_dir`.
async fn sign_with(data_dir: &Path, key: &Path) {
    let daemon = Daemon::start_in(data_dir, &["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD]);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","SIGNATURE","MTEK",false]});
    assert_eq!(ws.request(&request).await["code"], "200");
}

/// `qoltanba keys reminders --json` at `at` with `home` as HOME.
fn reminders(data_dir: &Path, home: &Path, at: i64) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["keys", "reminders", "--json", "--check-time", &at.to_string(), "--data-dir"])
        .arg(data_dir)
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The expiry remembered for the key file used, Unix seconds.
fn remembered_expiry(data_dir: &Path) -> i64 {
    let text = std::fs::read_to_string(data_dir.join("recent-key-files")).unwrap();
    text.lines().next().unwrap().split('\t').nth(1).expect("the expiry was remembered").parse().unwrap()
}

#[tokio::test]
async fn a_used_key_is_reminded_of_30_7_and_1_days_before_it_expires() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let key = fixture(RSA_KEY);
    sign_with(data.path(), &key).await;
    let not_after = remembered_expiry(data.path());
    let threshold = |days_before: i64| {
        let r = reminders(data.path(), home.path(), not_after - days_before * DAY - 60);
        r["reminders"].as_array().unwrap().iter().map(|r| r["threshold"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(threshold(40), Vec::<i64>::new());
    assert_eq!(threshold(20), vec![30]);
    assert_eq!(threshold(5), vec![7]);
    assert_eq!(threshold(0), vec![1]);
    assert_eq!(threshold(-3), vec![0], "expired");
    let r = reminders(data.path(), home.path(), not_after - 5 * DAY);
    assert_eq!(r["reminders"][0]["path"], key.to_str().unwrap());
    assert_eq!(r["reminders"][0]["owner"], "ТЕСТОВ ТЕСТ ТЕСТОВИЧ");
    // In words, with what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["keys", "reminders", "--check-time", &(not_after - 5 * DAY).to_string(), "--data-dir"])
        .arg(data.path())
        .env("LC_ALL", "ru_RU.UTF-8")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("истекает") && text.contains("pki.gov.kz") && text.contains("перевыпуск"), "{text}");

    // A running daemon tells each reminder once (and keeps which were told).
    let at = (not_after - 5 * DAY).to_string();
    let daemon = Daemon::start_in(data.path(), &["--check-time", &at]);
    let told = data.path().join("reminders-told");
    let until = Instant::now() + Duration::from_secs(10);
    while !told.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&told).expect("the daemon gave the reminder");
    assert_eq!(text, format!("{}\t{not_after}\t7\n", key.display()));
    drop(daemon);
}

#[tokio::test]
async fn a_key_file_in_downloads_is_pointed_out() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let downloads = home.path().join("Downloads");
    std::fs::create_dir(&downloads).unwrap();
    let key = downloads.join("RSA256_test.p12");
    std::fs::copy(fixture(RSA_KEY), &key).unwrap();
    sign_with(data.path(), &key).await;
    let r = reminders(data.path(), home.path(), 0);
    assert_eq!(r["exposed"], json!([{"path": key.to_str().unwrap(), "exposure": "downloads"}]));
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(reminders(data.path(), elsewhere.path(), 0)["exposed"], json!([]), "not under this HOME's Downloads");
}

#[tokio::test]
async fn a_key_revoked_after_it_was_used_is_found_by_the_revocation_check() {
    // 2026-11-23: the 2026 test keys are valid, the 2026 CRL current.
    const NOW_S: i64 = 1_795_392_000;
    let data = tempfile::tempdir().unwrap();
    let key = fixture("nca-test/keys2026/individual_revoked.p12");
    {
        // Used while nobody could say it was revoked (offline, no CRL yet).
        let at = NOW_S.to_string();
        let args = ["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD, "--check-time", &at];
        let daemon = Daemon::start_in(data.path(), &args);
        let mut ws = daemon.connect(Some("https://egov.kz")).await;
        let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
            "args":["PKCS12","SIGNATURE","MTEK",false]});
        assert_eq!(ws.request(&request).await["code"], "200");
    }
    let check = |data: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["keys", "reminders", "--json", "--revocation", "--offline", "--check-time", &NOW_S.to_string()])
            .arg("--data-dir")
            .arg(data)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["revoked"].clone()
    };
    assert_eq!(check(data.path()), json!([]), "offline and no CRL: nothing is said");
    // The CRL that lists it arrives (cached).
    let crl_dir = data.path().join("trust/crl");
    std::fs::create_dir_all(&crl_dir).unwrap();
    std::fs::copy(fixture("nca-test/crl/nca_gost2022_test_2026.crl"), crl_dir.join("nca_gost2022_test.crl")).unwrap();
    let revoked = check(data.path());
    assert_eq!(revoked.as_array().map(Vec::len), Some(1), "{revoked}");
    assert!(revoked[0]["date"].as_str().unwrap().starts_with("2026-"), "{revoked}");
    assert!(std::fs::read_to_string(data.path().join("revocation-checked")).unwrap().starts_with("1795392000"));
}
