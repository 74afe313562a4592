//! The local certificate authority that makes `wss://127.0.0.1:13579` trusted.
//!
//! On first start we create a CA (ECDSA P-256, 10 years) in the data directory and
//! write its certificate to `ca.pem` for the user to trust. Whatever its key signs is
//! limited by the CA certificate itself:
//!
//! * critical name constraints permitting only IP 127.0.0.1/32, IP ::1/128 and DNS
//!   `localhost`, so it cannot vouch for any other site;
//! * extended key usage `serverAuth` only, so it cannot vouch for code signing, S/MIME,
//!   client authentication or time stamps;
//! * critical key usage `keyCertSign` + `cRLSign` and critical basic constraints
//!   `CA:TRUE, pathlen:0`, so it cannot make sub-CAs.
//!
//! The server certificate it issues (ECDSA P-256, SAN 127.0.0.1, ::1, `localhost`,
//! key usage `digitalSignature`, extended key usage `serverAuth`) lives
//! [`LEAF_VALIDITY_DAYS`] days and is renewed when fewer than [`RENEW_BEFORE_DAYS`]
//! remain, at start and by the server's periodic check.
//!
//! # Migration
//!
//! At every start the CA in the data directory is checked against all of the above
//! (and against its key, its name, and at least [`LEAF_VALIDITY_DAYS`] of validity
//! left; a CA not valid *yet* is kept, as that means a wrong clock). A CA that falls short — one made by an older qoltanba without the extended
//! key usage, a corrupted `ca.pem` or key file, a key that does not match — is
//! replaced by a new one: the old `ca.pem` is renamed `ca-old-<YYYY-MM-DD>.pem` (so it
//! can be found and removed from trust stores later), its key is overwritten, and a
//! warning says why and that the new `ca.pem` must be trusted. A file that cannot be
//! *read* (permissions, a directory in its place) is an error instead: replacing a CA
//! the user trusts because of a passing I/O problem would break their browsers.
//!
//! # Why the CA key is kept
//!
//! There are two ways to run a local CA:
//!
//! 1. **Keep the CA key** (what qoltanba does): the key stays in the user's data
//!    directory (file mode 0600, directory 0700), and the short-lived server
//!    certificate is renewed silently, forever, without the user trusting anything
//!    again.
//! 2. **Destroy the CA key after issuing** (Fortify's choice): no CA key can be stolen
//!    later, but the one server certificate must then live as long as the CA (years),
//!    and renewing it, or recovering from a leaked server key, means a new CA that the
//!    user must trust again in every browser and trust store.
//!
//! Destroying the key buys little here. The server key has to stay on disk in both
//! designs (the daemon needs it for every handshake), and with it an attacker can
//! already impersonate `127.0.0.1`/`localhost` on every port for the certificate's
//! lifetime. Because of the name constraints and the EKU, a stolen CA key adds only
//! "for longer, with certificates of the attacker's making" — for the same three
//! names and TLS server authentication only — not the ability to intercept any real
//! site or sign code. Reading the key needs code running as the user, which can
//! already do worse (read the signing keys' files, log passwords, patch the browser).
//! The remaining risk is a verifier that ignores constraints in a trust anchor
//! (RFC 5280 makes enforcing them optional); OpenSSL and Chromium do enforce them,
//! which `tests/local_ca.rs` checks. A renewal that needs user action, on the other
//! hand, fails for most users: signing stops working and the cause is not obvious.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints as X509BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    NameConstraints as X509NameConstraints, SubjectAltName,
};
use zeroize::Zeroizing;

use crate::platform::{write_private_file, write_public_file};

pub const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const LEAF_CERT_FILE: &str = "localhost.pem";
const LEAF_KEY_FILE: &str = "localhost-key.pem";
/// Replaced CA certificates are kept as `ca-old-<YYYY-MM-DD>[-N].pem`.
pub const RETIRED_CA_PREFIX: &str = "ca-old-";

const CA_VALIDITY_DAYS: i64 = 3650;
pub const LEAF_VALIDITY_DAYS: i64 = 180;
pub const RENEW_BEFORE_DAYS: i64 = 30;

