//! GOST on a token, end to end. No free token emulator signs GOST 34.10-2015, so the
//! token is this repository's test-only PKCS#11 module (`examples/test_token.rs`, a
//! `cdylib` serving `CKM_GOSTR3410` and TC26's Streebog mechanisms with NCA GOST test
//! keys), loaded by qoltanba's helper process through `cryptoki` like any vendor
//! library. Every signature is checked by Debian's GOST engine, never by our own code.
//! The module also keeps the PIN counter SoftHSM lacks: the retries shown and a locked
//! token explained.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use der::{Decode, Encode};
use qoltanba::crypto::gost::GostCurve;
use qoltanba::crypto::verify::gost_public_octets;
use serde_json::{Value, json};

const PIN: &str = "482916";
const STORAGE: &str = "AKKZIDCardStore";
const URI: &str = "pkcs11:token=GOST%20test%20token;id=%01";
const TC26_256: &str = "d4321008";
const TC26_512: &str = "d4321009";
const RAW: &str = "1201";

/// The test module, built beside this test binary (`cargo test` does not build `cdylib`
/// examples: brought up to date here, once per run).
fn module() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_module).clone()
}

fn build_module() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let library = profile.join("examples").join(format!(
        "{}test_token{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "--quiet", "--example", "test_token"]).current_dir(env!("CARGO_MANIFEST_DIR"));
    // Cargo gives tests the package's variables (CARGO_PKG_NAME...); build scripts that
    // watch them (ring's) would otherwise rebuild half the tree for this call.
    let kept = ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_BUILD_", "CARGO_PROFILE_", "CARGO_INCREMENTAL", "CARGO_TERM_"];
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && !kept.iter().any(|k| name.starts_with(k)) {
            cargo.env_remove(&*name);
        }
    }
    if profile.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    assert!(cargo.status().unwrap().success(), "cargo build --example test_token");
    library
}

/// One token: a directory the module reads at every call.
struct Token {
    dir: tempfile::TempDir,
}

impl Token {
    /// A token holding the key of the NCA test file `key`, offering `mechanisms` (hex,
    /// comma-separated; `None`: all).
    fn new(key: &str, password: &str, mechanisms: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture(key), dir.path().join("key.p12")).unwrap();
        std::fs::write(dir.path().join("key.password"), password).unwrap();
        std::fs::write(dir.path().join("pin"), PIN).unwrap();
        if let Some(list) = mechanisms {
            std::fs::write(dir.path().join("mechanisms"), list).unwrap();
        }
        Token { dir }
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn tries(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tries")).unwrap_or_else(|_| "3".into())
    }

    /// A daemon whose headless answerer picks this token's key and types `pin`.
    fn daemon(&self, pin: &str) -> Daemon {
        let module = format!("{}={STORAGE}", module().display());
        Daemon::start_with_env(
            &["--auto-key", URI, "--auto-password", pin, "--pkcs11-module", &module],
            &[("QOLTANBA_TEST_TOKEN", self.path())],
        )
    }

    fn tokens_list(&self) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["tokens", "list", "--json", "--pkcs11-module", &module().to_string_lossy()])
            .env("QOLTANBA_TEST_TOKEN", self.path())
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    }
}

fn basics_sign(data: &[u8]) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":[STORAGE],"format":"cms","data":b64(data),
        "signingParams":{"decode":true,"encapsulate":true,"allowExpired":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"ru"}})
}

/// The CMS `reply` carries: its signature over DER(signed attributes) must pass Debian's
/// GOST engine with the certificate's key, and its messageDigest be the content's hash.
fn engine_accepts_cms(reply: &Value, curve: GostCurve, content: &[u8]) {
    let pem = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}"));
    let ci = cms::content_info::ContentInfo::from_der(&cms_pem_to_der(pem)).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    let si = sd.signer_infos.0.iter().next().unwrap();
    assert_eq!(si.signature.as_bytes().len(), 2 * curve.size());
    let attrs = si.signed_attrs.as_ref().unwrap();
    let digest_attr = attrs.iter().find(|a| a.oid.to_string() == "1.2.840.113549.1.9.4").unwrap();
    let md = der::asn1::OctetString::from_der(&digest_attr.values.iter().next().unwrap().to_der().unwrap()).unwrap();
    let hasher = qoltanba::crypto::Hasher::for_oid(&sd.digest_algorithms.iter().next().unwrap().oid).unwrap();
    assert_eq!(md.as_bytes(), hasher.digest(content).as_slice());
    let cert = match sd.certificates.as_ref().unwrap().0.iter().next().unwrap() {
        cms::cert::CertificateChoices::Certificate(c) => c.clone(),
        _ => panic!("certificate expected"),
    };
    let public = gost_public_octets(cert.tbs_certificate().subject_public_key_info()).unwrap();
    let signed = attrs.to_der().unwrap();
    assert!(engine_verifies(curve, &public, &signed, si.signature.as_bytes()), "the GOST engine refused");
    let mut other = signed.clone();
    other[7] ^= 1;
    assert!(!engine_verifies(curve, &public, &other, si.signature.as_bytes()));
}

