//! The local certificate authority that makes `wss://127.0.0.1:13579` trusted.
//!
//! On first start we create a CA (ECDSA P-256) in the data directory and write its
//! certificate to `ca.pem` for the user to trust. The CA carries critical X.509 name
//! constraints permitting only IP 127.0.0.1, IP ::1 and DNS `localhost`, so even a
//! stolen CA key cannot impersonate any other site to a browser that trusts it. Its
//! key file is readable only by the user. The server certificate (SAN 127.0.0.1, ::1,
//! localhost) lives [`LEAF_VALIDITY_DAYS`] days and is renewed when fewer than
//! [`RENEW_BEFORE_DAYS`] remain, at start and by the server's periodic check.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::platform::{write_private_file, write_public_file};

pub const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const LEAF_CERT_FILE: &str = "localhost.pem";
const LEAF_KEY_FILE: &str = "localhost-key.pem";

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
}

/// The server certificate and key, DER, ready for rustls.
pub struct ServerIdentity {
    pub cert_der: Vec<u8>,
    pub key_der: zeroize::Zeroizing<Vec<u8>>,
    /// Expiry in Unix seconds.
    pub not_after: i64,
}

impl LocalCa {
    /// Load the CA from `dir`, or create it there on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self, CaError> {
        let key_path = dir.join(CA_KEY_FILE);
        let cert_path = dir.join(CA_CERT_FILE);
        if key_path.exists() && cert_path.exists() {
            let key_pem = std::fs::read_to_string(&key_path).map_err(|e| err("reading CA key")(&e))?;
            let key = KeyPair::from_pem(&key_pem).map_err(|e| err("CA key")(&e))?;
            let cert_pem = std::fs::read_to_string(&cert_path).map_err(|e| err("reading ca.pem")(&e))?;
            return Ok(Self { dir: dir.to_owned(), key, cert_pem });
        }
        let key = KeyPair::generate().map_err(|e| err("generating CA key")(&e))?;
        let cert = ca_params(&key).self_signed(&key).map_err(|e| err("signing CA")(&e))?;
        write_private_file(&key_path, key.serialize_pem().as_bytes()).map_err(|e| err("writing CA key")(&e))?;
        write_public_file(&cert_path, cert.pem().as_bytes()).map_err(|e| err("writing ca.pem")(&e))?;
        // A new CA invalidates any server certificate of an older one.
        let _ = std::fs::remove_file(dir.join(LEAF_CERT_FILE));
        tracing::info!(path = %cert_path.display(), "created a new local CA; trust it once (see README)");
        Ok(Self { dir: dir.to_owned(), key, cert_pem: cert.pem() })
    }

    /// Path of the CA certificate users install.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The current server certificate, issuing a new one if it is missing, unreadable
    /// or expires within [`RENEW_BEFORE_DAYS`].
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
        let key_pem = zeroize::Zeroizing::new(std::fs::read(self.dir.join(LEAF_KEY_FILE)).ok()?);
        let (_, cert_der) = der::pem::decode_vec(&cert_pem).ok()?;
        let (_, key_der) = der::pem::decode_vec(&key_pem).ok()?;
        let cert = crate::keys::Certificate::from_der(&cert_der).ok()?;
        // A leaf from another CA (e.g. the CA files were replaced) is reissued.
        if cert.authority_key_id_hex()? != self.key_id_hex() {
            return None;
        }
        Some(ServerIdentity { cert_der, key_der: key_der.into(), not_after: cert.not_after_ms() / 1000 })
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
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(validity_days);
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
    }
}
