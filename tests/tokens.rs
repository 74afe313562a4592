//! Hardware tokens through PKCS#11, with SoftHSM2 as the token (set up by the test in a
//! temp dir with its own configuration): the NCA RSA test key and certificate imported
//! with `pkcs11-tool`; `qoltanba tokens list` shows the token and the key's owner;
//! `getActiveTokens` over the real socket names the storage while the token is there and
//! not within 2 s of it going; a module that is not a library costs nothing but an error.
//!
//! Needs `softhsm2` and `opensc` (Debian); skipped with a message where missing, except
//! in CI (`CI=true`), where `.ci/run` installs them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::{Value, json};

const PIN: &str = "1234";
const LABEL: &str = "NCA test";

/// A SoftHSM token store of its own, with one token holding the NCA RSA test key.
struct Hsm {
    dir: tempfile::TempDir,
}

impl Hsm {
    fn start() -> Option<Self> {
        let hsm = Hsm { dir: softhsm_store("tests/tokens.rs")? };
        hsm.tool("softhsm2-util", &["--init-token", "--free", "--label", LABEL, "--pin", PIN, "--so-pin", "5678"]);
        // The key and certificate out of the NCA test file (RC2-40: OpenSSL's legacy provider).
        let pem = hsm.file("all.pem");
        let p12 = fixture("nca-test/keys/rsa_sign_individual.p12");
        hsm.tool(
            "openssl",
            &["pkcs12", "-legacy", "-nodes", "-passin", "pass:Qwerty12", "-in", &p12.to_string_lossy(), "-out", &pem],
        );
        let (key, cert) = (hsm.file("key.der"), hsm.file("cert.der"));
        hsm.tool("openssl", &["pkey", "-outform", "DER", "-in", &pem, "-out", &key]);
        hsm.tool("openssl", &["x509", "-outform", "DER", "-in", &pem, "-out", &cert]);
        for (file, kind) in [(&key, "privkey"), (&cert, "cert")] {
            let args = ["--module", SOFTHSM, "--token-label", LABEL, "--login", "--pin", PIN, "--write-object", file];
            hsm.tool("pkcs11-tool", &[&args[..], &["--type", kind, "--id", "01"]].concat());
        }
        Some(hsm)
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    fn tool(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program).args(args).env("SOFTHSM2_CONF", self.conf()).output().unwrap();
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn qoltanba(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_qoltanba")).args(args).env("SOFTHSM2_CONF", self.conf()).output().unwrap()
    }
}

#[test]
fn tokens_list_shows_the_token_and_the_keys_owner() {
    let Some(hsm) = Hsm::start() else { return };
    let module = format!("{SOFTHSM}=AKKaztokenStore");
    let out = hsm.qoltanba(&["tokens", "list", "--json", "--pkcs11-module", &module]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let module = &report["modules"][0];
    assert_eq!(module["storage"], "AKKaztokenStore");
    let slots = module["slots"].as_array().unwrap();
    let ours = slots.iter().find(|s| s["token"]["label"] == LABEL).expect("the token");
    assert_eq!(ours["token"]["pin_locked"], false);
    assert_eq!(ours["keys"][0]["id"], "01");
    assert_eq!(ours["keys"][0]["owner"], "ТЕСТОВ ТЕСТ");
    assert_eq!(ours["keys"][0]["iin"], "123456789011");
    // SoftHSM's spare slot has a blank token: no token to offer.
    assert!(slots.iter().filter(|s| !s["token"].is_null()).count() == 1, "{slots:?}");
    let text = hsm.qoltanba(&["tokens", "list", "--pkcs11-module", SOFTHSM]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("(PKCS11)") && text.contains("token \"NCA test\"") && text.contains("ТЕСТОВ ТЕСТ"), "{text}");
}

#[tokio::test]
async fn get_active_tokens_follows_the_token_and_survives_a_broken_module() {
    let Some(hsm) = Hsm::start() else { return };
    let not_a_library = hsm.dir.path().join("broken.so");
    std::fs::write(&not_a_library, b"not a library").unwrap();
    let modules = format!("{SOFTHSM}=AKKaztokenStore;{}", not_a_library.display());
    let conf = hsm.conf();
    let daemon = Daemon::start_with_env(
        &[],
        &[("SOFTHSM2_CONF", conf.to_str().unwrap()), ("QOLTANBA_PKCS11_MODULES", &modules)],
    );
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let ask = json!({"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"});
    assert_eq!(ws.request(&ask).await, json!({"code":"200","responseObject":["AKKaztokenStore"]}));
    // Unplugged: noticed within 2 s (the slot list is reused that long, so that pages
    // asking in a loop cost one question to the module).
    hsm.tool("softhsm2-util", &["--delete-token", "--token", LABEL]);
    let unplugged = std::time::Instant::now();
    while ws.request(&ask).await["responseObject"] != json!([]) {
        assert!(unplugged.elapsed() < std::time::Duration::from_millis(2500), "not noticed within 2 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = hsm.qoltanba(&["tokens", "list", "--pkcs11-module", &not_a_library.to_string_lossy()]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("could not be loaded"), "{text}");
}

/// A daemon whose headless answerer picks the SoftHSM token and types `pin`.
fn token_daemon(hsm: &Hsm, pin: &str) -> Daemon {
    let conf = hsm.conf();
    let module = format!("{SOFTHSM}=AKKaztokenStore");
    Daemon::start_with_env(
        &["--auto-key", "pkcs11:token=NCA%20test;id=%01", "--auto-password", pin, "--pkcs11-module", &module],
        &[("SOFTHSM2_CONF", conf.to_str().unwrap())],
    )
}

fn basics_sign(storages: Value, data: &str) -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":storages,"format":"cms","data":b64(data.as_bytes()),
        "signingParams":{"decode":true,"encapsulate":true,"allowExpired":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"ru"}})
}

#[tokio::test]
async fn basics_and_common_utils_sign_with_the_token_and_openssl_verifies() {
    let Some(hsm) = Hsm::start() else { return };
    let daemon = token_daemon(&hsm, PIN);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let ca = fixture("nca-test/ca/nca_rsa_test.crt");
    // basics, only the token's storage allowed.
    let reply = ws.request(&basics_sign(json!(["AKKaztokenStore"]), "token document")).await;
    assert_eq!(reply["status"], true, "{reply}");
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap());
    assert_eq!(openssl_attached_content(&cms), b"token document");
    let verdict = openssl_verify(&cms, None, Some((&ca, RSA_KEY_VALID_AT)));
    assert!(verdict.ok, "{}", verdict.output);
    // commonUtils with the token's storage name, and its key info.
    let reply = ws
        .request(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64","args":["AKKaztokenStore","SIGNATURE","MTEK",true]}))
        .await;
    assert_eq!(reply["code"], "200", "{reply}");
    let cms = unb64(reply["responseObject"].as_str().unwrap());
    assert!(openssl_verify(&cms, None, Some((&ca, RSA_KEY_VALID_AT))).ok);
    let info = ws
        .request(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["AKKaztokenStore"]}))
        .await;
    assert_eq!(info["responseObject"]["subjectCn"], "ТЕСТОВ ТЕСТ", "{info}");
    // A large document: the token only ever gets a fixed-size DigestInfo, and the
    // helper's answers stay in step with the questions afterwards.
    let big = "я".repeat(60_000);
    let reply = ws.request(&basics_sign(json!(["AKKaztokenStore"]), &big)).await;
    assert_eq!(reply["status"], true, "{reply}");
    let ask = json!({"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"});
    assert_eq!(ws.request(&ask).await["responseObject"], json!(["AKKaztokenStore"]));
    // The legacy API's slot list, and its answer for a storage with nothing plugged in.
    let slots = ws.request(&json!({"method":"loadSlotList","args":["AKKaztokenStore"]})).await;
    assert_eq!(slots, json!({"result":"AKKaztokenStore 1","errorCode":"NONE"}), "no label leaves the computer");
    let none = ws.request(&json!({"method":"loadSlotList","args":["AKJaCartaStore"]})).await;
    assert_eq!(none["errorCode"], "EMPTY_SLOT", "{none}");
    // A storage with no token plugged in: as NCALayer says.
    let empty = ws
        .request(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["AKJaCartaStore"]}))
        .await;
    assert_eq!(empty["message"], "storage.empty", "{empty}");
    // A site the person denied learns nothing of the token; other sites as before.
    let denied = std::process::Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["sites", "deny", "https://evil.example", "--data-dir"])
        .arg(&daemon.data_dir)
        .output()
        .unwrap();
    assert!(denied.status.success(), "{denied:?}");
    let mut evil = daemon.connect(Some("https://evil.example")).await;
    assert_eq!(evil.request(&ask).await["responseObject"], json!([]));
    let slots = evil.request(&json!({"method":"loadSlotList","args":["AKKaztokenStore"]})).await;
    assert_eq!(slots["errorCode"], "EMPTY_SLOT", "{slots}");
    assert_eq!(ws.request(&ask).await["responseObject"], json!(["AKKaztokenStore"]));
}

