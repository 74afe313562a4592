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
pub mod path;
pub mod revocation;

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Duration;

use x509_cert::ext::pkix::name::GeneralName;

use crate::crypto::verify::verify_certificate;
use crate::keys::Certificate;
use crate::keys::certificate::parse_x509;
use crl::Crl;
use revocation::Finding;

/// Where NCA RK publishes its production CA certificates.
pub const NCA_CA_URLS: &[&str] = &[
    "http://pki.gov.kz/cert/nca_gost_2022.cer",
    "http://pki.gov.kz/cert/nca_rsa.crt",
    "http://pki.gov.kz/cert/nca_gost.crt",
    "http://pki.gov.kz/cert/root_gost_2022.cer",
    "http://root.gov.kz/cert/root_gost_2020.cer",
    "http://root.gov.kz/cert/root_rsa_2020.cer",
];

/// The CA certificate addresses to fetch: those given (`--nca-ca-url`), else NCA RK's.
pub fn ca_urls(given: &[String]) -> Vec<String> {
    if given.is_empty() { NCA_CA_URLS.iter().map(|u| u.to_string()).collect() } else { given.to_vec() }
}

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
    /// The key file sits in Downloads, on the Desktop or in a synced folder.
    KeyFileExposed(crate::keys::hygiene::Exposure),
}

impl std::fmt::Display for TrustNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::IssuerByNameOnly => {
                f.write_str("NCA RK's CA certificates could not be downloaded; the issuer was checked by name only")
            }
            Self::RevokedAllowed { date } => write!(f, "revoked on {date} (allowed by the site)"),
            Self::RevocationUnknown { why } => write!(f, "revocation could not be checked: {why}"),
            Self::KeyFileExposed(e) => f.write_str(crate::keys::hygiene::exposure_text(*e, crate::i18n::Locale::En)),
        }
    }
}

/// Why a key cannot be used for a request: what the site asks for (the request's
/// filter) or what the certificate is (trust). Worded for people by
/// `crate::i18n::unusable`; `Display` is the English.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    NotAuthenticationKey,
    /// Certified for logging in only: it signs a short login challenge, not documents.
    LoginOnly,
    NotSigningKey,
    /// The certificate lacks an extended key usage the site asks for.
    MissingExtendedKeyUsage(String),
    /// The site asks for another IIN, BIN or certificate serial.
    OtherIin(String),
    OtherBin(String),
    OtherCertificate(String),
    Expired {
        date: String,
    },
    NotYetValid {
        date: String,
    },
    /// Not under the CAs the site named.
    NotUnderListedCas {
        issuer: String,
    },
    /// NCA RK's TEST CA issued it; the site takes only real keys.
    TestKey,
    /// A CA of NCA RK's name did not sign it.
    IssuerSignatureInvalid {
        issuer: String,
    },
    NotNca {
        issuer: String,
    },
    Revoked {
        date: String,
    },
    /// NCA RK's OCSP service does not know the certificate.
    NeverIssued,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::i18n::unusable(self, crate::i18n::Locale::En))
    }
}

/// The verdict on one certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// Why the key cannot be used; `None` if it can.
    pub refusal: Option<Unusable>,
    /// Things the user should know even if the key can be used.
    pub notes: Vec<TrustNote>,
}

/// See the module documentation.
pub struct TrustStore {
    cache_dir: Option<PathBuf>,
    ca_urls: Vec<String>,
    online: std::sync::atomic::AtomicBool,
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
            online: std::sync::atomic::AtomicBool::new(online),
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

