//! The audit log of the real daemon: `--audit-log` lines for a signed request (events
//! in order, one request id, parsed back as `key=value`, no password and no document),
//! and `--syslog` datagrams over UDP and a Unix socket checked against RFC 5424.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const ORIGIN: &str = "https://sigex.kz";

/// A page's origin, written to forge keys of the audit line (a header cannot carry a
/// newline: the method name below does).
const FORGED_ORIGIN: &str = "https://sigex.kz\" level=error event=fake x=\"";

/// A method name written to forge a second audit line.
const FORGED_METHOD: &str = "sign\n time=2026-01-01T00:00:00.000Z level=error event=fake\u{202E}";

/// The document signed: its bytes (and their base64) must never reach the audit log.
const DOCUMENT: &[u8] = b"audit-test document TOP-SECRET-CONTENT 1234567890";

fn sign_request() -> Value {
    json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
        "allowedStorages":null,"format":"cms","data":b64(DOCUMENT),
        "signingParams":{"decode":true,"encapsulate":true,"digested":false,"allowExpired":true},
        "signerParams":{"extKeyUsageOids":[],"chain":[]},"locale":"ru"}})
}

/// Start a headless daemon with `extra` flags, sign one document from a page with
/// `origin`, then stop the daemon (so its last records are written).
async fn sign_once(extra: &[&str], origin: &str) {
    let key = fixture(RSA_KEY);
    let mut args = vec!["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD];
    args.extend_from_slice(extra);
    let mut daemon = Daemon::start(&args);
    {
        let mut ws = daemon.connect(Some(origin)).await;
        let reply = ws.request(&sign_request()).await;
        assert_eq!(reply["status"], true, "{reply}");
        assert!(reply["body"]["result"].is_array() || reply["body"]["result"].is_string(), "signed: {reply}");
        let forged = ws.request(&json!({"module":"kz.gov.pki.knca.basics","method":FORGED_METHOD,"args":{}})).await;
        assert_ne!(forged["status"], true, "{forged}");
    }
    // The connection's close is recorded before the daemon stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(daemon.terminate().success());
}

/// A `key=value` line read back: bare values end at a space, quoted ones at the
/// closing quote, with `\"`, `\\`, `\n`, `\r`, `\t`, `\u{…}` escapes.
fn parse_kv(line: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    while chars.peek().is_some() {
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || "_.".contains(c)),
            "key {key:?} in {line}"
        );
        assert_eq!(chars.next(), Some('='), "{line}");
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next().unwrap_or_else(|| panic!("unterminated value in {line}")) {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('r') => value.push('\r'),
                        Some('t') => value.push('\t'),
                        Some('u') => {
                            assert_eq!(chars.next(), Some('{'));
                            let hex: String = std::iter::from_fn(|| chars.next_if(|c| *c != '}')).collect();
                            chars.next();
                            value.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                        }
                        Some(c @ ('"' | '\\')) => value.push(c),
                        other => panic!("escape {other:?} in {line}"),
                    },
                    c => {
                        assert!(!c.is_control(), "raw {c:?} in {line}");
                        value.push(c);
                    }
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ' ')).collect();
            assert!(!value.is_empty() && !value.contains(['"', '=', '\\']), "bare value {value:?} in {line}");
        }
        fields.push((key, value));
        if let Some(c) = chars.next() {
            assert_eq!(c, ' ', "{line}");
        }
    }
    fields
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Nothing secret in `text`: not the password, not the document (raw or base64).
fn assert_no_secrets(text: &str) {
    assert!(!text.contains(PASSWORD), "the password is in the audit log");
    assert!(!text.contains("TOP-SECRET-CONTENT"), "the document is in the audit log");
    assert!(!text.contains(&b64(DOCUMENT)[..40]), "the document's base64 is in the audit log");
}

/// `expected` appear in `events` in this order (others may come between).
fn assert_in_order(events: &[&str], expected: &[&str]) {
    let mut rest = events.iter();
    for want in expected {
        assert!(rest.any(|e| e == want), "{want} missing or out of order in {events:?}");
    }
}

