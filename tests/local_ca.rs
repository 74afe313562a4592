//! The local CA, checked by independent verifiers against the real daemon.
//!
//! The daemon creates its CA in a temporary data directory; with that CA's own key
//! (`ca-key.pem`) openssl then issues the certificates an attacker who stole the key
//! would make, and `openssl verify` and headless Chromium (trusting `ca.pem` through
//! an NSS database, the way README tells users) must refuse them:
//!
//! * a TLS server certificate for `evil.example` / 10.1.2.3 (name constraints);
//! * an S/MIME or code-signing certificate for `localhost` (the CA's EKU);
//!
//! while a correct `localhost` server certificate and the daemon's own are accepted.
//! Every refusal has a control: the same certificate under an unconstrained CA that
//! openssl makes passes, so the refusal is the CA's doing, not the test's.
//!
//! Also: a data directory holding a CA of an older qoltanba (no EKU) or a corrupted
//! `ca.pem` gets a new CA at start, the old `ca.pem` kept as `ca-old-<date>.pem`.
//!
//! Needs `openssl`; the browser test also `chromium` and `certutil` (Debian:
//! `apt-get install chromium libnss3-tools`). Without them it is skipped locally and
//! fails in CI (`CI=true`).

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A certificate and its private key, PEM files.
struct Pair {
    cert: PathBuf,
    key: PathBuf,
}

/// The daemon's CA as it lies in its data directory.
fn daemon_ca(daemon: &Daemon) -> Pair {
    Pair { cert: daemon.ca_path(), key: daemon.data_dir.join("ca-key.pem") }
}

