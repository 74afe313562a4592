//! The on-disk index of a CRL file: `<crl file>.idx`, written once by streaming the
//! CRL, then searched with positioned reads (no `mmap`: the crate has no unsafe code).
//!
//! Layout (integers big-endian):
//!
//! ```text
//! "QOLCRLX1"  header length u32  record length u32  record count u64
//! header fields: the CRL file's stamp (size, mtime; on unix also device, inode,
//!   ctime), its SHA-256, issuer (DER), thisUpdate, nextUpdate?, cRLNumber?,
//!   deltaCRLIndicator?, FreshestCRL URLs, signature algorithm, signature value,
//!   tbsCertList digest?
//! records, sorted: serial key (21) ‖ revocationDate ms (8) ‖ reason (1)
//! ```
//!
//! The index is used only while the CRL file's stamp and its last bytes (the
//! signature value) are those recorded; otherwise it is rebuilt. Building sorts with
//! bounded memory: runs of [`RUN`] records are sorted and spilled to a temporary
//! file, then merged.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use der::{Decode, Encode};
use x509_cert::name::Name;

use super::{CrlError, KEY, MAX_CRL_FILE, Meta, RECORD, Record, err, parse};

const MAGIC: &[u8; 8] = b"QOLCRLX1";
/// magic, header length, record length, count.
const FIXED: usize = 8 + 4 + 4 + 8;
const MAX_HEADER: u64 = 1024 * 1024;
/// Records sorted in memory at a time while building (about 2 MiB).
const RUN: usize = 64 * 1024;
/// Memory for the merge's read buffers, shared by the runs.
const MERGE_BUFFERS: usize = 4 * 1024 * 1024;

/// An open index: `count` records from `offset`.
pub(super) struct IndexFile {
    file: File,
    count: u64,
    offset: u64,
}

impl IndexFile {
    pub(super) fn count(&self) -> u64 {
        self.count
    }

    /// The first record whose serial key is `key`: a binary search, one positioned
    /// read per step.
    pub(super) fn find(&self, key: &[u8; KEY]) -> std::io::Result<Option<Record>> {
        let mut record = [0u8; RECORD];
        let (mut lo, mut hi) = (0u64, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            read_at(&self.file, &mut record, self.offset + mid * RECORD as u64)?;
            if record[..KEY] < key[..] {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == self.count {
            return Ok(None);
        }
        read_at(&self.file, &mut record, self.offset + lo * RECORD as u64)?;
        Ok((record[..KEY] == key[..]).then_some(record))
    }
}

/// Read exactly `buf.len()` bytes at `offset`, leaving no shared cursor behind.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], offset + done as u64)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// `<path>.idx`.
pub(crate) fn index_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".idx");
    PathBuf::from(name)
}

/// A name for a temporary file next to `base`, unique in this process and others.
fn temporary(base: &Path, what: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = base.as_os_str().to_owned();
    name.push(format!(".{what}-{}-{n}", std::process::id()));
    PathBuf::from(name)
}

/// What identifies a version of the CRL file without reading it.
fn stamp(metadata: &std::fs::Metadata) -> Vec<u8> {
    let mut v = metadata.len().to_be_bytes().to_vec();
    let mtime =
        metadata.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    v.extend_from_slice(&mtime.to_be_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        for n in [metadata.dev(), metadata.ino(), metadata.ctime() as u64, metadata.ctime_nsec() as u64] {
            v.extend_from_slice(&n.to_be_bytes());
        }
    }
    v
}

/// Open the CRL file at `path` through its index, building the index if it is
/// missing or out of date.
pub(super) fn open(path: &Path) -> Result<(Meta, IndexFile), CrlError> {
    let shown = path.display();
    let crl = File::open(path).map_err(|e| CrlError(format!("cannot open the CRL file {shown}: {e}")))?;
    let metadata = crl.metadata().map_err(|e| CrlError(format!("cannot read the CRL file {shown}: {e}")))?;
    if !metadata.is_file() {
        return err(format!("{shown} is not a file"));
    }
    if metadata.len() > MAX_CRL_FILE {
        return err(format!("the CRL file {shown} is {} bytes; at most {MAX_CRL_FILE} are read", metadata.len()));
    }
    let stamp = stamp(&metadata);
    let idx = index_path(path);
    match load(&idx, &stamp, &crl, metadata.len()) {
        Ok(found) => return Ok(found),
        Err(why) => tracing::debug!(index = %idx.display(), "building the CRL index: {why}"),
    }
    build(&crl, metadata.len(), &stamp, &idx)
}

