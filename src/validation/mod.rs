//! Is a signature a valid Kazakh e-signature? The checks NCA RK's rules for checking
//! an electronic signature ask for (order No. 1187 of 9 December 2015, as the eGov
//! integration requirements restate them), each reported on its own:
//!
//! - the signature matches the document and the certificate (done by `cms::verify` or
//!   `xmldsig::verify_xml`, passed in);
//! - a chain is built from the certificate through every intermediate to a trusted
//!   root, each link's signature checked (NCA RK production, or TEST, marked);
//! - the certificate is within NotBefore/NotAfter at the signing time: a timestamp's
//!   time when a trusted TSA vouches for it, else the time the signer claims (said as
//!   such), else the time of the check;
//! - it was not revoked then: an OCSP receipt (an earlier one may be reused, the check
//!   is then as of its date), else the CRL with its delta CRL;
//! - its key usage fits: digitalSignature + nonRepudiation to sign documents,
//!   digitalSignature + keyEncipherment (keyAgreement for GOST keys) to log in;
//! - the IIN/BIN the caller expects.
//!
//! The verdict is VALID only when every check passed, INVALID when one failed, and
//! INDETERMINATE when none failed but one could not be made (offline, no revocation
//! source).

mod reason;
pub mod render;

pub use reason::{Check, IdKind, Identity, Period, Reason, TimestampUnused};

use serde::Serialize;

use crate::i18n::Locale;

use crate::cms::verify::Evidence;
use crate::keys::Certificate;
use crate::trust::revocation::{Finding, Source};
use crate::trust::{Material, Prefer, TrustStore, looks_like_nca, path};

/// id-kp-timeStamping: a TSA's certificate must carry it (RFC 3161 §2.3).
const TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
/// Kazakhstan's time (one zone, UTC+5, since 1 March 2024).
pub const ASTANA_OFFSET_SECS: i32 = 5 * 3600;

/// What the certificate must be for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Usage {
    /// Signing documents: digitalSignature + nonRepudiation.
    #[default]
    Sign,
    /// Logging in: digitalSignature + keyEncipherment or keyAgreement.
    Auth,
}

/// What the caller gives besides the signature.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Trust anchors (`--trust`): besides NCA RK's production CAs.
    pub trust: Vec<x509_cert::Certificate>,
    /// OCSP responses and CRLs given on the command line.
    pub material: Material,
    /// The time of the check (`--at`, else the clock), epoch ms.
    pub now_ms: i64,
    pub usage: Usage,
    pub expect_iin: Option<String>,
    pub expect_bin: Option<String>,
}

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    /// Could not be made.
    Unknown,
}

/// Which kind of root a chain ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RootKind {
    /// One of NCA RK's production CAs: a legal signature.
    Production,
    /// NCA RK's public TEST infrastructure: not a legal signature.
    Test,
    /// A CA the caller named with `--trust`.
    Given,
}

/// The chain check.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainCheck {
    #[serde(flatten)]
    pub check: Check,
    /// Subjects from the signer's certificate up to the trusted one.
    pub path: Vec<String>,
    pub root: Option<RootKind>,
}

/// Where the time the certificate is judged at comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeSource {
    /// A timestamp whose TSA chains to a trusted root.
    Timestamp,
    /// The signing time the signer wrote (not proven).
    Claimed,
    /// The time of this check (the signature says nothing of when it was made).
    Check,
}

/// The time the certificate is judged at.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningTime {
    pub at_ms: i64,
    pub source: TimeSource,
    /// Why a timestamp the signature carries was not used, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_not_used: Option<TimestampUnused>,
}

/// The revocation check.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationCheck {
    #[serde(flatten)]
    pub check: Check,
    /// "ocsp", "crl", or none when it could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// The receipt's or the CRL's date, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_date_ms: Option<i64>,
    /// The delta CRL's date, when one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_crl_date_ms: Option<i64>,
}