fn must(output: std::io::Result<Output>, what: &str) -> String {
    let output = output.unwrap_or_else(|e| panic!("{what}: {e} (is openssl installed?)"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

/// With openssl: a new P-256 key and a certificate for it, subject `subj`, with the
/// extensions `ext` (lines of an openssl config section), signed by `issuer` or
/// self-signed.
fn issue(dir: &Path, name: &str, issuer: Option<&Pair>, subj: &str, ext: &str) -> Pair {
    let cnf = dir.join(format!("{name}.cnf"));
    let pair = Pair { cert: dir.join(format!("{name}.pem")), key: dir.join(format!("{name}-key.pem")) };
    std::fs::write(
        &cnf,
        format!(
            "[req]\ndistinguished_name = dn\n[dn]\n[ext]\nsubjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\n{ext}\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args(["-subj", subj, "-extensions", "ext", "-config"])
        .arg(&cnf)
        .arg("-keyout")
        .arg(&pair.key)
        .arg("-out")
        .arg(&pair.cert);
    if let Some(ca) = issuer {
        cmd.arg("-CA").arg(&ca.cert).arg("-CAkey").arg(&ca.key);
    }
    must(cmd.output(), &format!("openssl req for {name}"));
    pair
}

/// A TLS server certificate, as a stolen CA key would sign it.
const SERVER_EXT: &str = "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
                          extendedKeyUsage = serverAuth";

/// A CA without name constraints or EKU: what a leaf passes under when its CA does
/// not stop it.
fn control_ca(dir: &Path) -> Pair {
    issue(
        dir,
        "control-ca",
        None,
        "/CN=unconstrained control CA",
        "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign",
    )
}

/// `openssl verify -CAfile ca -purpose purpose [extra] leaf`: (accepted, output).
fn verify(ca: &Path, leaf: &Path, purpose: &str, extra: &[&str]) -> (bool, String) {
    let output = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .args(["-purpose", purpose])
        .args(extra)
        .arg(leaf)
        .output()
        .expect("openssl is installed");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success() && text.contains(": OK"), text)
}

/// `openssl x509 -text` of a PEM file.
fn x509_text(pem: &Path) -> String {
    must(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(pem).output(), "openssl x509 -text")
}

/// The X.509v3 extensions in `openssl x509 -text`: (name, critical, value lines).
fn extensions(text: &str) -> Vec<(String, bool, String)> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == "X509v3 extensions:") else { return Vec::new() };
    let Some(first) = lines.get(start + 1) else { return Vec::new() };
    let level = indent(first);
    let mut found = Vec::new();
    let mut i = start + 1;
    while i < lines.len() && indent(lines[i]) == level && !lines[i].trim().starts_with("Signature") {
        let head = lines[i].trim();
        let (name, rest) = head.split_once(':').unwrap_or((head, ""));
        let mut value = Vec::new();
        i += 1;
        while i < lines.len() && indent(lines[i]) > level {
            value.push(lines[i].trim());
            i += 1;
        }
        found.push((name.to_owned(), rest.trim() == "critical", value.join("\n")));
    }
    found
}

/// The extension `name` as (critical, value), asserting it is there.
fn extension(exts: &[(String, bool, String)], name: &str) -> (bool, String) {
    let found = exts.iter().find(|(n, _, _)| n == name);
    let (_, critical, value) = found.unwrap_or_else(|| panic!("no {name} in {exts:?}"));
    (*critical, value.clone())
}

fn names(exts: &[(String, bool, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = exts.iter().map(|(n, _, _)| n.as_str()).collect();
    names.sort();
    names
}

/// Run `cmd` with stdout and stderr into files of `dir`, killing it after `limit`:
/// (stdout, stderr).
fn run_for(mut cmd: Command, dir: &Path, tag: &str, limit: Duration) -> (String, String) {
    let (out, err) = (dir.join(format!("{tag}.out")), dir.join(format!("{tag}.err")));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {tag}: {e}"));
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{tag} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (std::fs::read_to_string(out).unwrap_or_default(), std::fs::read_to_string(err).unwrap_or_default())
}

/// The certificate a TLS server at `addr` presents, fetched with `openssl s_client`
/// (which also checks it against `ca` and the name `localhost`), as a PEM file in `dir`.
fn served_certificate(addr: SocketAddr, ca: &Path, dir: &Path) -> PathBuf {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr.to_string(), "-servername", "localhost", "-showcerts"])
        .args(["-verify_hostname", "localhost", "-verify_return_error", "-CAfile"])
        .arg(ca);
    let (out, err) = run_for(cmd, dir, "s_client", Duration::from_secs(20));
    assert!(out.contains("Verify return code: 0 (ok)"), "s_client:\n{out}{err}");
    let begin = out.find("-----BEGIN CERTIFICATE-----").expect("a certificate");
    let end = out[begin..].find("-----END CERTIFICATE-----").unwrap() + begin + "-----END CERTIFICATE-----".len();
    let path = dir.join("served.pem");
    std::fs::write(&path, format!("{}\n", &out[begin..end])).unwrap();
    path
}

#[test]
fn the_ca_and_the_server_certificate_carry_exactly_the_required_extensions() {
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().unwrap();

    let ca = extensions(&x509_text(&daemon.ca_path()));
    assert_eq!(
        names(&ca),
        [
            "X509v3 Basic Constraints",
            "X509v3 Extended Key Usage",
            "X509v3 Key Usage",
            "X509v3 Name Constraints",
            "X509v3 Subject Key Identifier"
        ],
        "{ca:?}"
    );
    assert_eq!(extension(&ca, "X509v3 Basic Constraints"), (true, "CA:TRUE, pathlen:0".into()));
    assert_eq!(extension(&ca, "X509v3 Key Usage"), (true, "Certificate Sign, CRL Sign".into()));
    assert_eq!(extension(&ca, "X509v3 Extended Key Usage"), (false, "TLS Web Server Authentication".into()));
    assert_eq!(
        extension(&ca, "X509v3 Name Constraints"),
        (
            true,
            "Permitted:\nIP:127.0.0.1/255.255.255.255\n\
             IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF\nDNS:localhost"
                .into()
        )
    );

    // The certificate the daemon really serves, not the file it says it serves.
    let served = served_certificate(daemon.addr, &daemon.ca_path(), dir.path());
    let ca_path = daemon.ca_path();
    let ca_path = ca_path.to_str().unwrap();
    for extra in [&["-verify_hostname", "localhost"], &["-verify_ip", "127.0.0.1"], &["-verify_ip", "::1"]] {
        let (ok, text) = verify(Path::new(ca_path), &served, "sslserver", extra);
        assert!(ok, "{extra:?}: {text}");
    }
    let leaf = extensions(&x509_text(&served));
    assert_eq!(
        names(&leaf),
        [
            "X509v3 Authority Key Identifier",
            "X509v3 Extended Key Usage",
            "X509v3 Key Usage",
            "X509v3 Subject Alternative Name"
        ],
        "{leaf:?}"
    );
    assert_eq!(extension(&leaf, "X509v3 Key Usage"), (true, "Digital Signature".into()));
    assert_eq!(extension(&leaf, "X509v3 Extended Key Usage"), (false, "TLS Web Server Authentication".into()));
    assert_eq!(
        extension(&leaf, "X509v3 Subject Alternative Name").1,
        "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost"
    );
    // And it is not usable for anything but TLS servers.
    for purpose in ["sslclient", "smimesign", "smimeencrypt"] {
        let (ok, text) = verify(Path::new(ca_path), &served, purpose, &[]);
        assert!(!ok, "{purpose}: {text}");
    }
}

#[test]
fn a_stolen_ca_key_cannot_vouch_for_other_sites() {
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let ours = daemon_ca(&daemon);
    let control = control_ca(dir.path());

    // The test's own certificates work: a correct localhost server certificate passes.
    let good = issue(
        dir.path(),
        "good",
        Some(&ours),
        "/CN=localhost",
        &format!("{SERVER_EXT}\nsubjectAltName = DNS:localhost,IP:127.0.0.1"),
    );
    let (ok, text) = verify(&ours.cert, &good.cert, "sslserver", &["-verify_hostname", "localhost"]);
    assert!(ok, "a correct serverAuth leaf for localhost: {text}");

    // `localhost` in a DNS name constraint also permits its subdomains, which
    // RFC 6761 reserves for loopback too; nothing else is permitted.
    for (name, san) in [
        ("evil", "DNS:evil.example,IP:10.1.2.3"),
        ("evil-dns", "DNS:evil.example"),
        ("evil-ip", "IP:10.1.2.3"),
        ("evil-suffix", "DNS:localhost.evil.example"),
        ("evil-loopback", "IP:127.0.0.2"),
        ("evil-ipv6", "IP:::2"),
    ] {
        let subj = if name == "evil" { "/CN=evil.example" } else { "/O=evil" };
        let ext = format!("{SERVER_EXT}\nsubjectAltName = {san}");
        let leaf = issue(dir.path(), name, Some(&ours), subj, &ext);
        let (ok, text) = verify(&ours.cert, &leaf.cert, "sslserver", &[]);
        assert!(!ok, "{san} must be refused: {text}");
        assert!(text.contains("permitted subtree violation"), "{san}: refused for another reason: {text}");
        // Control: the same leaf under a CA without name constraints passes.
        let leaf = issue(dir.path(), &format!("{name}-control"), Some(&control), subj, &ext);
        let (ok, text) = verify(&control.cert, &leaf.cert, "sslserver", &[]);
        assert!(ok, "control for {san}: {text}");
    }
}

#[test]
fn a_stolen_ca_key_cannot_sign_mail_or_code_certificates() {
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let ours = daemon_ca(&daemon);
    let control = control_ca(dir.path());

    let codesign_known = {
        let (_, text) = verify(&ours.cert, &ours.cert, "codesign", &[]);
        !text.contains("Invalid purpose")
    };
    let mut purposes = vec![("smime", "smimesign", "emailProtection", "digitalSignature,nonRepudiation")];
    if codesign_known {
        purposes.push(("codesign", "codesign", "codeSigning", "digitalSignature"));
    } else {
        eprintln!("note: this openssl has no -purpose codesign (OpenSSL 3.2+ has); checking S/MIME only");
    }
    for (name, purpose, eku, usage) in purposes {
        let ext = format!(
            "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,{usage}\nextendedKeyUsage = {eku}\n\
             subjectAltName = DNS:localhost"
        );
        let leaf = issue(dir.path(), name, Some(&ours), "/CN=localhost", &ext);
        let (ok, text) = verify(&ours.cert, &leaf.cert, purpose, &[]);
        assert!(!ok, "{eku} certificate must be refused: {text}");
        // Refused because of the CA (depth 1), not the leaf (depth 0).
        assert!(text.contains("error 26 at 1 depth"), "{eku}: refused for another reason: {text}");
        let leaf = issue(dir.path(), &format!("{name}-control"), Some(&control), "/CN=localhost", &ext);
        let (ok, text) = verify(&control.cert, &leaf.cert, purpose, &[]);
        assert!(ok, "control for {eku}: {text}");
    }
}

/// `qoltanba serve` on a loopback port with its log in a file; killed on drop.
struct LoggedDaemon {
    child: Child,
    addr: SocketAddr,
}

impl LoggedDaemon {
    fn start(data_dir: &Path, log: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["serve", "--listen", "127.0.0.1:0", "--offline", "--data-dir"])
            .arg(data_dir)
            .env_remove("QOLTANBA_DATA_DIR")
            .env_remove("QOLTANBA_AUTO_KEY")
            .env_remove("QOLTANBA_AUTO_PASSWORD")
            .env_remove("QOLTANBA_AUTO_ANSWER")
            .env("QOLTANBA_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start qoltanba");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let addr = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                panic!("qoltanba exited before listening: {}", std::fs::read_to_string(log).unwrap_or_default());
            }
            if let Some(rest) = line.trim().split("listening on ").nth(1) {
                break rest.split("://").nth(1).unwrap().parse().unwrap();
            }
        };
        std::thread::spawn(move || for _ in reader.lines() {});
        LoggedDaemon { child, addr }
    }
}

