//! Building a certificate's path up to a trusted one: each link a CA (cA, keyCertSign)
//! whose name and key signed the certificate below it (RFC 5280 §6, the parts this
//! field uses). The choice of what is trusted and what a failure means belongs to the
//! callers: choosing a key (`TrustStore::assess`) and checking a signature
//! (`crate::validation`).

use crate::keys::Certificate;

/// Longest path followed (NCA RK's are three long).
pub const MAX_PATH: usize = 8;

/// How a path ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// At a trusted certificate (the last one).
    Trusted,
    /// No known CA signed the last certificate.
    NoIssuer,
    /// Longer than [`MAX_PATH`].
    TooLong,
    /// An issuer's certificate could not be read back.
    Unreadable,
}

/// The certificates from the one asked about (first) upwards, and how the path ended.
#[derive(Clone, Debug)]
pub struct Path {
    pub certs: Vec<Certificate>,
    pub end: End,
}

impl Path {
    /// The certificate's issuer, when one was found (revocation is checked against it).
    pub fn issuer(&self) -> Option<&Certificate> {
        self.certs.get(1)
    }
}

/// The path from `cert` through the CAs in `trusted` and `others` up to a certificate in
/// `trusted` (which may be `cert` itself).
pub fn build(cert: &Certificate, trusted: &[&x509_cert::Certificate], others: &[&x509_cert::Certificate]) -> Path {
    let mut certs = vec![cert.clone()];
    loop {
        let current = certs.last().unwrap_or(cert);
        if trusted.iter().any(|t| *t == current.parsed()) {
            return Path { certs, end: End::Trusted };
        }
        if certs.len() > MAX_PATH {
            return Path { certs, end: End::TooLong };
        }
        let issuer = trusted
            .iter()
            .chain(others)
            .find(|ca| is_ca(ca) && super::signed_by(current, ca) && !certs.iter().any(|c| c.parsed() == **ca));
        let Some(issuer) = issuer else {
            return Path { certs, end: End::NoIssuer };
        };
        match Certificate::from_der(&der::Encode::to_der(*issuer).unwrap_or_default()) {
            Ok(next) => certs.push(next),
            Err(_) => return Path { certs, end: End::Unreadable },
        }
    }
}

/// A certificate that may issue others: cA in basicConstraints (RFC 5280 §4.2.1.9),
/// keyCertSign when key usage is present.
fn is_ca(cert: &x509_cert::Certificate) -> bool {
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
    let tbs = cert.tbs_certificate();
    let ca = matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let signs_certs = match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => ku.0.contains(KeyUsages::KeyCertSign),
        Ok(None) => true,
        Err(_) => false,
    };
    ca && signs_certs
}