/// The index at `idx`, if it is the index of this version of the CRL.
fn load(idx: &Path, stamp: &[u8], crl: &File, crl_size: u64) -> Result<(Meta, IndexFile), String> {
    let file = File::open(idx).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut fixed = [0u8; FIXED];
    read_at(&file, &mut fixed, 0).map_err(|e| e.to_string())?;
    let mut d = Dec(&fixed[8..]);
    let (header_len, record_len, count) = (u64::from(d.u32()?), d.u32()?, d.u64()?);
    if &fixed[..8] != MAGIC || record_len as usize != RECORD || !(FIXED as u64..=MAX_HEADER).contains(&header_len) {
        return Err("not an index of this version".into());
    }
    if count.checked_mul(RECORD as u64).and_then(|n| n.checked_add(header_len)) != Some(len) {
        return Err("truncated".into());
    }
    let mut header = vec![0u8; header_len as usize - FIXED];
    read_at(&file, &mut header, FIXED as u64).map_err(|e| e.to_string())?;
    let mut d = Dec(&header);
    if d.bytes()? != stamp {
        return Err("the CRL file changed".into());
    }
    let _sha256 = d.bytes()?;
    let meta = decode_meta(&mut d)?;
    // The CRL ends with its signature value: a replaced CRL has another one.
    let n = meta.signature.len() as u64;
    let mut tail = vec![0u8; meta.signature.len()];
    if n > crl_size || read_at(crl, &mut tail, crl_size - n).is_err() || tail != meta.signature {
        return Err("the CRL file changed".into());
    }
    Ok((meta, IndexFile { file, count, offset: header_len }))
}

/// Stream the CRL into a new index at `idx` (or, if its directory is not writable,
/// an unnamed one in the temporary directory) and open it.
fn build(crl: &File, size: u64, stamp: &[u8], idx: &Path) -> Result<(Meta, IndexFile), CrlError> {
    let io = |e: std::io::Error| CrlError(format!("cannot write the CRL index: {e}"));
    let near = temporary(idx, "tmp");
    let (base, tmp, file) = match create(&near) {
        Ok(file) => (idx.to_owned(), near, file),
        Err(_) => {
            let base = std::env::temp_dir().join("qoltanba-crl.idx");
            let tmp = temporary(&base, "tmp");
            let file = create(&tmp).map_err(io)?;
            (base, tmp, file)
        }
    };
    let next_to_crl = base == idx;
    let mut tmp = Remove(Some(tmp));
    let mut sorter = Sorter { run: Vec::new(), spill: None, base, runs: Vec::new(), count: 0 };
    let mut reader = crl;
    std::io::Seek::rewind(&mut reader).map_err(|e| CrlError(format!("cannot read the CRL file: {e}")))?;
    let parsed = parse(BufReader::with_capacity(64 * 1024, reader), size, true, &mut |r| sorter.push(r))?;
    let count = sorter.count;
    let header = encode_header(stamp, &parsed, count)?;
    let mut out = BufWriter::with_capacity(256 * 1024, &file);
    out.write_all(&header).map_err(io)?;
    sorter.write_sorted(&mut out)?;
    out.flush().map_err(io)?;
    drop(out);
    if next_to_crl && let Some(path) = &tmp.0 {
        std::fs::rename(path, idx).map_err(io)?;
        tmp.0 = None;
    }
    // Otherwise the temporary index is removed now: the open file stays readable
    // (on unix; elsewhere removal fails and the file stays in the temporary directory).
    drop(tmp);
    Ok((parsed.meta, IndexFile { file, count, offset: header.len() as u64 }))
}

fn create(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(path)
}

/// A temporary file, removed on drop unless taken.
struct Remove(Option<PathBuf>);

impl Drop for Remove {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// External sort of the records with bounded memory.
struct Sorter {
    run: Vec<Record>,
    /// The file sorted runs are spilled to, once there is more than one run.
    spill: Option<(File, Remove)>,
    base: PathBuf,
    /// Record count of each spilled run.
    runs: Vec<u64>,
    count: u64,
}

fn spill_error(e: std::io::Error) -> CrlError {
    CrlError(format!("cannot write a temporary file while indexing the CRL: {e}"))
}

impl Sorter {
    fn push(&mut self, record: Record) -> Result<(), CrlError> {
        self.run.push(record);
        self.count += 1;
        if self.run.len() >= RUN { self.spill_run() } else { Ok(()) }
    }

    fn spill_run(&mut self) -> Result<(), CrlError> {
        self.run.sort_unstable();
        let file = match &self.spill {
            Some((file, _)) => file,
            None => {
                let path = temporary(&self.base, "runs");
                let file = create(&path).map_err(spill_error)?;
                &self.spill.insert((file, Remove(Some(path)))).0
            }
        };
        let mut w = file;
        w.write_all(self.run.as_flattened()).map_err(spill_error)?;
        self.runs.push(self.run.len() as u64);
        self.run.clear();
        Ok(())
    }