impl RevocationCheck {
    /// A check that names no source.
    fn without(reason: Reason) -> Self {
        Self { check: Check(reason), source: None, source_date_ms: None, delta_crl_date_ms: None }
    }
}

/// The overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Invalid,
    Indeterminate,
}

/// Every check on one signer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignerValidation {
    pub verdict: Verdict,
    pub subject: String,
    pub serial_number: String,
    pub iin: Option<String>,
    pub bin: Option<String>,
    pub signature: Check,
    pub chain: ChainCheck,
    pub signing_time: SigningTime,
    pub validity: Check,
    pub revocation: RevocationCheck,
    pub key_usage: Check,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Check>,
}

impl SignerValidation {
    fn checks(&self) -> impl Iterator<Item = &Check> {
        [&self.signature, &self.chain.check, &self.validity, &self.revocation.check, &self.key_usage]
            .into_iter()
            .chain(self.identity.as_ref())
    }
}

/// Checks certificates of signatures against a trust store and given material.
pub struct Validator<'a> {
    store: &'a TrustStore,
    options: Options,
    production: Vec<x509_cert::Certificate>,
}

/// The moment `ms` (epoch milliseconds) on Astana's clock (UTC+5); `None` out of range.
pub fn in_astana(ms: i64) -> Option<time::OffsetDateTime> {
    let offset = time::UtcOffset::from_whole_seconds(ASTANA_OFFSET_SECS).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok().map(|t| t.to_offset(offset))
}