/// The module is a real GOST token by an independent client: OpenSC's `pkcs11-tool`
/// signs with TC26's mechanism over the data, and with `CKM_GOSTR3410_512` over a
/// Streebog-512 hash the GOST engine made; the engine accepts both signatures.
#[test]
fn the_test_module_signs_for_pkcs11_tool_as_the_gost_engine_expects() {
    if !opensc_present() {
        return;
    }
    let token = Token::new("nca-test/keys2026/legal_head.p12", "Qwerty12", None);
    let dir = tempfile::tempdir().unwrap();
    let (data, digest) = (dir.path().join("data"), dir.path().join("digest"));
    let message = b"signed by pkcs11-tool";
    std::fs::write(&data, message).unwrap();
    let hashed = Command::new("openssl")
        .args(["dgst", "-engine", "gost", "-md_gost12_512", "-binary", "-out"])
        .arg(&digest)
        .arg(&data)
        .output()
        .unwrap();
    assert!(hashed.status.success(), "{}", String::from_utf8_lossy(&hashed.stderr));
    let keys = qoltanba::keys::load_key_file(&fixture("nca-test/keys2026/legal_head.p12"), "Qwerty12").unwrap();
    let spki = keys[0].certificate().parsed().tbs_certificate().subject_public_key_info().clone();
    let public = gost_public_octets(&spki).unwrap();
    for (mechanism, input) in [("0xD4321009", &data), ("0xD4321006", &digest)] {
        let signature = dir.path().join(format!("sig{mechanism}"));
        let out = Command::new("pkcs11-tool")
            .args(["--module", &module().to_string_lossy(), "--login", "--pin", PIN, "--sign", "-m", mechanism])
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(&signature)
            .env("QOLTANBA_TEST_TOKEN", token.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{mechanism}: {}", String::from_utf8_lossy(&out.stderr));
        let mut kalkan = std::fs::read(&signature).unwrap();
        assert_eq!(kalkan.len(), 128);
        kalkan.reverse();
        assert!(engine_verifies(GostCurve::Tc26_512A, &public, message, &kalkan), "{mechanism}");
    }
}

fn opensc_present() -> bool {
    let present = Command::new("pkcs11-tool").arg("--version").output().is_ok();
    if !present {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "opensc is needed: CI must run this test");
        eprintln!("SKIPPED: apt-get install opensc");
    }
    present
}

