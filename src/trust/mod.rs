//! Whether a key's certificate is one a site may use: issued by NCA RK (or by the CAs
//! the page names), inside its validity period, not revoked (spec §4.2 `signerParams.chain`,
//! `allowExpired`, `allowRevoked`).
//!
//! NCA RK's production CA certificates are downloaded from the addresses NCA publishes
//! (`certs/README.md`) and cached in the data directory; a key's chain is then checked
//! by signature. Without them (never online), the issuer is matched by name, and the
//! user is told so: a real user must never be locked out of a valid NCA key because
//! the network was down. CRLs come from the certificate's distribution points or the
//! cache; when none can be had, the key stays usable with a note saying revocation
//! could not be checked, rather than a guess.

pub mod crl;
pub mod fetch;
pub mod ocsp;

use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use crate::crypto::verify::verify_certificate;
use crate::keys::Certificate;
use crate::keys::certificate::parse_x509;
use crl::{Crl, Status};

/// Where NCA RK publishes its production CA certificates.
pub const NCA_CA_URLS: &[&str] = &[
    "http://pki.gov.kz/cert/nca_gost_2022.cer",
    "http://pki.gov.kz/cert/nca_rsa.crt",
    "http://pki.gov.kz/cert/nca_gost.crt",
    "http://pki.gov.kz/cert/root_gost_2022.cer",
    "http://root.gov.kz/cert/root_gost_2020.cer",
    "http://root.gov.kz/cert/root_rsa_2020.cer",
];

/// NCA RK's public TEST CAs, known so that keys they issued can be named as test keys.
const TEST_CAS: &[&[u8]] = &[
    include_bytes!("../../certs/test/nca_gost2015_test.cer"),
    include_bytes!("../../certs/test/root_test_gost_2022.cer"),
    include_bytes!("../../certs/test/nca_gost_test.crt"),
    include_bytes!("../../certs/test/nca_rsa_test.crt"),
];

/// How often cached CA certificates are refreshed.
const CA_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Which issuers a request accepts (basics `signerParams.chain`).
#[derive(Clone, Debug, Default)]
pub enum ChainRule {
    /// Absent or null: only keys of NCA RK's production CAs.
    #[default]
    NcaProduction,
    /// `[]`: any key, test CAs' too.
    Any,
    /// A list: keys issued by one of these certificates.
    Listed(Vec<x509_cert::Certificate>),
}

/// What a request requires of a key's certificate.
#[derive(Clone, Debug, Default)]
pub struct Requirements {
    pub chain: ChainRule,
    pub allow_expired: bool,
    pub allow_revoked: bool,
}

/// What the person should know about a key that may be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustNote {
    /// NCA RK's CA certificates could not be downloaded: the issuer matched by name only.
    IssuerByNameOnly,
    /// Revoked on `date`, and the site allows revoked keys.
    RevokedAllowed { date: String },
    /// Nobody could be asked whether the certificate was revoked; `why` is the
    /// technical reason.
    RevocationUnknown { why: String },
}

impl std::fmt::Display for TrustNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::IssuerByNameOnly => {
                f.write_str("NCA RK's CA certificates could not be downloaded; the issuer was checked by name only")
            }
            Self::RevokedAllowed { date } => write!(f, "revoked on {date} (allowed by the site)"),
            Self::RevocationUnknown { why } => write!(f, "revocation could not be checked: {why}"),
        }
    }
}

/// The verdict on one certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// Why the key cannot be used; `None` if it can.
    pub refusal: Option<String>,
    /// Things the user should know even if the key can be used.
    pub notes: Vec<TrustNote>,
}

/// See the module documentation.
pub struct TrustStore {
    cache_dir: Option<PathBuf>,
    ca_urls: Vec<String>,
    online: bool,
    production: RwLock<Vec<x509_cert::Certificate>>,
    test_cas: Vec<x509_cert::Certificate>,
}