#[tokio::test]
async fn a_wrong_pin_is_refused_after_three_tries_and_never_signs() {
    let Some(hsm) = Hsm::start() else { return };
    let daemon = token_daemon(&hsm, "0000");
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let reply = ws.request(&basics_sign(json!(["AKKaztokenStore"]), "x")).await;
    assert_eq!(reply["status"], false, "a wrong PIN never signs: {reply}");
    assert!(reply["details"].as_str().unwrap().contains("PIN-код токена"), "{reply}");
    // The daemon goes on: the right PIN from another answerer signs (SoftHSM keeps no
    // PIN counter: tests/gost_token.rs shows locking with the test module).
    drop(ws);
    let daemon = token_daemon(&hsm, PIN);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    assert_eq!(ws.request(&basics_sign(json!(["AKKaztokenStore", "PKCS12"]), "y")).await["status"], true);
}

#[test]
fn change_pin_changes_it_and_refuses_a_factory_pin() {
    let Some(hsm) = Hsm::start() else { return };
    // A home of its own: no settings.json choosing a language.
    let home = tempfile::tempdir().unwrap();
    let change_in = |lc_all: &str, input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["tokens", "change-pin", "--pin-stdin", "--token", LABEL, "--pkcs11-module", SOFTHSM])
            .env("SOFTHSM2_CONF", hsm.conf())
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env("LC_ALL", lc_all)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let change = |input: &str| change_in("C.UTF-8", input);
    let (ok, text) = change("1234\n12345678\n12345678\n");
    assert!(!ok && text.contains("factory PIN"), "{text}");
    let (ok, text) = change("1234\n24681\n24681\n");
    assert!(!ok && text.contains("at least 6 characters"), "{text}");
    let (ok, text) = change("9999\n246813\n246813\n");
    assert!(!ok && text.contains("Wrong PIN"), "{text}");
    // In the person's language.
    let (ok, text) = change_in("ru_RU.UTF-8", "9999\n246813\n246813\n");
    assert!(!ok && text.contains("Неверный PIN"), "{text}");
    let (ok, text) = change_in("kk_KZ.UTF-8", "1234\n246813\n246814\n");
    assert!(!ok && text.contains("сәйкес келмейді"), "{text}");
    let (ok, text) = change("1234\n246813\n246813\n");
    assert!(ok && text.contains("was changed"), "{text}");
    // The new PIN opens the token; the old one no longer does.
    let probe = |pin: &str| {
        Command::new("pkcs11-tool")
            .args(["--module", SOFTHSM, "--token-label", LABEL, "--login", "--pin", pin, "--list-objects"])
            .env("SOFTHSM2_CONF", hsm.conf())
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(probe("246813") && !probe("1234"));
}