impl Drop for LoggedDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `ca-old-*.pem` files of `dir`, sorted.
fn retired(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ca-old-"))
        .collect();
    found.sort();
    found
}

/// `ca-old-YYYY-MM-DD.pem`
fn is_dated_name(name: &str) -> bool {
    let Some(date) = name.strip_prefix("ca-old-").and_then(|n| n.strip_suffix(".pem")) else { return false };
    date.len() == 10 && date.char_indices().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() })
}

#[test]
fn a_ca_of_an_older_qoltanba_without_the_eku_is_replaced_on_start() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // Only its files matter: they are written before it listens.
    drop(Daemon::start_in(data.path(), &[]));
    let ca = data.path().join("ca.pem");
    let ca_key = data.path().join("ca-key.pem");

    // Make the CA what qoltanba made before: the same key, name and key identifier,
    // the same constraints, but no extended key usage.
    let ski = must(
        Command::new("openssl").args(["x509", "-noout", "-ext", "subjectKeyIdentifier", "-in"]).arg(&ca).output(),
        "reading the SKI",
    );
    let ski = ski.lines().nth(1).unwrap().trim().to_owned();
    let cnf = work.path().join("old.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[old]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\n\
             nameConstraints = critical,permitted;IP:127.0.0.1/255.255.255.255,\
             permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,permitted;DNS:localhost\n\
             subjectKeyIdentifier = {ski}\n"
        ),
    )
    .unwrap();
    let old = work.path().join("old-ca.pem");
    must(
        Command::new("openssl")
            .args(["x509", "-days", "3650", "-clrext", "-extensions", "old", "-extfile"])
            .arg(&cnf)
            .arg("-in")
            .arg(&ca)
            .arg("-key")
            .arg(&ca_key)
            .arg("-out")
            .arg(&old)
            .output(),
        "re-signing the CA without EKU",
    );
    let old_text = x509_text(&old);
    assert!(!old_text.contains("Extended Key Usage"), "{old_text}");
    assert!(old_text.contains("Name Constraints: critical"), "{old_text}");
    std::fs::copy(&old, &ca).unwrap();
    let old_pem = std::fs::read(&ca).unwrap();
    let old_key = std::fs::read(&ca_key).unwrap();
    // The old CA signs an S/MIME certificate openssl accepts: what the migration ends.
    let smime = issue(
        work.path(),
        "smime",
        Some(&Pair { cert: ca.clone(), key: ca_key.clone() }),
        "/CN=localhost",
        "keyUsage = critical,digitalSignature\nextendedKeyUsage = emailProtection\nsubjectAltName = DNS:localhost",
    );
    let (ok, text) = verify(&ca, &smime.cert, "smimesign", &[]);
    assert!(ok, "the old CA passes S/MIME: {text}");

    let log = work.path().join("qoltanba.log");
    let second = LoggedDaemon::start(data.path(), &log);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("replaced the local CA because it has no extended key usage"), "{log}");
    let kept = retired(data.path());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(is_dated_name(&kept[0]), "{kept:?}");
    assert!(log.contains(&kept[0]), "the log names {}: {log}", kept[0]);
    assert_eq!(std::fs::read(data.path().join(&kept[0])).unwrap(), old_pem, "the old ca.pem is kept as it was");
    assert_ne!(std::fs::read(&ca_key).unwrap(), old_key, "the old CA's key is gone");

    let new_text = x509_text(&ca);
    assert!(
        new_text.contains("X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n"),
        "{new_text}"
    );
    // The daemon serves a certificate of the new CA, which the old one does not vouch for.
    let served = served_certificate(second.addr, &ca, work.path());
    assert!(verify(&ca, &served, "sslserver", &[]).0);
    assert!(!verify(&data.path().join(&kept[0]), &served, "sslserver", &[]).0);
    drop(second);

    // The new CA stays.
    let new_pem = std::fs::read(&ca).unwrap();
    let third = Daemon::start_in(data.path(), &[]);
    assert_eq!(std::fs::read(third.ca_path()).unwrap(), new_pem);
    assert_eq!(retired(data.path()).len(), 1);
}

