//! Revocation by CRL: is a certificate's serial number listed in a CRL its issuer
//! signed and that is still current?
//!
//! NCA RK's production CRLs are large (about 20 MB, 422 000 entries), so a CRL is never
//! parsed into a tree. It is read once as a stream of DER: the `tbsCertList` is hashed
//! on the way (the issuer's signature is checked against that digest, once), its
//! fields are kept, and each revoked entry becomes a fixed-width record (serial,
//! revocation time, reason). A CRL in memory ([`Crl::from_der`], e.g. embedded in a
//! signature) keeps its records in a sorted `Vec`; a CRL file ([`Crl::open`], the
//! cache) keeps them in a sorted index file next to it (`<file>.idx`, see
//! `crl_index.rs`), rebuilt when the file changes, and a lookup is a binary search
//! with positioned reads.
//!
//! What cannot be judged is refused rather than guessed: indirect CRLs, CRLs that
//! cover only some certificates or reasons, and unknown critical extensions (of the
//! CRL or of an entry) make the CRL unusable, with an error saying so.

#[path = "crl_index.rs"]
mod index;
pub(crate) use index::index_path;

use std::io::BufRead;
use std::path::Path;
use std::sync::Mutex;

use der::Decode;
use der::asn1::ObjectIdentifier;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::crl::dp::{DistributionPoint, IssuingDistributionPoint};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::name::Name;

use crate::crypto::Hasher;
use crate::crypto::verify::{digest_of_signature, verify_digest};
use crate::keys::Certificate;

/// Why a CRL cannot be used.
#[derive(Debug)]
pub struct CrlError(pub String);

impl std::fmt::Display for CrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CrlError {}

fn err<T>(what: impl Into<String>) -> Result<T, CrlError> {
    Err(CrlError(what.into()))
}

/// What a CRL says about one serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// revocationDate, epoch ms.
    pub revoked_at_ms: i64,
    /// The reason code is removeFromCRL (a delta CRL saying the certificate is no
    /// longer revoked, e.g. a hold was lifted).
    pub remove_from_crl: bool,
}

/// What a CRL says about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Revoked at this time (epoch ms).
    Revoked(i64),
}

/// The largest CRL file [`Crl::open`] reads (NCA RK's largest is about 20 MB).
pub const MAX_CRL_FILE: u64 = 256 * 1024 * 1024;
/// Bounds on the parts of a CRL that are held in memory while streaming.
const MAX_NAME: usize = 64 * 1024;
const MAX_ALGORITHM: usize = 1024;
const MAX_ENTRY: usize = 64 * 1024;
const MAX_EXTENSIONS: usize = 1024 * 1024;
const MAX_SIGNATURE: usize = 16 * 1024;

/// Width of a serial number key: a serial is at most 20 octets of magnitude (RFC 5280
/// §4.1.2.2), 21 with the sign.
const KEY: usize = 21;
/// A revoked entry as stored: the serial key, revocationDate (epoch ms, big-endian),
/// the reason code (`NO_REASON` if none).
const RECORD: usize = KEY + 8 + 1;
type Record = [u8; RECORD];
const NO_REASON: u8 = 0xff;
const REMOVE_FROM_CRL: u8 = 8;

/// The key under which a serial number (DER INTEGER content bytes) is indexed: the
/// value in `KEY` octets of two's complement with the sign bit flipped, so that byte
/// order is numeric order and redundant leading zeros (or 0xff of a negative, which
/// RFC 5280 forbids but tolerates) do not matter. `None` if empty or too long.
fn serial_key(content: &[u8]) -> Option<[u8; KEY]> {
    let first = *content.first()?;
    let negative = first & 0x80 != 0;
    let pad = if negative { 0xff } else { 0 };
    let mut s = content;
    while s.len() > 1 && s[0] == pad && (s[1] & 0x80 != 0) == negative {
        s = &s[1..];
    }
    if s.len() > KEY {
        return None;
    }
    let mut key = [pad; KEY];
    key[KEY - s.len()..].copy_from_slice(s);
    key[0] ^= 0x80;
    Some(key)
}

fn record(key: &[u8; KEY], revoked_at_ms: i64, reason: u8) -> Record {
    let mut r = [0u8; RECORD];
    r[..KEY].copy_from_slice(key);
    r[KEY..KEY + 8].copy_from_slice(&revoked_at_ms.to_be_bytes());
    r[KEY + 8] = reason;
    r
}

fn entry_of(r: &Record) -> Entry {
    let mut ms = [0u8; 8];
    ms.copy_from_slice(&r[KEY..KEY + 8]);
    Entry { revoked_at_ms: i64::from_be_bytes(ms), remove_from_crl: r[KEY + 8] == REMOVE_FROM_CRL }
}

/// Everything about a CRL but its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Meta {
    issuer: Name,
    this_update_ms: i64,
    next_update_ms: Option<i64>,
    number: Option<Vec<u8>>,
    delta_base: Option<Vec<u8>>,
    freshest_urls: Vec<String>,
    /// signatureAlgorithm.
    algorithm: ObjectIdentifier,
    /// The signature value (BIT STRING content without the unused-bits octet).
    signature: Vec<u8>,
    /// The digest of `tbsCertList` for `algorithm`; `None` if the algorithm is unknown.
    tbs_digest: Option<Vec<u8>>,
}

