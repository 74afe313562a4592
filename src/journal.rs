//! The signing journal: one line per signing request (time, site, operation, signer,
//! the size and SHA-256 of each document, result) in `journal.jsonl` in the data
//! directory. No document content, no password, no PIN.
//!
//! Each line is one JSON object, UTF-8, ended by LF. Its `prev` is the SHA-256 (hex)
//! of the previous line's exact bytes (without the LF); the first line's is the
//! SHA-256 of [`GENESIS`]. Changing, removing or inserting a line breaks the chain at
//! the next line, which [`verify`] finds without any canonicalisation: only bytes are
//! hashed.
//!
//! Lines are only appended (append mode, one write per line, synced), under a lock so
//! two requests never interleave. At [`ROTATE_AT`] bytes the file becomes
//! `journal.1.jsonl` (replacing an older one) and the chain continues in a new
//! `journal.jsonl`. A damaged journal never stops signing: a damaged last line is
//! hashed as it is and the next entry starts a line of its own (verification then
//! reports the damage); a new chain starts only when there is no journal.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::activity::Signed;
use crate::keys::source::KeyPlace;
use crate::platform::lock;
use crate::signing::Action;

/// The journal being written.
pub const FILE: &str = "journal.jsonl";
/// The journal before the last rotation.
pub const ROTATED: &str = "journal.1.jsonl";
/// What the first line's `prev` is the SHA-256 of.
pub const GENESIS: &str = "qoltanba signing journal v1";
/// The size at which the journal is rotated.
pub const ROTATE_AT: u64 = 8 * 1024 * 1024;
/// Longest text kept (origins, names, paths), in bytes; longer ones are cut.
pub const MAX_TEXT: usize = 512;
/// Most documents listed in one line (the protocol allows no larger batch).
pub const MAX_DOCUMENTS: usize = crate::protocol::MAX_BATCH;
/// Largest journal file read (a file grows a little past [`ROTATE_AT`] at most).
const MAX_READ: u64 = 4 * ROTATE_AT;

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// The same, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub action: Action,
    /// The wire method the page called (`createCAdESFromBase64`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Known when a key was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<Signer>,
    /// How many documents the request carried.
    pub documents: usize,
    /// Each document's size and hash, in order.
    pub docs: Vec<Document>,
    pub result: Verdict,
    /// Why it was not signed: a short code (`wrong_password`, `timestamp`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SHA-256 (hex) of the previous line.
    #[serde(default)]
    pub prev: String,
}

/// The signer's certificate, as far as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// The certificate's common name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// The certificate's serial number, hex.
    pub serial: String,
    /// The issuer's common name.
    pub issuer: String,
    /// When the certificate expires: RFC 3339, UTC, and epoch milliseconds.
    pub not_after: String,
    pub not_after_ms: i64,
    /// Where the key was: a key file or a token.
    pub key: KeyPlace,
}

/// One document of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocumentKind,
    /// Bytes.
    pub size: u64,
    /// SHA-256 (hex) of the bytes signed; for a file, `None` when it could not be read
    /// again after signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What a document's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The document the page sent.
    Data,
    /// XML the page sent (its UTF-8 bytes).
    Xml,
    /// A hash the page computed (a blind signature): size and SHA-256 are of the hash
    /// value, the document itself was never seen.
    Hash,
    /// A CMS the signature was added to.
    CoSign,
    /// A local file, streamed.
    File,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Signed,
    Canceled,
    Failed,
}

impl Document {
    /// `bytes` as signed.
    pub fn of(kind: DocumentKind, bytes: &[u8]) -> Self {
        Self { kind, size: bytes.len() as u64, sha256: Some(hex_sha256(bytes)) }
    }
}

impl Entry {
    /// The entry as the tray lists it: signatures only.
    pub fn as_signed(&self) -> Option<Signed> {
        (self.result == Verdict::Signed).then(|| Signed {
            at_ms: self.at_ms,
            origin: self.origin.clone(),
            action: self.action,
            documents: self.documents,
            signer: self.signer.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        })
    }

