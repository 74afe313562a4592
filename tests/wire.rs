//! Spec §14.1 (transport) and §14.2 (dispatch and errors) over a real `wss://` socket.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn t1_greeting_first_over_wss_and_ws() {
    let daemon = Daemon::start(&[]);
    let mut ws = daemon.connect_raw(None, &daemon.url()).await;
    assert_eq!(ws.recv_text().await.unwrap(), GREETING);

    let plain = Daemon::start(&["--insecure-ws"]);
    let mut ws = plain.connect_raw(None, &plain.url()).await;
    assert_eq!(ws.recv_text().await.unwrap(), GREETING);
}

#[tokio::test]
async fn t2_heartbeat_is_echoed() {
    let daemon = Daemon::start(&[]);
    let mut ws = daemon.connect(None).await;
    for _ in 0..3 {
        ws.send_text("--heartbeat--").await;
        assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
    }
}

#[tokio::test]
async fn t3_heartbeat_answered_while_a_request_waits_for_the_user() {
    let key = fixture(RSA_KEY);
    let daemon =
        Daemon::start(&["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD, "--auto-delay-ms", "1500"]);
    let mut ws = daemon.connect(None).await;
    let sign = json!({"module":BASICS,"method":"sign","args":{"format":"cms","data":"MTEK",
        "signingParams":{"decode":true,"encapsulate":false,"allowExpired":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]}}});
    ws.send_text(&sign.to_string()).await;
    ws.send_text("--heartbeat--").await;
    let started = std::time::Instant::now();
    assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
    assert!(started.elapsed() < std::time::Duration::from_millis(1000), "heartbeat waited for the dialog");
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["status"], true, "{reply}");
    assert!(reply["body"]["result"][0].as_str().unwrap().starts_with("-----BEGIN CMS-----"));
}

#[tokio::test]
async fn t4_parallel_connections_get_their_own_greeting_and_replies() {
    let daemon = Daemon::start(&[]);
    let mut a = daemon.connect(None).await;
    let mut b = daemon.connect(None).await;
    a.send_text(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens","uuid":"a"}).to_string())
        .await;
    b.send_text(&json!({"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens","uuid":"b"}).to_string())
        .await;
    let ra: serde_json::Value = serde_json::from_str(&a.recv_text().await.unwrap()).unwrap();
    let rb: serde_json::Value = serde_json::from_str(&b.recv_text().await.unwrap()).unwrap();
    assert_eq!(ra["uuid"], "a");
    assert_eq!(rb["uuid"], "b");
}

#[tokio::test]
async fn t5_any_or_no_origin_is_accepted() {
    let daemon = Daemon::start(&[]);
    for origin in [None, Some("https://example.kz"), Some("http://127.0.0.1:13579")] {
        let mut ws = daemon.connect(origin).await;
        ws.send_text("--heartbeat--").await;
        assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
    }
}

#[tokio::test]
async fn t6_plain_https_get_shows_the_status_page() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let daemon = Daemon::start(&[]);
    let tcp = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(daemon.client_tls()).connect(name, tcp).await.unwrap();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("qoltanba"));
    assert!(response.contains(daemon.ca_path().to_str().unwrap()), "the page says where the CA is");
}

#[tokio::test]
async fn t7_certificate_is_valid_for_localhost_and_ipv4() {
    let daemon = Daemon::start(&[]);
    let port = daemon.addr.port();
    let mut ws = daemon.connect_raw(None, &format!("wss://localhost:{port}/")).await;
    assert_eq!(ws.recv_text().await.unwrap(), GREETING);
    // openssl agrees: the chain verifies for IP 127.0.0.1 with the CA and nothing else.
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-verify_ip",
            "127.0.0.1",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(daemon.ca_path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
}

#[tokio::test]
async fn t8_fifty_megabyte_frame_is_processed() {
    let daemon = Daemon::start(&[]);
    let mut ws = daemon.connect(None).await;
    let data = "A".repeat(50 * 1024 * 1024);
    // No prompter: the request is parsed completely and answered with a clear error.
    let reply = ws
        .request(&json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
            "format":"cms","data":data,"signingParams":{"decode":true},"signerParams":{"extKeyUsageOids":[]}}}))
        .await;
    assert_eq!(reply["status"], false);
    assert_eq!(reply["code"], "GENERAL_ERROR");
    assert!(reply["details"].as_str().unwrap().contains("qoltanba"), "{reply}");
    ws.send_text("--heartbeat--").await;
    assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
}

