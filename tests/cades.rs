//! CAdES beyond BES: timestamps from a real RFC 3161 TSA (`openssl ts -reply` on
//! loopback), co-signing, signing local files, and `qoltanba verify cms`.

mod common;

use std::process::Command;

use common::*;
use serde_json::{Value, json};

const COMMON: &str = "kz.gov.pki.knca.commonUtils";

fn rsa_chain() -> Option<(std::path::PathBuf, i64)> {
    Some((fixture("nca-test/ca/nca_rsa_test.crt"), RSA_KEY_VALID_AT))
}

fn headless_with(extra: &[&str]) -> Daemon {
    let key = fixture(RSA_KEY);
    let mut args = vec!["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD];
    args.extend_from_slice(extra);
    Daemon::start(&args)
}

async fn common_call(ws: &mut Ws, method: &str, args: Value) -> Value {
    ws.request(&json!({"module":COMMON,"method":method,"args":args})).await
}

#[tokio::test]
async fn c9_c10_b6_timestamps_from_a_real_tsa() {
    let tsa = Tsa::start();
    let daemon = headless_with(&["--tsa-url", &tsa.url()]);
    let mut ws = daemon.connect(None).await;
    let (ca, at) = rsa_chain().unwrap();

    // C9: createCMSSignatureFromBase64 is always timestamped.
    let reply =
        common_call(&mut ws, "createCMSSignatureFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", false])).await;
    let cms = unb64(reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}")));
    assert!(openssl_verify(&cms, Some(b"11\n"), Some((&ca, at))).ok);
    let signers = signer_tokens(&cms);
    let (signature, token) = &signers[0];
    assert!(openssl_ts_verify(signature, token.as_ref().expect("a token"), &tsa.cert()), "openssl ts -verify");

    // C10: applyCAdEST on a BES signature keeps the signature and adds the token.
    let bes = common_call(&mut ws, "createCAdESFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", false])).await;
    let bes = bes["responseObject"].as_str().unwrap().to_owned();
    let stamped = common_call(&mut ws, "applyCAdEST", json!(["PKCS12", "SIGNATURE", bes])).await;
    let stamped = unb64(stamped["responseObject"].as_str().unwrap());
    let before = signer_tokens(&unb64(&bes));
    let after = signer_tokens(&stamped);
    assert_eq!(before[0].0, after[0].0, "signature bytes unchanged");
    assert!(before[0].1.is_none());
    assert!(openssl_ts_verify(&after[0].0, after[0].1.as_ref().unwrap(), &tsa.cert()));
    assert!(openssl_verify(&stamped, Some(b"11\n"), Some((&ca, at))).ok);

    // B6: basics tsaProfile {} stamps, null does not.
    for (profile, expect_token) in [(json!({}), true), (Value::Null, false)] {
        let reply = ws
            .request(&json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":"MTEK",
                "signingParams":{"decode":true,"encapsulate":false,"tsaProfile":profile,"allowExpired":true},
                "signerParams":{"extKeyUsageOids":[],"chain":[]}}}))
            .await;
        let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}")));
        let signers = signer_tokens(&cms);
        assert_eq!(signers[0].1.is_some(), expect_token);
        if let Some(token) = &signers[0].1 {
            assert!(openssl_ts_verify(&signers[0].0, token, &tsa.cert()));
        }
    }
}

