//! A large text message read as it arrives: the `args.data` string of a request is
//! base64-decoded (and hashed, see [`DocumentWriter`]) while the rest of the message
//! is still on its way, so the daemon never holds the message text, a JSON tree of it
//! and the decoded document at once.
//!
//! [`Intake`] takes the message's bytes in pieces of any size. Everything but the
//! content of that one string is kept verbatim (a few hundred bytes for a `sign`
//! request); the content is decoded only while it is plain base64 (`A–Z a–z 0–9 + /`,
//! then `=` padding). Anything else in it (an escape such as `\/`, a space, a line
//! break, a character base64 does not have, a last group base64 refuses), or a string
//! never closed, turns the intake back into a verbatim copy of the whole message: what
//! was decoded is encoded again, which gives back exactly the characters that were
//! sent. So whatever cannot be decoded on the way is handled by the whole-message path
//! from the very text the page sent, with the very replies (and errors) it gives.
//!
//! The result, a [`Received`], is either that whole text or a [`Spliced`] message: the
//! text with `""` where the string was, and the decoded [`Data`]. Whether the string
//! was really the `data` of a `basics` request is decided by the ordinary parser on
//! the spliced text ([`super::Dispatcher::handle_received`]); when it was not, the text
//! is put back together and parsed whole.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Base64 without padding: `=` is counted apart (see [`Data::text`]), never decoded.
const GROUPS: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireNone),
);
use crate::signing::{Document, DocumentWriter};

/// What an intake keeps of a spliced message is usually this small.
const KEPT_SMALL: usize = 64 * 1024;

/// A message read by an [`Intake`].
#[derive(Debug)]
pub enum Received {
    /// The whole text.
    Text(String),
    /// The text with its `args.data` string read aside.
    Spliced(Spliced),
}

/// The message was not UTF-8 (a WebSocket text message must be).
#[derive(Debug, PartialEq, Eq)]
pub struct NotUtf8;

/// A message with the content of one string taken out and decoded.
#[derive(Debug)]
pub struct Spliced {
    /// The message with `""` in place of the string.
    pub(super) skeleton: String,
    /// Where that `""` starts in `skeleton`.
    pub(super) at: usize,
    pub(super) data: Data,
}

impl Spliced {
    /// The message exactly as it was sent.
    pub fn into_text(self) -> String {
        let (before, after) = self.skeleton.split_at(self.at + 1);
        let mut text = String::with_capacity(self.skeleton.len() + self.data.text_len());
        text.push_str(before);
        self.data.push_text(&mut text);
        text.push_str(after);
        text
    }
}

/// A string that held plain base64: its decoded bytes and its `=` padding.
#[derive(Debug)]
pub struct Data {
    document: Document,
    /// `=` characters after the base64 (any number: they are ignored).
    padding: usize,
}

impl Data {
    pub(super) fn text_len(&self) -> usize {
        base64::encoded_len(self.document.bytes().len(), false).unwrap_or(0) + self.padding
    }

    /// The string as the page sent it (plain base64 encodes one way only).
    fn push_text(&self, text: &mut String) {
        STANDARD_NO_PAD.encode_string(self.document.bytes(), text);
        text.extend(std::iter::repeat_n('=', self.padding));
    }

    /// The string as the page sent it.
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.text_len());
        self.push_text(&mut text);
        text
    }

    /// The decoded bytes.
    pub fn into_document(self) -> Document {
        self.document
    }
}

/// See the module documentation.
pub struct Intake {
    /// The message but the string being decoded; all of it once `whole`.
    kept: Vec<u8>,
    /// Everything from now on is only kept.
    whole: bool,
    lexer: Lexer,
    /// The `args.data` string: being decoded, or decoded.
    data: Option<Decoding>,
    /// Expected size of the message.
    hint: usize,
}

/// Where the lexer is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

/// What a key at depth 1 or 2 was.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Args,
    Data,
    Other,
}