const COMMON: &str = "kz.gov.pki.knca.commonUtils";
const BASICS: &str = "kz.gov.pki.knca.basics";

#[tokio::test]
async fn d1_to_d24_dispatch_and_errors() {
    let daemon = Daemon::start(&[]);
    let mut ws = daemon.connect(Some("https://example.kz")).await;
    let not_found = json!({"success":false,"errorCode":"MODULE_NOT_FOUND"});
    // D1, D2
    assert_eq!(ws.request(&json!({"module":"kz.digiflow.mobile.extensions","method":"getVersion"})).await, not_found);
    assert_eq!(ws.request(&json!({"module":"no.such.module","method":"x"})).await, not_found);
    // D3, D4
    assert_eq!(
        ws.request(&json!({"module":COMMON,"method":"noSuch","args":[]})).await,
        json!({"code":"500","message":"NoSuchMethodException noSuch"})
    );
    assert_eq!(
        ws.request(&json!({"module":COMMON,"method":"getKeyInfo","args":[]})).await,
        json!({"code":"500","message":"NoSuchMethodException getKeyInfo"})
    );
    // D5–D11
    let mismatch = |m: &str| json!({"code":"500","message":format!("java.lang.IllegalArgumentException: argument type mismatch. Method: {m}")});
    for (method, args) in [
        ("getKeyInfo", json!([null])),
        ("getKeyInfo", json!([1])),
        ("createCAdESFromBase64", json!(["PKCS12", 123, "MTEK", false])),
        ("createCMSSignatureFromBase64", json!(["PKCS12", [7, 7, 7], "MTEK", false])),
        ("signXml", json!(["PKCS12", "123", 555, "", ""])),
        ("signXmls", json!(["PKCS12", "123", "<tag>data</tag>", "", ""])),
        ("changeLocale", json!([2])),
    ] {
        assert_eq!(ws.request(&json!({"module":COMMON,"method":method,"args":args})).await, mismatch(method));
    }
    // D12
    for locale in ["en", "kk", "kz"] {
        assert_eq!(
            ws.request(&json!({"module":COMMON,"method":"changeLocale","args":[locale]})).await,
            json!({"code":"200"})
        );
    }
    // D13, D14
    assert_eq!(
        ws.request(&json!({"module":COMMON,"method":"getActiveTokens"})).await,
        json!({"code":"200","responseObject":[]})
    );
    assert_eq!(
        ws.request(&json!({"module":COMMON,"method":"getActiveTokens","uuid":"abc"})).await,
        json!({"code":"200","responseObject":[],"uuid":"abc"})
    );
    // D16
    let reply = ws
        .request(&json!({"module":BASICS,"method":"sign","args":{"format":"cms","data":"MTEK","signingParams":555}}))
        .await;
    assert_eq!(
        reply,
        json!({"status":false,"code":"INVOCATION_ERROR","message":"An invoked method threw an exception.",
               "details":"org.json.JSONException: JSONObject[\"signingParams\"] is not a JSONObject."})
    );
    // D17, D18, D19
    for request in [
        json!({"module":BASICS,"method":"nope","args":{}}),
        json!({"module":BASICS,"method":"sign"}),
        json!({"module":BASICS,"method":"sign","apiVersion":1,"args":{"format":"cms","data":"MTEK"}}),
    ] {
        let reply = ws.request(&request).await;
        assert_eq!(reply["status"], false, "{request}");
        assert_eq!(reply["code"], "GENERAL_ERROR");
        assert_eq!(reply["message"], "General error.");
        assert!(reply["details"].is_string());
    }
    // D21, D22
    let bundles = ws.request(&json!({"module":"kz.gov.pki.ncalayerservices.accessory","method":"getBundles"})).await;
    assert!(bundles.as_object().unwrap().values().all(|v| v.is_string()));
    assert!(bundles.get("code").is_none());
    assert!(bundles.get("kz.gov.pki.osgi.layer.websocket").is_some());
    let services = ws.request(&json!({"module":"kz.gov.pki.ncalayerservices.accessory","method":"getServices"})).await;
    let services: Vec<&str> = services["services"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(services.contains(&COMMON) && services.contains(&BASICS));
    // D23: malformed JSON gets an error reply and the connection stays open.
    for bad in ["{not json", "[1,2]", "\"text\"", "", "{\"module\":"] {
        ws.send_text(bad).await;
        let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.expect("reply")).unwrap();
        assert_eq!(reply["code"], "500", "{bad}");
    }
    // D24: legacy setLocale gets no reply; the next request is answered normally.
    ws.send_text(&json!({"method":"setLocale","args":["ru"]}).to_string()).await;
    assert!(ws.silent_for(300).await);
    assert_eq!(ws.request(&json!({"module":"no.such","method":"x"})).await, not_found);
    // L9: another legacy method gets an errorCode reply, never silence.
    let legacy = ws.request(&json!({"method":"browseKeyStore","args":["PKCS12","P12",""]})).await;
    assert_eq!(legacy["errorCode"], "COMMON");
    // loadSlotList with no token plugged in: NCALayer's EMPTY_SLOT.
    let slots = ws.request(&json!({"method":"loadSlotList","args":["AKKaztokenStore"]})).await;
    assert_eq!(slots["errorCode"], "EMPTY_SLOT");
}