    /// NCA RK's production CA certificates this computer has (downloaded and cached).
    pub fn production_cas(&self) -> Vec<x509_cert::Certificate> {
        self.production.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// May the store download (CA certificates, CRLs, OCSP)?
    pub fn is_online(&self) -> bool {
        self.online.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Allow or forbid downloads from now on (the person's offline mode).
    pub fn set_online(&self, online: bool) {
        self.online.store(online, std::sync::atomic::Ordering::SeqCst);
    }

    /// Was `cert` issued by one of NCA RK's TEST CAs?
    pub fn is_test_issued(&self, cert: &Certificate) -> bool {
        let issuer = cert.parsed().tbs_certificate().issuer();
        self.test_cas.iter().any(|ca| ca.tbs_certificate().subject() == issuer)
    }

    /// NCA RK's public TEST CA certificates (built in).
    pub fn test_cas(&self) -> &[x509_cert::Certificate] {
        &self.test_cas
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
        let (Some(dir), true) = (self.ca_dir(), self.is_online()) else { return };
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
        self.assess_carrying(cert, &[], req, now_ms)
    }

    /// Judge `cert`, which came with the CA certificates `carried` (its key file's),
    /// against `req` at `now_ms`.
    pub fn assess_carrying(
        &self,
        cert: &Certificate,
        carried: &[Certificate],
        req: &Requirements,
        now_ms: i64,
    ) -> Assessment {
        let mut out = Assessment::default();
        if !req.allow_expired && !cert.is_valid_at(now_ms) {
            out.refusal = Some(if now_ms > cert.not_after_ms() {
                Unusable::Expired { date: date(cert.not_after_ms()) }
            } else {
                Unusable::NotYetValid { date: date(cert.not_before_ms()) }
            });
            return out;
        }
        let path = match self.path_under(cert, carried, &req.chain, &mut out.notes) {
            Ok(path) => path,
            Err(reason) => {
                out.refusal = Some(reason);
                return out;
            }
        };
        let Some(issuer) = path.issuer() else {
            let why = "the issuer's certificate is not available".to_owned();
            out.notes.push(TrustNote::RevocationUnknown { why });
            return out;
        };
        match self.revocation_at(cert, issuer.parsed(), now_ms, now_ms, &Material::default(), Prefer::Crl).0 {
            Finding::Good(_) => {}
            Finding::Revoked { at_ms, .. } if !req.allow_revoked => {
                out.refusal = Some(Unusable::Revoked { date: date(at_ms) });
            }
            Finding::NotIssued(_) if !req.allow_revoked => {
                out.refusal = Some(Unusable::NeverIssued);
            }
            Finding::Revoked { at_ms, .. } => out.notes.push(TrustNote::RevokedAllowed { date: date(at_ms) }),
            Finding::NotIssued(_) => {
                let why = "NCA RK's OCSP service does not know this certificate".to_owned();
                out.notes.push(TrustNote::RevocationUnknown { why });
            }
            Finding::Unknown { why } => out.notes.push(TrustNote::RevocationUnknown { why }),
        }
        out
    }

    /// The path of `cert` up through every CA known here (NCA RK's production and test
    /// CAs, those the request names, those `carried` with the key), or why `rule`
    /// refuses it. Revocation is then checked against the issuer on that path, whichever
    /// CA it is: a page's own CA's CRL counts as much as NCA RK's.
    fn path_under(
        &self,
        cert: &Certificate,
        carried: &[Certificate],
        rule: &ChainRule,
        notes: &mut Vec<TrustNote>,
    ) -> Result<path::Path, Unusable> {
        let production = self.production_cas();
        let listed: &[x509_cert::Certificate] = match rule {
            ChainRule::Listed(cas) => cas,
            _ => &[],
        };
        let known: Vec<&x509_cert::Certificate> = production
            .iter()
            .chain(&self.test_cas)
            .chain(listed)
            .chain(carried.iter().map(Certificate::parsed))
            .collect();
        let under = |trusted: &[x509_cert::Certificate]| {
            let trusted: Vec<&x509_cert::Certificate> = trusted.iter().collect();
            path::build(cert, &trusted, &known)
        };
        // A path that reaches one of `trusted` above the certificate itself.
        let reaches = |p: &path::Path| p.end == path::End::Trusted && p.certs.len() > 1;
        match rule {
            ChainRule::Any => Ok(under(&[])),
            ChainRule::Listed(cas) => {
                let built = under(cas);
                if reaches(&built) { Ok(built) } else { Err(Unusable::NotUnderListedCas { issuer: cert.issuer_cn() }) }
            }
            ChainRule::NcaProduction => {
                let built = under(&production);
                if reaches(&built) {
                    return Ok(built);
                }
                if built.certs.iter().skip(1).any(|c| self.test_cas.contains(c.parsed())) {
                    return Err(Unusable::TestKey);
                }
                let issuer_name = cert.parsed().tbs_certificate().issuer();
                if production.iter().any(|ca| ca.tbs_certificate().subject() == issuer_name) {
                    return Err(Unusable::IssuerSignatureInvalid { issuer: cert.issuer_cn() });
                }
                if looks_like_nca(&cert.issuer_cn()) {
                    notes.push(TrustNote::IssuerByNameOnly);
                    Ok(built)
                } else {
                    Err(Unusable::NotNca { issuer: cert.issuer_cn() })
                }
            }
        }
    }

    /// Whether `cert`, issued by `issuer`, was revoked at `at_ms`, from `given` material
    /// first, then the cache and (online) the certificate's own addresses: OCSP from its
    /// AIA, CRL and delta CRL from its distribution points. `first` says which to ask
    /// first; the other is asked only when the first cannot decide.
    pub fn revocation_at(
        &self,
        cert: &Certificate,
        issuer: &x509_cert::Certificate,
        at_ms: i64,
        now_ms: i64,
        given: &Material,
        first: Prefer,
    ) -> (Finding, Material) {
        let mut material = given.clone();
        // Each CRL is opened (and its signature checked) once, however often we decide.
        let mut crls = given.crls();
        let decide =
            |m: &Material, crls: &[Crl]| revocation::decide(cert, issuer, at_ms, now_ms, &m.ocsp_responses, crls);
        let mut finding = decide(&material, &crls);
        let mut problems = Vec::new();
        for step in match first {
            Prefer::Ocsp => [Prefer::Ocsp, Prefer::Crl],
            Prefer::Crl => [Prefer::Crl, Prefer::Ocsp],
        } {
            if finding.is_decided() {
                break;
            }
            match step {
                Prefer::Ocsp => match self.ocsp_receipt(cert, issuer, at_ms) {
                    Ok(r) => material.ocsp_responses.push(r),
                    Err(e) => problems.push(e),
                },
                Prefer::Crl => {
                    for (path, crl) in self.crls_for(cert, issuer, at_ms, &mut problems) {
                        material.crl_files.push(path);
                        crls.push(crl);
                    }
                }
            }
            finding = decide(&material, &crls);
        }
        if let Finding::Unknown { why } = &mut finding
            && !problems.is_empty()
        {
            if why.as_str() != revocation::NOTHING_AVAILABLE {
                problems.insert(0, std::mem::take(why));
            }
            problems.dedup();
            *why = problems.join("; ");
        }
        (finding, material)
    }

    /// The cached OCSP receipt for `cert` if it speaks for `at_ms`, else (online) a new
    /// one from the responder its certificate names, stored for later checks.
    fn ocsp_receipt(&self, cert: &Certificate, issuer: &x509_cert::Certificate, at_ms: i64) -> Result<Vec<u8>, String> {
        let path = self.ocsp_path(cert);
        let cached = path.as_ref().and_then(|p| std::fs::read(p).ok());
        if let Some(bytes) = &cached
            && ocsp::read(bytes, cert, issuer).is_ok_and(|r| r.valid_until_ms() >= at_ms)
        {
            return Ok(cached.unwrap_or_default());
        }
        if !self.is_online() {
            return cached.ok_or_else(|| "no OCSP receipt is cached (offline)".into());
        }
        let url = ocsp_url(cert).ok_or("the certificate names no OCSP responder")?;
        let response = fetch::post(&url, "application/ocsp-request", &ocsp::request(cert, issuer)?)?;
        ocsp::read(&response, cert, issuer)?;
        if let Some(path) = &path {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = crate::platform::write_public_file(path, &response);
        }
        Ok(response)
    }

    /// Where the OCSP receipt of `cert` is kept.
    pub fn ocsp_path(&self, cert: &Certificate) -> Option<PathBuf> {
        self.cache_dir.as_ref().map(|d| d.join("ocsp").join(format!("{}.der", cert.serial_hex())))
    }

    /// The CRLs and delta CRLs for `cert` (cache files, opened) from the cache,
    /// downloaded again (online) when missing or not covering `at_ms`; the problems met
    /// on the way go to `problems`.
    fn crls_for(
        &self,
        cert: &Certificate,
        issuer: &x509_cert::Certificate,
        at_ms: i64,
        problems: &mut Vec<String>,
    ) -> Vec<(PathBuf, Crl)> {
        let Some(dir) = self.crl_dir() else {
            problems.push("no CRL cache".into());
            return Vec::new();
        };
        let urls = crl::distribution_urls_of(cert);
        if urls.is_empty() {
            problems.push("the certificate names no CRL".into());
            return Vec::new();
        }
        let Some((path, base)) = urls.iter().find_map(|url| self.cached_crl(&dir, url, at_ms, problems)) else {
            return Vec::new();
        };
        let mut delta_urls = crl::freshest_urls_of(cert);
        // Only the issuer's own CRL may send us to more addresses (a CRL it did not sign
        // is reported by the decision that ignores it).
        if base.is_signed_by(issuer) {
            delta_urls.extend(base.freshest_urls());
        }
        delta_urls.dedup();
        let mut found = vec![(path, base)];
        found.extend(delta_urls.iter().filter_map(|url| self.cached_crl(&dir, url, at_ms, problems)));
        found
    }

    /// The cached CRL from `url`, downloaded first when missing or out of date for
    /// `at_ms` and online; a stale copy is still returned (it proves revocations).
    fn cached_crl(&self, dir: &Path, url: &str, at_ms: i64, problems: &mut Vec<String>) -> Option<(PathBuf, Crl)> {
        let path = fetch::cache_path(dir, url);
        let cached = Crl::open(&path);
        let current = cached.as_ref().is_ok_and(|c| c.next_update_ms().is_none_or(|n| at_ms <= n));
        if current || !self.is_online() {
            return match cached {
                Ok(crl) => Some((path, crl)),
                Err(_) if !path.exists() => {
                    problems.push("no CRL is cached (offline)".into());
                    None
                }
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            };
        }
        match fetch::download(url).and_then(|bytes| store_crl(&path, &bytes).map_err(|e| format!("{url}: {e}"))) {
            Ok(crl) => return Some((path, crl)),
            Err(e) => problems.push(e),
        }
        cached.ok().map(|crl| (path, crl))
    }
}

/// Put a downloaded CRL in the cache at `path`, only if it reads as a CRL (a bad
/// download never replaces a good copy), and open it there: streamed, never parsed in
/// memory as a whole.
fn store_crl(path: &Path, bytes: &[u8]) -> Result<Crl, String> {
    let mut staged = path.as_os_str().to_owned();
    staged.push(".new");
    let staged = PathBuf::from(staged);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    crate::platform::write_public_file(&staged, bytes).map_err(|e| e.to_string())?;
    let checked = Crl::open(&staged).map(|_| ());
    // The index built while checking belongs to the staged name: it goes too.
    let _ = std::fs::remove_file(crl::index_path(&staged));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&staged);
        return Err(e.to_string());
    }
    std::fs::rename(&staged, path).map_err(|e| e.to_string())?;
    Crl::open(path).map_err(|e| e.to_string())
}

/// Which revocation source to ask first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefer {
    /// NCA RK's order for checking a signature.
    Ocsp,
    /// For choosing a key: a cached CRL answers without a network round trip.
    Crl,
}