const REQUEST_EVENTS: &[&str] = &[
    "request.received",
    "dialog.opened",
    "site.asked",
    "site.answered",
    "key.asked",
    "key.chosen",
    "password.asked",
    "password.answered",
    "key.listed",
    "key.picked",
    "confirm.asked",
    "confirm.answered",
    "signature.produced",
    "request.answered",
];

#[tokio::test]
async fn a_signed_request_is_audited_in_order_under_one_id_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    sign_once(&["--audit-log", log.to_str().unwrap()], FORGED_ORIGIN).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_no_secrets(&text);
    let lines: Vec<Vec<(String, String)>> = text.lines().map(parse_kv).collect();
    for line in &lines {
        let keys: Vec<&str> = line.iter().take(3).map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["time", "level", "event"], "{line:?}");
        assert!(["debug", "info", "warn", "error"].contains(&get(line, "level").unwrap()));
        assert_ne!(get(line, "event"), Some("fake"));
    }
    let events: Vec<&str> = lines.iter().map(|l| get(l, "event").unwrap()).collect();
    let mut all = vec!["daemon.started", "daemon.listening", "connection.opened"];
    all.extend_from_slice(REQUEST_EVENTS);
    all.extend(["connection.closed", "daemon.stopped"]);
    assert_in_order(&events, &all);
    let forged = lines.iter().find(|l| get(l, "method") == Some(FORGED_METHOD)).expect("the forged method, one value");
    assert_eq!(get(forged, "event"), Some("request.received"));
    assert!(!text.lines().any(|l| l.contains("time=2026-01-01") && !l.starts_with("time=2026-12")), "a forged line");

    let opened = &lines[events.iter().position(|e| *e == "connection.opened").unwrap()];
    assert_eq!(get(opened, "origin"), Some(FORGED_ORIGIN), "the forged origin is one value");
    assert!(get(opened, "peer").unwrap().starts_with("127.0.0.1:"));
    let conn = get(opened, "conn").unwrap();
    let received = &lines[events.iter().position(|e| *e == "request.received").unwrap()];
    assert_eq!(get(received, "module"), Some("kz.gov.pki.knca.basics"));
    assert_eq!(get(received, "method"), Some("sign"));
    assert!(get(received, "bytes").unwrap().parse::<usize>().unwrap() > DOCUMENT.len());
    let id = get(received, "id").unwrap();
    assert!(id.starts_with("r-"));
    // Every record from the signing request's arrival to its answer carries its ids.
    let from = events.iter().position(|e| *e == "request.received").unwrap();
    let to = events.iter().position(|e| *e == "request.answered").unwrap();
    for line in &lines[from..=to] {
        assert_eq!((get(line, "id"), get(line, "conn")), (Some(id), Some(conn)), "{line:?}");
    }
    let chosen = &lines[events.iter().position(|e| *e == "key.chosen").unwrap()];
    assert_eq!(get(chosen, "path"), Some(fixture(RSA_KEY).to_str().unwrap()));
    let produced = &lines[events.iter().position(|e| *e == "signature.produced").unwrap()];
    assert_eq!((get(produced, "count"), get(produced, "algorithm")), (Some("1"), Some("Rsa")));
    let answered = &lines[events.iter().position(|e| *e == "request.answered").unwrap()];
    assert_eq!(get(answered, "result"), Some("ok"));
    // The forged method got the protocol's own error reply: logged as an error.
    let forged_id = get(forged, "id").unwrap();
    let forged_answer = lines
        .iter()
        .find(|l| get(l, "event") == Some("request.answered") && get(l, "id") == Some(forged_id))
        .expect("the forged request answered");
    assert_eq!(get(forged_answer, "result"), Some("error"), "{forged_answer:?}");
    let confirmed = &lines[events.iter().position(|e| *e == "confirm.answered").unwrap()];
    assert_eq!(get(confirmed, "approved"), Some("yes"));
}