/// A date and time in Astana, `YYYY-MM-DD HH:MM:SS (UTC+5)`.
pub fn astana_time(ms: i64) -> String {
    let Some(t) = in_astana(ms) else { return ms.to_string() };
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02} UTC+5",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl<'a> Validator<'a> {
    pub fn new(store: &'a TrustStore, options: Options) -> Self {
        Self { production: store.production_cas(), store, options }
    }

    /// Check the signer behind `evidence`; `problems` are what the signature check found.
    pub fn validate(&self, evidence: &Evidence, problems: &[String]) -> SignerValidation {
        let signature = Check(if problems.is_empty() { Reason::Intact } else { Reason::Broken(problems.join("; ")) });
        let cert = evidence.certificate.as_deref().and_then(|der| Certificate::from_der(der).ok());
        let others: Vec<x509_cert::Certificate> = evidence
            .other_certificates
            .iter()
            .filter_map(|d| <x509_cert::Certificate as der::Decode>::from_der(d).ok())
            .collect();
        let Some(cert) = cert else {
            return self.without_certificate(signature);
        };
        let signing_time = self.signing_time(evidence, &others);
        let at = signing_time.at_ms;
        let (chain, path) = self.chain(&cert, &others, at);
        let issuer = path.get(1).map(|i| i.parsed().clone());
        let validity = validity(&cert, &signing_time);
        let revocation = match &issuer {
            Some(issuer) => self.revocation(&cert, issuer, &signing_time, evidence),
            None => RevocationCheck::without(Reason::IssuerMissing),
        };
        let key_usage = key_usage(&cert, self.options.usage);
        let identity = self.identity(&cert);
        let mut out = SignerValidation {
            verdict: Verdict::Valid,
            subject: cert.subject_dn(),
            serial_number: cert.serial_hex(),
            iin: cert.iin(),
            bin: cert.bin(),
            signature,
            chain,
            signing_time,
            validity,
            revocation,
            key_usage,
            identity,
        };
        out.verdict = verdict(out.checks());
        out
    }

    /// What a long-term (LT) signature by `cert` embeds: the chain up to the trusted
    /// root and the revocation material that shows the certificate is not revoked now.
    /// An error says why such a signature cannot be made (untrusted, revoked, no source).
    pub fn long_term_data(&self, cert: &Certificate) -> Result<crate::cms::ltv::ValidationData, String> {
        let now = self.options.now_ms;
        let (chain, path) = self.chain(cert, &[], now);
        let issuer = path.get(1).map(|i| i.parsed().clone());
        let Some(issuer) = issuer.filter(|_| chain.check.outcome() == Outcome::Passed) else {
            return Err(format!("the chain of the key's certificate: {}", chain.check.detail(Locale::En)));
        };
        let (finding, material) =
            self.store.revocation_at(cert, &issuer, now, now, &self.options.material, Prefer::Ocsp);
        let mut data = crate::cms::ltv::ValidationData::default();
        match finding {
            Finding::Good(Source::Ocsp { .. }) => {
                let about_cert = |r: &&Vec<u8>| crate::trust::ocsp::read(r, cert, &issuer).is_ok();
                data.ocsp_responses = material.ocsp_responses.iter().filter(about_cert).cloned().collect();
            }
            Finding::Good(Source::Crl { .. }) => {
                data.crls = material.crl_ders.clone();
                for path in &material.crl_files {
                    data.crls.push(read_bounded(path)?);
                }
            }
            Finding::Revoked { at_ms, .. } => {
                return Err(format!("the certificate was revoked on {}", astana_time(at_ms)));
            }
            Finding::NotIssued(_) => return Err("the OCSP service says the CA never issued this certificate".into()),
            Finding::Unknown { why } => return Err(format!("revocation could not be checked: {why}")),
        }
        data.certificates = path.iter().skip(1).map(|c| c.der().to_vec()).collect();
        Ok(data)
    }

    fn without_certificate(&self, signature: Check) -> SignerValidation {
        let missing = || Check(Reason::NoCertificate);
        let mut out = SignerValidation {
            verdict: Verdict::Invalid,
            subject: String::new(),
            serial_number: String::new(),
            iin: None,
            bin: None,
            signature,
            chain: ChainCheck { check: missing(), path: Vec::new(), root: None },
            signing_time: SigningTime {
                at_ms: self.options.now_ms,
                source: TimeSource::Check,
                timestamp_not_used: None,
            },
            validity: missing(),
            revocation: RevocationCheck::without(Reason::NoCertificate),
            key_usage: missing(),
            identity: None,
        };
        out.verdict = verdict(out.checks());
        out
    }

    /// A timestamp's time if its TSA chains to a trusted root; else the claimed time;
    /// else now.
    fn signing_time(&self, evidence: &Evidence, others: &[x509_cert::Certificate]) -> SigningTime {
        let now = self.options.now_ms;
        let mut not_used = None;
        if let Some(stamped) = evidence.timestamp_time_ms {
            let tsa = evidence.timestamp_certificate.as_deref().and_then(|d| Certificate::from_der(d).ok());
            match tsa {
                Some(tsa) if !tsa.extended_key_usages().iter().any(|u| u == TIME_STAMPING) => {
                    not_used = Some(TimestampUnused::NotForTimestamps);
                }
                Some(tsa) => {
                    let (chain, _) = self.chain(&tsa, others, stamped);
                    if chain.check.outcome() == Outcome::Passed {
                        return SigningTime { at_ms: stamped, source: TimeSource::Timestamp, timestamp_not_used: None };
                    }
                    not_used = Some(TimestampUnused::Untrusted(Box::new(chain.check.0)));
                }
                None => not_used = Some(TimestampUnused::NoCertificate),
            }
        }
        match evidence.claimed_time_ms {
            Some(claimed) if claimed <= now => {
                SigningTime { at_ms: claimed, source: TimeSource::Claimed, timestamp_not_used: not_used }
            }
            _ => SigningTime { at_ms: now, source: TimeSource::Check, timestamp_not_used: not_used },
        }
    }

    /// Build the chain from `cert` to a trusted certificate; with the path followed,
    /// `cert` first (its second element is the issuer revocation is checked against).
    fn chain(
        &self,
        cert: &Certificate,
        others: &[x509_cert::Certificate],
        at_ms: i64,
    ) -> (ChainCheck, Vec<Certificate>) {
        let trusted: Vec<&x509_cert::Certificate> = self.options.trust.iter().chain(&self.production).collect();
        let others: Vec<&x509_cert::Certificate> = self.store.test_cas().iter().chain(others).collect();
        let built = path::build(cert, &trusted, &others);
        let reason = match built.end {
            path::End::Trusted => {
                return (self.chain_found(&built.certs, self.root_kind(&built.certs), at_ms), built.certs);
            }
            path::End::NoIssuer => self.no_issuer(&built.certs),
            path::End::TooLong => Reason::ChainTooLong,
            path::End::Unreadable => Reason::IssuerUnreadable,
        };
        let check = ChainCheck {
            check: Check(reason),
            path: built.certs.iter().map(Certificate::subject_dn).collect(),
            root: None,
        };
        (check, built.certs)
    }

    fn chain_found(&self, path: &[Certificate], root: RootKind, at_ms: i64) -> ChainCheck {
        let subjects = path.iter().map(Certificate::subject_dn).collect();
        let expired_ca = path.iter().skip(1).find(|ca| !ca.is_valid_at(at_ms));
        let top = path.last().map(Certificate::subject_cn).unwrap_or_default();
        let check = Check(match expired_ca {
            Some(ca) => {
                Reason::CaNotValid { ca: ca.subject_cn(), at_ms, from_ms: ca.not_before_ms(), to_ms: ca.not_after_ms() }
            }
            None => Reason::Trusted { root, top },
        });
        ChainCheck { check, path: subjects, root: Some(root) }
    }

    fn root_kind(&self, path: &[Certificate]) -> RootKind {
        let is_test = |c: &Certificate| {
            let cn = c.subject_cn();
            let nca_named = ["ҰЛТТЫҚ", "НЕГІЗГІ", "ҰКО"].iter().any(|n| cn.contains(n));
            self.store.test_cas().iter().any(|t| t == c.parsed()) || (nca_named && cn.to_uppercase().contains("TEST"))
        };
        if path.iter().skip(1).any(is_test) {
            RootKind::Test
        } else if path.iter().any(|c| self.production.iter().any(|p| p == c.parsed())) {
            RootKind::Production
        } else {
            RootKind::Given
        }
    }

    /// Why no issuer continues the chain above its last certificate.
    fn no_issuer(&self, path: &[Certificate]) -> Reason {
        let Some(current) = path.last() else { return Reason::NoCertificate };
        let test = path.iter().skip(1).any(|c| self.store.test_cas().iter().any(|t| t == c.parsed()));
        let tbs = current.parsed().tbs_certificate();
        if test {
            Reason::TestCa
        } else if tbs.issuer() == tbs.subject() {
            Reason::SelfSigned { cn: current.subject_cn() }
        } else if self.production.is_empty() && self.options.trust.is_empty() && looks_like_nca(&current.issuer_cn()) {
            Reason::NcaCasMissing
        } else {
            Reason::Untrusted { issuer: current.issuer_cn() }
        }
    }

    fn revocation(
        &self,
        cert: &Certificate,
        issuer: &x509_cert::Certificate,
        time: &SigningTime,
        evidence: &Evidence,
    ) -> RevocationCheck {
        let mut given = self.options.material.clone();
        given.ocsp_responses.extend(evidence.ocsp_responses.iter().cloned());
        given.crl_ders.extend(evidence.crls.iter().cloned());
        let (finding, _) =
            self.store.revocation_at(cert, issuer, time.at_ms, self.options.now_ms, &given, Prefer::Ocsp);
        let (source, source_date_ms, delta_crl_date_ms) = match &finding {
            Finding::Good(s) | Finding::Revoked { source: s, .. } | Finding::NotIssued(s) => match s {
                Source::Ocsp { produced_at_ms } => (Some("ocsp"), Some(*produced_at_ms), None),
                Source::Crl { this_update_ms, delta_ms } => (Some("crl"), Some(*this_update_ms), *delta_ms),
            },
            Finding::Unknown { .. } => (None, None, None),
        };
        let check = Check(match finding {
            Finding::Good(source) => Reason::NotRevoked(source),
            Finding::Revoked { at_ms, source } if at_ms <= time.at_ms => Reason::Revoked { at_ms, source },
            Finding::Revoked { at_ms, source } if time.source == TimeSource::Timestamp => {
                Reason::RevokedAfterTimestamp { at_ms, source }
            }
            Finding::Revoked { at_ms, source } => Reason::RevokedUnproven { at_ms, source },
            Finding::NotIssued(source) => Reason::NeverIssued(source),
            Finding::Unknown { why } => Reason::RevocationUnknown(why),
        });
        RevocationCheck { check, source, source_date_ms, delta_crl_date_ms }
    }

    fn identity(&self, cert: &Certificate) -> Option<Check> {
        let expected =
            [(IdKind::Iin, &self.options.expect_iin, cert.iin()), (IdKind::Bin, &self.options.expect_bin, cert.bin())];
        let items: Vec<Identity> = expected
            .into_iter()
            .filter_map(|(what, expected, actual)| Some(expect(what, expected.clone()?, actual)))
            .collect();
        (!items.is_empty()).then_some(Check(Reason::Identity(items)))
    }
}