fn date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000).map(|t| t.date().to_string()).unwrap_or_default()
}

impl TrustStore {
    /// A store caching in `cache_dir`, downloading from `ca_urls` when `online`.
    pub fn new(cache_dir: Option<PathBuf>, ca_urls: Vec<String>, online: bool) -> Self {
        let store = Self {
            cache_dir,
            ca_urls,
            online,
            production: RwLock::new(Vec::new()),
            test_cas: TEST_CAS.iter().filter_map(|b| parse_x509(b)).collect(),
        };
        store.load_cached_cas();
        store
    }

    /// A store that never touches the disk or the network.
    pub fn offline() -> Self {
        Self::new(None, Vec::new(), false)
    }

    fn ca_dir(&self) -> Option<PathBuf> {
        self.cache_dir.as_ref().map(|d| d.join("ca"))
    }

    fn crl_dir(&self) -> Option<PathBuf> {
        self.cache_dir.as_ref().map(|d| d.join("crl"))
    }

    fn load_cached_cas(&self) {
        let Some(dir) = self.ca_dir() else { return };
        let certs: Vec<_> = self
            .ca_urls
            .iter()
            .filter_map(|url| std::fs::read(fetch::cache_path(&dir, url)).ok())
            .filter_map(|bytes| parse_x509(&bytes))
            .collect();
        *self.production.write().unwrap_or_else(|p| p.into_inner()) = certs;
    }

    /// Download NCA RK's CA certificates whose cached copy is missing or older than a
    /// week. Blocking; the daemon runs it on a background thread at start.
    pub fn refresh_ca_certificates(&self) {
        let (Some(dir), true) = (self.ca_dir(), self.online) else { return };
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        for url in &self.ca_urls {
            let path = fetch::cache_path(&dir, url);
            if fetch::is_fresh(&path, CA_MAX_AGE) {
                continue;
            }
            match fetch::download(url) {
                Ok(bytes) if parse_x509(&bytes).is_some() => {
                    let _ = crate::platform::write_public_file(&path, &bytes);
                    tracing::info!(url, "cached an NCA RK CA certificate");
                }
                Ok(_) => tracing::warn!(url, "downloaded file is not a certificate"),
                Err(e) => tracing::warn!("cannot download an NCA RK CA certificate: {e}"),
            }
        }
        self.load_cached_cas();
    }

    /// Judge `cert` against `req` at `now_ms`.
    pub fn assess(&self, cert: &Certificate, req: &Requirements, now_ms: i64) -> Assessment {
        let mut out = Assessment::default();
        if !req.allow_expired && !cert.is_valid_at(now_ms) {
            out.refusal = Some(if now_ms > cert.not_after_ms() {
                format!("the certificate expired on {}", date(cert.not_after_ms()))
            } else {
                format!("the certificate is valid only from {}", date(cert.not_before_ms()))
            });
            return out;
        }
        let issuer = self.issuer_of(cert, &req.chain);
        if let Err(reason) = self.check_chain(cert, issuer.as_ref(), &req.chain, &mut out.notes) {
            out.refusal = Some(reason);
            return out;
        }
        match self.revocation(cert, issuer.as_ref().map(|i| &i.cert), now_ms) {
            Ok(Status::Good) => {}
            Ok(Status::Revoked(at)) if !req.allow_revoked => {
                out.refusal = Some(format!("the certificate was revoked on {}", date(at)));
            }
            Ok(Status::Revoked(at)) => out.notes.push(TrustNote::RevokedAllowed { date: date(at) }),
            Err(why) => out.notes.push(TrustNote::RevocationUnknown { why }),
        }
        out
    }