#[tokio::test]
async fn an_unreachable_tsa_is_an_error_never_an_unstamped_signature() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/");
    let daemon = headless_with(&["--tsa-url", &url]);
    let mut ws = daemon.connect(None).await;
    let started = std::time::Instant::now();
    let reply =
        common_call(&mut ws, "createCMSSignatureFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", false])).await;
    assert_eq!(reply["code"], "500");
    let message = reply["message"].as_str().unwrap();
    assert!(message.starts_with("Не удалось получить метку времени"), "in the user's language: {message}");
    assert!(message.contains("cannot be reached"), "with the technical reason: {message}");
    common_call(&mut ws, "changeLocale", json!(["kk"])).await;
    let reply =
        common_call(&mut ws, "createCMSSignatureFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", false])).await;
    assert!(reply["message"].as_str().unwrap().starts_with("Уақыт белгісін алу мүмкін болмады"), "{reply}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let reply = ws
        .request(&json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":"MTEK",
            "signingParams":{"decode":true,"tsaProfile":{},"allowExpired":true},"signerParams":{"extKeyUsageOids":[],"chain":[]}}}))
        .await;
    assert_eq!(reply["status"], false);
    assert_eq!(reply["code"], "SIGNING_FAILURE");
}

#[tokio::test]
async fn c7_co_signing_adds_a_signer_and_keeps_the_first() {
    let rsa = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let gost = Daemon::headless("nca-test/keys2026/legal_head.p12", "Qwerty12", "confirm");
    let (ca, at) = rsa_chain().unwrap();
    let mut ws = rsa.connect(None).await;
    // Detached: co-signed with the same key type (the messageDigest is reused).
    let first = common_call(&mut ws, "createCAdESFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", false])).await;
    let first = first["responseObject"].as_str().unwrap().to_owned();
    let second = common_call(&mut ws, "createCAdESFromBase64", json!(["PKCS12", "SIGNATURE", first, false])).await;
    let cms = unb64(second["responseObject"].as_str().unwrap_or_else(|| panic!("{second}")));
    assert_eq!(signer_tokens(&cms).len(), 2);
    assert!(openssl_verify(&cms, Some(b"11\n"), Some((&ca, at))).ok, "openssl checks every signer");

    // Attached RSA, co-signed by a GOST key: a mixed CMS our verifier accepts signer by signer.
    let attached = common_call(&mut ws, "createCAdESFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", true])).await;
    let attached = attached["responseObject"].as_str().unwrap().to_owned();
    let mut ws = gost.connect(None).await;
    let mixed = common_call(&mut ws, "createCAdESFromBase64", json!(["PKCS12", "SIGNATURE", attached, true])).await;
    let mixed = unb64(mixed["responseObject"].as_str().unwrap_or_else(|| panic!("{mixed}")));
    let report = qoltanba::cms::verify::verify_cms(&mixed, None).unwrap();
    assert_eq!(report.signers.len(), 2);
    assert!(report.is_valid(), "{report:?}");
    let algorithms: Vec<&str> = report.signers.iter().map(|s| s.algorithm.as_str()).collect();
    assert!(algorithms.contains(&"1.2.840.113549.1.1.11") && algorithms.contains(&"1.2.398.3.10.1.1.2.3.2"));
    // Detached co-signing across hash algorithms cannot reuse a digest: a clear error.
    let detached = common_call(&mut ws, "createCAdESFromBase64", json!(["PKCS12", "SIGNATURE", first, false])).await;
    assert_eq!(detached["code"], "500");
}