/// Revocation material: OCSP responses and CRLs, given (command line, embedded in a
/// signature) or gathered (cache, network).
#[derive(Clone, Debug, Default)]
pub struct Material {
    /// DER OCSPResponses.
    pub ocsp_responses: Vec<Vec<u8>>,
    /// DER CRLs held in memory.
    pub crl_ders: Vec<Vec<u8>>,
    /// CRL files (the cache), read streamed.
    pub crl_files: Vec<PathBuf>,
}

impl Material {
    /// Every CRL that can be read.
    pub fn crls(&self) -> Vec<Crl> {
        let in_memory = self.crl_ders.iter().filter_map(|d| Crl::from_der(d).ok());
        in_memory.chain(self.crl_files.iter().filter_map(|p| Crl::open(p).ok())).collect()
    }
}

/// Did `ca` sign `cert`? (Names match and the signature verifies.)
pub fn signed_by(cert: &Certificate, ca: &x509_cert::Certificate) -> bool {
    cert.parsed().tbs_certificate().issuer() == ca.tbs_certificate().subject()
        && verify_certificate(cert.parsed(), ca.tbs_certificate().subject_public_key_info()).is_ok()
}

/// NCA RK's production CAs are named "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (…)"; test CAs carry TEST.
pub fn looks_like_nca(issuer_cn: &str) -> bool {
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
