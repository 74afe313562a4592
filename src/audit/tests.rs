use std::time::Instant;

use super::format::tests::parse_kv;
use super::*;

fn file_audit(dir: &std::path::Path, json: bool) -> (Audit, std::path::PathBuf) {
    let path = dir.join("audit.log");
    (Audit::with_outputs(vec![Output::file(&path, json).unwrap()]).unwrap(), path)
}

fn lines(audit: &Audit, path: &std::path::Path) -> Vec<Vec<(String, String)>> {
    audit.flush(Duration::from_secs(5));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| parse_kv(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn one_request_s_events_carry_its_id_and_its_connection_s() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, path) = file_audit(dir.path(), false);
    let conn = Conn::open_in(Some(&audit), Some(([127, 0, 0, 1], 5000).into()), Some("https://evil.kz\nlevel=error"));
    for _ in 0..2 {
        let scope = conn.request(42);
        received("kz.gov.pki.knca.basics", Some("sign"), true);
        outcome(&Err(SigningError::Canceled));
        assert_eq!(scope.finish(Some("{}".into())).as_deref(), Some("{}"));
    }
    // Outside a request nothing is attributed to one.
    emit(Level::Info, "stray", Vec::new());
    drop(conn);
    let lines = lines(&audit, &path);
    let events: Vec<&str> = lines.iter().map(|l| get(l, "event").unwrap()).collect();
    let one = ["request.received", "request.failed", "request.answered"];
    let expected: Vec<&str> =
        std::iter::once("connection.opened").chain(one).chain(one).chain(["connection.closed"]).collect();
    assert_eq!(events, expected);
    let conn_id = get(&lines[0], "conn").unwrap();
    assert!(conn_id.starts_with("c-"));
    assert_eq!(get(&lines[0], "origin"), Some("https://evil.kz\nlevel=error"));
    assert!(lines.iter().all(|l| get(l, "conn") == Some(conn_id)));
    let (first, second) = (get(&lines[1], "id").unwrap(), get(&lines[4], "id").unwrap());
    assert!(first.starts_with("r-") && first != second);
    assert!(lines[1..4].iter().all(|l| get(l, "id") == Some(first)));
    assert_eq!(get(&lines[1], "bytes"), Some("42"));
    assert_eq!(get(&lines[3], "result"), Some("error"));
    assert_eq!(get(&lines[3], "error"), Some("canceled"));
    assert_eq!(get(&lines[7], "requests"), Some("2"));
}

#[test]
fn a_frame_that_is_no_request_is_a_protocol_error() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, path) = file_audit(dir.path(), true);
    let conn = Conn::open_in(Some(&audit), None, None);
    let scope = conn.request(3);
    let _ = scope.finish(None);
    let text = {
        audit.flush(Duration::from_secs(5));
        std::fs::read_to_string(&path).unwrap()
    };
    let events: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events[1]["event"], "protocol.error");
    assert_eq!(events[1]["level"], "warn");
    assert_eq!(events[2]["event"], "request.answered");
    assert_eq!(events[2]["reply_bytes"], "0");
}

#[test]
fn the_audit_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, path) = file_audit(dir.path(), false);
    audit.event(Level::Info, "x", Vec::new());
    audit.flush(Duration::from_secs(5));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

/// A logger that reads nothing: recording still never waits; what does not fit is
/// dropped and counted.
#[cfg(unix)]
#[test]
fn a_stuck_output_never_holds_up_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("log.sock");
    let _stuck = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    let target = SyslogTarget::parse(&format!("unix:{}", socket.display())).unwrap();
    let audit = Audit::with_outputs(vec![Output::syslog(&target, Facility::User).unwrap()]).unwrap();
    let start = Instant::now();
    for i in 0..(sink::QUEUE * 3) {
        audit.event(Level::Info, "flood", vec![("n", i.to_string()), ("pad", "x".repeat(400))]);
    }
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert!(audit.dropped() > 0);
}

#[test]
fn syslog_targets() {
    assert!(matches!(SyslogTarget::parse("udp://127.0.0.1:514"), Ok(SyslogTarget::Udp(a)) if a.port() == 514));
    #[cfg(unix)]
    assert!(
        matches!(SyslogTarget::parse("default"), Ok(SyslogTarget::Unix(p)) if p == std::path::Path::new("/dev/log"))
    );
    assert!(SyslogTarget::parse("tcp://x:1").is_err());
    assert!(SyslogTarget::parse("unix:").is_err());
}

#[test]
fn error_replies_the_protocol_builds_are_logged_as_errors() {
    use super::reply_error;
    assert_eq!(reply_error(r#"{"code":"500","message":"action.canceled"}"#).as_deref(), Some("action.canceled"));
    assert_eq!(reply_error(r#"{"code":"200","responseObject":"MII"}"#), None);
    assert_eq!(
        reply_error(r#"{"status":false,"code":"MODULE_NOT_FOUND","message":"x"}"#).as_deref(),
        Some("MODULE_NOT_FOUND")
    );
    assert_eq!(reply_error(r#"{"status":true,"body":{}}"#), None);
    assert_eq!(reply_error(r#"{"result":"x","errorCode":"WRONG_PASSWORD"}"#).as_deref(), Some("WRONG_PASSWORD"));
    assert_eq!(reply_error(r#"{"result":{"version":"1.4"},"errorCode":"NONE"}"#), None);
    assert_eq!(reply_error("--heartbeat--"), None);
}