/// Just enough of JSON's grammar to find `"args":{… "data":"…"}` at the top of a valid
/// message. Invalid messages can fool it; that costs nothing (the ordinary parser has
/// the last word on the spliced text).
struct Lexer {
    depth: usize,
    /// The containers at depth 1 and 2.
    kinds: [Container; 2],
    /// The object at depth 2 is the value of `args`.
    in_args: bool,
    /// A string starting now would be a key.
    expect_key: bool,
    /// The key whose value comes next (depth 1 or 2).
    key: Option<Key>,
    /// Inside a string.
    string: Option<StringState>,
}

struct StringState {
    /// The string is a key at depth 1 or 2: its first bytes.
    key: Option<([u8; 5], usize)>,
    escape: bool,
}

/// What the lexer met.
enum Lexed {
    /// Nothing of interest up to this many bytes.
    Plain(usize),
    /// The `args.data` string opens with the byte at this index.
    DataOpens(usize),
    /// From the byte at this index on, nothing is of interest: the message is not an
    /// object, or its object has ended.
    Rest(usize),
}

impl Lexer {
    fn new() -> Self {
        Self { depth: 0, kinds: [Container::Object; 2], in_args: false, expect_key: false, key: None, string: None }
    }

    fn kind(&self) -> Option<Container> {
        self.depth.checked_sub(1).and_then(|d| self.kinds.get(d)).copied()
    }

    /// Read `bytes` up to the opening quote of the `args.data` string, if any.
    fn scan(&mut self, bytes: &[u8]) -> Lexed {
        let mut i = 0;
        while i < bytes.len() {
            if let Some(string) = &mut self.string {
                if string.escape {
                    string.escape = false;
                    if let Some((_, len)) = &mut string.key {
                        *len = usize::MAX; // an escaped key is never one we look for
                    }
                    i += 1;
                    continue;
                }
                let Some(at) = memchr::memchr2(b'"', b'\\', &bytes[i..]) else {
                    string.push_key(&bytes[i..]);
                    return Lexed::Plain(bytes.len());
                };
                string.push_key(&bytes[i..i + at]);
                i += at;
                if bytes[i] == b'\\' {
                    string.escape = true;
                } else {
                    let key = string.key.take();
                    self.string = None;
                    if let Some((name, len)) = key {
                        self.key = Some(match name.get(..len) {
                            Some(b"args") => Key::Args,
                            Some(b"data") => Key::Data,
                            _ => Key::Other,
                        });
                    }
                }
                i += 1;
                continue;
            }
            let b = bytes[i];
            if self.depth == 0 && b != b'{' && !b.is_ascii_whitespace() {
                return Lexed::Rest(i);
            }
            match b {
                b'"' => {
                    let is_key = self.expect_key && self.kind() == Some(Container::Object) && self.depth <= 2;
                    if !self.expect_key && self.depth == 2 && self.in_args && self.key == Some(Key::Data) {
                        self.key = None;
                        return Lexed::DataOpens(i);
                    }
                    if !self.expect_key {
                        self.key = None;
                    }
                    self.string = Some(StringState { key: is_key.then_some(([0; 5], 0)), escape: false });
                }
                b'{' | b'[' => {
                    let kind = if b == b'{' { Container::Object } else { Container::Array };
                    let opens_args = self.depth == 1 && self.key == Some(Key::Args) && kind == Container::Object;
                    self.depth = self.depth.saturating_add(1);
                    if let Some(slot) = self.depth.checked_sub(1).and_then(|d| self.kinds.get_mut(d)) {
                        *slot = kind;
                    }
                    if self.depth == 2 {
                        self.in_args = opens_args;
                    }
                    self.expect_key = kind == Container::Object;
                    self.key = None;
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.expect_key = false;
                    self.key = None;
                    if self.depth == 0 {
                        return Lexed::Rest(i + 1);
                    }
                }
                b',' => self.expect_key = self.kind() == Some(Container::Object),
                b':' => self.expect_key = false,
                _ => {}
            }
            i += 1;
        }
        Lexed::Plain(bytes.len())
    }
}

