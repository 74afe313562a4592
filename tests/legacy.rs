//! The legacy applet API (spec §5, cases 14.5): the page names the key file and its
//! password; signatures still need the user's confirmation.

mod common;

use common::*;
use serde_json::{Value, json};

fn path(rel: &str) -> String {
    fixture(rel).to_str().unwrap().to_owned()
}

#[tokio::test]
async fn l1_to_l9_key_file_methods() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let rsa = path(RSA_KEY);
    let alias = "e3fe35adda3b45cbea3a3f1ed48f263dc55c556e";

    // L1
    let reply = ws.request(&json!({"method":"getKeys","args":["PKCS12",rsa,PASSWORD,"ALL"]})).await;
    assert_eq!(reply["errorCode"], "NONE");
    assert_eq!(reply["result"], format!("RSA|ТЕСТОВ ТЕСТ|4279390a141f5353a62947b61ed65e81741467d1|{alias}"));
    let gost = ws
        .request(
            &json!({"method":"getKeys","args":["PKCS12",path("nca-test/keys2026/legal_head.p12"),"Qwerty12","SIGN"]}),
        )
        .await;
    assert!(gost["result"].as_str().unwrap().starts_with("ГОСТ|ТЕСТОВ ТЕСТ|"), "{gost}");
    // L2: wrong password, with the attempts left.
    let reply = ws.request(&json!({"method":"getKeys","args":["PKCS12",rsa,"wrong","ALL"]})).await;
    assert_eq!(reply, json!({"result":4,"errorCode":"WRONG_PASSWORD"}));
    // L3: AUTH on a file holding only a signing key.
    let reply = ws.request(&json!({"method":"getKeys","args":["PKCS12",rsa,PASSWORD,"AUTH"]})).await;
    assert_eq!(reply, json!({"errorCode":"EMPTY_KEY_LIST"}));
    // L4
    let reply = ws.request(&json!({"method":"getNotAfter","args":["PKCS12",rsa,alias,PASSWORD]})).await;
    let date = reply["result"].as_str().unwrap();
    assert!(date.starts_with("18.01.2022 "), "{date}");
    assert_eq!(date.len(), "dd.MM.yyyy HH:mm:ss".len());
    // L5
    let reply = ws.request(&json!({"method":"getSubjectDN","args":["PKCS12",rsa,alias,PASSWORD]})).await;
    assert_eq!(reply["result"], "CN=ТЕСТОВ ТЕСТ,SURNAME=ТЕСТОВ,SERIALNUMBER=IIN123456789011,C=KZ,G=ТЕСТОВИЧ");
    let reply = ws.request(&json!({"method":"getIssuerDN","args":["PKCS12",rsa,alias,PASSWORD]})).await;
    assert_eq!(reply["result"], "C=KZ,CN=ҰКО 3.0 (RSA TEST)");
    // L6
    let reply = ws.request(&json!({"method":"getRdnByOid","args":["PKCS12",rsa,alias,PASSWORD,"2.5.4.5",0]})).await;
    assert_eq!(reply, json!({"result":"IIN123456789011","errorCode":"NONE"}));
    let reply = ws.request(&json!({"method":"getRdnByOid","args":["PKCS12",rsa,alias,PASSWORD,"2.5.4.10",0]})).await;
    assert_eq!(reply, json!({"errorCode":"RDN_NOT_FOUND"}));
    // signPlainData, checked by verifyPlainData (raw RSA signatures are checked by openssl in signing.rs B15).
    let reply = ws.request(&json!({"method":"signPlainData","args":["PKCS12",rsa,alias,PASSWORD,"11\n"]})).await;
    assert_eq!(reply["errorCode"], "NONE", "{reply}");
    let signature = reply["result"].as_str().unwrap().to_owned();
    let verified =
        ws.request(&json!({"method":"verifyPlainData","args":["PKCS12",rsa,alias,PASSWORD,"11\n",signature]})).await;
    assert_eq!(verified["result"], true);
    let other =
        ws.request(&json!({"method":"verifyPlainData","args":["PKCS12",rsa,alias,PASSWORD,"12\n",signature]})).await;
    assert_eq!(other["result"], false);
    // createCMSSignature (attached), checked by openssl.
    let reply =
        ws.request(&json!({"method":"createCMSSignature","args":["PKCS12",rsa,alias,PASSWORD,"11\n",true]})).await;
    let cms = unb64(reply["result"].as_str().unwrap());
    assert_eq!(openssl_attached_content(&cms), b"11\n");
    assert!(openssl_verify(&cms, None, Some((&fixture("nca-test/ca/nca_rsa_test.crt"), RSA_KEY_VALID_AT))).ok);
    // getHash
    let reply = ws.request(&json!({"method":"getHash","args":["11\n","SHA256"]})).await;
    assert_eq!(reply["result"], "JdTyqG3rXiV0uzIQtnuyT8xK+xn5OntloFfaqHSp0Y4="); // openssl dgst -sha256 -binary | base64
    // L8 then L9
    ws.send_text(&json!({"method":"setLocale","args":["kk"]}).to_string()).await;
    assert!(ws.silent_for(300).await);
    let reply = ws.request(&json!({"method":"browseKeyStore","args":["PKCS12","P12",""]})).await;
    assert_eq!(reply["errorCode"], "COMMON");
}

#[tokio::test]
async fn pages_cannot_map_the_disk_or_guess_passwords_or_sign_unconfirmed() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "cancel");
    let mut ws = daemon.connect(None).await;
    // Missing file and non-key file answer alike.
    let missing = ws.request(&json!({"method":"getKeys","args":["PKCS12","/no/such/file.p12","x","ALL"]})).await;
    let not_key = ws.request(&json!({"method":"getKeys","args":["PKCS12","/etc/hostname","x","ALL"]})).await;
    assert_eq!(missing, json!({"errorCode":"LOAD_KEYSTORE_ERROR"}));
    assert_eq!(not_key, missing);
    // Five wrong passwords lock the file, even for the right one.
    let rsa = path(RSA_KEY);
    let mut left: Vec<Value> = Vec::new();
    for _ in 0..5 {
        left.push(ws.request(&json!({"method":"getKeys","args":["PKCS12",rsa,"guess","ALL"]})).await["result"].clone());
    }
    assert_eq!(left, [json!(4), json!(3), json!(2), json!(1), json!(0)]);
    let locked = ws.request(&json!({"method":"getKeys","args":["PKCS12",rsa,PASSWORD,"ALL"]})).await;
    assert_eq!(locked, json!({"result":0,"errorCode":"WRONG_PASSWORD"}));
    // Another spelling of the same path is the same file.
    let respelled = rsa.replace("/keys/", "/keys/./");
    let locked = ws.request(&json!({"method":"getKeys","args":["PKCS12",respelled,PASSWORD,"ALL"]})).await;
    assert_eq!(locked, json!({"result":0,"errorCode":"WRONG_PASSWORD"}));
    // With the right password (another file), signing still needs the user: here, refused.
    let gost = path("nca-test/keys2026/individual.p12");
    let reply = ws.request(&json!({"method":"signPlainData","args":["PKCS12",gost,"","Qwerty12","x"]})).await;
    assert_eq!(reply, json!({"result":"action.canceled","errorCode":"COMMON"}));
    assert_eq!(
        ws.request(&json!({"method":"getKeys","args":["AKKaztokenStore","","",""]})).await,
        json!({"errorCode":"LOAD_KEYSTORE_ERROR"})
    );
    assert_eq!(
        ws.request(&json!({"method":"getKeys","args":["FOO","","",""]})).await,
        json!({"errorCode":"UNKNOWN_STORAGE"})
    );
}
