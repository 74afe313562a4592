//! Spec §14.3 and §14.4 rows for the real RSA NCA test key, over a real `wss://`
//! socket; every signature is checked by `openssl cms -verify`.

mod common;

use common::*;
use serde_json::{Value, json};

const COMMON: &str = "kz.gov.pki.knca.commonUtils";
const BASICS: &str = "kz.gov.pki.knca.basics";

fn rsa_ca() -> std::path::PathBuf {
    fixture("nca-test/ca/nca_rsa_test.crt")
}

fn basics_request(data: Value, signing: Value, signer: Value) -> Value {
    json!({"module":BASICS,"method":"sign","args":{
        "allowedStorages":null,"format":"cms","data":data,
        "signingParams":signing,"signerParams":signer,"locale":"ru"}})
}

/// The RSA test key expired in 2022: these tests allow expired keys (the expiry rule
/// has its own tests in tests/trust.rs).
fn base_params() -> Value {
    json!({"decode":true,"encapsulate":false,"digested":false,"allowExpired":true})
}

/// Any key, test CAs' too (`chain: []`).
fn any_signer() -> Value {
    json!({"extKeyUsageOids":[],"chain":[]})
}

#[tokio::test]
async fn c1_get_key_info_matches_the_certificate() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(Some("https://example.kz")).await;
    let reply = ws.request(&json!({"module":COMMON,"method":"getKeyInfo","args":["PKCS12"]})).await;
    assert_eq!(reply["code"], "200", "{reply}");
    let info = reply["responseObject"].as_object().unwrap();
    let mut fields: Vec<&str> = info.keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "algorithm",
            "alias",
            "authorityKeyIdentifier",
            "certNotAfter",
            "certNotBefore",
            "issuerCn",
            "issuerDn",
            "keyId",
            "pem",
            "serialNumber",
            "subjectCn",
            "subjectDn"
        ]
    );
    assert!(info.values().all(Value::is_string));
    assert_eq!(info["algorithm"], "RSA");
    assert_eq!(info["alias"], "e3fe35adda3b45cbea3a3f1ed48f263dc55c556e");
    assert_eq!(info["keyId"], "e3fe35adda3b45cbea3a3f1ed48f263dc55c556e");
    assert_eq!(info["subjectCn"], "ТЕСТОВ ТЕСТ");
    assert_eq!(info["subjectDn"], "CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ,G=ТЕСТОВИЧ");
    assert_eq!(info["issuerDn"], "C=KZ,CN=ҰКО 3.0 (RSA TEST)");
    assert_eq!(info["issuerCn"], "ҰКО 3.0 (RSA TEST)");

    // The same facts from openssl.
    let facts = openssl_key_facts(info["pem"].as_str().unwrap());
    let ours =
        ["subjectDn", "issuerDn", "serialNumber", "certNotBefore", "certNotAfter", "authorityKeyIdentifier", "keyId"]
            .map(|f| info[f].as_str().unwrap().to_owned());
    assert_eq!(ours, facts);
}

#[tokio::test]
async fn c2_get_key_info_cancel() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "cancel");
    let mut ws = daemon.connect(None).await;
    let reply = ws.request(&json!({"module":COMMON,"method":"getKeyInfo","args":["PKCS12"]})).await;
    assert_eq!(reply, json!({"code":"500","message":"action.canceled"}));
}