/// Errors while creating or loading the local CA.
#[derive(Debug)]
pub struct CaError(pub String);

impl std::fmt::Display for CaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "local CA: {}", self.0)
    }
}

impl std::error::Error for CaError {}

fn err(context: &str) -> impl Fn(&dyn std::fmt::Display) -> CaError + '_ {
    move |e| CaError(format!("{context}: {e}"))
}

/// The local CA in a data directory.
pub struct LocalCa {
    dir: PathBuf,
    key: KeyPair,
    cert_pem: String,
    /// The CA's expiry in Unix seconds: no server certificate outlives it.
    not_after: i64,
}

/// The server certificate and key, DER, ready for rustls.
pub struct ServerIdentity {
    pub cert_der: Vec<u8>,
    pub key_der: Zeroizing<Vec<u8>>,
    /// Expiry in Unix seconds.
    pub not_after: i64,
}

impl LocalCa {
    /// Load the CA from `dir`, or create it there on first start. A CA that lacks the
    /// properties this version gives it, or whose files are corrupted, is replaced by a
    /// new one (see the module documentation); files that cannot be read are an error.
    pub fn load_or_create(dir: &Path) -> Result<Self, CaError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let cert = read_if_present(&cert_path)?;
        let key = read_if_present(&dir.join(CA_KEY_FILE))?.map(Zeroizing::new);
        let Some(cert) = cert else {
            let ca = Self::create(dir)?;
            tracing::info!(path = %cert_path.display(), "created a new local CA; trust it once (see README)");
            return Ok(ca);
        };
        let problem = match check_ca(&cert, key.as_ref().map(|k| k.as_slice()), OffsetDateTime::now_utc()) {
            Ok((key, not_after)) => {
                let cert_pem = String::from_utf8_lossy(&cert).into_owned();
                return Ok(Self { dir: dir.to_owned(), key, cert_pem, not_after });
            }
            Err(problem) => problem,
        };
        let retired = retire(dir)?;
        let ca = Self::create(dir)?;
        tracing::warn!(
            old = %retired.display(),
            new = %cert_path.display(),
            "replaced the local CA because {problem}. Browsers will refuse the connection until the new \
             ca.pem is trusted (see README); the old CA was kept as {} and can be removed from trust stores",
            retired.file_name().unwrap_or_default().to_string_lossy(),
        );
        Ok(ca)
    }

    /// Generate a new CA and write its key and `ca.pem`, replacing any there.
    fn create(dir: &Path) -> Result<Self, CaError> {
        let key = KeyPair::generate().map_err(|e| err("generating CA key")(&e))?;
        let params = ca_params(&key);
        let cert = params.self_signed(&key).map_err(|e| err("signing CA")(&e))?;
        write_private_file(&dir.join(CA_KEY_FILE), key.serialize_pem().as_bytes())
            .map_err(|e| err("writing CA key")(&e))?;
        write_public_file(&dir.join(CA_CERT_FILE), cert.pem().as_bytes()).map_err(|e| err("writing ca.pem")(&e))?;
        // A new CA invalidates any server certificate of an older one.
        let _ = std::fs::remove_file(dir.join(LEAF_CERT_FILE));
        Ok(Self { dir: dir.to_owned(), key, cert_pem: cert.pem(), not_after: params.not_after.unix_timestamp() })
    }

    /// Path of the CA certificate users install.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The current server certificate, issuing a new one if it is missing, unreadable,
    /// not what this version issues, or expires within [`RENEW_BEFORE_DAYS`].
    pub fn server_identity(&self) -> Result<ServerIdentity, CaError> {
        if let Some(identity) = self.load_leaf()
            && identity.not_after - OffsetDateTime::now_utc().unix_timestamp() > RENEW_BEFORE_DAYS * 86_400
        {
            return Ok(identity);
        }
        self.issue_leaf(LEAF_VALIDITY_DAYS)
    }

    fn load_leaf(&self) -> Option<ServerIdentity> {
        let cert_pem = std::fs::read(self.dir.join(LEAF_CERT_FILE)).ok()?;
        let key_pem = Zeroizing::new(std::fs::read(self.dir.join(LEAF_KEY_FILE)).ok()?);
        let (_, cert_der) = der::pem::decode_vec(&cert_pem).ok()?;
        let (_, key_der) = der::pem::decode_vec(&key_pem).ok()?;
        let key_der = Zeroizing::new(key_der);
        let cert = crate::keys::Certificate::from_der(&cert_der).ok()?;
        // A leaf from another CA (e.g. the CA files were replaced) is reissued.
        if cert.authority_key_id_hex()? != self.key_id_hex() {
            return None;
        }
        // So is one whose key file does not match it (rustls would refuse the pair).
        let key = KeyPair::try_from(key_der.as_slice()).ok()?;
        let tbs = cert.parsed().tbs_certificate();
        if tbs.subject_public_key_info().subject_public_key.raw_bytes() != key.public_key_raw() {
            return None;
        }
        if let Err(problem) = leaf_problem(tbs) {
            tracing::info!("reissuing the server certificate: {problem}");
            return None;
        }
        Some(ServerIdentity { cert_der, key_der, not_after: cert.not_after_ms() / 1000 })
    }

    fn issue_leaf(&self, validity_days: i64) -> Result<ServerIdentity, CaError> {
        let leaf_key = KeyPair::generate().map_err(|e| err("generating server key")(&e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        params.distinguished_name.push(DnType::OrganizationName, "qoltanba");
        params.subject_alt_names = vec![
            SanType::IpAddress([127, 0, 0, 1].into()),
            SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
            SanType::DnsName("localhost".try_into().map_err(|e| err("SAN")(&e))?),
        ];
        // ECDSA: signatures only (keyEncipherment is for RSA key transport).
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(validity_days);
        if let Ok(ca_end) = OffsetDateTime::from_unix_timestamp(self.not_after) {
            params.not_after = params.not_after.min(ca_end);
        }
        let issuer = Issuer::new(ca_params(&self.key), &self.key);
        let cert = params.signed_by(&leaf_key, &issuer).map_err(|e| err("signing server certificate")(&e))?;
        write_private_file(&self.dir.join(LEAF_KEY_FILE), leaf_key.serialize_pem().as_bytes())
            .map_err(|e| err("writing server key")(&e))?;
        write_public_file(&self.dir.join(LEAF_CERT_FILE), cert.pem().as_bytes())
            .map_err(|e| err("writing server certificate")(&e))?;
        tracing::info!("issued a new server certificate for 127.0.0.1, ::1 and localhost");
        Ok(ServerIdentity {
            cert_der: cert.der().to_vec(),
            key_der: leaf_key.serialize_der().into(),
            not_after: params.not_after.unix_timestamp(),
        })
    }

    /// Hex of the CA's key identifier as rcgen computes it (what leaves carry as AKI).
    fn key_id_hex(&self) -> String {
        crate::keys::certificate::hex(&ca_params(&self.key).key_identifier(&self.key))
    }
}

/// The whole file, `None` if it does not exist; other I/O failures are errors.
fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, CaError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CaError(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Rename `ca.pem` to the first free `ca-old-<today>[-N].pem`; returns the new path.
fn retire(dir: &Path) -> Result<PathBuf, CaError> {
    let today = OffsetDateTime::now_utc().date();
    let stem = format!("{RETIRED_CA_PREFIX}{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
    for n in 1..1000 {
        let name = if n == 1 { format!("{stem}.pem") } else { format!("{stem}-{n}.pem") };
        let path = dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::rename(dir.join(CA_CERT_FILE), &path)
                    .map_err(|e| CaError(format!("keeping the old ca.pem as {}: {e}", path.display())))?;
                return Ok(path);
            }
            _ => continue,
        }
    }
    Err(CaError(format!("too many {stem}-N.pem files in {}", dir.display())))
}

/// Check a stored CA: `Ok` with its key and expiry if it is one this version would
/// make, else why it must be replaced.
fn check_ca(cert_pem: &[u8], key_pem: Option<&[u8]>, now: OffsetDateTime) -> Result<(KeyPair, i64), String> {
    let key_pem = key_pem.ok_or("its key file ca-key.pem is missing")?;
    let key = std::str::from_utf8(key_pem)
        .ok()
        .and_then(|pem| KeyPair::from_pem(pem).ok())
        .ok_or("its key file ca-key.pem is not a usable private key")?;
    let der = match der::pem::decode_vec(cert_pem) {
        Ok(("CERTIFICATE", der)) => der,
        _ => return Err("ca.pem is not a PEM certificate".into()),
    };
    let cert = crate::keys::Certificate::from_der(&der).map_err(|e| format!("ca.pem does not parse ({e})"))?;
    let tbs = cert.parsed().tbs_certificate();
    if tbs.subject_public_key_info().subject_public_key.raw_bytes() != key.public_key_raw() {
        return Err("ca.pem and ca-key.pem do not belong together".into());
    }
    // New server certificates name their issuer and its key identifier as `ca_params`
    // says; a CA with another name or identifier would not chain to them.
    let params = ca_params(&key);
    let reference = params.self_signed(&key).map_err(|e| format!("the key cannot sign ({e})"))?;
    let reference = crate::keys::Certificate::from_der(reference.der()).map_err(|e| e.to_string())?;
    if tbs.subject() != reference.parsed().tbs_certificate().subject() {
        return Err("its name is not the one its server certificates give as issuer".into());
    }
    if cert.subject_key_id_hex() != reference.subject_key_id_hex() {
        return Err("its key identifier is not the one its server certificates give".into());
    }
    // A CA that is not valid yet means a clock set back (a dead RTC battery before NTP
    // runs): replacing it would cost the user a re-trust for nothing, so it is kept
    // and browsers recover when the clock does.
    let now_ms = now.unix_timestamp() * 1000;
    if cert.not_before_ms() > now_ms {
        tracing::warn!("the local CA is not valid yet: is the system clock right?");
    }
    if cert.not_after_ms() - now_ms < LEAF_VALIDITY_DAYS * 86_400_000 {
        return Err(format!("it expires within {LEAF_VALIDITY_DAYS} days"));
    }
    ca_extensions_problem(tbs)?;
    Ok((key, cert.not_after_ms() / 1000))
}

/// `Err` unless `der` is a certificate shaped as qoltanba's CA: named `qoltanba local CA…`,
/// critical CA:TRUE with pathlen 0, serverAuth only, name-constrained to 127.0.0.1, ::1
/// and localhost. Whoever made it, such a CA cannot vouch for any other site: this is
/// what may be put into a trust store.
pub fn local_ca_problem(der: &[u8]) -> Result<(), String> {
    let cert = crate::keys::Certificate::from_der(der).map_err(|e| format!("not a certificate ({e})"))?;
    if !cert.subject_cn().starts_with("qoltanba local CA") {
        return Err("it is not named qoltanba local CA".into());
    }
    ca_extensions_problem(cert.parsed().tbs_certificate())
}

/// `Err` with the first way a CA's extensions differ from `ca_params`'.
fn ca_extensions_problem(tbs: &x509_cert::TbsCertificate) -> Result<(), String> {
    match tbs.get_extension::<X509BasicConstraints>() {
        Ok(Some((true, X509BasicConstraints { ca: true, path_len_constraint: Some(0) }))) => {}
        _ => return Err("its basic constraints are not critical CA:TRUE, pathlen:0".into()),
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((true, usage))) if usage == KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign) => {}
        _ => return Err("its key usage is not critical keyCertSign + cRLSign".into()),
    }
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) if eku.0 == [const_oid::db::rfc5280::ID_KP_SERVER_AUTH] => {}
        Ok(None) => return Err("it has no extended key usage (it must be limited to serverAuth)".into()),
        _ => return Err("its extended key usage is not serverAuth only".into()),
    }
    let permitted = match tbs.get_extension::<X509NameConstraints>() {
        Ok(Some((true, X509NameConstraints { permitted_subtrees: Some(permitted), excluded_subtrees: None }))) => {
            permitted
        }
        _ => return Err("it lacks critical name constraints".into()),
    };
    let mut names: Vec<Option<(u8, Vec<u8>)>> = permitted
        .iter()
        .map(|subtree| match (&subtree.base, subtree.minimum, subtree.maximum) {
            (GeneralName::DnsName(name), 0, None) => Some((2, name.as_str().as_bytes().to_vec())),
            (GeneralName::IpAddress(net), 0, None) => Some((7, net.as_bytes().to_vec())),
            _ => None,
        })
        .collect();
    names.sort();
    let mut ipv6 = std::net::Ipv6Addr::LOCALHOST.octets().to_vec();
    ipv6.extend([0xff; 16]);
    let mut expected =
        vec![Some((2, b"localhost".to_vec())), Some((7, vec![127, 0, 0, 1, 255, 255, 255, 255])), Some((7, ipv6))];
    expected.sort();
    if names != expected {
        return Err("its name constraints are not exactly 127.0.0.1/32, ::1/128 and localhost".into());
    }
    Ok(())
}