/// SIGEX's `ncalayer-js-client` (npm) with the client's own hardware storage presets.
#[test]
fn the_sigex_client_signs_with_token_storages() {
    let Some(hsm) = Hsm::start() else { return };
    let results = sigex_e2e(&token_daemon(&hsm, PIN), "token");
    assert_eq!(results["activeTokens"], json!(["AKKaztokenStore"]));
    let nca = fixture("nca-test/ca/nca_rsa_test.crt");
    let chain = Some((nca.as_path(), RSA_KEY_VALID_AT));
    let pem = results["basicsSignCMSKaztoken"].as_str().expect("one PEM string");
    let verdict = openssl_verify(&cms_pem_to_der(pem), Some(b"11\n"), chain);
    assert!(verdict.ok, "{}", verdict.output);
    let batch = results["basicsSignCMSHardware"].as_array().expect("an array for a batch");
    for (pem, content) in batch.iter().zip([b"11\n", b"12\n"]) {
        assert!(openssl_verify(&cms_pem_to_der(pem.as_str().unwrap()), Some(content), chain).ok);
    }
    assert_eq!(results["keyInfo"]["subjectCn"], "ТЕСТОВ ТЕСТ");
}

#[test]
fn the_doctor_lists_the_modules_tokens() {
    let Some(hsm) = Hsm::start() else { return };
    let data = tempfile::tempdir().unwrap();
    let module = format!("{SOFTHSM}=AKKaztokenStore");
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["doctor", "--json", "--offline", "--port", "9", "--pkcs11-module", &module, "--data-dir"])
        .arg(data.path())
        .env("SOFTHSM2_CONF", hsm.conf())
        .env("HOME", data.path())
        .env("LANG", "en_US.UTF-8")
        .env_remove("LC_ALL")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let tokens: Vec<&Value> = report["checks"].as_array().unwrap().iter().filter(|c| c["id"] == "tokens").collect();
    assert_eq!(tokens.len(), 1, "{report}");
    assert_eq!(tokens[0]["level"], "ok");
    assert!(tokens[0]["text"].as_str().unwrap().contains("1 token(s) plugged in"), "{}", tokens[0]);
    assert_eq!(tokens[0]["details"][0], "Token \"NCA test\" is ready.");
}