impl StringState {
    fn push_key(&mut self, bytes: &[u8]) {
        if let Some((name, len)) = &mut self.key {
            for &b in bytes {
                match name.get_mut(*len) {
                    Some(slot) => {
                        *slot = b;
                        *len += 1;
                    }
                    None => {
                        *len = usize::MAX;
                        break;
                    }
                }
            }
        }
    }
}

/// The `args.data` string while it is decoded.
struct Decoding {
    /// Index of its opening quote in `kept`.
    at: usize,
    writer: DocumentWriter,
    /// Base64 characters not decoded yet (a group of four is decoded as it fills).
    carry: [u8; 4],
    carry_len: usize,
    padding: usize,
    /// The closing quote was read.
    closed: bool,
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

impl Decoding {
    /// Decode whole groups of plain base64 onto the document; `false` (and nothing
    /// decoded) if they are not.
    fn decode_groups(&mut self, groups: &[u8]) -> bool {
        if groups.is_empty() {
            return true;
        }
        self.writer.append(|bytes| {
            let start = bytes.len();
            bytes.resize(start + groups.len() / 4 * 3, 0);
            // Whole groups of four, no padding: SIMD decoding (the document's
            // decoding would take as long as its hashing otherwise).
            match base64_simd::STANDARD_NO_PAD.decode(groups, base64_simd::Out::from_slice(&mut bytes[start..])) {
                Ok(decoded) => {
                    let n = decoded.len();
                    bytes.truncate(start + n);
                    true
                }
                Err(_) => {
                    bytes.truncate(start);
                    false
                }
            }
        })
    }

    /// Take the plain base64 at the start of `run`; returns how many bytes it took.
    fn take_base64(&mut self, run: &[u8]) -> usize {
        let mut i = 0;
        while self.carry_len > 0 && i < run.len() && is_base64(run[i]) {
            self.carry[self.carry_len] = run[i];
            self.carry_len += 1;
            i += 1;
            if self.carry_len == 4 {
                let carry = self.carry;
                self.carry_len = 0;
                self.decode_groups(&carry);
            }
        }
        if self.carry_len > 0 {
            return i; // the run ended, or a byte that is not base64
        }
        let rest = &run[i..];
        let whole = rest.len() / 4 * 4;
        let plain = if self.decode_groups(&rest[..whole]) {
            whole + rest[whole..].iter().take_while(|&&b| is_base64(b)).count()
        } else {
            let plain = rest.iter().take_while(|&&b| is_base64(b)).count();
            self.decode_groups(&rest[..plain / 4 * 4]);
            plain
        };
        let tail = &rest[plain / 4 * 4..plain];
        self.carry[..tail.len()].copy_from_slice(tail);
        self.carry_len = tail.len();
        i + plain
    }

    /// Read the string's content up to its closing quote; returns how many bytes were
    /// read (the quote included), or `Err` with how many were read before what is not
    /// plain base64 (a closing quote too, when base64 refuses the last group).
    fn feed(&mut self, bytes: &[u8]) -> Result<usize, usize> {
        let end = memchr::memchr2(b'"', b'\\', bytes).unwrap_or(bytes.len());
        let run = &bytes[..end];
        let taken = if self.padding == 0 { self.take_base64(run) } else { 0 };
        let pads = run[taken..].iter().take_while(|&&b| b == b'=').count();
        self.padding += pads;
        if taken + pads < run.len() {
            return Err(taken + pads);
        }
        match bytes.get(end) {
            None => Ok(end),
            Some(b'"') if self.finish_groups() => {
                self.closed = true;
                Ok(end + 1)
            }
            Some(_) => Err(end),
        }
    }

    /// Decode the last, short group; `false` if base64 refuses it.
    fn finish_groups(&mut self) -> bool {
        let carry = &self.carry[..self.carry_len];
        let Ok(tail) = GROUPS.decode(carry) else { return false };
        self.carry_len = 0;
        self.writer.append(|bytes| bytes.extend_from_slice(&tail));
        true
    }

    fn text_len(&self) -> usize {
        base64::encoded_len(self.writer.len(), false).unwrap_or(0) + self.carry_len + self.padding
    }

