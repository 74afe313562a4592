//! Bad input never crashes the daemon: malformed and binary frames, frames over the
//! limit, truncated frames, garbage instead of TLS, too many connections; and the
//! process lifecycle: SIGTERM, a second instance.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// The daemon still answers a fresh connection.
async fn still_serving(daemon: &Daemon) {
    let mut ws = daemon.connect(None).await;
    ws.send_text("--heartbeat--").await;
    assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
}

#[tokio::test]
async fn binary_frames_get_an_error_reply() {
    let daemon = Daemon::start(&[]);
    let mut ws = daemon.connect(None).await;
    ws.inner.send(Message::binary(vec![0u8, 1, 2, 3])).await.unwrap();
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["code"], "500");
    assert!(reply["message"].as_str().unwrap().contains("binary"));
    ws.send_text("--heartbeat--").await;
    assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
}

#[tokio::test]
async fn wrong_types_everywhere_get_replies() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let nasty = [
        json!({"module": 5}),
        json!({"module": "kz.gov.pki.knca.commonUtils"}),
        json!({"module": "kz.gov.pki.knca.commonUtils", "method": null, "args": null}),
        json!({"module": "kz.gov.pki.knca.commonUtils", "method": "getKeyInfo", "args": {"a": 1}}),
        json!({"module": "kz.gov.pki.knca.commonUtils", "method": "getActiveTokens", "uuid": {"x": 1}}),
        json!({"module": "kz.gov.pki.knca.basics", "method": 7, "args": []}),
        json!({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": []}),
        json!({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {"format": 1, "data": "x"}}),
        json!({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {"format": "cms", "data": [1, 2]}}),
        json!({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {"format": "cms", "data": []}}),
        json!({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {"format": "cms", "data": "x", "signerParams": {"extKeyUsageOids": "x"}}}),
        json!({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {"format": "cms", "data": "x", "signingParams": {"decode": 3}}}),
        json!({"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {"format": "pdf", "data": "x"}}),
        json!({"module": "kz.gov.pki.ncalayerservices.accessory", "method": "installBundle", "symname": "x"}),
        json!({"method": 1, "args": "x"}),
        json!({"module": "kz.gov.pki.knca.commonUtils", "method": "createCAdESFromBase64Hash", "args": ["PKCS12", "SIGNATURE", ""]}),
    ];
    for request in nasty {
        let reply = ws.request(&request).await;
        assert!(reply.is_object(), "{request} -> {reply}");
    }
    // XML as deep as the parser allows is handled on the daemon's threads without a
    // stack overflow (canonicalization recurses per level).
    let deep = format!("{}<i Id=\"in\">x</i>{}", "<d>".repeat(255), "</d>".repeat(255));
    let reply = ws
        .request(&json!({"module": "kz.gov.pki.knca.basics", "method": "sign",
            "args": {"format": "xml", "data": deep, "signingParams": {"allowExpired": true}, "signerParams": {"chain": []}}}))
        .await;
    let signed = reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{reply}")).to_owned();
    let reply = ws.request(&json!({"method": "verifyXml", "args": [signed]})).await;
    assert_eq!(reply, json!({"result": true, "errorCode": "NONE"}));
    // Deeply nested JSON is refused by the parser's depth limit, not by a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    ws.send_text(&deep).await;
    assert!(ws.recv_text().await.is_some());
    still_serving(&daemon).await;
}

#[tokio::test]
async fn a_message_over_the_limit_gets_an_error_reply_unread() {
    let daemon = Daemon::start(&["--max-message-size", "4096"]);
    let mut ws = daemon.connect(None).await;
    ws.send_text(&"x".repeat(10_000)).await;
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["code"], "500", "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("--max-message-size"), "{reply}");
    // The connection goes on.
    let reply = ws.request(&json!({"module": "kz.gov.pki.knca.commonUtils", "method": "getActiveTokens"})).await;
    assert_eq!(reply["code"], "200");
    still_serving(&daemon).await;
}

#[tokio::test]
async fn truncated_frames_and_garbage_do_not_hurt() {
    let daemon = Daemon::start(&["--insecure-ws"]);
    let addr = daemon.addr;
    // A frame header announcing 1000 bytes, then only 3 bytes and a hang-up.
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
    let mut buf = [0u8; 256];
    let n = tcp.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));
    tcp.write_all(&[0x81, 0xFE, 0x03, 0xE8, 1, 2, 3, 4, b'a', b'b', b'c']).unwrap();
    drop(tcp);
    // An unmasked client frame is a protocol error.
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
    let _ = tcp.read(&mut buf).unwrap();
    tcp.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
    // Random bytes instead of HTTP, and an endless header.
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0]).unwrap();
    drop(tcp);
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    let _ = tcp.write_all(&vec![b'a'; 64 * 1024]);
    drop(tcp);
    still_serving(&daemon).await;

    // Garbage instead of a TLS handshake on the wss port.
    let tls_daemon = Daemon::start(&[]);
    let mut tcp = std::net::TcpStream::connect(tls_daemon.addr).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    drop(tcp);
    still_serving(&tls_daemon).await;
}