    /// Cut every text to [`MAX_TEXT`] and the list of documents to [`MAX_DOCUMENTS`]:
    /// a line is bounded whatever a page or a certificate says.
    fn bounded(mut self) -> Self {
        let cut = |s: &mut String| truncate(s, MAX_TEXT);
        self.origin.iter_mut().for_each(cut);
        self.method.iter_mut().for_each(cut);
        self.reason.iter_mut().for_each(cut);
        if let Some(signer) = &mut self.signer {
            [&mut signer.name, &mut signer.serial, &mut signer.issuer].into_iter().for_each(cut);
            signer.iin.iter_mut().chain(signer.bin.iter_mut()).for_each(cut);
            match &mut signer.key {
                KeyPlace::File { path } => cut(path),
                KeyPlace::Token { label, id } => {
                    cut(label);
                    id.iter_mut().for_each(cut);
                }
            }
        }
        self.docs.truncate(MAX_DOCUMENTS);
        self
    }
}

/// Cut `s` to at most `max` bytes, at a character boundary.
fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let end = (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        s.truncate(end);
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn hex_sha256(bytes: &[u8]) -> String {
    crate::keys::certificate::hex(&crate::crypto::sha256(bytes))
}

/// `ms` since the epoch as RFC 3339 in UTC, with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else { return String::new() };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        ms.rem_euclid(1000)
    )
}

/// The journal of one data directory, appended to by the signing core.
pub struct Journal {
    dir: PathBuf,
    rotate_at: u64,
    /// The hash of the last line written, once known; the lock writers take.
    last: Mutex<Option<String>>,
}

impl Journal {
    /// The journal in `dir` (nothing is read or written yet).
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned(), rotate_at: ROTATE_AT, last: Mutex::new(None) }
    }

    /// Rotate at `bytes` instead of [`ROTATE_AT`] (tests).
    pub fn rotating_at(mut self, bytes: u64) -> Self {
        self.rotate_at = bytes;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append `entry` (its `prev` is set here), synced before this returns.
    pub fn append(&self, entry: Entry) -> std::io::Result<()> {
        let mut last = lock(&self.last);
        let written = self.write_locked(&mut last, entry);
        if written.is_err() {
            // Read the file again next time: it may hold part of this line.
            *last = None;
        }
        written
    }

    /// [`Self::append`], with a failure logged: the journal never stops signing.
    pub fn record(&self, entry: Entry) {
        if let Err(e) = self.append(entry) {
            tracing::warn!(error = %e, dir = %self.dir.display(), "the signing journal was not written");
        }
    }

    fn write_locked(&self, last: &mut Option<String>, entry: Entry) -> std::io::Result<()> {
        let path = self.dir.join(FILE);
        let (prev, newline_first) = match last.take() {
            Some(prev) => (prev, false),
            None => chain_end(&self.dir)?,
        };
        let mut entry = entry.bounded();
        entry.prev = prev;
        let line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > 0 && size + line.len() as u64 > self.rotate_at {
            std::fs::rename(&path, self.dir.join(ROTATED))?;
        }
        let mut bytes = Vec::with_capacity(line.len() + 2);
        if newline_first && path.exists() {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&line);
        bytes.push(b'\n');
        let mut file = open_append(&path)?;
        file.write_all(&bytes)?;
        file.sync_data()?;
        *last = Some(hex_sha256(&line));
        Ok(())
    }
}

/// Open the journal for appending, created 0600 (and made so, if it was not).
fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = crate::platform::private_file_options();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// The `prev` of the next line, and whether the journal's last line lacks its LF (a
/// damaged end: the next line must start a line of its own).
fn chain_end(dir: &Path) -> std::io::Result<(String, bool)> {
    for (name, current) in [(FILE, true), (ROTATED, false)] {
        match last_line(&dir.join(name))? {
            Some((line, complete)) => return Ok((hex_sha256(&line), current && !complete)),
            None => continue,
        }
    }
    Ok((hex_sha256(GENESIS.as_bytes()), false))
}