#[tokio::test]
async fn c3_c4_c6_create_cades_detached_and_attached_verify_with_openssl() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    for (key_type, attach) in [("SIGNATURE", false), ("SIGNATURE", true), ("123", false)] {
        let reply = ws
            .request(
                &json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12",key_type,"MTEK",attach]}),
            )
            .await;
        assert_eq!(reply["code"], "200", "{reply}");
        let b64 = reply["responseObject"].as_str().unwrap();
        assert!(!b64.contains('\n'), "one line of base64");
        let cms = unb64(b64);
        let printed = openssl_print(&cms);
        for attr in ["contentType", "signingTime", "messageDigest", "signingCertificateV2"] {
            assert!(printed.contains(attr), "{attr} missing:\n{printed}");
        }
        assert!(!printed.contains("signatureTimeStampToken"));
        if attach {
            assert_eq!(openssl_attached_content(&cms), b"11\n");
            let verdict = openssl_verify(&cms, None, Some((&rsa_ca(), RSA_KEY_VALID_AT)));
            assert!(verdict.ok, "{}", verdict.output);
        } else {
            assert!(printed.contains("eContent: <ABSENT>"), "detached:\n{printed}");
            let verdict = openssl_verify(&cms, Some(b"11\n"), Some((&rsa_ca(), RSA_KEY_VALID_AT)));
            assert!(verdict.ok, "{}", verdict.output);
            let wrong = openssl_verify(&cms, Some(b"12\n"), None);
            assert!(!wrong.ok, "a signature must not verify over other bytes");
        }
    }
}

#[tokio::test]
async fn c5_authentication_key_type_with_only_a_signing_key_is_cancelled() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let reply = ws
        .request(
            &json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","AUTHENTICATION","MTEK",false]}),
        )
        .await;
    assert_eq!(reply, json!({"code":"500","message":"action.canceled"}));

    let auth = Daemon::headless(RSA_AUTH_KEY, PASSWORD, "confirm");
    let mut ws = auth.connect(None).await;
    let reply = ws
        .request(
            &json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","AUTHENTICATION","MTEK",false]}),
        )
        .await;
    assert_eq!(reply["code"], "200", "an authentication key passes: {reply}");
    let reply = ws
        .request(&json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE","MTEK",false]}))
        .await;
    assert_eq!(reply, json!({"code":"500","message":"action.canceled"}), "and is refused for SIGNATURE");
}

