//! What OCSP receipts and CRLs together say about a certificate at a given time.
//!
//! The rules (those of NCA RK's checking order, RFC 5280 and RFC 6960):
//! - only material its issuer signed counts (an OCSP responder the issuer delegated, a
//!   CRL under the issuer's name and key);
//! - revocation is for good: a receipt or CRL listing the certificate proves it
//!   whenever it was issued;
//! - "not revoked" needs material that speaks for the time in question: an OCSP receipt
//!   produced at or after it, or whose validity covers it (a receipt obtained earlier
//!   may be reused: the check is then as of the receipt's date); a CRL (with its delta
//!   CRL, when there is one) whose nextUpdate is not before it;
//! - a responder's "revoked, certificateHold, 1970-01-01" means it never issued the
//!   certificate (RFC 6960 §2.2).

use super::crl::Crl;
use super::ocsp::{self, CLOCK_SKEW_MS, OcspStatus, Receipt};
use crate::keys::Certificate;

/// Why nothing was decided when there was no material at all.
pub const NOTHING_AVAILABLE: &str = "no OCSP receipt or CRL is available";

/// Which material decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// An OCSP receipt produced at this time (epoch ms).
    Ocsp { produced_at_ms: i64 },
    /// A CRL issued at this time, with a delta CRL issued at `delta_ms` when one was used.
    Crl { this_update_ms: i64, delta_ms: Option<i64> },
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// Not revoked at the time asked.
    Good(Source),
    /// Revoked at `at_ms` (which may be after the time asked: the caller decides).
    Revoked { at_ms: i64, source: Source },
    /// The OCSP responder says the CA never issued this certificate.
    NotIssued(Source),
    /// Nothing available speaks for the time asked; `why` says what was missing.
    Unknown { why: String },
}

impl Finding {
    pub fn is_decided(&self) -> bool {
        !matches!(self, Self::Unknown { .. })
    }
}

/// Decide from `ocsp_responses` (DER OCSPResponse) and `crls` whether `cert`, issued by
/// `issuer`, was revoked at `at_ms`; `now_ms` rules out material from the future.
pub fn decide(
    cert: &Certificate,
    issuer: &x509_cert::Certificate,
    at_ms: i64,
    now_ms: i64,
    ocsp_responses: &[Vec<u8>],
    crls: &[Crl],
) -> Finding {
    let mut why = Vec::new();
    let receipts: Vec<Receipt> = ocsp_responses
        .iter()
        .filter_map(|r| ocsp::read(r, cert, issuer).map_err(|e| why.push(e)).ok())
        .filter(|r| r.this_update_ms <= now_ms + CLOCK_SKEW_MS)
        .collect();
    if let Some(found) = from_receipts(&receipts, at_ms) {
        return found;
    }
    if !receipts.is_empty() {
        why.push("the OCSP receipt predates the time checked".into());
    }
    match from_crls(cert, issuer, at_ms, now_ms, crls) {
        Ok(found) => found,
        Err(problem) => {
            why.extend(problem);
            if why.is_empty() {
                why.push(NOTHING_AVAILABLE.into());
            }
            why.dedup();
            Finding::Unknown { why: why.join("; ") }
        }
    }
}

fn from_receipts(receipts: &[Receipt], at_ms: i64) -> Option<Finding> {
    let source = |r: &Receipt| Source::Ocsp { produced_at_ms: r.produced_at_ms };
    if let Some(r) = receipts.iter().find(|r| r.is_non_issued()) {
        return Some(Finding::NotIssued(source(r)));
    }
    let revoked = receipts.iter().find_map(|r| match r.status {
        OcspStatus::Revoked(at) => Some(Finding::Revoked { at_ms: at, source: source(r) }),
        _ => None,
    });
    if revoked.is_some() {
        return revoked;
    }
    receipts
        .iter()
        .filter(|r| r.status == OcspStatus::Good)
        .filter(|r| r.produced_at_ms.max(r.this_update_ms) + CLOCK_SKEW_MS >= at_ms || r.valid_until_ms() >= at_ms)
        .max_by_key(|r| r.produced_at_ms)
        .map(|r| Finding::Good(source(r)))
}

/// Base CRLs with the newest delta CRL that extends them.
fn from_crls(
    cert: &Certificate,
    issuer: &x509_cert::Certificate,
    at_ms: i64,
    now_ms: i64,
    crls: &[Crl],
) -> Result<Finding, Vec<String>> {
    let mut why = Vec::new();
    let usable: Vec<&Crl> = crls
        .iter()
        .filter(|c| {
            let authentic = c.is_signed_by(issuer);
            if !authentic {
                why.push("a CRL is not signed by the issuer".to_owned());
            }
            authentic && c.this_update_ms() <= now_ms + CLOCK_SKEW_MS
        })
        .collect();
    let serial = cert.parsed().tbs_certificate().serial_number().as_bytes();
    let mut bases: Vec<&Crl> = usable.iter().copied().filter(|c| c.delta_base().is_none()).collect();
    bases.sort_by_key(|c| std::cmp::Reverse(c.this_update_ms()));
    let deltas: Vec<&Crl> = usable.iter().copied().filter(|c| c.delta_base().is_some()).collect();
    for base in bases {
        let delta = deltas
            .iter()
            .filter(|d| {
                let (Some(base_number), Some(extends)) = (base.number(), d.delta_base()) else { return false };
                number_le(&extends, &base_number)
            })
            .max_by_key(|d| d.this_update_ms());
        let source = Source::Crl { this_update_ms: base.this_update_ms(), delta_ms: delta.map(|d| d.this_update_ms()) };
        // An index that cannot be read says nothing: never "not listed".
        let (in_delta, in_base) = match (delta.map(|d| d.try_lookup(serial)).transpose(), base.try_lookup(serial)) {
            (Ok(in_delta), Ok(in_base)) => (in_delta.flatten(), in_base),
            (Err(e), _) | (_, Err(e)) => {
                why.push(e.to_string());
                continue;
            }
        };
        let entry = match in_delta {
            Some(e) if e.remove_from_crl => None,
            Some(e) => Some(e),
            None => in_base.filter(|e| !e.remove_from_crl),
        };
        if let Some(entry) = entry {
            return Ok(Finding::Revoked { at_ms: entry.revoked_at_ms, source });
        }
        let covered_until = delta.and_then(|d| d.next_update_ms()).max(base.next_update_ms());
        if covered_until.is_none_or(|until| at_ms <= until) {
            return Ok(Finding::Good(source));
        }
        why.push("the CRL is out of date for the time checked".into());
    }
    Err(why)
}

/// `a ≤ b` for big-endian magnitudes without leading zeros.
fn number_le(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) <= (b.len(), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        assert!(number_le(&[5], &[5]));
        assert!(number_le(&[5], &[1, 0]));
        assert!(!number_le(&[1, 0], &[0xff]));
        assert!(number_le(&[], &[1]));
    }
}
