//! Revocation by CRL: is a certificate's serial number listed in a CRL its issuer
//! signed and that is still current?

use der::{Decode, Encode};
use x509_cert::certificate::Rfc5280;
use x509_cert::crl::CertificateList;

use crate::crypto::verify::verify;
use crate::keys::Certificate;

/// A parsed CRL.
pub struct Crl {
    list: CertificateList<Rfc5280>,
}

/// What a CRL says about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Revoked at this time (epoch ms).
    Revoked(i64),
}

impl Crl {
    pub fn from_der(der: &[u8]) -> Result<Self, der::Error> {
        Ok(Self { list: CertificateList::<Rfc5280>::from_der(der)? })
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

    /// Does the CRL cover `now_ms` (thisUpdate ≤ now ≤ nextUpdate)?
    pub fn is_current(&self, now_ms: i64) -> bool {
        let tbs = &self.list.tbs_cert_list;
        let ms = |t: &x509_cert::time::Time| t.to_unix_duration().as_millis() as i64;
        ms(&tbs.this_update) <= now_ms && tbs.next_update.as_ref().is_none_or(|next| now_ms <= ms(next))
    }

    /// The issuer name, for matching against certificates.
    pub fn issuer(&self) -> &x509_cert::name::Name {
        &self.list.tbs_cert_list.issuer
    }

    /// The status of `cert` according to this CRL.
    pub fn status_of(&self, cert: &Certificate) -> Status {
        let serial = cert.parsed().tbs_certificate().serial_number();
        let revoked = self.list.tbs_cert_list.revoked_certificates.iter().flatten();
        match revoked.into_iter().find(|r| r.serial_number == *serial) {
            Some(r) => Status::Revoked(r.revocation_date.to_unix_duration().as_millis() as i64),
            None => Status::Good,
        }
    }
}