/// A key certified for logging in only signs a short challenge, never a document: the
/// key chooser shows it as not usable for anything longer, or for several documents.
#[tokio::test]
async fn a_login_only_key_signs_a_challenge_but_not_a_document() {
    let auth = Daemon::headless(RSA_AUTH_KEY, PASSWORD, "confirm");
    let mut ws = auth.connect(Some("https://idp.egov.kz")).await;
    let sign = |data: Value| {
        json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":data,
            "signingParams":{"decode":true,"encapsulate":true},"signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"en"}})
    };
    let challenge = b64(b"<login><timeTicket>1764763200</timeTicket></login>");
    let reply = ws.request(&sign(json!(challenge))).await;
    assert_eq!(reply["status"], true, "a login challenge: {reply}");
    // Not a login: the only key of the file is greyed ("for logging in only"), so the
    // request ends as a cancel (basics: success with an empty body), never signed.
    let canceled = json!({"status":true,"body":{}});
    let document = b64(&[b'a'; 4096]);
    assert_eq!(ws.request(&sign(json!(document))).await, canceled, "a 4 KiB document is not a login");
    assert_eq!(ws.request(&sign(json!([challenge.clone(), challenge]))).await, canceled, "nor are two");
    let pdf = b64(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
    assert_eq!(ws.request(&sign(json!(pdf))).await, canceled, "nor a PDF, however short");
    // A key that may sign documents is not limited.
    let signing = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = signing.connect(Some("https://idp.egov.kz")).await;
    assert_eq!(ws.request(&sign(json!(document))).await["status"], true);
}

#[tokio::test]
async fn c8_create_cades_from_hash() {
    use sha2::Digest;
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let content = b"a document the page hashed itself";
    let digest = sha2::Sha256::digest(content);
    let reply = ws
        .request(
            &json!({"module":COMMON,"method":"createCAdESFromBase64Hash","args":["PKCS12","SIGNATURE",b64(&digest)]}),
        )
        .await;
    assert_eq!(reply["code"], "200", "{reply}");
    let cms = unb64(reply["responseObject"].as_str().unwrap());
    let verdict = openssl_verify(&cms, Some(content), Some((&rsa_ca(), RSA_KEY_VALID_AT)));
    assert!(verdict.ok, "{}", verdict.output);
    // A hash of the wrong length is refused with a message, not signed.
    let reply = ws
        .request(&json!({"module":COMMON,"method":"createCAdESFromBase64Hash","args":["PKCS12","SIGNATURE",b64(&[1, 2, 3])]}))
        .await;
    assert_eq!(reply["code"], "500");
    assert!(reply["message"].as_str().unwrap().contains("32"), "{reply}");
}

#[tokio::test]
async fn wrong_password_and_missing_prompter_give_clear_errors() {
    let daemon = Daemon::headless(RSA_KEY, "not-the-password", "confirm");
    let mut ws = daemon.connect(None).await;
    ws.request(&json!({"module":COMMON,"method":"changeLocale","args":["en"]})).await;
    let reply = ws.request(&json!({"module":COMMON,"method":"getKeyInfo","args":["PKCS12"]})).await;
    assert_eq!(reply, json!({"code":"500","message":"Wrong password. Check the password of the key file."}));

    let daemon = Daemon::start(&[]);
    let mut ws = daemon.connect(None).await;
    let reply = ws.request(&json!({"module":COMMON,"method":"getKeyInfo","args":["PKCS12"]})).await;
    assert_eq!(reply["code"], "500");
    assert!(reply["message"].as_str().unwrap().contains("qoltanba"), "{reply}");
    let reply = ws.request(&basics_request(json!("MTEK"), base_params(), any_signer())).await;
    assert_eq!(reply["status"], false);
    assert_eq!(reply["code"], "GENERAL_ERROR");
}

#[tokio::test]
async fn b1_b3_b4_b5_basics_cms() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(Some("https://example.kz")).await;
    // B1: detached, decoded.
    let reply = ws.request(&basics_request(json!("MTEK"), base_params(), any_signer())).await;
    assert_eq!(reply["status"], true, "{reply}");
    let result = reply["body"]["result"].as_array().expect("result is an array");
    assert_eq!(result.len(), 1);
    let cms = cms_pem_to_der(result[0].as_str().unwrap());
    assert!(openssl_verify(&cms, Some(b"11\n"), Some((&rsa_ca(), RSA_KEY_VALID_AT))).ok);
    assert!(!openssl_print(&cms).contains("signatureTimeStampToken"));
    // B3: attached.
    let reply = ws
        .request(&basics_request(
            json!("MTEK"),
            json!({"decode":true,"encapsulate":true,"allowExpired":true}),
            any_signer(),
        ))
        .await;
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap());
    assert_eq!(openssl_attached_content(&cms), b"11\n");
    assert!(openssl_verify(&cms, None, Some((&rsa_ca(), RSA_KEY_VALID_AT))).ok);
    // B4: defaults: attached, over the literal ASCII "MTEK".
    let reply = ws.request(&basics_request(json!("MTEK"), json!({"allowExpired":true}), any_signer())).await;
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap());
    assert_eq!(openssl_attached_content(&cms), b"MTEK");
    // B5: string booleans, as jQuery pages send them.
    let reply = ws
        .request(&basics_request(
            json!("MTEK"),
            json!({"decode":"true","encapsulate":"false","allowExpired":"true"}),
            any_signer(),
        ))
        .await;
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap());
    assert!(openssl_verify(&cms, Some(b"11\n"), None).ok);
    // B14: allowedStorages absent = all.
    let mut request = basics_request(json!("MTEK"), base_params(), any_signer());
    request["args"].as_object_mut().unwrap().remove("allowedStorages");
    assert_eq!(ws.request(&request).await["status"], true);
}

#[tokio::test]
async fn b2_cancel_is_status_true_with_empty_body() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "cancel");
    let mut ws = daemon.connect(None).await;
    let reply = ws.request(&basics_request(json!("MTEK"), base_params(), any_signer())).await;
    assert_eq!(reply.to_string(), r#"{"status":true,"body":{}}"#);
}