/// Where the revoked entries are.
enum Entries {
    /// Sorted records.
    Memory(Vec<Record>),
    /// A sorted index file.
    File(index::IndexFile),
}

/// A CRL: its fields, and its entries in memory or in an index file.
pub struct Crl {
    meta: Meta,
    entries: Entries,
    /// `is_signed_by` verdicts, by the issuer's SubjectPublicKeyInfo.
    verdicts: Mutex<Vec<(SubjectPublicKeyInfoOwned, bool)>>,
}

impl std::fmt::Debug for Crl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crl").field("meta", &self.meta).field("entries", &self.len()).finish()
    }
}

impl Crl {
    fn with(meta: Meta, entries: Entries) -> Self {
        Self { meta, entries, verdicts: Mutex::new(Vec::new()) }
    }

    /// A CRL held in memory (embedded in a signature, given on the command line).
    pub fn from_der(der: &[u8]) -> Result<Crl, CrlError> {
        let mut records = Vec::new();
        let parsed = parse(der, der.len() as u64, false, &mut |r| {
            records.push(r);
            Ok(())
        })?;
        records.sort_unstable();
        Ok(Self::with(parsed.meta, Entries::Memory(records)))
    }

    /// A CRL file (the cache), streamed; its index lives next to it
    /// (`<file>.idx`), rebuilt when the file changes.
    pub fn open(path: &Path) -> Result<Crl, CrlError> {
        let (meta, file) = index::open(path)?;
        Ok(Self::with(meta, Entries::File(file)))
    }

    /// The issuer name, for matching against certificates.
    pub fn issuer(&self) -> &Name {
        &self.meta.issuer
    }

    /// Was this CRL issued by `issuer`: the name matches and the signature over
    /// `tbsCertList` verifies (computed once per issuer key, remembered)?
    pub fn is_signed_by(&self, issuer: &x509_cert::Certificate) -> bool {
        if self.meta.issuer != *issuer.tbs_certificate().subject() {
            return false;
        }
        let spki = issuer.tbs_certificate().subject_public_key_info();
        let mut verdicts = self.verdicts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, verdict)) = verdicts.iter().find(|(k, _)| k == spki) {
            return *verdict;
        }
        let verdict = self
            .meta
            .tbs_digest
            .as_deref()
            .is_some_and(|digest| verify_digest(spki, &self.meta.algorithm, digest, &self.meta.signature).is_ok());
        verdicts.push((spki.clone(), verdict));
        verdict
    }

    /// thisUpdate, epoch ms.
    pub fn this_update_ms(&self) -> i64 {
        self.meta.this_update_ms
    }

    /// nextUpdate, epoch ms, if the CRL has one.
    pub fn next_update_ms(&self) -> Option<i64> {
        self.meta.next_update_ms
    }

    /// Does the CRL cover `now_ms` (thisUpdate ≤ now ≤ nextUpdate)?
    pub fn is_current(&self, now_ms: i64) -> bool {
        self.meta.this_update_ms <= now_ms && self.meta.next_update_ms.is_none_or(|next| now_ms <= next)
    }

    /// cRLNumber, big-endian magnitude.
    pub fn number(&self) -> Option<Vec<u8>> {
        self.meta.number.clone()
    }

    /// deltaCRLIndicator (the base CRL number) when this is a delta CRL.
    pub fn delta_base(&self) -> Option<Vec<u8>> {
        self.meta.delta_base.clone()
    }

    /// http URLs of the FreshestCRL extension (where the delta CRL is).
    pub fn freshest_urls(&self) -> Vec<String> {
        self.meta.freshest_urls.clone()
    }

    /// How many entries the CRL lists.
    pub fn len(&self) -> u64 {
        match &self.entries {
            Entries::Memory(records) => records.len() as u64,
            Entries::File(file) => file.count(),
        }
    }

    /// Does the CRL list no certificate?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry for a certificate serial (DER INTEGER content bytes as in the
    /// certificate; redundant leading zeros do not matter). An index file that can
    /// no longer be read counts as not listing it (logged); [`Crl::try_lookup`] tells.
    pub fn lookup(&self, serial: &[u8]) -> Option<Entry> {
        self.try_lookup(serial).unwrap_or_else(|e| {
            tracing::warn!("{e}");
            None
        })
    }

    /// [`Crl::lookup`], with an error if the index file cannot be read.
    pub fn try_lookup(&self, serial: &[u8]) -> Result<Option<Entry>, CrlError> {
        // Longer than any key: no CRL we accept lists it.
        let Some(key) = serial_key(serial) else { return Ok(None) };
        match &self.entries {
            Entries::Memory(records) => {
                let i = records.partition_point(|r| r[..KEY] < key[..]);
                Ok(records.get(i).filter(|r| r[..KEY] == key[..]).map(entry_of))
            }
            Entries::File(file) => match file.find(&key) {
                Ok(found) => Ok(found.as_ref().map(entry_of)),
                Err(e) => err(format!("the CRL index cannot be read: {e}")),
            },
        }
    }

    /// The status of `cert` according to this CRL alone (an entry saying
    /// removeFromCRL counts as not listed).
    pub fn status_of(&self, cert: &Certificate) -> Status {
        let serial = cert.parsed().tbs_certificate().serial_number().as_bytes();
        match self.lookup(serial) {
            Some(entry) if !entry.remove_from_crl => Status::Revoked(entry.revoked_at_ms),
            _ => Status::Good,
        }
    }
}

