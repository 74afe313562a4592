//! Test harness: starts the real `qoltanba` binary on a loopback port, talks to it
//! over a real (TLS) WebSocket, and checks signatures with the real `openssl`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Plain TCP or TLS.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

pub const GREETING: &str = r#"{"result":{"version":"1.4"}}"#;

/// Path of a fixture file.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

pub const RSA_KEY: &str = "nca-test/keys/rsa_sign_individual.p12";
pub const RSA_AUTH_KEY: &str = "nca-test/keys/rsa_auth_individual.p12";
pub const PASSWORD: &str = "Qwerty12";

/// A running daemon; killed (SIGTERM) on drop.
pub struct Daemon {
    child: Child,
    pub addr: SocketAddr,
    pub tls: bool,
    pub data_dir: PathBuf,
    pub stdout_lines: Vec<String>,
    _owned_dir: Option<tempfile::TempDir>,
}

impl Daemon {
    /// Start with a headless answerer over `key` (relative to fixtures).
    pub fn headless(key: &str, password: &str, answer: &str) -> Self {
        let key = fixture(key);
        Self::start(&["--auto-key", key.to_str().unwrap(), "--auto-password", password, "--auto-answer", answer])
    }

    /// Start `qoltanba serve` on an ephemeral loopback port with `extra` flags.
    pub fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut daemon = Self::start_in(dir.path(), extra);
        daemon._owned_dir = Some(dir);
        daemon
    }

    /// Start with `data_dir` as the data directory (kept after the daemon stops).
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(data_dir, extra, true, &[])
    }

    /// Start with `env` set (e.g. `DISPLAY` for the desktop dialogs).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut daemon = Self::spawn(dir.path(), extra, true, env);
        daemon._owned_dir = Some(dir);
        daemon
    }

    /// Start in `data_dir` with `env` set.
    pub fn start_with_env_in(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(data_dir, extra, true, env)
    }

    /// Wait up to `limit` for the daemon to exit by itself.
    pub fn wait_for_exit(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    /// Start allowed to download (CRLs, OCSP) from loopback servers the test runs; NCA
    /// RK's CA addresses point at a closed loopback port.
    pub fn start_online(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["--nca-ca-url", "http://127.0.0.1:9/none.cer"];
        args.extend_from_slice(extra);
        let mut daemon = Self::spawn(dir.path(), &args, false, &[]);
        daemon._owned_dir = Some(dir);
        daemon
    }

    fn spawn(data_dir: &Path, extra: &[&str], offline: bool, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_qoltanba"));
        cmd.arg("serve").args(["--listen", "127.0.0.1:0"]);
        if offline {
            cmd.arg("--offline");
        }
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env_remove("QOLTANBA_AUTO_KEY")
            .env_remove("QOLTANBA_AUTO_PASSWORD")
            .env_remove("QOLTANBA_AUTO_ANSWER")
            .env_remove("QOLTANBA_AUTO_DELAY_MS")
            .env_remove("QOLTANBA_DATA_DIR")
            // Never the developer's desktop either: only tests that start a display use one.
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .envs(env.iter().copied())
            .env("QOLTANBA_LOG", "warn")
            // Never the developer's terminal: that would turn on the terminal dialogs.
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // To see why a test failed: the daemon's log (and its dialog windows') in a file
        // per daemon in this folder, at the level QOLTANBA_TEST_LOG (default warn).
        if let Some(dir) = std::env::var_os("QOLTANBA_TEST_STDERR_DIR") {
            let f =
                tempfile::Builder::new().prefix("daemon-").suffix(".log").tempfile_in(dir).unwrap().keep().unwrap().0;
            cmd.stderr(f).env("QOLTANBA_LOG", std::env::var("QOLTANBA_TEST_LOG").unwrap_or("warn".into()));
        }
        let mut child = cmd.spawn().expect("start qoltanba");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let addr = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                panic!("qoltanba exited before listening: {lines:?}");
            }
            lines.push(line.trim_end().to_owned());
            if let Some(rest) = line.trim().split("listening on ").nth(1) {
                let addr = rest.split("://").nth(1).unwrap();
                break addr.parse().unwrap();
            }
        };
        // Keep draining stdout so the daemon never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        let tls = !extra.contains(&"--insecure-ws");
        Daemon { child, addr, tls, data_dir: data_dir.to_owned(), stdout_lines: lines, _owned_dir: None }
    }

    pub fn ca_path(&self) -> PathBuf {
        self.data_dir.join("ca.pem")
    }

    pub fn url(&self) -> String {
        format!("{}://{}/", if self.tls { "wss" } else { "ws" }, self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM")
    }

    /// Send signal `name` (`TERM`, `INT`) and wait for the exit status.
    pub fn signal(&mut self, name: &str) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }

    /// Is the process still running?
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// A rustls client config trusting only this daemon's CA.
    pub fn client_tls(&self) -> Arc<rustls::ClientConfig> {
        client_tls_for(&self.ca_path())
    }

    /// Open a WebSocket (with `Origin` if given); returns it after reading the greeting.
    pub async fn connect(&self, origin: Option<&str>) -> Ws {
        let mut ws = self.connect_raw(origin, &self.url()).await;
        let greeting = ws.recv_text().await.expect("greeting");
        assert_eq!(greeting, GREETING);
        ws
    }

    /// Open a WebSocket without reading anything.
    pub async fn connect_raw(&self, origin: Option<&str>, url: &str) -> Ws {
        let mut request = url.into_client_request().unwrap();
        if let Some(o) = origin {
            request.headers_mut().insert("Origin", o.parse().unwrap());
        }
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let stream = if self.tls {
            let host = request.uri().host().unwrap().trim_matches(['[', ']']).to_owned();
            let name = rustls::pki_types::ServerName::try_from(host).unwrap();
            let tls = tokio_rustls::TlsConnector::from(self.client_tls()).connect(name, tcp).await.unwrap();
            Box::new(tls) as Box<dyn Io>
        } else {
            Box::new(tcp) as Box<dyn Io>
        };
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await.unwrap();
        Ws { inner: ws }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.is_running() {
            self.terminate();
        }
    }
}