/// The last line of `path` without its LF, and whether it had one; `None` when the
/// file is absent or empty.
fn last_line(path: &Path) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let start = len.saturating_sub(MAX_READ);
    file.seek(std::io::SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.take(MAX_READ).read_to_end(&mut tail)?;
    let complete = tail.last() == Some(&b'\n');
    if complete {
        tail.pop();
    }
    if tail.is_empty() && !complete {
        return Ok(None);
    }
    let from = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok(Some((tail.split_off(from), complete)))
}

/// The journal's files that exist, oldest first, with their bytes.
fn files(dir: &Path) -> std::io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut found = Vec::new();
    for name in [ROTATED, FILE] {
        match crate::platform::read_small_regular(&dir.join(name), MAX_READ, None) {
            Ok(bytes) => found.push((name, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// The lines of `bytes`: each without its LF, and whether it had one.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (&[u8], bool)> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let complete_end = bytes.ends_with(b"\n");
    let count = if bytes.is_empty() { 0 } else { body.split(|&b| b == b'\n').count() };
    body.split(|&b| b == b'\n').take(count).enumerate().map(move |(i, line)| (line, i + 1 < count || complete_end))
}

/// The raw lines of the journal, oldest first (damaged ones too).
pub fn raw_lines(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    Ok(files(dir)?.iter().flat_map(|(_, bytes)| lines(bytes).map(|(l, _)| l.to_vec())).collect())
}

/// Up to `n` entries of the journal, newest first; damaged lines are skipped.
pub fn recent(dir: &Path, n: usize) -> std::io::Result<Vec<Entry>> {
    Ok(newest_first(&files(dir)?).take(n).collect())
}

/// The latest `n` signatures, newest first, for the tray; none when the journal
/// cannot be read (which is logged).
pub fn recent_signatures(dir: &Path, n: usize) -> Vec<Signed> {
    match files(dir) {
        Ok(files) => newest_first(&files).filter_map(|e| e.as_signed()).take(n).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "the signing journal cannot be read");
            Vec::new()
        }
    }
}

/// The entries of `files` (oldest first), newest first, damaged lines skipped.
fn newest_first<'a>(files: &'a [(&'static str, Vec<u8>)]) -> impl Iterator<Item = Entry> + 'a {
    let all = files.iter().rev().flat_map(|(_, bytes)| lines(bytes).collect::<Vec<_>>().into_iter().rev());
    all.filter_map(|(line, _)| serde_json::from_slice(line).ok())
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// There is no journal (yet).
    Empty,
    /// Every line follows the one before: `lines` in all.
    Intact { lines: usize },
    /// The chain breaks here.
    Broken(Break),
}

/// Where and how the chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The file ([`FILE`] or [`ROTATED`]).
    pub file: &'static str,
    /// The line (from 1) that fails.
    pub line: usize,
    pub problem: Problem,
}

/// Why a line fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Problem {
    /// Not a journal entry (damaged, or cut short).
    NotAnEntry,
    /// Its `prev` is not the hash of the line before it: that line was changed, or
    /// lines were removed or added between them.
    DoesNotFollow,
    /// The journal's first line does not start a chain: lines before it are gone.
    NoStart,
    /// The file cannot be read.
    Unreadable(String),
}

/// Check the chain through the rotated file and the current one. The rotated file's
/// first line follows a line of an older, removed file: it is not checked.
pub fn verify(dir: &Path) -> Check {
    let files = match files(dir) {
        Ok(files) => files,
        Err(e) => return Check::Broken(Break { file: FILE, line: 0, problem: Problem::Unreadable(e.to_string()) }),
    };
    let genesis = hex_sha256(GENESIS.as_bytes());
    let mut expected: Option<String> = None;
    let mut total = 0;
    for (index, (name, bytes)) in files.iter().enumerate() {
        for (i, (line, complete)) in lines(bytes).enumerate() {
            let broken = |problem| Check::Broken(Break { file: name, line: i + 1, problem });
            let entry = match serde_json::from_slice::<Entry>(line) {
                Ok(entry) if complete => entry,
                _ => return broken(Problem::NotAnEntry),
            };
            let first_of_all = index == 0 && i == 0;
            match &expected {
                Some(prev) if *prev != entry.prev => return broken(Problem::DoesNotFollow),
                None if first_of_all && *name == FILE && entry.prev != genesis => return broken(Problem::NoStart),
                _ => {}
            }
            expected = Some(hex_sha256(line));
            total += 1;
        }
    }
    if total == 0 { Check::Empty } else { Check::Intact { lines: total } }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> Entry {
        Entry {
            time: rfc3339(1_700_000_000_000 + i as i64),
            at_ms: 1_700_000_000_000 + i as i64,
            origin: Some("https://egov.kz".into()),
            action: Action::SignCms,
            method: Some("createCAdESFromBase64".into()),
            signer: Some(Signer {
                name: "ТЕСТОВ ТЕСТ".into(),
                iin: Some("123456789011".into()),
                bin: None,
                serial: "0a1b".into(),
                issuer: "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA) TEST".into(),
                not_after: rfc3339(1_800_000_000_000),
                not_after_ms: 1_800_000_000_000,
                key: KeyPlace::File { path: "/home/u/key.p12".into() },
            }),
            documents: 1,
            docs: vec![Document::of(DocumentKind::Data, format!("document {i}").as_bytes())],
            result: Verdict::Signed,
            reason: None,
            prev: String::new(),
        }
    }

    fn journal_of(n: usize) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        for i in 0..n {
            journal.append(entry(i)).unwrap();
        }
        (dir, journal)
    }

    fn file_lines(dir: &Path) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(dir.join(FILE)).unwrap();
        lines(&bytes).map(|(l, _)| l.to_vec()).collect()
    }

    fn write_lines(dir: &Path, lines: &[Vec<u8>]) {
        let mut bytes = lines.join(&b'\n');
        bytes.push(b'\n');
        std::fs::write(dir.join(FILE), bytes).unwrap();
    }

    /// Change one digit of the line's document hash: still an entry, not the same line.
    fn tamper(line: &mut [u8]) {
        let at = line.windows(10).position(|w| w == b"\"sha256\":\"").unwrap() + 10;
        line[at] = if line[at] == b'0' { b'1' } else { b'0' };
    }

    fn broken_at(dir: &Path) -> (&'static str, usize, Problem) {
        match verify(dir) {
            Check::Broken(b) => (b.file, b.line, b.problem),
            other => panic!("not broken: {other:?}"),
        }
    }

    #[test]
    fn appended_lines_chain_and_verify() {
        let (dir, _journal) = journal_of(5);
        assert_eq!(verify(dir.path()), Check::Intact { lines: 5 });
        let lines = file_lines(dir.path());
        let first: Entry = serde_json::from_slice(&lines[0]).unwrap();
        assert_eq!(first.prev, hex_sha256(GENESIS.as_bytes()));
        let second: Entry = serde_json::from_slice(&lines[1]).unwrap();
        assert_eq!(second.prev, hex_sha256(&lines[0]));
        assert_eq!(first, Entry { prev: first.prev.clone(), ..entry(0) });
        // Newest first, and a new writer (a restart) continues the chain.
        assert_eq!(
            recent(dir.path(), 2).unwrap().iter().map(|e| e.at_ms).collect::<Vec<_>>(),
            [1_700_000_000_004, 1_700_000_000_003]
        );
        Journal::new(dir.path()).append(entry(5)).unwrap();
        assert_eq!(verify(dir.path()), Check::Intact { lines: 6 });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(verify(tempfile::tempdir().unwrap().path()), Check::Empty);
    }

    #[test]
    fn a_changed_line_in_the_middle_is_found() {
        let (dir, _journal) = journal_of(6);
        let mut lines = file_lines(dir.path());
        tamper(&mut lines[2]);
        write_lines(dir.path(), &lines);
        assert_eq!(broken_at(dir.path()), (FILE, 4, Problem::DoesNotFollow));
        // A line that is no JSON any more is named itself.
        lines[2] = b"{\"time\":".to_vec();
        write_lines(dir.path(), &lines);
        assert_eq!(broken_at(dir.path()), (FILE, 3, Problem::NotAnEntry));
    }

    #[test]
    fn removed_lines_are_found() {
        let (dir, _journal) = journal_of(5);
        let mut lines = file_lines(dir.path());
        lines.remove(2);
        write_lines(dir.path(), &lines);
        assert_eq!(broken_at(dir.path()), (FILE, 3, Problem::DoesNotFollow));
        // The first lines gone: the journal no longer starts a chain.
        let lines = file_lines(dir.path());
        write_lines(dir.path(), &lines[1..]);
        assert_eq!(broken_at(dir.path()), (FILE, 1, Problem::NoStart));
    }

    #[test]
    fn a_cut_last_line_is_reported_and_writing_goes_on() {
        let (dir, journal) = journal_of(3);
        drop(journal);
        let path = dir.path().join(FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
        assert_eq!(broken_at(dir.path()), (FILE, 3, Problem::NotAnEntry));
        // A restart appends after the damage, on a line of its own.
        Journal::new(dir.path()).append(entry(3)).unwrap();
        let lines = file_lines(dir.path());
        assert_eq!(lines.len(), 4);
        let last: Entry = serde_json::from_slice(&lines[3]).unwrap();
        assert_eq!(last.prev, hex_sha256(&lines[2]));
        assert_eq!(broken_at(dir.path()), (FILE, 3, Problem::NotAnEntry));
        // Garbage (not even UTF-8) never panics.
        std::fs::write(&path, [0xff, 0xfe, b'\n', 0x00]).unwrap();
        assert_eq!(broken_at(dir.path()), (FILE, 1, Problem::NotAnEntry));
        assert!(recent(dir.path(), 5).unwrap().is_empty());
        Journal::new(dir.path()).append(entry(4)).unwrap();
    }

    #[test]
    fn the_chain_continues_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&Entry { prev: "0".repeat(64), ..entry(0) }).unwrap().len() as u64 + 1;
        // Three lines a file.
        let journal = Journal::new(dir.path()).rotating_at(3 * one + 10);
        for i in 0..5 {
            journal.append(entry(i)).unwrap();
        }
        let rotated = std::fs::read(dir.path().join(ROTATED)).unwrap();
        assert_eq!(lines(&rotated).count(), 3);
        assert_eq!(file_lines(dir.path()).len(), 2);
        assert_eq!(verify(dir.path()), Check::Intact { lines: 5 });
        assert_eq!(recent(dir.path(), 4).unwrap().iter().map(|e| e.at_ms % 10).collect::<Vec<_>>(), [4, 3, 2, 1]);
        assert_eq!(recent_signatures(dir.path(), 10).len(), 5);
        // The first line of the new file follows the rotated file's last.
        let mut current = file_lines(dir.path());
        tamper(&mut current[0]);
        write_lines(dir.path(), &current);
        assert_eq!(broken_at(dir.path()), (FILE, 2, Problem::DoesNotFollow));
        write_lines(dir.path(), &current[1..]);
        assert_eq!(broken_at(dir.path()), (FILE, 1, Problem::DoesNotFollow));
        // A second rotation drops the oldest file; the rest still verifies.
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path()).rotating_at(3 * one + 10);
        for i in 0..8 {
            journal.append(entry(i)).unwrap();
        }
        assert_eq!(verify(dir.path()), Check::Intact { lines: 5 });
    }

    #[test]
    fn lines_are_bounded_and_concurrent_writers_do_not_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let journal = std::sync::Arc::new(Journal::new(dir.path()));
        let long = Entry { origin: Some("ж".repeat(10_000)), ..entry(0) };
        journal.append(long).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let journal = std::sync::Arc::clone(&journal);
                std::thread::spawn(move || (0..10).for_each(|i| journal.append(entry(t * 10 + i)).unwrap()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(verify(dir.path()), Check::Intact { lines: 81 });
        let first: Entry = serde_json::from_slice(&file_lines(dir.path())[0]).unwrap();
        assert!(first.origin.unwrap().len() <= MAX_TEXT);
    }
}