/// The http URLs of a certificate's FreshestCRL extension (where its delta CRLs are).
pub fn freshest_urls_of(cert: &Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::FreshestCrl;
    match cert.parsed().tbs_certificate().get_extension::<FreshestCrl>() {
        Ok(Some((_, points))) => http_urls(&points.0),
        _ => Vec::new(),
    }
}

/// The http URLs of a certificate's CRLDistributionPoints extension.
pub fn distribution_urls_of(cert: &Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::CrlDistributionPoints;
    match cert.parsed().tbs_certificate().get_extension::<CrlDistributionPoints>() {
        Ok(Some((_, points))) => http_urls(&points.0),
        _ => Vec::new(),
    }
}

/// The http URLs among the full names of distribution points.
fn http_urls(points: &[DistributionPoint]) -> Vec<String> {
    points
        .iter()
        .filter_map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .filter(|u| u.starts_with("http://"))
        .collect()
}

// ---------------------------------------------------------------------------------
// Streaming DER.

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const EXTENSIONS: u8 = 0xa0;

/// A DER reader over a stream, counting its position, feeding what it reads to the
/// `tbsCertList` hasher (when on) and to the whole-file SHA-256 (when asked).
struct Stream<R> {
    r: R,
    pos: u64,
    tbs: Option<Hasher>,
    hashing: bool,
    file: Option<sha2::Sha256>,
}

impl<R: BufRead> Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<(), CrlError> {
        self.r.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => CrlError("the CRL is truncated".into()),
            _ => CrlError(format!("cannot read the CRL: {e}")),
        })?;
        self.pos += buf.len() as u64;
        if self.hashing
            && let Some(h) = &mut self.tbs
        {
            h.update(buf);
        }
        if let Some(h) = &mut self.file {
            sha2::Digest::update(h, &*buf);
        }
        Ok(())
    }

    /// The next tag, without consuming it; `None` at the end of the input.
    fn peek(&mut self) -> Result<Option<u8>, CrlError> {
        let buf = self.r.fill_buf().map_err(|e| CrlError(format!("cannot read the CRL: {e}")))?;
        Ok(buf.first().copied())
    }

    /// A TLV header with tag `tag`, appended to `out`; returns the content length.
    /// The content must end by `end`.
    fn header(&mut self, tag: u8, end: u64, what: &str, out: &mut Vec<u8>) -> Result<usize, CrlError> {
        let mut b = [0u8; 2];
        self.read(&mut b)?;
        out.extend_from_slice(&b);
        if b[0] != tag {
            return err(format!("malformed CRL: {what} expected, found tag 0x{:02x}", b[0]));
        }
        let len = match b[1] {
            n if n < 0x80 => u64::from(n),
            0x80 => return err("malformed CRL: indefinite length (not DER)"),
            n => {
                let n = usize::from(n & 0x7f);
                if n > 4 {
                    return err(format!("malformed CRL: {what} is too long"));
                }
                let mut l = [0u8; 4];
                self.read(&mut l[4 - n..])?;
                out.extend_from_slice(&l[4 - n..]);
                let len = u64::from(u32::from_be_bytes(l));
                if len < 0x80 || l[4 - n] == 0 {
                    return err("malformed CRL: a length is not minimally encoded (not DER)");
                }
                len
            }
        };
        if self.pos + len > end {
            return err(format!("malformed CRL: {what} runs past its end"));
        }
        usize::try_from(len).map_err(|_| CrlError(format!("malformed CRL: {what} is too long")))
    }

    /// A whole TLV with tag `tag` of at most `max` bytes, into `out` (cleared);
    /// returns where its content starts in `out`.
    fn tlv(&mut self, tag: u8, end: u64, max: usize, what: &str, out: &mut Vec<u8>) -> Result<usize, CrlError> {
        out.clear();
        let len = self.header(tag, end, what, out)?;
        if len > max {
            return err(format!("malformed CRL: {what} of {len} bytes is too large"));
        }
        let start = out.len();
        out.resize(start + len, 0);
        self.read(&mut out[start..])?;
        Ok(start)
    }
}

/// A TLV at the start of a DER slice: (tag, content, whole TLV, rest).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn split_tlv(input: &[u8]) -> Result<Tlv<'_>, CrlError> {
    let malformed = || CrlError("malformed CRL: a truncated element".into());
    let (&tag, rest) = input.split_first().ok_or_else(malformed)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(malformed)?;
    let len = match first {
        n if n < 0x80 => usize::from(n),
        0x80 => return err("malformed CRL: indefinite length (not DER)"),
        n => {
            let n = usize::from(n & 0x7f);
            if n > 4 || rest.len() < n {
                return Err(malformed());
            }
            let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            rest = &rest[n..];
            len
        }
    };
    if rest.len() < len {
        return Err(malformed());
    }
    let header = input.len() - rest.len();
    Ok((tag, &rest[..len], &input[..header + len], &rest[len..]))
}