/// `Err` with the first way a server certificate differs from what `issue_leaf` makes.
fn leaf_problem(tbs: &x509_cert::TbsCertificate) -> Result<(), String> {
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((true, usage))) if usage == KeyUsage(KeyUsages::DigitalSignature.into()) => {}
        _ => return Err("its key usage is not critical digitalSignature".into()),
    }
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) if eku.0 == [const_oid::db::rfc5280::ID_KP_SERVER_AUTH] => {}
        _ => return Err("its extended key usage is not serverAuth only".into()),
    }
    let expected: [GeneralName; 3] = [
        GeneralName::IpAddress(der::asn1::OctetString::new([127, 0, 0, 1]).map_err(|e| e.to_string())?),
        GeneralName::IpAddress(
            der::asn1::OctetString::new(std::net::Ipv6Addr::LOCALHOST.octets()).map_err(|e| e.to_string())?,
        ),
        GeneralName::DnsName(der::asn1::Ia5String::new("localhost").map_err(|e| e.to_string())?),
    ];
    match tbs.get_extension::<SubjectAltName>() {
        Ok(Some((_, san))) if san.0 == expected => Ok(()),
        _ => Err("its subject alternative names are not 127.0.0.1, ::1 and localhost".into()),
    }
}

/// The CA's certificate parameters, derived from its key alone so the issuer of new
/// server certificates always matches `ca.pem`: the name carries a short fingerprint
/// of the key, which also tells apart the CAs of different installations.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let fingerprint = crate::keys::certificate::hex(&crate::crypto::sha256(key.public_key_raw())[..4]);
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, format!("qoltanba local CA {fingerprint}"));
    params.distinguished_name.push(DnType::OrganizationName, "qoltanba (valid for 127.0.0.1, ::1, localhost only)");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Browsers and OpenSSL apply a CA's EKU to everything under it: TLS servers only.
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 1], 32)),
            GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(std::net::Ipv6Addr::LOCALHOST.octets(), 128)),
            GeneralSubtree::DnsName("localhost".into()),
        ],
        excluded_subtrees: Vec::new(),
    });
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(CA_VALIDITY_DAYS);
    params
}