pub fn client_tls_for(ca: &Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(ca).unwrap();
    let (_, der) = der::pem::decode_vec(&pem).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(der)).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A test WebSocket client.
pub struct Ws {
    pub inner: WebSocketStream<Box<dyn Io>>,
}

impl Ws {
    pub async fn send_text(&mut self, text: &str) {
        self.inner.send(Message::text(text)).await.unwrap();
    }

    /// Next text frame (20 s limit); `None` if the connection closed.
    pub async fn recv_text(&mut self) -> Option<String> {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(20), self.inner.next()).await.expect("reply in time");
            match next {
                Some(Ok(Message::Text(t))) => return Some(t.as_str().to_owned()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Send a JSON request and parse the reply.
    pub async fn request(&mut self, request: &Value) -> Value {
        self.send_text(&request.to_string()).await;
        let text = self.recv_text().await.expect("a reply");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {text}"))
    }

    /// Is no frame waiting within `ms`?
    pub async fn silent_for(&mut self, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), self.inner.next()).await.is_err()
    }
}

/// What `openssl cms -verify` says about a DER CMS.
pub struct OpensslVerdict {
    pub ok: bool,
    pub output: String,
}

/// Verify a CMS with the independent verifier `openssl cms -verify`, against `content`
/// for detached signatures, and the NCA RSA test CA at a time inside the test key's
/// validity (`chain`), or without chain checks.
pub fn openssl_verify(cms_der: &[u8], content: Option<&[u8]>, ca: Option<(&Path, i64)>) -> OpensslVerdict {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("sig.p7s");
    std::fs::write(&sig, cms_der).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-verify", "-inform", "DER", "-binary", "-in"]).arg(&sig);
    if let Some(content) = content {
        let data = dir.path().join("data.bin");
        std::fs::write(&data, content).unwrap();
        cmd.arg("-content").arg(data);
    }
    match ca {
        Some((ca, at)) => {
            cmd.arg("-CAfile").arg(ca).args(["-partial_chain", "-purpose", "any", "-attime"]).arg(at.to_string());
        }
        None => {
            cmd.arg("-noverify");
        }
    }
    let out_file = dir.path().join("out.bin");
    cmd.arg("-out").arg(&out_file);
    let output = cmd.output().expect("openssl is installed (apt-get install openssl)");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    OpensslVerdict { ok: output.status.success(), output: text }
}