#[tokio::test]
async fn connections_are_bounded_and_idle_ones_make_room() {
    let daemon = Daemon::start(&["--max-connections", "2"]);
    let mut a = daemon.connect(Some("https://a.example")).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut b = daemon.connect(Some("https://a.example")).await;
    // A third connection gets in: the longest-idle one (a) is closed to make room.
    let mut c = daemon.connect(Some("https://egov.kz")).await;
    assert!(a.recv_text().await.is_none(), "the idlest connection was closed");
    for ws in [&mut b, &mut c] {
        let reply = ws.request(&json!({"module": "kz.gov.pki.knca.commonUtils", "method": "getActiveTokens"})).await;
        assert_eq!(reply["code"], "200");
    }
}

#[tokio::test]
async fn sigterm_and_ctrl_c_shut_down_cleanly_and_close_connections() {
    for signal in ["TERM", "INT"] {
        let mut daemon = Daemon::start(&[]);
        let mut ws = daemon.connect(None).await;
        let status = daemon.signal(signal);
        assert!(status.success(), "SIG{signal}: exit status {status:?}");
        assert!(ws.recv_text().await.is_none(), "SIG{signal}: the open connection was closed");
    }
}

#[test]
fn a_second_start_hands_over_to_the_running_one() {
    let daemon = Daemon::start(&[]);
    let output = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["--listen", &daemon.addr.to_string(), "--data-dir"])
        .arg(&daemon.data_dir)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("already running"), "{stdout}");
}

#[tokio::test]
async fn a_newer_version_replaces_an_older_one_still_running() {
    let data = tempfile::tempdir().unwrap();
    let mut old = Daemon::start_with_env_in(data.path(), &[], &[("QOLTANBA_PRETEND_VERSION", "0.0.1")]);
    // The new one asks for the same port: it must wait for the old one to let go.
    let listen = old.addr.to_string();
    let new = Daemon::start_in(data.path(), &["--listen", &listen]);
    assert!(
        new.stdout_lines.iter().any(|l| l.contains("replaces the running qoltanba 0.0.1")),
        "{:?}",
        new.stdout_lines
    );
    let status = old.wait_for_exit(std::time::Duration::from_secs(10)).expect("the old one quit");
    assert!(status.success(), "it shut down cleanly: {status:?}");
    std::net::TcpStream::connect(old.addr).expect("the new one took over the old one's port");
    still_serving(&new).await;
}

/// A program holding `port`-to-be, with `tag` in its command line; prints its port.
fn port_holder_program(tag: &str) -> (std::process::Child, u16) {
    let script = "import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)";
    let mut child =
        Command::new("python3").args(["-c", script, tag]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    (child, line.trim().parse().unwrap())
}

#[test]
fn a_port_held_by_another_program_is_named_and_ncalayer_is_called_ncalayer() {
    for (tag, expected) in [
        ("/opt/NCALayer/ncalayer.jar", "Port {port} is held by NCALayer"),
        ("--something-else", "Port {port} is already in use by another program: python3"),
    ] {
        let (mut holder, port) = port_holder_program(tag);
        let data = tempfile::tempdir().unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--offline", "--data-dir"])
            .arg(data.path())
            .env("LC_ALL", "en_US.UTF-8")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        let _ = holder.kill();
        let _ = holder.wait();
        assert_eq!(output.status.code(), Some(3));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = expected.replace("{port}", &port.to_string());
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(stderr.contains(&format!("(process {})", holder.id())), "{stderr}");
    }
}

#[test]
fn the_ca_is_reused_across_restarts_and_its_key_is_private() {
    let data = tempfile::tempdir().unwrap();
    let mut first = Daemon::start_in(data.path(), &[]);
    let ca = std::fs::read(first.ca_path()).unwrap();
    let leaf = std::fs::read(data.path().join("localhost.pem")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for secret in ["ca-key.pem", "localhost-key.pem"] {
            let mode = std::fs::metadata(data.path().join(secret)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{secret} is readable by others");
        }
    }
    assert!(first.terminate().success());
    let second = Daemon::start_in(data.path(), &[]);
    assert_eq!(std::fs::read(second.ca_path()).unwrap(), ca, "same CA after restart");
    assert_eq!(std::fs::read(data.path().join("localhost.pem")).unwrap(), leaf, "valid leaf kept");
}
