//! Revocation by CRL: is a certificate's serial number listed in a CRL its issuer
//! signed and that is still current?

use der::{Decode, Encode};
use x509_cert::certificate::Rfc5280;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use crate::crypto::verify::verify;
use crate::keys::Certificate;

const CRL_NUMBER: &str = "2.5.29.20";
const DELTA_CRL_INDICATOR: &str = "2.5.29.27";
const FRESHEST_CRL: &str = "2.5.29.46";
const REASON_CODE: &str = "2.5.29.21";
/// CRLReason removeFromCRL (a delta CRL lifting a hold).
const REMOVE_FROM_CRL: u8 = 8;

/// A parsed CRL.
pub struct Crl {
    list: CertificateList<Rfc5280>,
}

/// Why a CRL cannot be used.
#[derive(Debug)]
pub struct CrlError(pub String);

impl std::fmt::Display for CrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A listed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub revoked_at_ms: i64,
    /// A delta CRL's note that the certificate is no longer revoked (a hold lifted).
    pub remove_from_crl: bool,
}

/// What a CRL says about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Revoked at this time (epoch ms).
    Revoked(i64),
}

fn ms(t: &x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX)
}

/// Leading zero octets dropped: serials compare by value.
fn trim(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    &serial[start..]
}

impl Crl {
    pub fn from_der(der: &[u8]) -> Result<Self, CrlError> {
        let list = CertificateList::<Rfc5280>::from_der(der).map_err(|e| CrlError(format!("not a CRL: {e}")))?;
        Ok(Self { list })
    }

    /// A CRL file (the cache).
    pub fn open(path: &std::path::Path) -> Result<Self, CrlError> {
        let bytes = std::fs::read(path).map_err(|e| CrlError(format!("cannot read {}: {e}", path.display())))?;
        Self::from_der(&bytes)
    }

    /// Was this CRL issued by `issuer` (name matches and signature verifies)?
    pub fn is_signed_by(&self, issuer: &x509_cert::Certificate) -> bool {
        let tbs = &self.list.tbs_cert_list;
        if tbs.issuer != *issuer.tbs_certificate().subject() {
            return false;
        }
        let Ok(bytes) = tbs.to_der() else { return false };
        let Some(sig) = self.list.signature.as_bytes() else { return false };
        let spki = issuer.tbs_certificate().subject_public_key_info();
        verify(spki, &self.list.signature_algorithm.oid, &bytes, sig).is_ok()
    }

    pub fn this_update_ms(&self) -> i64 {
        ms(&self.list.tbs_cert_list.this_update)
    }

    pub fn next_update_ms(&self) -> Option<i64> {
        self.list.tbs_cert_list.next_update.as_ref().map(ms)
    }

    /// Does the CRL cover `now_ms` (thisUpdate ≤ now ≤ nextUpdate)?
    pub fn is_current(&self, now_ms: i64) -> bool {
        self.this_update_ms() <= now_ms && self.next_update_ms().is_none_or(|next| now_ms <= next)
    }

    /// The issuer name, for matching against certificates.
    pub fn issuer(&self) -> &x509_cert::name::Name {
        &self.list.tbs_cert_list.issuer
    }

    fn extension(&self, oid: &str) -> Option<&[u8]> {
        let exts = self.list.tbs_cert_list.crl_extensions.as_ref()?;
        exts.iter().find(|e| e.extn_id.to_string() == oid).map(|e| e.extn_value.as_bytes())
    }

    /// cRLNumber, big-endian magnitude.
    pub fn number(&self) -> Option<Vec<u8>> {
        let int = der::asn1::Int::from_der(self.extension(CRL_NUMBER)?).ok()?;
        Some(trim(int.as_bytes()).to_vec())
    }

    /// deltaCRLIndicator (the base CRL's number) when this is a delta CRL.
    pub fn delta_base(&self) -> Option<Vec<u8>> {
        let int = der::asn1::Int::from_der(self.extension(DELTA_CRL_INDICATOR)?).ok()?;
        Some(trim(int.as_bytes()).to_vec())
    }

    /// http URLs of the FreshestCRL extension (where the delta CRL is).
    pub fn freshest_urls(&self) -> Vec<String> {
        self.extension(FRESHEST_CRL).map(distribution_urls).unwrap_or_default()
    }

    /// The entry for a certificate serial (INTEGER content octets).
    pub fn lookup(&self, serial: &[u8]) -> Option<Entry> {
        let revoked = self.list.tbs_cert_list.revoked_certificates.as_ref()?;
        let entry = revoked.iter().find(|r| trim(r.serial_number.as_bytes()) == trim(serial))?;
        let reason = entry.crl_entry_extensions.iter().flatten().find(|e| e.extn_id.to_string() == REASON_CODE);
        let remove_from_crl = reason.is_some_and(|r| r.extn_value.as_bytes().last() == Some(&REMOVE_FROM_CRL));
        Some(Entry { revoked_at_ms: ms(&entry.revocation_date), remove_from_crl })
    }

    /// The status of `cert` according to this CRL.
    pub fn status_of(&self, cert: &Certificate) -> Status {
        match self.lookup(cert.parsed().tbs_certificate().serial_number().as_bytes()) {
            Some(e) if !e.remove_from_crl => Status::Revoked(e.revoked_at_ms),
            _ => Status::Good,
        }
    }
}

/// The http URLs of a DER CRLDistributionPoints (or FreshestCRL) value.
fn distribution_urls(der: &[u8]) -> Vec<String> {
    let Ok(points) = x509_cert::ext::pkix::CrlDistributionPoints::from_der(der) else { return Vec::new() };
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

/// http URLs of a certificate's FreshestCRL extension (its delta CRLs).
pub fn freshest_urls_of(cert: &Certificate) -> Vec<String> {
    let exts = cert.parsed().tbs_certificate().extensions();
    let ext = exts.iter().flat_map(|e| e.iter()).find(|e| e.extn_id.to_string() == FRESHEST_CRL);
    ext.map(|e| distribution_urls(e.extn_value.as_bytes())).unwrap_or_default()
}

/// http URLs of a certificate's CRLDistributionPoints extension.
pub fn distribution_urls_of(cert: &Certificate) -> Vec<String> {
    let exts = cert.parsed().tbs_certificate().extensions();
    let ext = exts.iter().flat_map(|e| e.iter()).find(|e| e.extn_id.to_string() == "2.5.29.31");
    ext.map(|e| distribution_urls(e.extn_value.as_bytes())).unwrap_or_default()
}