/// The encapsulated content openssl extracts from an attached CMS.
pub fn openssl_attached_content(cms_der: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("sig.p7s");
    let out = dir.path().join("out.bin");
    std::fs::write(&sig, cms_der).unwrap();
    let status = Command::new("openssl")
        .args(["cms", "-verify", "-noverify", "-inform", "DER", "-binary", "-in"])
        .arg(&sig)
        .arg("-out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    std::fs::read(out).unwrap()
}

/// `openssl cms -cmsout -print` of a DER CMS.
pub fn openssl_print(cms_der: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("sig.p7s");
    std::fs::write(&sig, cms_der).unwrap();
    let out =
        Command::new("openssl").args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"]).arg(&sig).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A time inside the validity of the RSA test key (2021-05-03).
pub const RSA_KEY_VALID_AT: i64 = 1_620_000_000;

pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

/// The DER inside a `-----BEGIN CMS-----` PEM.
pub fn cms_pem_to_der(pem: &str) -> Vec<u8> {
    assert!(pem.starts_with("-----BEGIN CMS-----\n"), "PEM armour: {pem}");
    assert!(pem.ends_with("-----END CMS-----\n"), "PEM armour end: {pem}");
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    assert_eq!(label, "CMS");
    der
}

/// `tests/js`: the Node.js side of the end-to-end tests.
pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Install the pinned npm packages of `tests/js` once (`npm ci` from package-lock.json).
pub fn ensure_node_modules() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let modules = js_dir().join("node_modules");
        if modules.join("ncalayer-js-client").exists() && modules.join("playwright-core").exists() {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(js_dir())
            .status()
            .expect("npm is installed (apt-get install nodejs npm)");
        assert!(status.success(), "npm ci failed in tests/js");
    });
}