    /// Append the characters read so far, as sent.
    fn push_text(self, out: &mut Vec<u8>) {
        let start = out.len();
        let decoded = self.writer.finish();
        let len = base64::encoded_len(decoded.bytes().len(), false).unwrap_or(0);
        out.resize(start + len, 0);
        let written = STANDARD_NO_PAD.encode_slice(decoded.bytes(), &mut out[start..]).unwrap_or(0);
        out.truncate(start + written);
        out.extend_from_slice(&self.carry[..self.carry_len]);
        out.extend(std::iter::repeat_n(b'=', self.padding));
    }
}

impl Intake {
    /// An intake for a message of about `hint` bytes (room is reserved, not used).
    pub fn new(hint: usize) -> Self {
        Self { kept: Vec::new(), whole: false, lexer: Lexer::new(), data: None, hint }
    }

    /// The next bytes of the message.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.whole {
                self.keep(bytes);
                return;
            }
            if let Some(data) = self.data.as_mut().filter(|d| !d.closed) {
                match data.feed(bytes) {
                    Ok(n) => {
                        if data.closed {
                            self.kept.extend_from_slice(b"\"");
                        }
                        bytes = &bytes[n..];
                    }
                    Err(n) => {
                        self.keep_whole();
                        bytes = &bytes[n..];
                    }
                }
                continue;
            }
            match self.lexer.scan(bytes) {
                Lexed::Plain(n) => {
                    self.keep(&bytes[..n]);
                    bytes = &bytes[n..];
                }
                Lexed::DataOpens(i) if self.data.is_none() => {
                    self.keep(&bytes[..=i]);
                    let at = self.kept.len() - 1;
                    let room = self.hint.saturating_sub(self.kept.len()) / 4 * 3;
                    self.data = Some(Decoding {
                        at,
                        writer: DocumentWriter::with_capacity(room),
                        carry: [0; 4],
                        carry_len: 0,
                        padding: 0,
                        closed: false,
                    });
                    bytes = &bytes[i + 1..];
                }
                Lexed::Rest(i) => {
                    self.keep(&bytes[..i]);
                    self.whole = true;
                    bytes = &bytes[i..];
                }
                // A second `data` string: kept as it is (the last one counts).
                Lexed::DataOpens(i) => {
                    self.lexer.string = Some(StringState { key: None, escape: false });
                    self.keep(&bytes[..=i]);
                    bytes = &bytes[i + 1..];
                }
            }
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        // A large message kept whole gets the room it needs at once (growing by
        // doubling would need up to three times its size at a moment).
        if self.kept.len() + bytes.len() > KEPT_SMALL {
            self.kept.reserve(self.hint.max(self.kept.len() + bytes.len()) - self.kept.len());
        }
        self.kept.extend_from_slice(bytes);
    }

    /// From now on keep everything: put the string's characters back first (it is
    /// the last thing read, right after its opening quote).
    fn keep_whole(&mut self) {
        self.whole = true;
        let data = self.data.take();
        let text_len = data.as_ref().map_or(0, Decoding::text_len);
        self.kept.reserve(self.hint.saturating_sub(self.kept.len()).max(text_len));
        if let Some(data) = data {
            data.push_text(&mut self.kept);
        }
    }

    /// The message, once all of it was pushed.
    pub fn finish(mut self) -> Result<Received, NotUtf8> {
        if self.data.as_ref().is_some_and(|d| !d.closed) {
            self.keep_whole();
        }
        let text = String::from_utf8(std::mem::take(&mut self.kept)).map_err(|_| NotUtf8)?;
        Ok(match self.data.take() {
            Some(data) => {
                let (at, padding) = (data.at, data.padding);
                Received::Spliced(Spliced {
                    skeleton: text,
                    at,
                    data: Data { document: data.writer.finish(), padding },
                })
            }
            None => Received::Text(text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Pending, Session, prepare, prepare_spliced};
    use super::*;

    /// What preparing a message gives, in words, and the session's language after.
    fn outcome(session: Session, pending: Pending) -> String {
        let what = match pending {
            Pending::Reply(reply) => format!("reply {reply:?}"),
            Pending::Basics(prepared) => format!("basics {}", prepared.describe()),
            Pending::CommonUtils(_) => "commonUtils".into(),
            Pending::Legacy(request) => format!("legacy {request:?}"),
            Pending::Unsplice => "unsplice".into(),
        };
        format!("{what} / {:?}", session.context.locale)
    }

    /// The whole-message path; `None`: not UTF-8 (the connection closes).
    fn whole(message: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(message).ok()?;
        let mut session = Session::default();
        let pending = prepare(&mut session, text, None);
        Some(outcome(session, pending))
    }

    /// The message pushed in pieces cut at `cuts`, then prepared as received.
    fn streamed(message: &[u8], cuts: &[usize]) -> (Option<String>, bool) {
        let mut intake = Intake::new(message.len());
        let mut from = 0;
        for &cut in cuts.iter().chain([&message.len()]) {
            intake.push(&message[from..cut]);
            from = cut;
        }
        let Ok(received) = intake.finish() else { return (None, false) };
        let mut session = Session::default();
        let (pending, spliced) = match received {
            Received::Text(text) => (prepare(&mut session, &text, None), false),
            Received::Spliced(spliced) => (prepare_spliced(&mut session, spliced), true),
        };
        (Some(outcome(session, pending)), spliced)
    }

    /// Both paths agree on `message` cut anywhere once, and cut into single bytes;
    /// returns whether the streaming path spliced it.
    fn agree(message: &[u8]) -> bool {
        let expected = whole(message);
        let (once, spliced) = streamed(message, &[]);
        assert_eq!(once, expected, "{}", String::from_utf8_lossy(message));
        for cut in 0..=message.len() {
            let (got, s) = streamed(message, &[cut]);
            assert_eq!(got, expected, "cut at {cut}: {}", String::from_utf8_lossy(message));
            assert_eq!(s, spliced, "cut at {cut}: {}", String::from_utf8_lossy(message));
        }
        let bytes: Vec<usize> = (1..message.len()).collect();
        assert_eq!(streamed(message, &bytes).0, expected, "{}", String::from_utf8_lossy(message));
        spliced
    }

    fn sign(data: &str, params: &str) -> String {
        format!(
            r#"{{"module":"kz.gov.pki.knca.basics","method":"sign","args":{{"format":"cms","data":"{data}",{params}"signerParams":{{"extKeyUsageOids":[]}},"locale":"en"}}}}"#
        )
    }

    const DETACHED: &str = r#""signingParams":{"decode":true,"encapsulate":false},"#;

    #[test]
    fn plain_base64_is_decoded_on_the_way_with_the_same_result() {
        let random: Vec<u8> = (0..3001u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let long = STANDARD_NO_PAD.encode(&random);
        for data in ["QUJD", "QUI=", "QUI", "QQ==", "QQ", "QQ====", "", "QUJDRA==", "+/+/", long.as_str()] {
            for params in [
                DETACHED,
                r#""signingParams":{"decode":"true","encapsulate":true},"#,
                "",
                r#""signingParams":{"digested":true},"#,
            ] {
                assert!(agree(sign(data, params).as_bytes()), "{data} {params}");
            }
        }
        // `data` after the parameters, and as the last key.
        let after = r#"{"module":"kz.gov.pki.knca.basics","method":"sign","args":{"signingParams":{"decode":true},"format":"raw","data":"QUJD"}}"#;
        assert!(agree(after.as_bytes()));
        let xml = format!(
            r#"{{"module":"kz.gov.pki.knca.basics","method":"sign","args":{{"format":"xml","signingParams":{{"decode":true}},"data":"{}"}}}}"#,
            STANDARD_NO_PAD.encode("<a>1</a>")
        );
        assert!(agree(xml.as_bytes()));
    }

    #[test]
    fn a_spliced_document_is_the_decoded_bytes_and_their_sha256() {
        let message = sign(&STANDARD_NO_PAD.encode(b"hello, world"), DETACHED);
        let mut intake = Intake::new(message.len());
        intake.push(message.as_bytes());
        let Ok(Received::Spliced(spliced)) = intake.finish() else { panic!("not spliced") };
        assert_eq!(spliced.skeleton, sign("", DETACHED));
        assert_eq!(spliced.into_text(), message);
        let mut intake = Intake::new(0);
        intake.push(message.as_bytes());
        let Ok(Received::Spliced(spliced)) = intake.finish() else { panic!("not spliced") };
        let document = spliced.data.into_document();
        assert_eq!(document.bytes(), b"hello, world");
        assert_eq!(document.digest(crate::keys::KeyAlgorithm::Rsa).unwrap(), crate::crypto::sha256(b"hello, world"));
    }

    /// Bytes that look random enough for base64 to use all of its alphabet.
    fn noise(len: usize) -> Vec<u8> {
        (0..len).map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i / 7) as u8).collect()
    }

    /// A document big enough to be hashed beside its decoding, pushed in pieces of the
    /// sizes the reader hands over (and odd ones): the same bytes and SHA-256 as the
    /// whole-message path, and the text the page sent when put back.
    #[test]
    fn a_big_document_is_decoded_and_hashed_on_the_way() {
        let content = noise(6 << 20 | 1);
        let text = base64::engine::general_purpose::STANDARD.encode(&content);
        let message = sign(&text, DETACHED);
        for piece in [1 << 20, 65_521] {
            let mut intake = Intake::new(message.len());
            for chunk in message.as_bytes().chunks(piece) {
                intake.push(chunk);
            }
            let Ok(Received::Spliced(spliced)) = intake.finish() else { panic!("not spliced") };
            assert!(spliced.data.text() == text, "piece {piece}");
            let document = spliced.data.into_document();
            assert!(document.bytes() == content, "piece {piece}");
            assert_eq!(document.digest(crate::keys::KeyAlgorithm::Rsa).unwrap(), crate::crypto::sha256(&content));
        }
    }

    /// A big document whose base64 breaks late (a character base64 does not have, an
    /// escape) or whose string never closes: what was decoded and hashed beside is put
    /// back, and the replies are the whole-message path's.
    #[test]
    fn a_big_document_that_breaks_late_gives_the_whole_message_replies() {
        let text = base64::engine::general_purpose::STANDARD.encode(noise(6 << 20));
        let late = 5 << 20;
        for message in [
            sign(&format!("{}$${}", &text[..late], &text[late..]), DETACHED),
            sign(&format!("{}\\/{}", &text[..late], &text[late..]), DETACHED),
            sign(&text, DETACHED)[..late + 200].to_owned(),
        ] {
            let expected = whole(message.as_bytes());
            let (got, spliced) = streamed(message.as_bytes(), &[1 << 20, 3 << 20, late + 101]);
            assert!(!spliced);
            assert_eq!(got, expected);
        }
    }

    /// Long runs of base64 (decoded many characters at a time) broken by one character
    /// base64 does not have, at places inside and across the decoder's blocks: the
    /// whole-message path's replies every time.
    #[test]
    fn a_bad_character_deep_in_long_base64_gives_the_whole_message_replies() {
        let good = base64::engine::general_purpose::STANDARD.encode(noise(3000));
        for at in [0, 1, 31, 32, 33, 63, 64, 95, 96, 1023, 1024, 2047, 3999] {
            for bad in ["$", "-", "_", "=", " ", "\\n", "\\/", "é"] {
                let data = format!("{}{bad}{}", &good[..at], &good[at..]);
                let message = sign(&data, DETACHED);
                let expected = whole(message.as_bytes());
                for cuts in [vec![], vec![message.len() / 2], vec![100, 1100, 2100, 3100]] {
                    let (got, _) = streamed(message.as_bytes(), &cuts);
                    assert_eq!(got, expected, "{bad:?} at {at}, cuts {cuts:?}");
                }
            }
        }
        let message = sign(&good, DETACHED);
        let (got, spliced) = streamed(message.as_bytes(), &[100, 1100]);
        assert!(spliced);
        assert_eq!(got, whole(message.as_bytes()));
    }

    #[test]
    fn malformed_base64_gives_the_whole_message_replies() {
        for data in [
            "Q",
            "QR",
            "QUJDR",
            "QUJDRR",
            "QU=JD",
            "QUJ-",
            "=QUJD",
            "====",
            "QUJD==QUJD",
            "QUJD=A",
            "QUJD= ",
            "QU JD",
            "QUJD ",
            " QUJD",
            "é",
            "QUJDé",
            "QUJ.",
            "QUJD\\u0000",
            "Q\\\"",
            "QUJD\\\\",
        ] {
            for params in [DETACHED, "", r#""signingParams":{"digested":true},"#] {
                agree(sign(data, params).as_bytes());
            }
        }
    }

    #[test]
    fn escapes_and_line_breaks_are_read_whole() {
        for data in [
            "QUJD\\/",
            "QU\\u004aD",
            "QU\\u004AD",
            "QUJD\\nQUJD",
            "QUJD\\r\\nQUJD\\r\\n",
            "\\u002F\\u002f+/",
            "QUJD\\t",
            "QUJD\\f",
        ] {
            for params in [DETACHED, ""] {
                assert!(!agree(sign(data, params).as_bytes()), "{data}");
            }
        }
    }

    #[test]
    fn malformed_json_gives_the_whole_message_replies() {
        let good = sign("QUJD", DETACHED);
        // Every prefix of a good message (truncated anywhere).
        for end in 0..good.len() {
            agree(&good.as_bytes()[..end]);
        }
        let cases = [
            format!("{good} "),
            format!("{good}x"),
            format!("{good}}}"),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\",\"data\":\"QUFB\""),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUFB\",\"data\":\"QUJD\""),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\",\"data\":42"),
            good.replace("\"data\":\"QUJD\"", "\"d\\u0061ta\":\"QUJD\""),
            good.replace("\"data\":\"QUJD\"", "\"data\" : \"QUJD\" "),
            good.replace("\"data\":\"QUJD\"", "\"data\":[\"QUJD\",\"QUFB\"]"),
            good.replace("\"data\":\"QUJD\"", "\"data\":{\"data\":\"QUJD\"}"),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QU\u{1}JD\""),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\\x\""),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\\u12\""),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\\ud800\""),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\",,"),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\" \"x\""),
            good.replace("\"data\":\"QUJD\"", "\"x\":{\"data\":\"QUJD\"}"),
            good.replace("\"data\":\"QUJD\"", "\"data\":\"QUJD\",\"n\":1e999"),
            good.replace(r#""args":{"#, r#""args":{"data":"QUFB"},"args":{"#),
            good.replace(r#""args":{"#, r#""args":[{"#).replace("}}", "}]}"),
            good.replace("kz.gov.pki.knca.basics", "kz.gov.pki.knca.commonUtils"),
            good.replace("kz.gov.pki.knca.basics", "nope"),
            good.replace("\"module\":\"kz.gov.pki.knca.basics\",", ""),
            good.replace("\"method\":\"sign\"", "\"method\":\"QUJD\""),
            good.replace("\"method\":\"sign\"", "\"method\":\"sign\",\"args\":null"),
            good.replace("\"module\"", "\"module\":\"x\",\"module\""),
            format!("[{good}]"),
            format!("{{\"args\":{{\"data\":\"QUJD\"}},{}", &good[1..]),
            r#"{"module":"kz.gov.pki.knca.basics","method":"sign","args":{"data":"QUJD"}}"#.into(),
            r#"{"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":"QUJD"#.into(),
            r#"{"args":{"data":"QUJD"}"#.into(),
            r#""data""#.into(),
            "".into(),
        ];
        for message in &cases {
            agree(message.as_bytes());
        }
        // Not UTF-8, in the document or around it: both refuse.
        for bad in [b"\xff".as_slice(), b"\xc3", b"\xe2\x82"] {
            for at in [good.find("QUJD").unwrap_or(0) + 2, 3, good.len() - 1] {
                let mut message = good.as_bytes().to_vec();
                message.splice(at..at, bad.iter().copied());
                assert!(!agree(&message));
                assert_eq!(whole(&message), None);
            }
        }
    }
}
