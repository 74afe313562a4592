//! The three shapes of one audit record: a `key=value` line, a JSON line, and an
//! RFC 5424 syslog message. Values come from pages (origins, method names, paths) and
//! certificates: each is cut to [`MAX_VALUE`] bytes (marked with `…`), and control and
//! format characters (newlines, bidi overrides) are escaped, so no value can start a
//! second line or pose as another key.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::Level;
use crate::ui::sanitize::is_format;

/// Bytes of one value kept; longer values are cut at a character boundary and end in `…`.
pub const MAX_VALUE: usize = 512;

/// The structured data ID of the syslog messages (RFC 5424 §6.3.2; 32473 is the
/// enterprise number RFC 5612 reserves for documentation).
pub const SD_ID: &str = "qoltanba@32473";

/// One event, before it is written.
#[derive(Clone, Debug)]
pub struct Record {
    pub time: SystemTime,
    pub level: Level,
    /// Fixed ASCII, e.g. `request.received`.
    pub event: &'static str,
    /// Fixed ASCII keys (at most 32 characters: a syslog PARAM-NAME) and their values.
    pub fields: Vec<(&'static str, String)>,
}

/// `time` as RFC 3339 in UTC with milliseconds: `2026-12-03T10:00:00.123Z`.
pub fn timestamp(time: SystemTime) -> String {
    let ms = time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    crate::journal::rfc3339(ms)
}

/// A character that must never appear raw in a value.
fn hidden(c: char) -> bool {
    c.is_control() || is_format(c)
}

/// `value` cut to [`MAX_VALUE`] bytes, and whether it was cut.
fn cut(value: &str) -> (&str, bool) {
    if value.len() <= MAX_VALUE {
        return (value, false);
    }
    let mut end = MAX_VALUE;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    (&value[..end], true)
}

/// How a hidden character is written inside a quoted value.
#[derive(Clone, Copy)]
enum Hidden {
    /// `\u{202e}` (the line format's).
    Braced,
    /// `\u202e`, UTF-16 units (JSON's).
    Json,
}

/// `value` (already cut) quoted: `\"`, `\\`, `\n`, `\r`, `\t`, other control and
/// format characters as `style` says; `…` before the closing quote when it was cut.
fn quoted(out: &mut String, value: &str, was_cut: bool, style: Hidden) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) => match style {
                Hidden::Braced => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                Hidden::Json => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{unit:04x}");
                    }
                }
            },
            c => out.push(c),
        }
    }
    if was_cut {
        out.push('…');
    }
    out.push('"');
}

/// Append `value` as a `key=value` value: bare when it has no space, `"`, `=`, `\`,
/// control or format character, else quoted and escaped.
pub fn write_value(out: &mut String, value: &str) {
    let (value, was_cut) = cut(value);
    let bare = !value.is_empty()
        && value.chars().all(|c| !(c.is_whitespace() || c == '"' || c == '=' || c == '\\' || hidden(c)));
    if bare {
        out.push_str(value);
        if was_cut {
            out.push('…');
        }
        return;
    }
    quoted(out, value, was_cut, Hidden::Braced);
}

/// The record as one `key=value` line (no newline).
pub fn kv_line(record: &Record) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("time=");
    out.push_str(&timestamp(record.time));
    out.push_str(" level=");
    out.push_str(record.level.as_str());
    out.push_str(" event=");
    write_value(&mut out, record.event);
    for (key, value) in &record.fields {
        out.push(' ');
        out.push_str(key);
        out.push('=');
        write_value(&mut out, value);
    }
    out
}

/// Append `value` as a JSON string (cut like every value; control and format
/// characters as `\uXXXX`).
fn json_string(out: &mut String, value: &str) {
    let (value, was_cut) = cut(value);
    quoted(out, value, was_cut, Hidden::Json);
}

/// The record as one JSON object on one line (no newline), with the same keys.
pub fn json_line(record: &Record) -> String {
    let mut out = String::with_capacity(160);
    out.push_str("{\"time\":\"");
    out.push_str(&timestamp(record.time));
    out.push_str("\",\"level\":\"");
    out.push_str(record.level.as_str());
    out.push_str("\",\"event\":");
    json_string(&mut out, record.event);
    for (key, value) in &record.fields {
        out.push(',');
        json_string(&mut out, key);
        out.push(':');
        json_string(&mut out, value);
    }
    out.push('}');
    out
}