/// Largest CRL embedded in a signature.
const MAX_EMBEDDED_CRL: u64 = 64 << 20;

fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.take(MAX_EMBEDDED_CRL + 1).read_to_end(&mut bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_EMBEDDED_CRL {
        return Err(format!("{}: the CRL is too large to embed", path.display()));
    }
    Ok(bytes)
}

fn expect(what: IdKind, expected: String, actual: Option<String>) -> Identity {
    match actual {
        Some(value) if value == expected => Identity::Matches { what, value },
        Some(actual) => Identity::Differs { what, actual, expected },
        None => Identity::Absent { what, expected },
    }
}

fn verdict<'c>(checks: impl Iterator<Item = &'c Check>) -> Verdict {
    let outcomes: Vec<Outcome> = checks.map(Check::outcome).collect();
    if outcomes.contains(&Outcome::Failed) {
        Verdict::Invalid
    } else if outcomes.contains(&Outcome::Unknown) {
        Verdict::Indeterminate
    } else {
        Verdict::Valid
    }
}

fn validity(cert: &Certificate, time: &SigningTime) -> Check {
    let (at_ms, from_ms, to_ms) = (time.at_ms, cert.not_before_ms(), cert.not_after_ms());
    let state = if at_ms < from_ms {
        Period::Before
    } else if at_ms > to_ms {
        Period::After
    } else {
        Period::Within
    };
    Check(Reason::Validity { state, when: time.source, at_ms, from_ms, to_ms })
}

fn key_usage(cert: &Certificate, usage: Usage) -> Check {
    use x509_cert::ext::pkix::KeyUsages;
    let Some(ku) = cert.key_usage() else {
        return Check(Reason::NoKeyUsage);
    };
    let has = |u: KeyUsages| ku.0.contains(u);
    let names: Vec<&str> = [
        (KeyUsages::DigitalSignature, "digitalSignature"),
        (KeyUsages::NonRepudiation, "nonRepudiation"),
        (KeyUsages::KeyEncipherment, "keyEncipherment"),
        (KeyUsages::KeyAgreement, "keyAgreement"),
    ]
    .into_iter()
    .filter(|(u, _)| has(*u))
    .map(|(_, n)| n)
    .collect();
    let signs = has(KeyUsages::DigitalSignature) && has(KeyUsages::NonRepudiation);
    let authenticates =
        has(KeyUsages::DigitalSignature) && (has(KeyUsages::KeyEncipherment) || has(KeyUsages::KeyAgreement));
    Check(Reason::key_usage(usage, signs, authenticates, names.join(", ")))
}