#[tokio::test]
async fn a_corrupted_ca_is_replaced_and_the_daemon_serves() {
    let data = tempfile::tempdir().unwrap();
    for (file, garbage) in
        [("ca.pem", &b"\x00\xffnot a certificate"[..]), ("ca-key.pem", b"-----BEGIN PRIVATE KEY-----\n")]
    {
        drop(Daemon::start_in(data.path(), &[]));
        let before = std::fs::read(data.path().join("ca.pem")).unwrap();
        std::fs::write(data.path().join(file), garbage).unwrap();
        let kept_before = retired(data.path()).len();

        let daemon = Daemon::start_in(data.path(), &[]);
        // `connect` trusts only the ca.pem now in the data directory.
        let mut ws = daemon.connect(None).await;
        ws.send_text("--heartbeat--").await;
        assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
        let kept = retired(data.path());
        assert_eq!(kept.len(), kept_before + 1, "{file}: {kept:?}");
        let expected = if file == "ca.pem" { garbage.to_vec() } else { before };
        let newest: Vec<Vec<u8>> = kept.iter().map(|n| std::fs::read(data.path().join(n)).unwrap()).collect();
        assert!(newest.contains(&expected), "{file}: the replaced ca.pem is kept");
    }
}

/// Chromium and certutil, or `None` (with a message) where they are missing and this is
/// not CI; in CI (`CI=true`) their absence fails the test.
fn chromium() -> Option<PathBuf> {
    let chromium = std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into());
    let certutil = Command::new("certutil").arg("-H").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(chromium.display().to_string());
    }
    if !certutil {
        missing.push("certutil".into());
    }
    if missing.is_empty() {
        return Some(chromium);
    }
    let message = format!("{} not installed (apt-get install chromium libnss3-tools)", missing.join(" and "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}: CI must run the browser test (.ci/run installs them)");
    }
    eprintln!("SKIPPED the Chromium part of tests/local_ca.rs: {message}");
    None
}