/// An Extension at the start of a DER slice: (extnID content octets, critical,
/// extnValue content, rest).
type Extension<'a> = (&'a [u8], bool, &'a [u8], &'a [u8]);

fn split_extension(input: &[u8]) -> Result<Extension<'_>, CrlError> {
    let (tag, body, _, rest) = split_tlv(input)?;
    let (oid_tag, oid, _, body) = split_tlv(body)?;
    if tag != SEQUENCE || oid_tag != 0x06 {
        return err("malformed CRL: an extension is not an extension");
    }
    let (critical, body) = match split_tlv(body)? {
        (0x01, [b], _, body) => (*b != 0, body),
        _ => (false, body),
    };
    match split_tlv(body)? {
        (0x04, value, _, []) => Ok((oid, critical, value, rest)),
        _ => err("malformed CRL: an extension has no value"),
    }
}

fn oid_name(oid: &[u8]) -> String {
    ObjectIdentifier::from_bytes(oid).map(|o| o.to_string()).unwrap_or_else(|_| "(malformed OID)".into())
}

fn time_ms(tlv: &[u8]) -> Result<i64, CrlError> {
    let t = x509_cert::time::Time::from_der(tlv).map_err(|e| CrlError(format!("malformed CRL: a bad time ({e})")))?;
    i64::try_from(t.to_unix_duration().as_millis()).map_err(|_| CrlError("malformed CRL: a bad time".into()))
}

/// An INTEGER's magnitude, big-endian without leading zeros (CRL numbers are
/// non-negative).
fn magnitude(value: &[u8], what: &str) -> Result<Vec<u8>, CrlError> {
    match split_tlv(value)? {
        (INTEGER, content @ [first, ..], _, []) if first & 0x80 == 0 && content.len() <= 21 => {
            let start = content.iter().position(|&b| b != 0).unwrap_or(content.len());
            Ok(content[start..].to_vec())
        }
        _ => err(format!("malformed CRL: a bad {what}")),
    }
}

// Extension identifiers (content octets of the OIDs, id-ce = 2.5.29).
const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
const HOLD_INSTRUCTION: &[u8] = &[0x55, 0x1d, 0x17];
const INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18];
const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1d, 0x1b];
const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1d, 0x1c];
const CERTIFICATE_ISSUER: &[u8] = &[0x55, 0x1d, 0x1d];
const ISSUER_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x12];
const AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x23];
const FRESHEST_CRL: &[u8] = &[0x55, 0x1d, 0x2e];
const EXPIRED_CERTS_ON_CRL: &[u8] = &[0x55, 0x1d, 0x3c];

/// One revokedCertificates entry (a whole TLV) as a record.
fn parse_entry(tlv: &[u8]) -> Result<Record, CrlError> {
    let (_, body, _, _) = split_tlv(tlv)?;
    let (tag, serial, _, body) = split_tlv(body)?;
    if tag != INTEGER {
        return err("malformed CRL: an entry without a serial number");
    }
    let key = serial_key(serial).ok_or_else(|| {
        CrlError(format!("the CRL lists a serial number of {} octets (at most 20 are allowed)", serial.len()))
    })?;
    let (tag, _, time, rest) = split_tlv(body)?;
    if tag != UTC_TIME && tag != GENERALIZED_TIME {
        return err("malformed CRL: an entry without a revocation date");
    }
    let revoked_at_ms = time_ms(time)?;
    let mut reason = NO_REASON;
    if !rest.is_empty() {
        let (tag, mut extensions, _, after) = split_tlv(rest)?;
        if tag != SEQUENCE || !after.is_empty() {
            return err("malformed CRL: unexpected data in an entry");
        }
        while !extensions.is_empty() {
            let (oid, critical, value, more) = split_extension(extensions)?;
            extensions = more;
            match oid {
                REASON_CODE => match split_tlv(value)? {
                    (0x0a, [code], _, []) if *code <= 10 => reason = *code,
                    _ => return err("malformed CRL: a bad reason code"),
                },
                INVALIDITY_DATE | HOLD_INSTRUCTION => {}
                CERTIFICATE_ISSUER => {
                    return err("the CRL is indirect (an entry names another certificate issuer): not supported");
                }
                other if critical => {
                    return err(format!("an entry of the CRL has an unknown critical extension {}", oid_name(other)));
                }
                _ => {}
            }
        }
    }
    Ok(record(&key, revoked_at_ms, reason))
}