/// basics `sign` over the real socket with a GOST key on the token: over qoltanba's hash
/// (TC26's `CKM_GOSTR3410_512` for GOST 34.10-2015 512, `CKM_GOSTR3410` for GOST
/// 34.310-2004), and through TC26's mechanism where the token hashes; each CMS passes
/// the GOST engine.
#[tokio::test]
async fn gost_cms_from_the_token_passes_the_gost_engine_by_every_mechanism() {
    for (key, curve, mechanisms) in [
        ("nca-test/keys2026/legal_head.p12", GostCurve::Tc26_512A, None),
        ("nca-test/keys2026/individual.p12", GostCurve::Tc26_512A, Some(TC26_512)),
        ("nca-test/keys/gost2004_ceo.p12", GostCurve::CryptoProA, Some(RAW)),
    ] {
        let token = Token::new(key, "Qwerty12", mechanisms);
        let daemon = token.daemon(PIN);
        let mut ws = daemon.connect(Some("https://egov.kz")).await;
        let content = format!("токен {key} {mechanisms:?}");
        let reply = ws.request(&basics_sign(content.as_bytes())).await;
        assert_eq!(reply["status"], true, "{key} {mechanisms:?}: {reply}");
        engine_accepts_cms(&reply, curve, content.as_bytes());
        let info =
            ws.request(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":[STORAGE]})).await;
        assert_eq!(info["code"], "200", "{info}");
        let expected = if curve == GostCurve::CryptoProA { "ECGOST34310" } else { "ECGOST3410-2015" };
        assert_eq!(info["responseObject"]["algorithm"], expected);
    }
}

/// A token that offers no mechanism for its key's size: a clear error, nothing signed.
#[tokio::test]
async fn a_token_without_a_mechanism_for_its_key_says_so() {
    // CKM_GOSTR3410 is for 256-bit keys: a 512-bit key on a token offering only the
    // 256-bit mechanisms cannot sign.
    let token = Token::new("nca-test/keys2026/legal_head.p12", "Qwerty12", Some(&format!("{RAW},{TC26_256}")));
    let daemon = token.daemon(PIN);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let reply = ws.request(&basics_sign(b"x")).await;
    assert_eq!(reply["status"], false, "{reply}");
    let details = reply["details"].as_str().unwrap_or_default().to_owned() + reply["message"].as_str().unwrap_or("");
    assert!(details.contains("не предлагает способа подписать") && details.contains("ECGOST3410-2015"), "{reply}");
}

/// The token's own PIN counter: a wrong PIN costs one try (and is never sent again),
/// the last try is announced, the locking PIN is explained, and a locked token is
/// never sent a PIN again, not even the right one.
#[tokio::test]
async fn the_pin_counter_is_respected_and_a_locked_token_explained() {
    let token = Token::new("nca-test/keys2026/legal_head.p12", "Qwerty12", None);
    let daemon = token.daemon("000000");
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let reply = ws.request(&basics_sign(b"x")).await;
    assert_eq!(reply["status"], false);
    assert!(reply["details"].as_str().unwrap().contains("Неверный PIN-код токена"), "{reply}");
    assert_eq!(token.tries(), "2", "one wrong PIN, one try");
    let slot = |list: &Value| list["modules"][0]["slots"][0]["token"].clone();
    assert_eq!(slot(&token.tokens_list())["pin_count_low"], true);

    std::fs::write(token.dir.path().join("tries"), "1").unwrap();
    assert_eq!(slot(&token.tokens_list())["pin_final_try"], true);
    // The same wrong PIN again from this daemon: refused without reaching the token.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let reply = ws.request(&basics_sign(b"x")).await;
    assert_eq!(reply["status"], false);
    assert_eq!(token.tries(), "1", "a PIN refused before is not sent again");
    drop(ws);

    let daemon = token.daemon("111111");
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let reply = ws.request(&basics_sign(b"x")).await;
    assert!(reply["details"].as_str().unwrap().contains("PIN-код токена заблокирован"), "{reply}");
    assert_eq!(token.tries(), "0");
    assert_eq!(slot(&token.tokens_list())["pin_locked"], true);
    drop(ws);

    let daemon = token.daemon(PIN);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let reply = ws.request(&basics_sign(b"x")).await;
    assert_eq!(reply["status"], false, "a locked token never signs");
    assert!(reply["details"].as_str().unwrap().contains("заблокирован"), "{reply}");
    assert_eq!(token.tries(), "0");
    assert!(!std::fs::read_to_string(token.dir.path().join("pin")).unwrap().is_empty());
}

/// XMLDSig from the GOST token: SignedInfo as xmllint canonicalizes it, signed by the
/// token, passes the GOST engine.
#[tokio::test]
async fn xmldsig_from_the_gost_token_passes_the_gost_engine() {
    let key = "nca-test/keys2026/legal_head.p12";
    let token = Token::new(key, "Qwerty12", None);
    let daemon = token.daemon(PIN);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let request = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":[STORAGE],"format":"xml","data":"<doc><bin>123456789021</bin></doc>",
        "signingParams":{},"signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"kk"}});
    let reply = ws.request(&request).await;
    assert_eq!(reply["status"], true, "{reply}");
    engine_checks_signed_info(reply["body"]["result"][0].as_str().unwrap(), key);
}

/// SIGEX's `ncalayer-js-client` over the real socket: its hardware-storage preset
/// reaches the GOST token, and the CMS passes the GOST engine.
#[test]
fn the_sigex_client_signs_with_a_gost_token() {
    let token = Token::new("nca-test/keys2026/legal_head.p12", "Qwerty12", None);
    let results = sigex_e2e(&token.daemon(PIN), "gost-token");
    assert_eq!(results["activeTokens"], json!([STORAGE]));
    let pem = results["basicsSignCMSIdCard"].as_str().expect("one PEM string");
    engine_accepts_cms(&json!({"body":{"result":[pem]}}), GostCurve::Tc26_512A, b"11\n");
}

/// `tokens change-pin` against the token's own counter: a wrong current PIN with two
/// tries left says one is left; the next locks it, and then even the right PIN is
/// refused as locked; with a fresh counter the PIN changes and opens the token.
#[test]
fn change_pin_follows_the_tokens_counter() {
    let token = Token::new("nca-test/keys2026/legal_head.p12", "Qwerty12", None);
    let home = tempfile::tempdir().unwrap();
    let change = |input: &str| {
        use std::io::Write;
        let module = module();
        let mut child = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["tokens", "change-pin", "--pin-stdin", "--pkcs11-module", &module.to_string_lossy()])
            .env("QOLTANBA_TEST_TOKEN", token.path())
            .env("HOME", home.path())
            .env("LC_ALL", "en_US.UTF-8")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    std::fs::write(token.dir.path().join("tries"), "2").unwrap();
    let (ok, text) = change("000000\n735291\n735291\n");
    assert!(!ok && text.contains("ONE try is left"), "{text}");
    let (ok, text) = change("111111\n735291\n735291\n");
    assert!(!ok && text.contains("locked"), "{text}");
    let (ok, text) = change(&format!("{PIN}\n735291\n735291\n"));
    assert!(!ok && text.contains("locked"), "the right PIN cannot open a locked token: {text}");
    assert_eq!(std::fs::read_to_string(token.dir.path().join("pin")).unwrap(), PIN);
    // Unblocked (as with the PUK): the change goes through.
    std::fs::write(token.dir.path().join("tries"), "3").unwrap();
    let (ok, text) = change(&format!("{PIN}\n735291\n735291\n"));
    assert!(ok && text.contains("was changed"), "{text}");
    assert_eq!(std::fs::read_to_string(token.dir.path().join("pin")).unwrap(), "735291");
}