/// `openssl s_server -www` on a free loopback port with `pair`; killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(pair: &Pair) -> Self {
        let child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert"])
            .arg(&pair.cert)
            .arg("-key")
            .arg(&pair.key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        // From here on, a panic kills it too.
        let mut server = TlsServer { child, port: 0 };
        let mut reader = BufReader::new(server.child.stdout.take().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(port) = line.trim().strip_prefix("ACCEPT 127.0.0.1:") {
                server.port = port.parse().unwrap();
                break;
            }
            line.clear();
        }
        assert_ne!(server.port, 0, "openssl s_server did not start");
        std::thread::spawn(move || for _ in reader.lines() {});
        server
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Load `url` in headless Chromium with `home`'s NSS database: (page DOM, log).
fn chromium_load(chromium: &Path, home: &Path, work: &Path, tag: &str, url: &str) -> (String, String) {
    let mut cmd = Command::new(chromium);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg("--host-resolver-rules=MAP evil.example 127.0.0.1")
        .arg(format!("--user-data-dir={}", work.join(format!("profile-{tag}")).display()))
        .args(["--dump-dom", url])
        .env("HOME", home);
    run_for(cmd, work, tag, Duration::from_secs(30))
}

#[test]
fn chromium_trusting_the_ca_refuses_other_sites_and_accepts_the_daemon() {
    let Some(chromium) = chromium() else { return };
    let started = Instant::now();
    let daemon = Daemon::start(&[]);
    let work = tempfile::tempdir().unwrap();
    let ours = daemon_ca(&daemon);
    let control = control_ca(work.path());
    let ext = format!("{SERVER_EXT}\nsubjectAltName = DNS:evil.example,IP:10.1.2.3");
    let evil = issue(work.path(), "evil", Some(&ours), "/CN=evil.example", &ext);
    let evil_control = issue(work.path(), "evil-control", Some(&control), "/CN=evil.example", &ext);

    // A user's NSS database trusting our CA as README says, and the control CA.
    let home = work.path().join("home");
    let nssdb = home.join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).unwrap();
    let db = format!("sql:{}", nssdb.display());
    let certutil = |args: &[&str]| must(Command::new("certutil").args(args).output(), &format!("certutil {args:?}"));
    certutil(&["-N", "-d", &db, "--empty-password"]);
    certutil(&["-A", "-d", &db, "-t", "C,,", "-n", "qoltanba local CA", "-i", ours.cert.to_str().unwrap()]);
    certutil(&["-A", "-d", &db, "-t", "C,,", "-n", "control CA", "-i", control.cert.to_str().unwrap()]);

    // The three page loads run side by side (each Chromium has its own profile).
    let evil_server = TlsServer::start(&evil);
    let control_server = TlsServer::start(&evil_control);
    let loads = [
        ("evil", format!("https://evil.example:{}/", evil_server.port)),
        // Control: the same certificate from a CA without constraints is accepted.
        ("control", format!("https://evil.example:{}/", control_server.port)),
        ("daemon", format!("https://127.0.0.1:{}/", daemon.addr.port())),
    ];
    let [(evil_dom, evil_log), (control_dom, control_log), (daemon_dom, daemon_log)] = std::thread::scope(|s| {
        let running =
            loads.each_ref().map(|(tag, url)| s.spawn(|| chromium_load(&chromium, &home, work.path(), tag, url)));
        running.map(|t| t.join().expect("a Chromium run"))
    });
    drop((evil_server, control_server));

    assert!(!evil_dom.contains("s_server"), "Chromium loaded evil.example under our CA:\n{evil_dom}");
    assert!(
        // By name, or by number (Chromium 148 logs only the number: -207 is CERT_INVALID,
        // -212 CERT_NAME_CONSTRAINT_VIOLATION in net_error_list.h).
        ["ERR_CERT_INVALID", "ERR_CERT_NAME_CONSTRAINT_VIOLATION", "net_error -207", "net_error -212"]
            .iter()
            .any(|e| evil_log.contains(e)),
        "refused for another reason than the name constraints:\n{evil_log}"
    );
    assert!(control_dom.contains("s_server"), "control refused:\n{control_dom}\n{control_log}");
    assert!(daemon_dom.contains("is running"), "Chromium refused the daemon:\n{daemon_dom}\n{daemon_log}");
    eprintln!("Chromium part took {:?}", started.elapsed());
}
