//! Issue 13, item 3: a large `basics.sign` document is base64-decoded and hashed while
//! its frame arrives (src/server/stream.rs, src/protocol/stream.rs). Over a real
//! `wss://` socket: the signatures verify with `openssl cms -verify`, replies keep
//! their order, fragmented messages work, and malformed ones get the replies the
//! whole-message path gives (that path still reads messages under 1 MiB).

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

const BASICS: &str = "kz.gov.pki.knca.basics";

fn rsa_ca() -> std::path::PathBuf {
    fixture("nca-test/ca/nca_rsa_test.crt")
}

/// `mib` MiB of bytes that are not all alike.
fn document(mib: usize) -> Vec<u8> {
    (0..(mib << 20) as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

/// A basics `sign` (CMS) of `data` with the test key's parameters.
fn sign(data: &str, encapsulate: bool) -> String {
    json!({"module":BASICS,"method":"sign","args":{"format":"cms","data":data,
        "signingParams":{"decode":true,"encapsulate":encapsulate,"allowExpired":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"en"}})
    .to_string()
}

/// The one CMS of a basics reply, DER.
fn cms_of(reply: &Value) -> Vec<u8> {
    assert_eq!(reply["status"], true, "{:.300}", reply.to_string());
    cms_pem_to_der(reply["body"]["result"][0].as_str().expect("a CMS"))
}

fn verifies(cms: &[u8], content: Option<&[u8]>) {
    let verdict = openssl_verify(cms, content, Some((&rsa_ca(), RSA_KEY_VALID_AT)));
    assert!(verdict.ok, "{}", verdict.output);
}

/// What the whole-message path's parser says about `text` (it reads the envelope
/// with the values left raw).
fn parse_error(text: &str) -> String {
    type Envelope = std::collections::HashMap<String, Box<serde_json::value::RawValue>>;
    serde_json::from_str::<Envelope>(text).err().map(|e| e.to_string()).expect("a JSON error")
}

async fn reply(ws: &mut Ws) -> Value {
    serde_json::from_str(&ws.recv_text().await.expect("a reply")).expect("JSON")
}

#[tokio::test]
async fn a_multi_mib_document_is_signed_as_it_arrives_and_replies_keep_their_order() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let doc = document(6);
    let data = b64(&doc);
    // Big detached, a small one, a heartbeat (answered at once, whatever is queued),
    // then big attached with `data` last: back to back.
    ws.send_text(&sign(&data, false)).await;
    ws.send_text(&sign("MTEK", false)).await;
    ws.send_text("--heartbeat--").await;
    let attached = format!(
        r#"{{"module":"{BASICS}","method":"sign","args":{{"format":"cms","signingParams":{{"decode":"true","encapsulate":true,"allowExpired":true}},"signerParams":{{"extKeyUsageOids":[],"chain":[]}},"data":"{data}"}}}}"#
    );
    ws.send_text(&attached).await;
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(ws.recv_text().await.expect("a reply"));
    }
    let heartbeat = replies.iter().position(|r| r == "--heartbeat--").expect("the heartbeat answered");
    replies.remove(heartbeat);
    let replies: Vec<Value> = replies.iter().map(|r| serde_json::from_str(r).expect("JSON")).collect();
    verifies(&cms_of(&replies[0]), Some(&doc));
    verifies(&cms_of(&replies[1]), Some(b"11\n"));
    let cms = cms_of(&replies[2]);
    verifies(&cms, None);
    assert!(openssl_attached_content(&cms) == doc, "the attached content is the document");
}

#[tokio::test]
async fn a_fragmented_big_message_with_a_ping_inside_is_signed() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let doc = document(3);
    let message = sign(&b64(&doc), false).into_bytes();
    let (a, rest) = message.split_at(1536 * 1024);
    let (b, c) = rest.split_at(rest.len() / 2);
    let text = |part: &[u8], opcode, fin| Message::Frame(Frame::message(part.to_vec(), OpCode::Data(opcode), fin));
    ws.inner.send(text(a, Data::Text, false)).await.unwrap();
    ws.inner.send(text(b, Data::Continue, false)).await.unwrap();
    ws.inner.send(Message::Ping(b"in between".to_vec().into())).await.unwrap();
    ws.inner.send(text(c, Data::Continue, true)).await.unwrap();
    verifies(&cms_of(&reply(&mut ws).await), Some(&doc));
}

#[tokio::test]
async fn malformed_big_messages_get_the_replies_small_ones_get() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let big = "QUJD".repeat(600 * 1024); // 2.4 MiB
    // Base64 errors: the words of the whole-message path's decoder (a small message
    // with the same error gets the same reply but for them).
    for (small, large) in [
        ("QUJD-", format!("{big}-")),
        ("QUJDQ", format!("{big}Q")),
        ("QU=JD", format!("{big}QU=JD")),
        ("QUJD/x-", format!("{big}QUJD/x-")),
    ] {
        let small_reply = ws.request(&serde_json::from_str(&sign(small, false)).unwrap()).await;
        assert_eq!(small_reply["status"], false, "{small}: {small_reply}");
        ws.send_text(&sign(&large, false)).await;
        let mut expected = small_reply.clone();
        expected["details"] = qoltanba::protocol::data::decode_base64(&large).unwrap_err().into();
        assert_eq!(reply(&mut ws).await, expected, "{small}");
    }
    // Escapes and line breaks are read whole, and sign like plain base64.
    let wrapped = big.as_bytes().chunks(76).map(|l| std::str::from_utf8(l).unwrap()).collect::<Vec<_>>();
    let doc = unb64(&big);
    ws.send_text(&sign(&wrapped.join("\r\n"), false)).await;
    verifies(&cms_of(&reply(&mut ws).await), Some(&doc));
    ws.send_text(&sign(&big, false).replace('/', "\\/")).await;
    verifies(&cms_of(&reply(&mut ws).await), Some(&doc));
    // JSON errors: the parser's words, with the position in the whole message.
    let truncated = sign(&big, false);
    let truncated = &truncated[..truncated.len() - 1];
    let error = parse_error(truncated);
    ws.send_text(truncated).await;
    let got = reply(&mut ws).await;
    assert_eq!(got["message"], format!("org.json.JSONException: {error}"));
    let control = sign(&format!("{big}#"), false).replace('#', "\u{1}");
    ws.send_text(&control).await;
    let error = parse_error(&control);
    let got = reply(&mut ws).await;
    assert_eq!(got["message"], format!("org.json.JSONException: {error}"));
    // Still serving.
    ws.send_text("--heartbeat--").await;
    assert_eq!(ws.recv_text().await.as_deref(), Some("--heartbeat--"));
}

#[tokio::test]
async fn a_big_text_message_that_is_not_utf8_closes_the_connection_as_small_ones_do() {
    let daemon = Daemon::start(&[]);
    let mut ws = daemon.connect(None).await;
    let mut message = sign(&"QUJD".repeat(600 * 1024), false).into_bytes();
    message.insert(100, 0xff);
    ws.inner.send(Message::Frame(Frame::message(message, OpCode::Data(Data::Text), true))).await.unwrap();
    loop {
        match ws.inner.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Invalid);
                break;
            }
            Some(Ok(Message::Text(text))) => panic!("a reply to a text frame that is not UTF-8: {text:.200}"),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    }
}