    /// The known CA whose key signed `cert` (names match and the signature verifies):
    /// NCA RK's production CAs first, then its test CAs, then the CAs the request
    /// names. Revocation is checked against it, whichever it is: a page's own CA's CRL
    /// counts as much as NCA RK's.
    fn issuer_of(&self, cert: &Certificate, chain: &ChainRule) -> Option<Issuer> {
        let production = self.production.read().unwrap_or_else(|p| p.into_inner());
        if let Some(ca) = production.iter().find(|ca| signed_by(cert, ca)) {
            return Some(Issuer { cert: ca.clone(), test: false });
        }
        if let Some(ca) = self.test_cas.iter().find(|ca| signed_by(cert, ca)) {
            return Some(Issuer { cert: ca.clone(), test: true });
        }
        match chain {
            ChainRule::Listed(cas) => {
                cas.iter().find(|ca| signed_by(cert, ca)).map(|ca| Issuer { cert: ca.clone(), test: false })
            }
            _ => None,
        }
    }

    fn check_chain(
        &self,
        cert: &Certificate,
        issuer: Option<&Issuer>,
        rule: &ChainRule,
        notes: &mut Vec<TrustNote>,
    ) -> Result<(), String> {
        let is_test = issuer.is_some_and(|i| i.test);
        match rule {
            ChainRule::Any => Ok(()),
            ChainRule::Listed(cas) => {
                if cas.iter().any(|ca| signed_by(cert, ca)) {
                    Ok(())
                } else {
                    Err(format!("not issued by the CAs the site named (issuer: {})", cert.issuer_cn()))
                }
            }
            ChainRule::NcaProduction if is_test => {
                Err("issued by NCA RK's TEST CA; this site accepts only real NCA RK keys".into())
            }
            ChainRule::NcaProduction if issuer.is_some() => Ok(()),
            ChainRule::NcaProduction => {
                let production = self.production.read().unwrap_or_else(|p| p.into_inner());
                let issuer_name = cert.parsed().tbs_certificate().issuer();
                if production.iter().any(|ca| ca.tbs_certificate().subject() == issuer_name) {
                    return Err(format!("the signature of {} on the certificate does not verify", cert.issuer_cn()));
                }
                if looks_like_nca(&cert.issuer_cn()) {
                    notes.push(TrustNote::IssuerByNameOnly);
                    Ok(())
                } else {
                    Err(format!("not issued by NCA RK (issuer: {})", cert.issuer_cn()))
                }
            }
        }
    }

    /// CRL first (from the distribution points or the cache), then OCSP (cached answer,
    /// or the responder named in the certificate when online).
    fn revocation(
        &self,
        cert: &Certificate,
        issuer: Option<&x509_cert::Certificate>,
        now_ms: i64,
    ) -> Result<Status, String> {
        let issuer = issuer.ok_or("the issuer's certificate is not available")?;
        match self.revocation_by_crl(cert, issuer, now_ms) {
            Ok(status) => Ok(status),
            Err(crl_problem) => self.revocation_by_ocsp(cert, issuer, now_ms).map_err(|_| crl_problem),
        }
    }

    fn revocation_by_ocsp(
        &self,
        cert: &Certificate,
        issuer: &x509_cert::Certificate,
        now_ms: i64,
    ) -> Result<Status, String> {
        let dir = self.cache_dir.as_ref().map(|d| d.join("ocsp")).ok_or("no OCSP cache")?;
        let path = dir.join(format!("{}.der", cert.serial_hex()));
        let cached = std::fs::read(&path).ok().map(|r| ocsp::status(&r, cert, issuer, now_ms));
        let answer = match cached {
            Some(Ok(status)) => status,
            _ if self.online => {
                let url = ocsp_url(cert).ok_or("the certificate names no OCSP responder")?;
                let response = fetch::post(&url, "application/ocsp-request", &ocsp::request(cert, issuer)?)?;
                let status = ocsp::status(&response, cert, issuer, now_ms)?;
                let _ = std::fs::create_dir_all(&dir);
                let _ = crate::platform::write_public_file(&path, &response);
                status
            }
            Some(Err(e)) => return Err(e),
            None => return Err("no OCSP answer is cached (offline)".into()),
        };
        match answer {
            ocsp::OcspStatus::Good => Ok(Status::Good),
            ocsp::OcspStatus::Revoked(at) => Ok(Status::Revoked(at)),
            ocsp::OcspStatus::Unknown => Err("the OCSP responder does not know the certificate".into()),
        }
    }