#[tokio::test]
async fn c15_c16_files_chosen_named_missing_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let document = dir.path().join("договор.pdf");
    std::fs::write(&document, b"%PDF-1.4 a contract").unwrap();
    let daemon = headless_with(&["--auto-file", document.to_str().unwrap()]);
    let mut ws = daemon.connect(Some("https://site.kz")).await;
    // C15: our chooser returns the absolute path.
    let chosen = common_call(&mut ws, "showFileChooser", json!(["ALL", ""])).await;
    assert_eq!(chosen, json!({"code":"200","responseObject":document.to_str().unwrap()}));
    let signed =
        common_call(&mut ws, "createCAdESFromFile", json!(["PKCS12", "SIGNATURE", document.to_str().unwrap(), false]))
            .await;
    let cms = unb64(signed["responseObject"].as_str().unwrap_or_else(|| panic!("{signed}")));
    assert!(
        openssl_verify(&cms, Some(b"%PDF-1.4 a contract"), rsa_chain().as_ref().map(|(p, t)| (p.as_path(), *t))).ok
    );
    let attached =
        common_call(&mut ws, "createCAdESFromFile", json!(["PKCS12", "SIGNATURE", document.to_str().unwrap(), true]))
            .await;
    assert_eq!(openssl_attached_content(&unb64(attached["responseObject"].as_str().unwrap())), b"%PDF-1.4 a contract");
    // C16: a missing file.
    let missing =
        common_call(&mut ws, "createCAdESFromFile", json!(["PKCS12", "SIGNATURE", "/no/such/file", false])).await;
    assert_eq!(missing, json!({"code":"500","message":"file.not_found"}));

    // A file the page names but the user did not pick needs the user's approval: refused here.
    let refusing = Daemon::headless(RSA_KEY, PASSWORD, "cancel");
    let mut ws = refusing.connect(Some("https://evil.example")).await;
    let reply =
        common_call(&mut ws, "createCAdESFromFile", json!(["PKCS12", "SIGNATURE", document.to_str().unwrap(), false]))
            .await;
    assert_eq!(reply, json!({"code":"500","message":"action.canceled"}));
    let reply = common_call(&mut ws, "showFileChooser", json!(["ALL", ""])).await;
    assert_eq!(reply, json!({"code":"500","message":"action.canceled"}));
    let relative =
        common_call(&mut ws, "createCAdESFromFile", json!(["PKCS12", "SIGNATURE", "relative.txt", false])).await;
    assert_eq!(relative, json!({"code":"500","message":"file.not_found"}));
}

fn verify_cli(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["verify", "cms"])
        .args(args)
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn verify_cms_command_reports_each_signer() {
    let tsa = Tsa::start();
    let daemon = headless_with(&["--tsa-url", &tsa.url()]);
    let mut ws = daemon.connect(None).await;
    let reply =
        common_call(&mut ws, "createCMSSignatureFromBase64", json!(["PKCS12", "SIGNATURE", "MTEK", false])).await;
    let dir = tempfile::tempdir().unwrap();
    let (sig, data, other) = (dir.path().join("sig.b64"), dir.path().join("data"), dir.path().join("other"));
    std::fs::write(&sig, reply["responseObject"].as_str().unwrap()).unwrap();
    std::fs::write(&data, b"11\n").unwrap();
    std::fs::write(&other, b"12\n").unwrap();

    // The signature is intact; the test key's chain (NCA RK TEST) is not a legal one, and
    // the loopback TSA is not trusted (tests/validation.rs checks the verdicts).
    let (code, text) = verify_cli(&[sig.as_os_str(), "--content".as_ref(), data.as_os_str(), "--offline".as_ref()]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("signature     ok "), "{text}");
    assert!(text.contains("SERIALNUMBER=IIN123456789011"));
    assert!(text.contains("timestamp not used: the timestamp's TSA is not trusted"), "{text}");
    let (code, text) = verify_cli(&[sig.as_os_str(), "--content".as_ref(), other.as_os_str()]);
    assert_eq!(code, 1);
    assert!(text.contains("INVALID") && text.contains("does not match the signed messageDigest"), "{text}");
    let (code, text) = verify_cli(&[sig.as_os_str()]);
    assert_eq!(code, 1);
    assert!(text.contains("the content was not given"));
    // A CMS made by Kalkan: the NCA test TSA's token.
    let (_, text) = verify_cli(&[fixture("nca-test/tsp/tsp_token.bin").as_os_str(), "--offline".as_ref()]);
    assert!(text.contains("signature     ok "), "{text}");
    assert!(text.contains("CN=СЕРВИС МЕТКИ ВРЕМЕНИ"));
    let (code, _) = verify_cli(&[fixture("nca-test/keys/rsa_sign_individual.p12").as_os_str()]);
    assert_eq!(code, 2, "not a CMS");
}