/// Syslog facilities (RFC 5424 §6.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Facility {
    /// 1: user-level messages.
    #[default]
    User,
    /// 16: local use 0.
    Local0,
}

impl Facility {
    fn code(self) -> u8 {
        match self {
            Self::User => 1,
            Self::Local0 => 16,
        }
    }
}

/// A header field of a syslog message: printable US-ASCII, at most `max` characters,
/// `-` (NILVALUE) when nothing is left.
pub fn header_field(text: &str, max: usize) -> String {
    let field: String = text.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if field.is_empty() { "-".into() } else { field }
}

/// The record as an RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME qoltanba PROCID MSGID
/// [qoltanba@32473 level="info" key="value" …] BOM key=value-line`. `hostname` must
/// come from [`header_field`].
pub fn syslog_message(record: &Record, facility: Facility, hostname: &str, procid: u32) -> Vec<u8> {
    let pri = u16::from(facility.code()) * 8 + u16::from(record.level.severity());
    let mut out = format!(
        "<{pri}>1 {} {hostname} qoltanba {procid} {} [{SD_ID} level=\"{}\"",
        timestamp(record.time),
        header_field(record.event, 32),
        record.level.as_str()
    );
    for (key, value) in &record.fields {
        out.push(' ');
        out.push_str(&header_field(key, 32));
        out.push_str("=\"");
        // §6.3.3's escapes of `"`, `\` and `]`; control and format characters shown
        // as `\u{…}` (the MSG line has the exact value).
        let (value, was_cut) = cut(value);
        for c in value.chars() {
            match c {
                '"' | '\\' | ']' => {
                    out.push('\\');
                    out.push(c);
                }
                c if hidden(c) => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        if was_cut {
            out.push('…');
        }
        out.push('"');
    }
    out.push_str("] \u{FEFF}");
    out.push_str(&kv_line(record));
    out.into_bytes()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// Parse a `key=value` line back: keys, then bare or quoted values.
    pub(crate) fn parse_kv(line: &str) -> Result<Vec<(String, String)>, String> {
        let mut fields = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            let mut key = String::new();
            while let Some(&c) = chars.peek() {
                if c == '=' {
                    break;
                }
                if !(c.is_ascii_lowercase() || c == '_' || c == '.' || c.is_ascii_digit()) {
                    return Err(format!("bad key character {c:?} in {line}"));
                }
                key.push(c);
                chars.next();
            }
            if key.is_empty() || chars.next() != Some('=') {
                return Err(format!("no key at {line}"));
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err("unterminated quote".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => value.push('"'),
                            Some('\\') => value.push('\\'),
                            Some('n') => value.push('\n'),
                            Some('r') => value.push('\r'),
                            Some('t') => value.push('\t'),
                            Some('u') => {
                                let mut hex = String::new();
                                if chars.next() != Some('{') {
                                    return Err("bad \\u".into());
                                }
                                for c in chars.by_ref() {
                                    if c == '}' {
                                        break;
                                    }
                                    hex.push(c);
                                }
                                let c = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                                value.push(c.ok_or("bad \\u value")?);
                            }
                            other => return Err(format!("bad escape {other:?}")),
                        },
                        Some(c) if c.is_control() || is_format(c) => return Err(format!("raw {c:?}")),
                        Some(c) => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    if c == '"' || c == '=' || c == '\\' || c.is_control() || is_format(c) {
                        return Err(format!("{c:?} in a bare value of {line}"));
                    }
                    value.push(c);
                    chars.next();
                }
            }
            fields.push((key, value));
            match chars.next() {
                None => return Ok(fields),
                Some(' ') => {}
                Some(c) => return Err(format!("{c:?} after a value")),
            }
        }
    }

    fn record(fields: Vec<(&'static str, String)>) -> Record {
        let time = UNIX_EPOCH + Duration::from_millis(1_796_292_000_123);
        Record { time, level: Level::Info, event: "request.received", fields }
    }

    #[test]
    fn a_line_reads_back_as_its_fields() {
        let values = [
            "https://sigex.kz",
            "",
            "two words",
            "a=b",
            "quote \" and \\ backslash",
            "кириллица",
            "tab\tcr\rnl\n",
            "\u{202E}evil\u{2066}",
            "\u{0}\u{7f}\u{85}\u{1b}[2J",
        ];
        for value in values {
            let line = kv_line(&record(vec![("origin", value.into()), ("method", "sign".into())]));
            assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
            assert!(!line.chars().any(|c| c.is_control() || is_format(c)), "{line:?}");
            let fields = parse_kv(&line).unwrap();
            let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, ["time", "level", "event", "origin", "method"], "{line}");
            assert_eq!(fields[3].1, value, "{line}");
            assert_eq!(fields[0].1, "2026-12-03T10:00:00.123Z");
        }
    }

    #[test]
    fn plain_values_stay_bare_others_are_quoted() {
        let line = kv_line(&record(vec![("origin", "https://sigex.kz".into()), ("path", "/tmp/my key.p12".into())]));
        assert!(line.ends_with(r#"origin=https://sigex.kz path="/tmp/my key.p12""#), "{line}");
        let line = kv_line(&record(vec![("empty", String::new())]));
        assert!(line.ends_with(r#"empty="""#), "{line}");
    }

    #[test]
    fn a_forged_origin_makes_no_second_event_and_no_key() {
        let forged = "https://evil.kz\n level=error event=fake id=r-1 \" x=\"y\u{2028}level=error";
        let line = kv_line(&record(vec![("origin", forged.into()), ("id", "r-real".into())]));
        assert_eq!(line.lines().count(), 1);
        let fields = parse_kv(&line).unwrap();
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["time", "level", "event", "origin", "id"]);
        assert_eq!(fields[1].1, "info");
        assert_eq!(fields[2].1, "request.received");
        assert_eq!(fields[3].1, forged);
        assert_eq!(fields[4].1, "r-real");
        // The JSON line too: one object, the forged text a value.
        let json: serde_json::Value =
            serde_json::from_str(&json_line(&record(vec![("origin", forged.into())]))).unwrap();
        assert_eq!((json["origin"].as_str(), json["level"].as_str()), (Some(forged), Some("info")));
    }

    #[test]
    fn long_values_are_cut_and_marked() {
        let long = "я".repeat(1000);
        let line = kv_line(&record(vec![("origin", long.clone())]));
        let fields = parse_kv(&line).unwrap();
        let value = &fields[3].1;
        assert!(value.ends_with('…') && value.len() <= MAX_VALUE + '…'.len_utf8(), "{}", value.len());
        assert!(long.starts_with(value.trim_end_matches('…')));
        let quoted = kv_line(&record(vec![("origin", format!("a b{}", "x".repeat(2000)))]));
        assert!(quoted.ends_with("…\""), "{quoted}");
        assert!(quoted.len() < MAX_VALUE + 200);
    }

    #[test]
    fn json_lines_have_the_same_fields() {
        let rec = record(vec![("origin", "\u{202E}x\"\n".into()), ("bytes", "12".into())]);
        let line = json_line(&rec);
        assert!(!line.contains('\u{202E}') && !line.contains('\n'));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        let kv = parse_kv(&kv_line(&rec)).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), kv.len());
        for (key, value) in kv {
            assert_eq!(object[&key].as_str(), Some(value.as_str()), "{key}");
        }
    }

    #[test]
    fn syslog_message_has_rfc5424_shape() {
        let rec = Record { level: Level::Warn, ..record(vec![("origin", "a]b\"c\\d".into())]) };
        let message = String::from_utf8(syslog_message(&rec, Facility::Local0, "host", 42)).unwrap();
        let expected = "<132>1 2026-12-03T10:00:00.123Z host qoltanba 42 request.received \
                        [qoltanba@32473 level=\"warn\" origin=\"a\\]b\\\"c\\\\d\"] \u{FEFF}time=";
        assert!(message.starts_with(expected), "{message}");
        assert_eq!(header_field("my host\n", 255), "myhost");
        assert_eq!(header_field("", 255), "-");
    }
}