#[tokio::test]
async fn json_lines_carry_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    sign_once(&["--audit-log", log.to_str().unwrap(), "--audit-json"], ORIGIN).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert_no_secrets(&text);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_in_order(&events, REQUEST_EVENTS);
    assert!(lines.iter().all(|l| l.as_object().unwrap().values().all(Value::is_string)));
}

/// One RFC 5424 message, checked against the grammar of §6 as it is read.
#[derive(Debug)]
struct Syslog {
    facility: u8,
    severity: u8,
    app: String,
    procid: String,
    msgid: String,
    params: Vec<(String, String)>,
    msg: String,
}

fn header_field<'a>(parts: &mut impl Iterator<Item = &'a str>, max: usize) -> String {
    let field = parts.next().expect("a header field");
    assert!(!field.is_empty() && field.len() <= max && field.chars().all(|c| c.is_ascii_graphic()), "{field:?}");
    field.to_owned()
}

fn rfc3339(ts: &str) {
    let b = ts.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    assert!(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10), "{ts}");
    assert!(b[10] == b'T' && digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':', "{ts}");
    assert!(digits(17..19), "{ts}");
    let mut rest = &ts[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.chars().take_while(char::is_ascii_digit).count();
        assert!((1..=6).contains(&n), "{ts}");
        rest = &fraction[n..];
    }
    let offset =
        rest == "Z" || (rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":");
    assert!(offset, "{ts}");
}

fn parse_5424(datagram: &[u8]) -> Syslog {
    let text = std::str::from_utf8(datagram).expect("UTF-8");
    let rest = text.strip_prefix('<').expect("PRI");
    let (pri, rest) = rest.split_once('>').expect("PRI");
    assert!((1..=3).contains(&pri.len()) && pri.chars().all(|c| c.is_ascii_digit()), "{pri}");
    let pri: u8 = pri.parse().unwrap();
    assert!(pri <= 191);
    let rest = rest.strip_prefix("1 ").expect("VERSION 1");
    let mut parts = rest.splitn(6, ' ');
    let timestamp = header_field(&mut parts, 64);
    rfc3339(&timestamp);
    let _hostname = header_field(&mut parts, 255);
    let app = header_field(&mut parts, 48);
    let procid = header_field(&mut parts, 128);
    let msgid = header_field(&mut parts, 32);
    let mut sd = parts.next().expect("STRUCTURED-DATA").chars().peekable();
    let mut params = Vec::new();
    assert_eq!(sd.next(), Some('['), "one SD-ELEMENT");
    let sd_id: String = std::iter::from_fn(|| sd.next_if(|c| *c != ' ' && *c != ']')).collect();
    assert_eq!(sd_id, "qoltanba@32473");
    loop {
        match sd.next() {
            Some(']') => break,
            Some(' ') => {}
            other => panic!("{other:?} in the structured data"),
        }
        let name: String = std::iter::from_fn(|| sd.next_if(|c| *c != '=')).collect();
        assert!(!name.is_empty() && name.len() <= 32, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_graphic() && !"= ]\"".contains(c)), "{name}");
        assert_eq!((sd.next(), sd.next()), (Some('='), Some('"')));
        let mut value = String::new();
        loop {
            match sd.next().expect("a closed PARAM-VALUE") {
                '"' => break,
                '\\' => match sd.next() {
                    Some(c @ ('"' | '\\' | ']')) => value.push(c),
                    // Only these three are escapes (§6.3.3); a backslash before
                    // anything else is itself.
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => panic!("cut PARAM-VALUE"),
                },
                ']' => panic!("unescaped ] in {value}"),
                c => value.push(c),
            }
        }
        params.push((name, value));
    }
    let msg: String = sd.collect();
    let msg = msg.strip_prefix(' ').expect("SP before MSG");
    let msg = msg.strip_prefix('\u{FEFF}').expect("MSG-UTF8 starts with the BOM").to_owned();
    Syslog { facility: pri / 8, severity: pri % 8, app, procid, msgid, params, msg }
}

