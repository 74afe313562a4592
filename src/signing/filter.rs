//! Which keys a request may use (spec §3.1, §4.2, §10).
//!
//! A key that does not match is shown to the user as not selectable, with the reason
//! from [`KeyFilter::check`]; it is never silently used.

use crate::keys::Certificate;
use crate::oid::{EKU_CLIENT_AUTH, EKU_EMAIL_PROTECTION};
use crate::trust::{Requirements, Unusable};

/// What a commonUtils `keyType` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Authentication,
    Signature,
}

impl Purpose {
    /// commonUtils `keyType`: `AUTHENTICATION`, `SIGNATURE`, anything else = no filter.
    pub fn from_key_type(key_type: &str) -> Option<Self> {
        match key_type {
            "AUTHENTICATION" => Some(Self::Authentication),
            "SIGNATURE" => Some(Self::Signature),
            _ => None,
        }
    }

    /// Does `cert` serve this purpose? NCA marks signing certificates with the
    /// emailProtection EKU (and nonRepudiation), authentication ones with clientAuth;
    /// keys issued since 2024 serve both and carry keyAgreement instead of clientAuth.
    pub fn allows(self, cert: &Certificate) -> bool {
        let ekus = cert.extended_key_usages();
        let has = |oid: &str| ekus.iter().any(|e| e == oid);
        let usage = cert.key_usage();
        match self {
            Self::Signature => has(EKU_EMAIL_PROTECTION) || usage.is_some_and(|u| u.non_repudiation()),
            Self::Authentication => has(EKU_CLIENT_AUTH) || usage.is_some_and(|u| u.key_agreement()),
        }
    }
}

/// The conditions a key must meet to be selectable.
#[derive(Clone, Debug, Default)]
pub struct KeyFilter {
    pub purpose: Option<Purpose>,
    /// Every listed OID must be in the certificate's extended key usage.
    pub ext_key_usage_oids: Vec<String>,
    pub iin: Option<String>,
    pub bin: Option<String>,
    /// Certificate serial number, hex (case and leading zeros ignored).
    pub serial_number: Option<String>,
    /// Chain, validity and revocation requirements (basics); `None`: none (commonUtils).
    pub trust: Option<Requirements>,
    /// Where the key may come from: NCALayer storage names (`PKCS12` for key files,
    /// `AKKaztokenStore`… for tokens); `None`: anywhere.
    pub storages: Option<Vec<String>>,
}

impl KeyFilter {
    /// Key files may be offered.
    pub fn allows_files(&self) -> bool {
        self.storages.as_ref().is_none_or(|s| s.iter().any(|n| n == "PKCS12"))
    }
}

impl KeyFilter {
    /// `None` if `cert` may be used, else why not, in words for the key chooser.
    pub fn check(&self, cert: &Certificate) -> Option<Unusable> {
        if let Some(purpose) = self.purpose
            && !purpose.allows(cert)
        {
            return Some(match purpose {
                Purpose::Authentication => Unusable::NotAuthenticationKey,
                Purpose::Signature => Unusable::NotSigningKey,
            });
        }
        let ekus = cert.extended_key_usages();
        if let Some(missing) = self.ext_key_usage_oids.iter().find(|oid| !ekus.contains(oid)) {
            return Some(Unusable::MissingExtendedKeyUsage(missing.clone()));
        }
        if let Some(iin) = &self.iin
            && cert.iin().as_deref() != Some(iin.as_str())
        {
            return Some(Unusable::OtherIin(iin.clone()));
        }
        if let Some(bin) = &self.bin
            && cert.bin().as_deref() != Some(bin.as_str())
        {
            return Some(Unusable::OtherBin(bin.clone()));
        }
        if let Some(serial) = &self.serial_number
            && normalize_serial(serial) != normalize_serial(&cert.serial_hex())
        {
            return Some(Unusable::OtherCertificate(serial.clone()));
        }
        None
    }
}

fn normalize_serial(s: &str) -> String {
    s.trim().trim_start_matches('0').to_ascii_lowercase()
}