#[tokio::test]
async fn b7_batch_in_input_order_with_one_dialog() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let reply = ws.request(&basics_request(json!(["MTEK", "MTIK", "MTMK"]), base_params(), any_signer())).await;
    let result = reply["body"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 3);
    for (pem, content) in result.iter().zip([b"11\n", b"12\n", b"13\n"]) {
        let cms = cms_pem_to_der(pem.as_str().unwrap());
        assert!(openssl_verify(&cms, Some(content), None).ok);
    }
}

#[tokio::test]
async fn b8_digested() {
    use sha2::Digest;
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let digest = sha2::Sha256::digest(b"x");
    let reply = ws
        .request(&basics_request(
            json!(b64(&digest)),
            json!({"decode":true,"digested":true,"encapsulate":false,"allowExpired":true}),
            any_signer(),
        ))
        .await;
    let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap());
    assert!(openssl_verify(&cms, Some(b"x"), Some((&rsa_ca(), RSA_KEY_VALID_AT))).ok);
}

#[tokio::test]
async fn b11_b12_b13_filters_that_exclude_the_key_end_in_cancel() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let canceled = json!({"status":true,"body":{}});
    let auth = json!({"extKeyUsageOids":["1.3.6.1.5.5.7.3.2"],"chain":[]});
    assert_eq!(ws.request(&basics_request(json!("MTEK"), base_params(), auth)).await, canceled);
    let other_iin = json!({"extKeyUsageOids":[],"iin":"000000000000","chain":[]});
    assert_eq!(ws.request(&basics_request(json!("MTEK"), base_params(), other_iin)).await, canceled);
    let mut tokens_only = basics_request(json!("MTEK"), base_params(), any_signer());
    tokens_only["args"]["allowedStorages"] = json!(["AKKaztokenStore"]);
    assert_eq!(ws.request(&tokens_only).await, canceled);
    // The matching values pass.
    let matching = json!({"extKeyUsageOids":["1.3.6.1.5.5.7.3.4","1.2.398.3.3.4.1.1"],"iin":"123456789011",
                          "serialNumber":"4279390A141F5353A62947B61ED65E81741467D1","chain":[]});
    let reply = ws.request(&basics_request(json!("MTEK"), base_params(), matching)).await;
    assert_eq!(reply["status"], true);
    assert!(reply["body"]["result"].is_array(), "{reply}");
}

#[tokio::test]
async fn b15_raw_with_output_cert() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let mut request =
        basics_request(json!("MTEK"), json!({"decode":true,"outputCert":true,"allowExpired":true}), any_signer());
    request["args"]["format"] = json!("raw");
    let reply = ws.request(&request).await;
    let result = &reply["body"]["result"];
    let signature = unb64(result["signatures"][0].as_str().unwrap());
    let cert = result["certificate"].as_str().unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
    // openssl checks the raw PKCS#1 v1.5 SHA-256 signature with the returned certificate.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("sig"), &signature).unwrap();
    std::fs::write(dir.path().join("data"), b"11\n").unwrap();
    let pubkey = std::process::Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(dir.path().join("cert.pem"))
        .output()
        .unwrap();
    std::fs::write(dir.path().join("pub.pem"), pubkey.stdout).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(dir.path().join("pub.pem"))
        .arg("-signature")
        .arg(dir.path().join("sig"))
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Verified OK");
}

#[tokio::test]
async fn d20_invalid_base64_is_a_signing_failure_before_any_dialog() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let reply = ws.request(&basics_request(json!("-----BEGIN"), json!({"decode":true}), any_signer())).await;
    assert_eq!(
        reply,
        json!({"status":false,"code":"SIGNING_FAILURE","message":"Signing has failed.",
               "details":"java.lang.IllegalArgumentException: Illegal base64 character 2d"})
    );
    let reply = ws
        .request(&json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE","-x-",false]}))
        .await;
    assert_eq!(
        reply,
        json!({"code":"500","message":"java.lang.IllegalArgumentException: Illegal base64 character 2d"})
    );
}