#[tokio::test]
async fn xmldsig_from_the_token_verifies_with_xmlsec1() {
    let Some(hsm) = Hsm::start() else { return };
    let daemon = token_daemon(&hsm, PIN);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let request = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":["AKKaztokenStore"],"format":"xml","data":"<doc><iin>123456789011</iin></doc>",
        "signingParams":{"allowExpired":true},"signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"en"}});
    let reply = ws.request(&request).await;
    assert_eq!(reply["status"], true, "{reply}");
    let xml = reply["body"]["result"][0].as_str().unwrap();
    assert!(xml.contains("<ds:Signature") || xml.contains("<Signature"), "{xml}");
    assert!(xmlsec_verify(xml, None), "xmlsec1 refused:\n{xml}");
}

/// The token pulled out while the person is being asked: the request fails with the
/// reason, nothing is signed, and the daemon goes on.
#[tokio::test]
async fn a_token_removed_mid_request_fails_it_cleanly() {
    let Some(hsm) = Hsm::start() else { return };
    let conf = hsm.conf();
    let module = format!("{SOFTHSM}=AKKaztokenStore");
    let daemon = Daemon::start_with_env(
        &["--auto-key", "pkcs11:token=NCA%20test", "--auto-password", PIN, "--pkcs11-module", &module],
        &[("SOFTHSM2_CONF", conf.to_str().unwrap()), ("QOLTANBA_AUTO_DELAY_MS", "1500")],
    );
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    ws.send_text(&basics_sign(json!(["AKKaztokenStore"]), "x").to_string()).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    hsm.tool("softhsm2-util", &["--delete-token", "--token", LABEL]);
    let reply: Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["status"], false, "{reply}");
    assert!(reply["details"].as_str().unwrap_or_default().contains("taken out"), "{reply}");
    let ask = json!({"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"});
    assert_eq!(ws.request(&ask).await["code"], "200");
}

/// An ECDSA P-256 key on the token (NCA RK issues none; foreign tokens carry them):
/// `CKM_ECDSA` over qoltanba's SHA-256, the `r ‖ s` answer turned into DER for CMS and
/// kept as `r ‖ s` for XMLDSig; `openssl cms -verify` and `xmlsec1` accept both.
#[tokio::test]
async fn an_ecdsa_key_on_the_token_signs_cms_and_xml() {
    let Some(hsm) = Hsm::start() else { return };
    let (key, cert) = (hsm.file("ec.pem"), hsm.file("ec.crt"));
    hsm.tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "30",
            "-subj",
            "/CN=EC TOKEN/serialNumber=IIN123456789011",
        ],
    );
    let (key_der, cert_der) = (hsm.file("ec.key.der"), hsm.file("ec.crt.der"));
    hsm.tool("openssl", &["pkey", "-outform", "DER", "-in", &key, "-out", &key_der]);
    hsm.tool("openssl", &["x509", "-outform", "DER", "-in", &cert, "-out", &cert_der]);
    for (file, kind) in [(&key_der, "privkey"), (&cert_der, "cert")] {
        let args = ["--module", SOFTHSM, "--token-label", LABEL, "--login", "--pin", PIN, "--write-object", file];
        hsm.tool("pkcs11-tool", &[&args[..], &["--type", kind, "--id", "02"]].concat());
    }
    let conf = hsm.conf();
    let module = format!("{SOFTHSM}=AKKaztokenStore");
    let daemon = Daemon::start_with_env(
        &["--auto-key", "pkcs11:token=NCA%20test;id=%02", "--auto-password", PIN, "--pkcs11-module", &module],
        &[("SOFTHSM2_CONF", conf.to_str().unwrap())],
    );
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    let reply = ws.request(&basics_sign(json!(["AKKaztokenStore"]), "ecdsa document")).await;
    assert_eq!(reply["status"], true, "{reply}");
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let verdict = openssl_verify(&cms, None, Some((Path::new(&cert), now)));
    assert!(verdict.ok, "{}", verdict.output);
    assert_eq!(openssl_attached_content(&cms), b"ecdsa document");
    use der::Decode;
    let ci = cms::content_info::ContentInfo::from_der(&cms).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    let algorithm = &sd.signer_infos.0.iter().next().unwrap().signature_algorithm;
    assert_eq!(algorithm.oid.to_string(), "1.2.840.10045.4.3.2");
    assert!(algorithm.parameters.is_none(), "ecdsa-with-SHA256 carries no parameters (RFC 5758)");
    let info = ws
        .request(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getKeyInfo","args":["AKKaztokenStore"]}))
        .await;
    assert_eq!(info["responseObject"]["algorithm"], "EC", "{info}");
    let request = json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":["AKKaztokenStore"],"format":"xml","data":"<doc><iin>123456789011</iin></doc>",
        "signingParams":{},"signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"en"}});
    let reply = ws.request(&request).await;
    assert_eq!(reply["status"], true, "{reply}");
    let xml = reply["body"]["result"][0].as_str().unwrap();
    assert!(xml.contains("xmldsig-more#ecdsa-sha256"), "{xml}");
    assert!(xmlsec_verify(xml, None), "xmlsec1 refused:\n{xml}");
}