#[tokio::test]
async fn storage_names_checked_before_any_dialog() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    for (storage, message) in
        [("AKKaztokenStore", "storage.empty"), ("FOO", "storage.unknown"), ("", "storageName.param.empty")]
    {
        assert_eq!(
            ws.request(&json!({"module":COMMON,"method":"getKeyInfo","args":[storage]})).await,
            json!({"code":"500","message":message})
        );
    }
}

#[tokio::test]
async fn replies_follow_request_order() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    // A slow signing request, then fast ones, sent back to back.
    ws.send_text(&json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE","MTEK",false],"uuid":"1"}).to_string()).await;
    ws.send_text(&json!({"module":COMMON,"method":"getActiveTokens","uuid":"2"}).to_string()).await;
    ws.send_text(&json!({"module":"x","method":"y"}).to_string()).await;
    ws.send_text(&json!({"module":COMMON,"method":"changeLocale","args":["ru"],"uuid":"3"}).to_string()).await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(serde_json::from_str::<serde_json::Value>(&ws.recv_text().await.unwrap()).unwrap());
    }
    assert_eq!(got[0]["uuid"], "1");
    assert_eq!(got[0]["code"], "200");
    assert_eq!(got[1]["uuid"], "2");
    assert_eq!(got[2]["errorCode"], "MODULE_NOT_FOUND");
    assert_eq!(got[3]["uuid"], "3");
}

#[tokio::test]
async fn no_dialog_is_shown_for_a_page_that_left() {
    let key = fixture(RSA_KEY);
    let daemon =
        Daemon::start(&["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD, "--auto-delay-ms", "1500"]);
    let sign = json!({"module":COMMON,"method":"createCAdESFromBase64","args":["PKCS12","SIGNATURE","MTEK",false]});
    // B holds the dialog for 1.5 s; A queues behind it and leaves.
    let mut b = daemon.connect(Some("https://b.kz")).await;
    b.send_text(&sign.to_string()).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut a = daemon.connect(Some("https://a.kz")).await;
    a.send_text(&sign.to_string()).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(a);
    assert!(b.recv_text().await.unwrap().contains("\"200\""));
    // C is next: A's dialog (another 1.5 s) is not shown.
    let mut c = daemon.connect(Some("https://c.kz")).await;
    let started = std::time::Instant::now();
    assert!(c.request(&sign).await["code"] == "200");
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_millis(2900), "C waited {took:?}: a dialog ran for the page that left");
}