    fn revocation_by_crl(
        &self,
        cert: &Certificate,
        issuer: &x509_cert::Certificate,
        now_ms: i64,
    ) -> Result<Status, String> {
        let dir = self.crl_dir().ok_or("no CRL cache")?;
        let urls = crl_urls(cert);
        if urls.is_empty() {
            return Err("the certificate names no CRL".into());
        }
        let mut last_error = String::from("no current CRL is available (offline)");
        for url in &urls {
            let path = fetch::cache_path(&dir, url);
            let cached = Crl::open(&path).ok();
            let crl = match cached {
                Some(crl) if crl.is_current(now_ms) => crl,
                cached if self.online => match fetch::download(url).and_then(|bytes| {
                    // Cached first, then read from the cache (streamed, indexed).
                    let _ = std::fs::create_dir_all(&dir);
                    match crate::platform::write_public_file(&path, &bytes) {
                        Ok(()) => {
                            drop(bytes);
                            Crl::open(&path)
                        }
                        Err(_) => Crl::from_der(&bytes),
                    }
                    .map_err(|e| format!("{url}: not a CRL ({e})"))
                }) {
                    Ok(crl) => crl,
                    Err(e) => {
                        last_error = e;
                        match cached {
                            Some(stale) => stale,
                            None => continue,
                        }
                    }
                },
                Some(stale) => stale,
                None => continue,
            };
            if !crl.is_signed_by(issuer) {
                last_error = format!("the CRL from {url} is not signed by the issuer");
                continue;
            }
            // Revocation is for good: an authentic CRL proves it even when out of date.
            // Only "not listed" needs a current CRL.
            let status = crl.status_of(cert);
            if matches!(status, Status::Revoked(_)) {
                return Ok(status);
            }
            if !crl.is_current(now_ms) {
                last_error = format!("the CRL from {url} is out of date");
                continue;
            }
            return Ok(status);
        }
        Err(last_error)
    }
}

/// A known CA that signed a certificate.
struct Issuer {
    cert: x509_cert::Certificate,
    /// One of NCA RK's public test CAs.
    test: bool,
}

/// Did `ca` sign `cert`? (Names match and the signature verifies.)
fn signed_by(cert: &Certificate, ca: &x509_cert::Certificate) -> bool {
    cert.parsed().tbs_certificate().issuer() == ca.tbs_certificate().subject()
        && verify_certificate(cert.parsed(), ca.tbs_certificate().subject_public_key_info()).is_ok()
}

/// NCA RK's production CAs are named "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (…)"; test CAs carry TEST.
fn looks_like_nca(issuer_cn: &str) -> bool {
    issuer_cn.starts_with("ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ") && !issuer_cn.to_uppercase().contains("TEST")
}

/// The certificate's OCSP responder (Authority Information Access), if http.
fn ocsp_url(cert: &Certificate) -> Option<String> {
    use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
    let Ok(Some((_, aia))) = cert.parsed().tbs_certificate().get_extension::<AuthorityInfoAccessSyntax>() else {
        return None;
    };
    aia.0.iter().find_map(|d| match &d.access_location {
        GeneralName::UniformResourceIdentifier(uri) if d.access_method.to_string() == "1.3.6.1.5.5.7.48.1" => {
            Some(uri.to_string()).filter(|u| u.starts_with("http://"))
        }
        _ => None,
    })
}

/// The http URLs of the certificate's CRL distribution points.
fn crl_urls(cert: &Certificate) -> Vec<String> {
    let Ok(Some((_, points))) = cert.parsed().tbs_certificate().get_extension::<CrlDistributionPoints>() else {
        return Vec::new();
    };
    points
        .0
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