/// Check the datagrams of one signed request.
fn check_syslog(datagrams: &[Vec<u8>], facility: u8, daemon_pid: Option<u32>) {
    let messages: Vec<Syslog> = datagrams.iter().map(|d| parse_5424(d)).collect();
    let events: Vec<&str> = messages.iter().map(|m| m.msgid.as_str()).collect();
    let mut all = vec!["daemon.started", "connection.opened"];
    all.extend_from_slice(REQUEST_EVENTS);
    all.push("daemon.stopped");
    assert_in_order(&events, &all);
    for m in &messages {
        assert_eq!((m.facility, m.app.as_str()), (facility, "qoltanba"), "{m:?}");
        if let Some(pid) = daemon_pid {
            assert_eq!(m.procid, pid.to_string());
        }
        let line = parse_kv(&m.msg);
        assert_eq!(get(&line, "event"), Some(m.msgid.as_str()));
        let level = get(&line, "level").unwrap();
        let severity = match level {
            "error" => 3,
            "warn" => 4,
            "info" => 6,
            _ => 7,
        };
        assert_eq!(m.severity, severity, "{m:?}");
        // The structured data: the level, then the line's fields after `event`.
        assert_eq!(m.params[0], ("level".to_owned(), level.to_owned()));
        let from_line: Vec<(String, String)> = line.into_iter().skip(3).collect();
        let shown = |v: &str| {
            let hidden = |c: char| c.is_control() || ('\u{200B}'..='\u{206F}').contains(&c) || c == '\u{FEFF}';
            v.chars().map(|c| if hidden(c) { format!("\\u{{{:x}}}", c as u32) } else { c.to_string() }).collect()
        };
        let from_line: Vec<(String, String)> = from_line.into_iter().map(|(k, v)| (k, shown(&v))).collect();
        assert_eq!(m.params[1..], from_line[..], "{m:?}");
        assert_no_secrets(&m.msg);
    }
    let text: String = datagrams.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect();
    assert_no_secrets(&text);
}

/// Datagrams until the daemon's last (read as they come, like a logger: a Unix
/// datagram socket queues only a few).
fn receive(mut recv: impl FnMut(&mut [u8]) -> std::io::Result<usize>) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = recv(&mut buf) {
        datagrams.push(buf[..n].to_vec());
        if String::from_utf8_lossy(&buf[..n]).contains(" daemon.stopped ") {
            break;
        }
    }
    datagrams
}

#[tokio::test]
async fn syslog_over_udp_is_rfc5424() {
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    listener.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let target = format!("udp://{}", listener.local_addr().unwrap());
    let reader = std::thread::spawn(move || receive(|buf| listener.recv(buf)));
    sign_once(&["--syslog", &target], ORIGIN).await;
    let datagrams = reader.join().unwrap();
    check_syslog(&datagrams, 1, None);
}

#[cfg(unix)]
#[tokio::test]
async fn syslog_over_a_unix_socket_is_rfc5424() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    listener.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let target = format!("unix:{}", path.display());
    let reader = std::thread::spawn(move || receive(|buf| listener.recv(buf)));
    sign_once(&["--syslog", &target, "--syslog-facility", "local0"], ORIGIN).await;
    let datagrams = reader.join().unwrap();
    check_syslog(&datagrams, 16, None);
}

#[tokio::test]
async fn a_connection_refused_before_the_websocket_is_audited() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut daemon = Daemon::start(&["--audit-log", log.to_str().unwrap()]);
    assert!(daemon.tls);
    // Plain HTTP to the TLS port: the handshake fails.
    let mut tcp = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(tcp);
    assert!(daemon.terminate().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let refused = text.lines().map(parse_kv).find(|l| get(l, "event") == Some("connection.refused")).expect(&text);
    assert_eq!(get(&refused, "reason"), Some("TLS handshake failed"));
    assert!(get(&refused, "peer").unwrap().starts_with("127.0.0.1:"));
}