    /// All records, sorted, to `out`.
    fn write_sorted(mut self, out: &mut impl Write) -> Result<(), CrlError> {
        let io = |e: std::io::Error| CrlError(format!("cannot write the CRL index: {e}"));
        if self.spill.is_none() {
            self.run.sort_unstable();
            return out.write_all(self.run.as_flattened()).map_err(io);
        }
        if !self.run.is_empty() {
            self.spill_run()?;
        }
        self.run = Vec::new();
        let Some((file, _)) = &self.spill else { return Ok(()) };
        let chunk = (MERGE_BUFFERS / self.runs.len().max(1)).clamp(RECORD * 64, 1024 * 1024) / RECORD * RECORD;
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut offset = 0u64;
        for &n in &self.runs {
            readers.push(RunReader { offset, left: n * RECORD as u64, buf: Vec::new(), pos: 0, chunk });
            offset += n * RECORD as u64;
        }
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (i, reader) in readers.iter_mut().enumerate() {
            if let Some(record) = reader.next(file).map_err(spill_error)? {
                heap.push(Reverse((record, i)));
            }
        }
        while let Some(Reverse((record, i))) = heap.pop() {
            out.write_all(&record).map_err(io)?;
            if let Some(reader) = readers.get_mut(i)
                && let Some(next) = reader.next(file).map_err(spill_error)?
            {
                heap.push(Reverse((next, i)));
            }
        }
        Ok(())
    }
}

/// Reads one spilled run, a chunk at a time.
struct RunReader {
    offset: u64,
    left: u64,
    buf: Vec<u8>,
    pos: usize,
    chunk: usize,
}

impl RunReader {
    fn next(&mut self, file: &File) -> std::io::Result<Option<Record>> {
        if self.pos >= self.buf.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let n = self.left.min(self.chunk as u64) as usize;
            self.buf.resize(n, 0);
            read_at(file, &mut self.buf, self.offset)?;
            self.offset += n as u64;
            self.left -= n as u64;
            self.pos = 0;
        }
        let mut record = [0u8; RECORD];
        let bytes = self.buf.get(self.pos..self.pos + RECORD).ok_or(std::io::ErrorKind::InvalidData)?;
        record.copy_from_slice(bytes);
        self.pos += RECORD;
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------------------------
// The header.

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    out.push(u8::from(bytes.is_some()));
    if let Some(bytes) = bytes {
        put(out, bytes);
    }
}

fn encode_header(stamp: &[u8], parsed: &super::Parsed, count: u64) -> Result<Vec<u8>, CrlError> {
    let meta = &parsed.meta;
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&[0; 4]);
    h.extend_from_slice(&(RECORD as u32).to_be_bytes());
    h.extend_from_slice(&count.to_be_bytes());
    put(&mut h, stamp);
    put(&mut h, parsed.file_sha256.as_ref().map_or(&[][..], |h| &h[..]));
    put(&mut h, &meta.issuer.to_der().map_err(|e| CrlError(format!("cannot encode the CRL issuer: {e}")))?);
    h.extend_from_slice(&meta.this_update_ms.to_be_bytes());
    put_opt(&mut h, meta.next_update_ms.map(i64::to_be_bytes).as_ref().map(|b| &b[..]));
    put_opt(&mut h, meta.number.as_deref());
    put_opt(&mut h, meta.delta_base.as_deref());
    h.extend_from_slice(&(meta.freshest_urls.len() as u32).to_be_bytes());
    for url in &meta.freshest_urls {
        put(&mut h, url.as_bytes());
    }
    put(&mut h, meta.algorithm.as_bytes());
    put(&mut h, &meta.signature);
    put_opt(&mut h, meta.tbs_digest.as_deref());
    let len = u32::try_from(h.len()).ok().filter(|&n| u64::from(n) <= MAX_HEADER);
    let len = len.ok_or_else(|| CrlError("the CRL's fields are too large to index".into()))?;
    h[8..12].copy_from_slice(&len.to_be_bytes());
    Ok(h)
}

/// A reader of header fields; every length is checked against what is left.
struct Dec<'a>(&'a [u8]);

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.0.len() {
            return Err("truncated header".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn opt(&mut self) -> Result<Option<&'a [u8]>, String> {
        match self.take(1)? {
            [0] => Ok(None),
            [1] => self.bytes().map(Some),
            _ => Err("bad header".into()),
        }
    }
}

fn decode_meta(d: &mut Dec<'_>) -> Result<Meta, String> {
    let issuer = Name::from_der(d.bytes()?).map_err(|e| e.to_string())?;
    let this_update_ms = d.i64()?;
    let next_update_ms = match d.opt()? {
        Some(b) => Some(i64::from_be_bytes(b.try_into().map_err(|_| "bad nextUpdate")?)),
        None => None,
    };
    let number = d.opt()?.map(<[u8]>::to_vec);
    let delta_base = d.opt()?.map(<[u8]>::to_vec);
    let n = d.u32()?;
    let mut freshest_urls = Vec::new();
    for _ in 0..n {
        freshest_urls.push(String::from_utf8(d.bytes()?.to_vec()).map_err(|e| e.to_string())?);
    }
    let algorithm = der::asn1::ObjectIdentifier::from_bytes(d.bytes()?).map_err(|e| e.to_string())?;
    let signature = d.bytes()?.to_vec();
    let tbs_digest = d.opt()?.map(<[u8]>::to_vec);
    if !d.0.is_empty() {
        return Err("bad header".into());
    }
    Ok(Meta {
        issuer,
        this_update_ms,
        next_update_ms,
        number,
        delta_base,
        freshest_urls,
        algorithm,
        signature,
        tbs_digest,
    })
}