/// Run a Node.js script of `tests/js` with `args` and `env`; panics with its output if
/// it fails.
pub fn run_node(script: &str, args: &[&std::ffi::OsStr], env: &[(&str, &std::ffi::OsStr)]) {
    ensure_node_modules();
    let mut cmd = Command::new("node");
    cmd.arg(js_dir().join(script)).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("node is installed (apt-get install nodejs)");
    assert!(
        output.status.success(),
        "{script} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `openssl x509 -noout <args>` on a PEM certificate.
pub fn openssl_x509(pem: &str, args: &[&str]) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["x509", "-noout"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child.stdin.take().unwrap().write_all(pem.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

/// Epoch milliseconds of openssl's `-dateopt iso_8601` line (`notBefore=2021-01-18 13:09:14Z`).
pub fn openssl_date_ms(line: &str) -> i64 {
    let iso = line.split('=').nth(1).unwrap().trim().trim_end_matches('Z');
    let n: Vec<i64> = iso.split(['-', ' ', ':']).map(|p| p.parse().unwrap()).collect();
    let date =
        time::Date::from_calendar_date(n[0] as i32, time::Month::try_from(n[1] as u8).unwrap(), n[2] as u8).unwrap();
    date.with_hms(n[3] as u8, n[4] as u8, n[5] as u8).unwrap().assume_utc().unix_timestamp() * 1000
}

/// The key info fields openssl reports for a certificate, in NCALayer's notation:
/// (subjectDn, issuerDn, serial lower hex, notBefore ms, notAfter ms, AKI hex, SKI hex).
pub fn openssl_key_facts(pem: &str) -> [String; 7] {
    let names = openssl_x509(pem, &["-subject", "-issuer", "-nameopt", "utf8,sep_comma_plus,esc_2253,sname"]);
    let kalkan = |dn: &str| {
        dn.split(',')
            .map(|rdn| {
                let (k, v) = rdn.split_once('=').unwrap_or((rdn, ""));
                let k = match k {
                    "SN" => "SURNAME",
                    "serialNumber" => "SERIALNUMBER",
                    "GN" => "G",
                    "ST" => "S",
                    "emailAddress" => "E",
                    other => other,
                };
                if v.is_empty() && !rdn.contains('=') { rdn.to_owned() } else { format!("{k}={v}") }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut lines = names.lines();
    let subject = kalkan(lines.next().unwrap().trim_start_matches("subject="));
    let issuer = kalkan(lines.next().unwrap().trim_start_matches("issuer="));
    let serial = openssl_x509(pem, &["-serial"]).trim().trim_start_matches("serial=").to_lowercase();
    let dates = openssl_x509(pem, &["-startdate", "-enddate", "-dateopt", "iso_8601"]);
    let mut dates = dates.lines();
    let not_before = openssl_date_ms(dates.next().unwrap()).to_string();
    let not_after = openssl_date_ms(dates.next().unwrap()).to_string();
    let ext = |name: &str| {
        let out = openssl_x509(pem, &["-ext", name]);
        out.lines().nth(1).unwrap_or_default().trim().trim_start_matches("keyid:").replace(':', "").to_lowercase()
    };
    [subject, issuer, serial, not_before, not_after, ext("authorityKeyIdentifier"), ext("subjectKeyIdentifier")]
}

/// A Russian SubjectPublicKeyInfo (RFC 4491/9215) around KZ public key octets, the way
/// Debian's GOST engine can read it (crypto-and-formats.md §4.2 step 1).
pub fn russian_spki_pem(curve: qoltanba::crypto::gost::GostCurve, public_le: &[u8]) -> String {
    use der::Encode;
    use der::asn1::{BitString, ObjectIdentifier as Oid, OctetString};
    use qoltanba::crypto::gost::GostCurve;
    let (alg, params): (&str, Vec<Oid>) = match curve {
        GostCurve::Tc26_512A => ("1.2.643.7.1.1.1.2", vec![Oid::new_unwrap("1.2.643.7.1.2.1.2.1")]),
        GostCurve::Tc26_256A => ("1.2.643.7.1.1.1.1", vec![Oid::new_unwrap("1.2.643.7.1.2.1.1.1")]),
        GostCurve::CryptoProA => {
            ("1.2.643.2.2.19", vec![Oid::new_unwrap("1.2.643.2.2.35.1"), Oid::new_unwrap("1.2.643.2.2.30.1")])
        }
    };
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: Oid::new_unwrap(alg),
            parameters: Some(der::Any::encode_from(&params).unwrap()),
        },
        subject_public_key: BitString::from_bytes(&OctetString::new(public_le).unwrap().to_der().unwrap()).unwrap(),
    };
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &spki.to_der().unwrap()).unwrap()
}

/// Ask Debian's GOST engine whether `signature` (KZ order) is valid for `data`.
pub fn engine_verifies(
    curve: qoltanba::crypto::gost::GostCurve,
    public_le: &[u8],
    data: &[u8],
    signature: &[u8],
) -> bool {
    use qoltanba::crypto::gost::GostCurve;
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    std::fs::write(path("pub.pem"), russian_spki_pem(curve, public_le)).unwrap();
    // KZ r_LE‖s_LE reversed is RFC 4491's s_BE‖r_BE.
    std::fs::write(path("sig.rev"), signature.iter().rev().copied().collect::<Vec<u8>>()).unwrap();
    let mut cmd = std::process::Command::new("openssl");
    match curve {
        GostCurve::CryptoProA => {
            // The engine's md_gost94 uses the CryptoPro S-box, not NCA's: give it the digest.
            let digest =
                qoltanba::crypto::Hasher::for_algorithm(qoltanba::keys::KeyAlgorithm::Gost2004).unwrap().digest(data);
            std::fs::write(path("digest"), digest).unwrap();
            cmd.args(["pkeyutl", "-engine", "gost", "-verify", "-pubin", "-inkey"])
                .arg(path("pub.pem"))
                .arg("-in")
                .arg(path("digest"))
                .arg("-sigfile")
                .arg(path("sig.rev"));
        }
        _ => {
            let md = if curve == GostCurve::Tc26_512A { "-md_gost12_512" } else { "-md_gost12_256" };
            std::fs::write(path("data"), data).unwrap();
            cmd.args(["dgst", "-engine", "gost", md, "-verify"])
                .arg(path("pub.pem"))
                .arg("-signature")
                .arg(path("sig.rev"))
                .arg(path("data"));
        }
    }
    let out = cmd.output().expect("openssl with libengine-gost-openssl (apt-get install libengine-gost-openssl)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("could not load the shared library"),
        "GOST engine missing: apt-get install libengine-gost-openssl"
    );
    text.contains("Verified OK") || text.contains("Signature Verified Successfully")
}

/// A loopback HTTP/1.1 server for tests: each request (method, path, body) goes to
/// `handler`, which returns the status line and body. Stopped on drop.
pub struct LoopbackHttp {
    pub addr: SocketAddr,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Handler = Box<dyn Fn(&str, &str, &[u8]) -> (&'static str, Vec<u8>) + Send>;

impl LoopbackHttp {
    pub fn start(handler: Handler) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop2, hits2) = (Arc::clone(&stop), Arc::clone(&hits));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                // The head, then Content-Length bytes of body.
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break None;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i + 4);
                    }
                };
                let Some(head_end) = head_end else { continue };
                let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while data.len() < head_end + length {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                hits2.fetch_add(1, Ordering::SeqCst);
                let mut words = head.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
                let (status, body) = handler(method, path, &data[head_end..]);
                let reply = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(reply.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        LoopbackHttp { addr, hits, stop, thread: Some(thread) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for LoopbackHttp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves fixed files by path (GET), 404 otherwise.
pub fn file_server(files: Vec<(&str, Vec<u8>)>) -> LoopbackHttp {
    let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|(p, b)| (p.to_owned(), b)).collect();
    LoopbackHttp::start(Box::new(move |_, path, _| match files.iter().find(|(p, _)| p == path) {
        Some((_, body)) => ("200 OK", body.clone()),
        None => ("404 Not Found", Vec::new()),
    }))
}

/// A loopback RFC 3161 TSA: `openssl ts -reply` behind [`LoopbackHttp`], with its own
/// certificate made by openssl. Stopped on drop.
pub struct Tsa {
    pub dir: tempfile::TempDir,
    http: LoopbackHttp,
}

impl Tsa {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_owned();
        let status = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=qoltanba test TSA"])
            .args(["-addext", "extendedKeyUsage=critical,timeStamping", "-keyout"])
            .arg(d.join("tsa.key"))
            .arg("-out")
            .arg(d.join("tsa.crt"))
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = {}\nserial = $dir/serial\nsigner_cert = $dir/tsa.crt\n\
                 signer_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.398.3.3.2.6.2\n\
                 other_policies = 1.2.398.3.3.2.6.4, 1.2.398.3.3.2.6.1\ndigests = sha256, sha1\naccuracy = secs:1\n\
                 ordering = no\ntsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\ncrypto_device = builtin\n",
                d.display()
            ),
        )
        .unwrap();
        let http = LoopbackHttp::start(Box::new(move |_, _, query| {
            std::fs::write(d.join("q.tsq"), query).unwrap();
            let reply = Command::new("openssl")
                .args(["ts", "-reply", "-config"])
                .arg(d.join("tsa.cnf"))
                .arg("-queryfile")
                .arg(d.join("q.tsq"))
                .arg("-out")
                .arg(d.join("r.tsr"))
                .output()
                .unwrap();
            if reply.status.success() {
                ("200 OK", std::fs::read(d.join("r.tsr")).unwrap())
            } else {
                ("500 Internal Server Error", Vec::new())
            }
        }));
        Tsa { dir, http }
    }

    pub fn url(&self) -> String {
        self.http.url("/")
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("tsa.crt")
    }
}

/// The signature value and the timestamp token (DER) of each signer of a CMS.
pub fn signer_tokens(cms_der: &[u8]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    use der::{Decode, Encode};
    let ci = cms::content_info::ContentInfo::from_der(cms_der).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    sd.signer_infos
        .0
        .iter()
        .map(|si| {
            let token = si.unsigned_attrs.as_ref().and_then(|attrs| {
                attrs
                    .iter()
                    .find(|a| a.oid.to_string() == "1.2.840.113549.1.9.16.2.14")
                    .map(|a| a.values.iter().next().unwrap().to_der().unwrap())
            });
            (si.signature.as_bytes().to_vec(), token)
        })
        .collect()
}

/// `openssl ts -verify` of a token over the signature value it stamps.
pub fn openssl_ts_verify(signature: &[u8], token: &[u8], tsa_cert: &Path) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sig"), signature).unwrap();
    std::fs::write(dir.path().join("token"), token).unwrap();
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(dir.path().join("token"))
        .arg("-data")
        .arg(dir.path().join("sig"))
        .arg("-CAfile")
        .arg(tsa_cert)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("Verification: OK")
}

/// `xmlsec1 --verify` with the certificate in KeyInfo (no chain); `id_attr` as
/// `Attr:element` for references by Id.
pub fn xmlsec_verify(xml: &str, id_attr: Option<&str>) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.xml");
    std::fs::write(&path, xml).unwrap();
    let mut cmd = Command::new("xmlsec1");
    cmd.args(["--verify", "--insecure", "--enabled-key-data", "x509"]);
    if let Some((attr, element)) = id_attr.and_then(|spec| spec.split_once(':')) {
        cmd.arg(format!("--id-attr:{attr}")).arg(element);
    }
    let out = cmd.arg(&path).output().expect("xmlsec1 (apt-get install xmlsec1)");
    out.status.success()
}