/// The fields of the crlExtensions ([0] EXPLICIT Extensions, a whole TLV) into `meta`.
fn parse_crl_extensions(tlv: &[u8], meta: &mut Meta) -> Result<(), CrlError> {
    let (_, inner, _, _) = split_tlv(tlv)?;
    let (tag, mut extensions, _, rest) = split_tlv(inner)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return err("malformed CRL: bad crlExtensions");
    }
    let mut seen: Vec<&[u8]> = Vec::new();
    while !extensions.is_empty() {
        let (oid, critical, value, more) = split_extension(extensions)?;
        extensions = more;
        if seen.contains(&oid) {
            return err(format!("malformed CRL: the extension {} appears twice", oid_name(oid)));
        }
        seen.push(oid);
        match oid {
            CRL_NUMBER => meta.number = Some(magnitude(value, "CRL number")?),
            DELTA_CRL_INDICATOR => meta.delta_base = Some(magnitude(value, "delta CRL indicator")?),
            ISSUING_DISTRIBUTION_POINT => {
                let idp = IssuingDistributionPoint::from_der(value)
                    .map_err(|e| CrlError(format!("malformed CRL: a bad issuing distribution point ({e})")))?;
                if idp.indirect_crl {
                    return err("the CRL is indirect (it lists certificates of other issuers): not supported");
                }
                if idp.only_some_reasons.is_some() {
                    return err("the CRL covers only some revocation reasons: not supported");
                }
                if idp.only_contains_ca_certs || idp.only_contains_attribute_certs {
                    return err("the CRL covers only CA or attribute certificates: not used for keys");
                }
            }
            FRESHEST_CRL => {
                let points = x509_cert::ext::pkix::FreshestCrl::from_der(value)
                    .map_err(|e| CrlError(format!("malformed CRL: a bad FreshestCRL extension ({e})")))?;
                meta.freshest_urls = http_urls(&points.0);
            }
            AUTHORITY_KEY_IDENTIFIER | ISSUER_ALT_NAME | EXPIRED_CERTS_ON_CRL => {}
            other if critical => {
                return err(format!("the CRL has an unknown critical extension {}", oid_name(other)));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Are two AlgorithmIdentifiers the same algorithm? NCA RK writes the one in
/// tbsCertList with NULL parameters and the outer one without: absent and NULL
/// parameters are the same.
fn same_algorithm(a: &[u8], b: &[u8]) -> bool {
    let normal = |der: &[u8]| {
        let mut alg = spki::AlgorithmIdentifierOwned::from_der(der).ok()?;
        if alg.parameters.as_ref().is_some_and(|p| der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty()) {
            alg.parameters = None;
        }
        Some(alg)
    };
    a == b || normal(a).is_some_and(|a| Some(a) == normal(b))
}

/// What streaming a CRL gives besides its entries.
struct Parsed {
    meta: Meta,
    /// SHA-256 of the whole input, if asked for.
    file_sha256: Option<[u8; 32]>,
}

/// Stream a DER CertificateList of `size` bytes from `r`: every revoked entry goes to
/// `sink` as a record, in the CRL's order; the rest is returned. Bounded: only one
/// entry, the issuer name and the extensions are held at a time.
fn parse<R: BufRead>(
    r: R,
    size: u64,
    file_hash: bool,
    sink: &mut dyn FnMut(Record) -> Result<(), CrlError>,
) -> Result<Parsed, CrlError> {
    use sha2::Digest;
    let mut s = Stream { r, pos: 0, tbs: None, hashing: false, file: file_hash.then(sha2::Sha256::new) };
    let mut scratch = Vec::new();
    let outer_len = s.header(SEQUENCE, size, "a CertificateList", &mut scratch)?;
    let end = s.pos + outer_len as u64;

    // tbsCertList's header, version and signature algorithm: held until the digest
    // algorithm is known, then hashed with the rest.
    let mut prefix = Vec::new();
    let tbs_len = s.header(SEQUENCE, end, "tbsCertList", &mut prefix)?;
    let tbs_end = s.pos + tbs_len as u64;
    if s.peek()? == Some(INTEGER) {
        let len = s.header(INTEGER, tbs_end, "a version", &mut prefix)?;
        if len != 1 {
            return err("malformed CRL: a bad version");
        }
        let mut v = [0u8];
        s.read(&mut v)?;
        prefix.push(v[0]);
        if v[0] != 1 {
            return err(format!("unsupported CRL version {}", u32::from(v[0]) + 1));
        }
    }
    let mut algorithm_tlv = Vec::new();
    s.tlv(SEQUENCE, tbs_end, MAX_ALGORITHM, "a signature algorithm", &mut algorithm_tlv)?;
    prefix.extend_from_slice(&algorithm_tlv);
    let algorithm = spki::AlgorithmIdentifierOwned::from_der(&algorithm_tlv)
        .map_err(|e| CrlError(format!("malformed CRL: a bad signature algorithm ({e})")))?
        .oid;
    s.tbs = digest_of_signature(&algorithm).and_then(|d| Hasher::for_oid(&d));
    if let Some(h) = &mut s.tbs {
        h.update(&prefix);
    }
    s.hashing = true;

    s.tlv(SEQUENCE, tbs_end, MAX_NAME, "the issuer", &mut scratch)?;
    let issuer = Name::from_der(&scratch).map_err(|e| CrlError(format!("malformed CRL: a bad issuer name ({e})")))?;
    let this_update_ms = match s.peek()? {
        Some(tag @ (UTC_TIME | GENERALIZED_TIME)) => {
            s.tlv(tag, tbs_end, 32, "thisUpdate", &mut scratch)?;
            time_ms(&scratch)?
        }
        _ => return err("malformed CRL: no thisUpdate"),
    };
    let mut next_update_ms = None;
    if s.pos < tbs_end
        && let Some(tag @ (UTC_TIME | GENERALIZED_TIME)) = s.peek()?
    {
        s.tlv(tag, tbs_end, 32, "nextUpdate", &mut scratch)?;
        next_update_ms = Some(time_ms(&scratch)?);
    }
    let mut meta = Meta {
        issuer,
        this_update_ms,
        next_update_ms,
        number: None,
        delta_base: None,
        freshest_urls: Vec::new(),
        algorithm,
        signature: Vec::new(),
        tbs_digest: None,
    };

    if s.pos < tbs_end && s.peek()? == Some(SEQUENCE) {
        scratch.clear();
        let len = s.header(SEQUENCE, tbs_end, "revokedCertificates", &mut scratch)?;
        let list_end = s.pos + len as u64;
        while s.pos < list_end {
            s.tlv(SEQUENCE, list_end, MAX_ENTRY, "a revoked certificate", &mut scratch)?;
            sink(parse_entry(&scratch)?)?;
        }
    }
    if s.pos < tbs_end && s.peek()? == Some(EXTENSIONS) {
        s.tlv(EXTENSIONS, tbs_end, MAX_EXTENSIONS, "crlExtensions", &mut scratch)?;
        parse_crl_extensions(&scratch, &mut meta)?;
    }
    if s.pos != tbs_end {
        return err("malformed CRL: unexpected data in tbsCertList");
    }
    s.hashing = false;
    meta.tbs_digest = s.tbs.take().map(Hasher::finish);

    s.tlv(SEQUENCE, end, MAX_ALGORITHM, "a signature algorithm", &mut scratch)?;
    if !same_algorithm(&scratch, &algorithm_tlv) {
        return err("malformed CRL: the signature algorithm differs from the one in tbsCertList");
    }
    let start = s.tlv(BIT_STRING, end, MAX_SIGNATURE, "the signature", &mut scratch)?;
    match &scratch[start..] {
        [0, signature @ ..] if !signature.is_empty() => meta.signature = signature.to_vec(),
        _ => return err("malformed CRL: a bad signature value"),
    }
    if s.pos != end || s.peek()?.is_some() {
        return err("malformed CRL: data after the CRL");
    }
    Ok(Parsed { meta, file_sha256: s.file.map(|h| h.finalize().into()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = content.len();
        match n {
            0..0x80 => v.push(n as u8),
            0x80..0x100 => v.extend([0x81, n as u8]),
            0x100..0x10000 => v.extend([0x82, (n >> 8) as u8, n as u8]),
            _ => v.extend([0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
        }
        v.extend_from_slice(content);
        v
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(SEQUENCE, &parts.concat())
    }

    fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
        let mut parts = vec![tlv(0x06, oid)];
        if critical {
            parts.push(vec![0x01, 0x01, 0xff]);
        }
        parts.push(tlv(0x04, value));
        seq(&parts)
    }

    fn entry(serial: &[u8], extensions: &[Vec<u8>]) -> Vec<u8> {
        let mut parts = vec![tlv(INTEGER, serial), tlv(UTC_TIME, b"250102030405Z")];
        if !extensions.is_empty() {
            parts.push(seq(extensions));
        }
        seq(&parts)
    }

    const SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];

    /// A CRL by "CN=Test CA" with these entries and CRL extensions, signed by nobody.
    fn crl_der(entries: &[Vec<u8>], extensions: &[Vec<u8>]) -> Vec<u8> {
        let alg = seq(&[tlv(0x06, SHA256_RSA), tlv(0x05, &[])]);
        let cn = seq(&[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, b"Test CA")]);
        let issuer = seq(&[tlv(0x31, &cn)]);
        let mut tbs = vec![
            tlv(INTEGER, &[1]),
            alg.clone(),
            issuer,
            tlv(UTC_TIME, b"250101000000Z"),
            tlv(GENERALIZED_TIME, b"20991231235959Z"),
        ];
        if !entries.is_empty() {
            tbs.push(seq(entries));
        }
        if !extensions.is_empty() {
            tbs.push(tlv(EXTENSIONS, &seq(extensions)));
        }
        seq(&[seq(&tbs), alg, tlv(BIT_STRING, &[0, 1, 2, 3, 4])])
    }

    fn reason(code: u8) -> Vec<u8> {
        ext(REASON_CODE, false, &[0x0a, 0x01, code])
    }

    fn refusal(der: &[u8]) -> String {
        Crl::from_der(der).expect_err("refused").to_string()
    }

    #[test]
    fn serials_are_keyed_by_value() {
        let k = |s: &[u8]| serial_key(s).unwrap();
        assert_eq!(k(&[0, 0, 5]), k(&[5]));
        assert_ne!(k(&[0x00, 0x8f]), k(&[0x8f]), "143 is not -113");
        assert_eq!(k(&[0xff, 0x8f]), k(&[0x8f]));
        assert!(k(&[1]) < k(&[1, 0]) && k(&[1, 0]) < k(&[0, 0xff, 0xff]) && k(&[0x80]) < k(&[0]));
        // NCA RK: 20 octets of magnitude, 21 with the sign octet.
        let mut nca = vec![0u8];
        nca.extend([0xa5; 20]);
        assert!(serial_key(&nca).is_some());
        assert!(serial_key(&[0x7f; 22]).is_none() && serial_key(&[]).is_none());
    }

    #[test]
    fn entries_are_found_by_serial_in_any_order() {
        let entries: Vec<_> = [&[0x30, 0x39][..], &[0x05], &[0x00, 0xff], &[0x01, 0x00, 0x00]]
            .iter()
            .map(|s| entry(s, &[]))
            .chain([entry(&[0x07], &[reason(1)]), entry(&[0x08], &[reason(8)])])
            .collect();
        let crl = Crl::from_der(&crl_der(&entries, &[])).unwrap();
        assert_eq!(crl.len(), 6);
        let at = 1_735_787_045_000;
        for serial in [&[0x30, 0x39][..], &[0x05], &[0x00, 0x05], &[0x00, 0xff], &[0x01, 0x00, 0x00], &[0x07]] {
            assert_eq!(crl.lookup(serial), Some(Entry { revoked_at_ms: at, remove_from_crl: false }), "{serial:?}");
        }
        assert_eq!(crl.lookup(&[0x08]), Some(Entry { revoked_at_ms: at, remove_from_crl: true }));
        for serial in [&[0x06][..], &[0xff], &[0x01, 0x00], &[0x30, 0x3a], &[]] {
            assert_eq!(crl.lookup(serial), None, "{serial:?}");
        }
        assert_eq!(crl.this_update_ms(), 1_735_689_600_000);
        assert_eq!(crl.next_update_ms(), Some(4_102_444_799_000));
        assert!(crl.is_current(1_735_689_600_000) && !crl.is_current(1_735_689_599_999));
        assert!(crl.number().is_none() && crl.delta_base().is_none() && crl.freshest_urls().is_empty());
    }

    #[test]
    fn numbers_and_freshest_crl_are_read() {
        let url = tlv(0x86, b"http://crl.example/delta.crl");
        let freshest = seq(&[seq(&[tlv(0xa0, &tlv(0xa0, &url))])]);
        let crl = Crl::from_der(&crl_der(
            &[],
            &[
                ext(CRL_NUMBER, false, &tlv(INTEGER, &[0x00, 0x81, 0x02])),
                ext(DELTA_CRL_INDICATOR, true, &tlv(INTEGER, &[0x7f])),
                ext(FRESHEST_CRL, false, &freshest),
            ],
        ))
        .unwrap();
        assert_eq!(crl.number(), Some(vec![0x81, 0x02]));
        assert_eq!(crl.delta_base(), Some(vec![0x7f]));
        assert_eq!(crl.freshest_urls(), ["http://crl.example/delta.crl"]);
        assert!(crl.is_empty());
    }

    #[test]
    fn what_cannot_be_judged_is_refused() {
        // An entry naming another issuer (indirect CRL), critical or not.
        let issuer = ext(CERTIFICATE_ISSUER, true, &seq(&[]));
        assert!(refusal(&crl_der(&[entry(&[1], &[issuer])], &[])).contains("indirect"));
        let issuer = ext(CERTIFICATE_ISSUER, false, &seq(&[]));
        assert!(refusal(&crl_der(&[entry(&[1], &[issuer])], &[])).contains("indirect"));
        // Unknown critical extensions, of an entry or of the CRL; unknown non-critical
        // ones are ignored.
        let odd = ext(&[0x2a, 0x03, 0x04], true, &[0x05, 0x00]);
        assert!(
            refusal(&crl_der(&[entry(&[1], std::slice::from_ref(&odd))], &[]))
                .contains("unknown critical extension 1.2.3.4")
        );
        assert!(refusal(&crl_der(&[], std::slice::from_ref(&odd))).contains("unknown critical extension 1.2.3.4"));
        let mild = ext(&[0x2a, 0x03, 0x04], false, &[0x05, 0x00]);
        assert!(
            Crl::from_der(&crl_der(&[entry(&[1], std::slice::from_ref(&mild))], std::slice::from_ref(&mild))).is_ok()
        );
        // Issuing distribution points: indirect, some reasons, CA certificates only.
        let indirect = ext(ISSUING_DISTRIBUTION_POINT, true, &seq(&[vec![0x84, 0x01, 0xff]]));
        assert!(refusal(&crl_der(&[], &[indirect])).contains("indirect"));
        let some = ext(ISSUING_DISTRIBUTION_POINT, true, &seq(&[vec![0x83, 0x02, 0x07, 0x80]]));
        assert!(refusal(&crl_der(&[], &[some])).contains("some revocation reasons"));
        let ca_only = ext(ISSUING_DISTRIBUTION_POINT, true, &seq(&[vec![0x82, 0x01, 0xff]]));
        assert!(refusal(&crl_der(&[], &[ca_only])).contains("only CA"));
        let users = ext(ISSUING_DISTRIBUTION_POINT, true, &seq(&[vec![0x81, 0x01, 0xff]]));
        assert!(Crl::from_der(&crl_der(&[], &[users])).is_ok());
        // The same extension twice; a serial beyond 20 octets; version 3.
        let n = ext(CRL_NUMBER, false, &tlv(INTEGER, &[1]));
        assert!(refusal(&crl_der(&[], &[n.clone(), n])).contains("twice"));
        assert!(refusal(&crl_der(&[entry(&[0x7f; 22], &[])], &[])).contains("22 octets"));
        let v3 = crl_der(&[], &[]);
        let i = v3.windows(3).position(|w| w == [INTEGER, 1, 1]).unwrap();
        let mut v3 = v3.clone();
        v3[i + 2] = 2;
        assert!(refusal(&v3).contains("version 3"));
    }

    #[test]
    fn malformed_der_is_an_error_never_a_panic() {
        let good =
            crl_der(&[entry(&[1], &[reason(1)]), entry(&[2], &[])], &[ext(CRL_NUMBER, false, &tlv(INTEGER, &[1]))]);
        assert!(Crl::from_der(&good).is_ok());
        for n in 0..good.len() {
            assert!(Crl::from_der(&good[..n]).is_err(), "truncated at {n}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(refusal(&trailing).contains("after the CRL"));
        for i in 0..good.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                let _ = Crl::from_der(&bad);
            }
        }
        let mut indefinite = good.clone();
        indefinite[1] = 0x80;
        assert!(Crl::from_der(&indefinite).is_err());
        // The outer signature algorithm must be the inner one.
        let mut other = good.clone();
        let last = other.len() - 9;
        other[last - 3] ^= 1;
        assert!(Crl::from_der(&other).is_err());
    }

    /// Serials 0..n in a scrambled order (odd ones revoked for keyCompromise).
    fn big_crl(n: u32) -> Vec<u8> {
        let entries: Vec<_> = (0..n)
            .map(|i| i.wrapping_mul(2_654_435_761) % n)
            .map(|s| {
                let mut serial = vec![0x4a; 17];
                serial.extend_from_slice(&(s * 3).to_be_bytes()[1..]);
                if !s.is_multiple_of(2) { entry(&serial, &[reason(1)]) } else { entry(&serial, &[]) }
            })
            .collect();
        crl_der(&entries, &[ext(CRL_NUMBER, false, &tlv(INTEGER, &[7]))])
    }

    fn serial(s: u32) -> Vec<u8> {
        let mut serial = vec![0x4a; 17];
        serial.extend_from_slice(&s.to_be_bytes()[1..]);
        serial
    }

    #[test]
    fn a_crl_file_is_indexed_next_to_it_and_reindexed_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.crl");
        // More than one sorting run: the merge is exercised.
        let n = 150_000;
        std::fs::write(&path, big_crl(n)).unwrap();
        let crl = Crl::open(&path).unwrap();
        assert_eq!(crl.len(), u64::from(n));
        for s in [0, 1, n / 2, n - 1] {
            assert!(crl.lookup(&serial(s * 3)).is_some(), "{s}");
            assert!(crl.lookup(&serial(s * 3 + 1)).is_none(), "{s}");
        }
        assert_eq!(crl.number(), Some(vec![7]));
        let idx = dir.path().join("big.crl.idx");
        let built = std::fs::metadata(&idx).unwrap().modified().unwrap();
        assert_eq!(std::fs::metadata(&idx).unwrap().len(), u64::from(n) * RECORD as u64 + crl_index_header(&idx));
        // Again: the index is used as it is.
        let again = Crl::open(&path).unwrap();
        assert!(again.lookup(&serial(3 * 77)).is_some());
        assert_eq!(std::fs::metadata(&idx).unwrap().modified().unwrap(), built);
        // Another CRL in the file: a new index.
        std::fs::write(&path, crl_der(&[entry(&serial(1), &[])], &[])).unwrap();
        let changed = Crl::open(&path).unwrap();
        assert_eq!(changed.len(), 1);
        assert!(changed.lookup(&serial(1)).is_some() && changed.lookup(&serial(3)).is_none());
        // The old one still answers from the index it opened.
        assert!(crl.lookup(&serial(3)).is_some());
        // A damaged index is rebuilt, not believed.
        std::fs::write(&idx, b"QOLCRLX1 garbage").unwrap();
        assert_eq!(Crl::open(&path).unwrap().len(), 1);
        // No temporary files are left behind.
        let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["big.crl", "big.crl.idx"]);
        // A CRL file that is not a CRL: an error, and no index.
        let junk = dir.path().join("junk.crl");
        std::fs::write(&junk, b"<html>").unwrap();
        assert!(Crl::open(&junk).is_err());
        assert!(!dir.path().join("junk.crl.idx").exists());
    }

    fn crl_index_header(idx: &Path) -> u64 {
        let bytes = std::fs::read(idx).unwrap();
        u64::from(u32::from_be_bytes(bytes[8..12].try_into().unwrap()))
    }
}