/// A rustls server configuration (TLS 1.2 and 1.3, ring provider) for `identity`.
pub fn rustls_config(identity: &ServerIdentity) -> Result<Arc<rustls::ServerConfig>, CaError> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.to_vec()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| err("TLS versions")(&e))?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(identity.cert_der.clone())], key)
        .map_err(|e| err("TLS certificate")(&e))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_is_kept_while_valid_and_renewed_before_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        let first = ca.server_identity().unwrap();
        assert_eq!(ca.server_identity().unwrap().cert_der, first.cert_der, "kept while valid");

        let soon = ca.issue_leaf(RENEW_BEFORE_DAYS - 1).unwrap();
        let renewed = ca.server_identity().unwrap();
        assert_ne!(renewed.cert_der, soon.cert_der, "renewed before expiry");
        let days_left = (renewed.not_after - OffsetDateTime::now_utc().unix_timestamp()) / 86_400;
        assert!(days_left >= LEAF_VALIDITY_DAYS - 1, "{days_left}");

        // The CA survives a reload and still issues leaves that chain to ca.pem.
        let reloaded = LocalCa::load_or_create(dir.path()).unwrap();
        assert_eq!(reloaded.cert_pem(), ca.cert_pem());
        assert_eq!(reloaded.key_id_hex(), ca.key_id_hex());
        assert_eq!(reloaded.server_identity().unwrap().cert_der, renewed.cert_der, "leaf kept across reloads");
        assert!(retired(dir.path()).is_empty());
    }

    fn retired(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(RETIRED_CA_PREFIX))
            .collect();
        names.sort();
        names
    }

    fn read(dir: &Path, name: &str) -> Vec<u8> {
        std::fs::read(dir.join(name)).unwrap()
    }

    #[test]
    fn a_new_ca_passes_its_own_check() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        let key = read(dir.path(), CA_KEY_FILE);
        assert_eq!(check_ca(ca.cert_pem().as_bytes(), Some(&key), OffsetDateTime::now_utc()).err(), None);
        let leaf = ca.server_identity().unwrap();
        let cert = crate::keys::Certificate::from_der(&leaf.cert_der).unwrap();
        assert_eq!(leaf_problem(cert.parsed().tbs_certificate()), Ok(()));
    }

    /// A CA made by qoltanba before the EKU was added: same key and name, no EKU.
    #[test]
    fn a_ca_without_the_eku_is_replaced_and_kept_as_ca_old() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut old = ca_params(&key);
        old.extended_key_usages.clear();
        let old_pem = old.self_signed(&key).unwrap().pem();
        std::fs::write(dir.path().join(CA_CERT_FILE), &old_pem).unwrap();
        std::fs::write(dir.path().join(CA_KEY_FILE), key.serialize_pem()).unwrap();
        let problem = check_ca(old_pem.as_bytes(), Some(key.serialize_pem().as_bytes()), OffsetDateTime::now_utc());
        assert!(problem.as_ref().unwrap_err().contains("no extended key usage"), "{:?}", problem.err());

        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        assert_ne!(ca.cert_pem(), old_pem);
        assert_eq!(read(dir.path(), CA_CERT_FILE), ca.cert_pem().as_bytes());
        assert_ne!(read(dir.path(), CA_KEY_FILE), key.serialize_pem().as_bytes(), "old key overwritten");
        let kept = retired(dir.path());
        let today = OffsetDateTime::now_utc().date();
        let name = format!("ca-old-{:04}-{:02}-{:02}.pem", today.year(), u8::from(today.month()), today.day());
        assert_eq!(kept, std::slice::from_ref(&name));
        assert_eq!(read(dir.path(), &name), old_pem.as_bytes());
        // The new CA is kept on the next start.
        let again = LocalCa::load_or_create(dir.path()).unwrap();
        assert_eq!(again.cert_pem(), ca.cert_pem());
        assert_eq!(retired(dir.path()).len(), 1);
    }

    #[test]
    fn a_leaf_of_the_old_ca_is_reissued() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut old = ca_params(&key);
        old.extended_key_usages.clear();
        std::fs::write(dir.path().join(CA_CERT_FILE), old.self_signed(&key).unwrap().pem()).unwrap();
        std::fs::write(dir.path().join(CA_KEY_FILE), key.serialize_pem()).unwrap();
        let old_ca = LocalCa { dir: dir.path().to_owned(), key, cert_pem: String::new(), not_after: i64::MAX };
        let old_leaf = old_ca.issue_leaf(LEAF_VALIDITY_DAYS).unwrap();

        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        let leaf = ca.server_identity().unwrap();
        assert_ne!(leaf.cert_der, old_leaf.cert_der);
        let cert = crate::keys::Certificate::from_der(&leaf.cert_der).unwrap();
        assert_eq!(cert.authority_key_id_hex().unwrap(), ca.key_id_hex());
    }

    #[test]
    fn corrupted_files_lead_to_a_new_ca_never_a_panic() {
        let other = KeyPair::generate().unwrap().serialize_pem();
        let damages = [
            ("empty ca.pem", CA_CERT_FILE, Some(Vec::new())),
            ("garbage ca.pem", CA_CERT_FILE, Some(b"\xff\xfe not a certificate".to_vec())),
            ("truncated PEM", CA_CERT_FILE, Some(b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec())),
            ("a key in ca.pem", CA_CERT_FILE, Some(other.clone().into_bytes())),
            ("garbage key", CA_KEY_FILE, Some(b"garbage".to_vec())),
            ("someone else's key", CA_KEY_FILE, Some(other.into_bytes())),
            ("missing key", CA_KEY_FILE, None),
        ];
        for (what, file, contents) in damages {
            let dir = tempfile::tempdir().unwrap();
            let good = LocalCa::load_or_create(dir.path()).unwrap();
            let good_pem = good.cert_pem().to_owned();
            match contents {
                Some(contents) => std::fs::write(dir.path().join(file), contents).unwrap(),
                None => std::fs::remove_file(dir.path().join(file)).unwrap(),
            }
            let before = read(dir.path(), CA_CERT_FILE);
            let ca = LocalCa::load_or_create(dir.path()).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_ne!(ca.cert_pem(), good_pem, "{what}");
            let key = read(dir.path(), CA_KEY_FILE);
            assert!(check_ca(ca.cert_pem().as_bytes(), Some(&key), OffsetDateTime::now_utc()).is_ok(), "{what}");
            let kept = retired(dir.path());
            assert_eq!(kept.len(), 1, "{what}");
            assert_eq!(read(dir.path(), &kept[0]), before, "{what}: the replaced ca.pem is kept as it was");
            ca.server_identity().unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }

    #[test]
    fn a_corrupted_server_key_or_certificate_is_reissued() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        let first = ca.server_identity().unwrap();
        // A valid key that is not the certificate's: rustls would refuse the pair.
        std::fs::write(dir.path().join(LEAF_KEY_FILE), KeyPair::generate().unwrap().serialize_pem()).unwrap();
        let second = ca.server_identity().unwrap();
        assert_ne!(second.cert_der, first.cert_der);
        rustls_config(&second).unwrap();
        std::fs::write(dir.path().join(LEAF_CERT_FILE), b"garbage").unwrap();
        let third = ca.server_identity().unwrap();
        assert_ne!(third.cert_der, second.cert_der);
        rustls_config(&third).unwrap();
    }

    #[test]
    fn unreadable_files_are_an_error_not_a_new_ca() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(CA_CERT_FILE)).unwrap();
        let e = LocalCa::load_or_create(dir.path()).err().expect("an error");
        assert!(e.to_string().contains("cannot read") && e.to_string().contains("ca.pem"), "{e}");
        assert!(retired(dir.path()).is_empty());
    }

    #[test]
    fn repeated_replacements_on_one_day_keep_every_old_ca() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..3 {
            std::fs::write(dir.path().join(CA_CERT_FILE), format!("broken {n}")).unwrap();
            LocalCa::load_or_create(dir.path()).unwrap();
        }
        let kept = retired(dir.path());
        assert_eq!(kept.len(), 3, "{kept:?}");
        let contents: Vec<Vec<u8>> = kept.iter().map(|n| read(dir.path(), n)).collect();
        for n in 0..3 {
            assert!(contents.contains(&format!("broken {n}").into_bytes()), "{kept:?}");
        }
    }

    #[test]
    fn a_ca_is_kept_when_the_clock_is_set_back() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        let key = read(dir.path(), CA_KEY_FILE);
        let past = OffsetDateTime::now_utc() - Duration::days(3000);
        assert_eq!(check_ca(ca.cert_pem().as_bytes(), Some(&key), past).err(), None);
    }

    #[test]
    fn a_ca_near_its_end_is_replaced_and_leaves_never_outlive_it() {
        let key = KeyPair::generate().unwrap();
        let mut params = ca_params(&key);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(LEAF_VALIDITY_DAYS - 1);
        let pem = params.self_signed(&key).unwrap().pem();
        let problem = check_ca(pem.as_bytes(), Some(key.serialize_pem().as_bytes()), OffsetDateTime::now_utc());
        assert!(problem.err().unwrap().contains("expires"));

        let dir = tempfile::tempdir().unwrap();
        let end = params.not_after.unix_timestamp();
        let ca = LocalCa { dir: dir.path().to_owned(), key, cert_pem: pem, not_after: end };
        assert_eq!(ca.issue_leaf(LEAF_VALIDITY_DAYS).unwrap().not_after, end);
    }
}