/// The GOST SignatureValue checked by Debian's GOST engine over SignedInfo as xmllint
/// canonicalizes it (an implementation independent of ours). SignedInfo is cut out with
/// the namespace declarations it inherits (the root's and the signature's), as
/// inclusive C14N renders them. `key_file`: the NCA GOST 2015-512 test file that signed
/// (password Qwerty12).
pub fn engine_checks_signed_info(xml: &str, key_file: &str) {
    use qoltanba::crypto::gost::GostCurve;
    let start = xml.find("<ds:SignedInfo>").unwrap();
    let end = xml.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
    let body = &xml[xml.find("?>").unwrap() + 2..];
    let root_tag = &body[..body.find('>').unwrap()];
    let inherited: String = root_tag
        .split_whitespace()
        .filter(|a| a.starts_with("xmlns"))
        .map(|a| format!(" {}", a.trim_end_matches('/')))
        .collect();
    let standalone = xml[start..end].replacen(
        "<ds:SignedInfo>",
        &format!("<ds:SignedInfo{inherited} xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("si.xml"), &standalone).unwrap();
    let canonical = std::process::Command::new("xmllint")
        .arg("--c14n")
        .arg(dir.path().join("si.xml"))
        .output()
        .expect("xmllint (apt-get install libxml2-utils)")
        .stdout;
    let sv_start = xml.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let sv_end = xml.find("</ds:SignatureValue>").unwrap();
    let signature = unb64(&xml[sv_start..sv_end].split_whitespace().collect::<String>());
    let key = &qoltanba::keys::load_key_file(&fixture(key_file), "Qwerty12").unwrap()[0];
    let public = qoltanba::crypto::verify::gost_public_octets(
        key.certificate().parsed().tbs_certificate().subject_public_key_info(),
    )
    .unwrap();
    assert!(engine_verifies(GostCurve::Tc26_512A, &public, &canonical, &signature), "engine rejected:\n{standalone}");
}

/// Run SIGEX's `ncalayer-js-client` end-to-end script `tests/js/e2e.js` in `mode`
/// against `daemon` over the real socket, and return its `results.json`.
pub fn sigex_e2e(daemon: &Daemon, mode: &str) -> Value {
    let out = tempfile::tempdir().unwrap();
    let url = format!("wss://127.0.0.1:{}", daemon.addr.port());
    let ca = daemon.ca_path();
    run_node(
        "e2e.js",
        &[mode.as_ref(), out.path().as_os_str()],
        &[("QOLTANBA_URL", url.as_ref()), ("NODE_EXTRA_CA_CERTS", ca.as_os_str())],
    );
    serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap()).unwrap()
}

/// SoftHSM2's module, where Debian installs it.
pub const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A SoftHSM token store of its own: a temp dir holding `softhsm2.conf` (pass it as
/// `SOFTHSM2_CONF`) and its `tokens/` directory. `None`, with `SKIPPED what`, where
/// softhsm2 or opensc is missing; never in CI (`CI=true`), where that fails the test.
pub fn softhsm_store(what: &str) -> Option<tempfile::TempDir> {
    let present = Path::new(SOFTHSM).exists()
        && Command::new("pkcs11-tool").arg("--version").output().is_ok()
        && Command::new("softhsm2-util").arg("--version").output().is_ok();
    if !present {
        let message = "softhsm2 and opensc are needed (apt-get install softhsm2 opensc)";
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "{message}: CI must run the token tests");
        eprintln!("SKIPPED {what}: {message}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display());
    std::fs::write(dir.path().join("softhsm2.conf"), conf).unwrap();
    Some(dir)
}
