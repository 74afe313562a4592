//! Installing like an app, on a throw-away HOME: `qoltanba trust install | status |
//! remove` puts the local CA into a Chromium NSS database and a Firefox profile so that
//! headless Chromium (no `--ignore-certificate-errors`) connects and signs, takes it out
//! again so that the same page cannot connect, and never touches other certificates;
//! `qoltanba autostart` adds and removes the login entry; `qoltanba doctor --json`
//! reports the running daemon and a real TLS handshake through each store.
//!
//! Needs `chromium`, `certutil` and `tstclnt` (Debian: `chromium libnss3-tools`), node.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn qoltanba(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env("LANG", "en_US.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .expect("qoltanba runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn certutil(args: &[&str]) -> String {
    let out = Command::new("certutil").args(args).output().expect("certutil (apt-get install libnss3-tools)");
    assert!(out.status.success(), "certutil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A self-signed CA certificate named `cn`, as PEM in `dir`.
fn some_ca(dir: &Path, file: &str, cn: &str) -> PathBuf {
    let path = dir.join(file);
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30"])
        .args(["-keyout", "/dev/null", "-subj", &format!("/CN={cn}"), "-out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

/// The nicknames in an NSS database.
fn nicknames(db: &str) -> String {
    certutil(&["-L", "-d", db])
}

/// `trust status --json` as (label → state).
fn states(home: &Path, data: &Path) -> Vec<(String, String)> {
    let out = qoltanba(home, &["trust", "status", "--json", "--data-dir", data.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    report["stores"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["scope"] == "user")
        .map(|s| (s["label"].as_str().unwrap().to_owned(), s["state"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn trust_install_lets_chromium_sign_and_remove_takes_only_ours_back() {
    let data = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_in(data.path(), &["--demo"]);
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();

    // A browser profile of each kind, each holding somebody else's root; the Firefox
    // one also an old qoltanba CA (from a data directory since deleted).
    let chromium_db = format!("sql:{}", home.path().join(".pki/nssdb").display());
    std::fs::create_dir_all(home.path().join(".pki/nssdb")).unwrap();
    let profile = home.path().join(".mozilla/firefox/x1y2z3.default-release");
    std::fs::create_dir_all(&profile).unwrap();
    let firefox_db = format!("sql:{}", profile.display());
    let other = some_ca(work.path(), "other.pem", "Other Company Root");
    let stale = some_ca(work.path(), "stale.pem", "qoltanba local CA deadbeef");
    for db in [&chromium_db, &firefox_db] {
        certutil(&["-N", "-d", db, "--empty-password"]);
        certutil(&["-A", "-d", db, "-t", "C,,", "-n", "Other Company Root", "-i", other.to_str().unwrap()]);
    }
    certutil(&[
        "-A",
        "-d",
        &firefox_db,
        "-t",
        "C,,",
        "-n",
        "qoltanba local CA deadbeef",
        "-i",
        stale.to_str().unwrap(),
    ]);

    let data_arg = data.path().to_str().unwrap();
    let before = states(home.path(), data.path());
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|(_, s)| s == "not-trusted"), "{before:?}");
    let status = qoltanba(home.path(), &["trust", "status", "--data-dir", data_arg]);
    assert_eq!(status.status.code(), Some(1), "status says so in its exit code: {}", text(&status));

    let install = qoltanba(home.path(), &["trust", "install", "--data-dir", data_arg]);
    assert!(install.status.success(), "{}", text(&install));
    assert!(text(&install).contains("Restart your browsers"), "{}", text(&install));
    let after = states(home.path(), data.path());
    assert!(after.iter().all(|(_, s)| s == "trusted"), "{after:?}\n{}", text(&install));
    assert!(!nicknames(&firefox_db).contains("deadbeef"), "the old qoltanba CA was taken out");
    for db in [&chromium_db, &firefox_db] {
        assert!(nicknames(db).contains("Other Company Root"), "somebody else's root stays in {db}");
    }
    // Installing again changes nothing.
    let again = qoltanba(home.path(), &["trust", "install", "--data-dir", data_arg]);
    assert!(again.status.success() && text(&again).contains("no change"), "{}", text(&again));

    // The page connects and signs, Chromium trusting only what `trust install` did.
    let url = format!("wss://127.0.0.1:{}", daemon.addr.port());
    let out = tempfile::tempdir().unwrap();
    run_node(
        "browser.js",
        &[out.path().as_os_str()],
        &[("QOLTANBA_URL", url.as_ref()), ("NSS_HOME", home.path().as_os_str())],
    );
    let cms = cms_pem_to_der(&std::fs::read_to_string(out.path().join("page-cms.pem")).unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let verdict = openssl_verify(&cms, None, Some((&data.path().join("demo/demo-ca.pem"), now)));
    assert!(verdict.ok, "{}", verdict.output);

    // The doctor sees the daemon and makes a TLS handshake through each store.
    let port = daemon.addr.port().to_string();
    let doctor = qoltanba(home.path(), &["doctor", "--json", "--offline", "--port", &port, "--data-dir", data_arg]);
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&doctor)));
    let checks = report["checks"].as_array().unwrap();
    let daemon_check = checks.iter().find(|c| c["id"] == "daemon").unwrap();
    assert_eq!(daemon_check["level"], "ok", "{daemon_check}");
    let trusted: Vec<&Value> = checks.iter().filter(|c| c["id"] == "trust" && c["level"] == "ok").collect();
    assert_eq!(trusted.len(), 2, "{checks:?}");
    assert!(trusted.iter().all(|c| c["details"][0].as_str().unwrap().contains("handshake")), "{trusted:?}");

    // The status page shows the same checks to the person who opens it; another page
    // loading it (no `Sec-Fetch-Site: none`) cannot make the checks run.
    let page = status_page(daemon.addr, &data.path().join("ca.pem"), true);
    assert!(page.contains("class=\"checks\"") && page.contains("class=\"ok\""), "{page}");
    assert!(page.contains("LocalNetworkAccessAllowedForUrls"), "{page}");
    let embedded = status_page(daemon.addr, &data.path().join("ca.pem"), false);
    assert!(embedded.contains("is running") && !embedded.contains("class=\"checks\""), "{embedded}");

    // Removed: the same page cannot connect; the other roots are still there.
    let remove = qoltanba(home.path(), &["trust", "remove", "--data-dir", data_arg]);
    assert!(remove.status.success(), "{}", text(&remove));
    let removed = states(home.path(), data.path());
    assert!(removed.iter().all(|(_, s)| s == "not-trusted"), "{removed:?}");
    for db in [&chromium_db, &firefox_db] {
        let names = nicknames(db);
        assert!(names.contains("Other Company Root") && !names.contains("qoltanba"), "{db}:\n{names}");
    }
    let refused = tempfile::tempdir().unwrap();
    run_node(
        "browser.js",
        &[refused.path().as_os_str()],
        &[("QOLTANBA_URL", url.as_ref()), ("NSS_HOME", home.path().as_os_str()), ("EXPECT_FAILURE", "1".as_ref())],
    );
    assert!(refused.path().join("page-status.txt").exists());
    let doctor = qoltanba(home.path(), &["doctor", "--json", "--offline", "--port", &port, "--data-dir", data_arg]);
    assert_eq!(doctor.status.code(), Some(1), "an untrusted store is a problem: {}", text(&doctor));
}

/// GET `/` over TLS, trusting `ca`; `typed`: as a browser does for an address the
/// person typed.
fn status_page(addr: std::net::SocketAddr, ca: &Path, typed: bool) -> String {
    use std::io::{Read, Write};
    let config = client_tls_for(ca);
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(config, name).unwrap();
    let socket = std::net::TcpStream::connect(addr).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let site = if typed { "Sec-Fetch-Site: none\r\n" } else { "Sec-Fetch-Site: cross-site\r\n" };
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{site}Connection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    let mut page = Vec::new();
    let _ = tls.read_to_end(&mut page);
    String::from_utf8_lossy(&page).into_owned()
}

#[test]
fn autostart_entries_appear_and_disappear() {
    let home = tempfile::tempdir().unwrap();
    let entry = home.path().join(".config/autostart/qoltanba.desktop");
    let status = qoltanba(home.path(), &["autostart", "status"]);
    assert!(status.status.success() && text(&status).contains("does not start"), "{}", text(&status));

    let enable = qoltanba(home.path(), &["autostart", "enable"]);
    assert!(enable.status.success(), "{}", text(&enable));
    let written = std::fs::read_to_string(&entry).expect("the autostart entry");
    let exec = format!("Exec={} serve", env!("CARGO_BIN_EXE_qoltanba"));
    assert!(written.contains("[Desktop Entry]") && written.contains(&exec), "{written}");
    let status = qoltanba(home.path(), &["autostart", "status"]);
    assert!(
        text(&status).contains("starts when you log in") && text(&status).contains("autostart"),
        "{}",
        text(&status)
    );

    let disable = qoltanba(home.path(), &["autostart", "disable"]);
    assert!(disable.status.success(), "{}", text(&disable));
    assert!(!entry.exists(), "the entry is gone");
    assert!(text(&qoltanba(home.path(), &["autostart", "status"])).contains("does not start"));
}

/// The system store, where this runs as root on Debian (as CI does): the CA lands in the
/// bundle every program reads, and leaves it again. Elsewhere it says why it is skipped.
#[test]
fn the_system_store_takes_the_ca_and_gives_it_back() {
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !root || !Path::new("/usr/local/share/ca-certificates").is_dir() || !bundle.exists() {
        eprintln!("SKIPPED: the system store test needs root on Debian (ca-certificates)");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let data_arg = data.path().to_str().unwrap();
    let install = qoltanba(home.path(), &["trust", "install", "--system", "--data-dir", data_arg]);
    let ca_pem = std::fs::read_to_string(data.path().join("ca.pem")).unwrap();
    let body: String = ca_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let in_bundle = || std::fs::read_to_string(bundle).unwrap().lines().collect::<String>().contains(&body);
    let anchors = || {
        std::fs::read_dir("/usr/local/share/ca-certificates")
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("qoltanba-"))
            .collect::<Vec<_>>()
    };
    let installed = (install.status.success(), in_bundle(), anchors());
    let remove = qoltanba(home.path(), &["trust", "remove", "--system", "--data-dir", data_arg]);
    assert!(installed.0 && installed.1, "not in the system bundle: {}", text(&install));
    assert_eq!(installed.2.len(), 1, "{:?}", installed.2);
    assert!(remove.status.success(), "{}", text(&remove));
    assert!(!in_bundle() && anchors().is_empty(), "still in the system store: {}", text(&remove));
}
