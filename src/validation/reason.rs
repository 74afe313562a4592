//! Why each check came out as it did, as typed facts: the words, in the person's
//! language, come from the catalog (`crate::i18n::validation`).

use serde::{Serialize, Serializer};

use super::{Outcome, RootKind, TimeSource, Usage};
use crate::trust::revocation::Source;

/// The result of one check: what was found, from which its outcome follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    // The signature.
    /// The document and the signature match.
    Intact,
    /// What the signature check found wrong (the verifiers' technical words).
    Broken(String),
    /// The signature carries no certificate that can be read.
    NoCertificate,

    // The chain.
    /// A chain to a trusted root; `top` is the name of the certificate it ends in.
    Trusted {
        root: RootKind,
        top: String,
    },
    /// A CA certificate on the chain was not valid at the signing time.
    CaNotValid {
        ca: String,
        at_ms: i64,
        from_ms: i64,
        to_ms: i64,
    },
    ChainTooLong,
    IssuerUnreadable,
    /// The chain leads to NCA RK's TEST CA, not trusted by the caller.
    TestCa,
    /// The certificate signed itself.
    SelfSigned {
        cn: String,
    },
    /// The issuer looks like NCA RK's, whose CA certificates this computer lacks.
    NcaCasMissing,
    /// No trusted CA issued the certificate.
    Untrusted {
        issuer: String,
    },

    // Validity.
    Validity {
        state: Period,
        when: TimeSource,
        at_ms: i64,
        from_ms: i64,
        to_ms: i64,
    },

    // Revocation.
    NotRevoked(Source),
    Revoked {
        at_ms: i64,
        source: Source,
    },
    /// Revoked after a timestamped signature: the signature stands.
    RevokedAfterTimestamp {
        at_ms: i64,
        source: Source,
    },
    /// Revoked, and only the signer claims the signature was made before.
    RevokedUnproven {
        at_ms: i64,
        source: Source,
    },
    /// The OCSP service says the CA never issued the certificate.
    NeverIssued(Source),
    /// Nothing could tell; the technical reason.
    RevocationUnknown(String),
    /// The issuer's certificate, which revocation is checked against, is missing.
    IssuerMissing,

    // Key usage; `listed` names the usages the certificate has.
    NoKeyUsage,
    SigningCertificate {
        listed: String,
    },
    /// An authentication certificate used to sign a document.
    AuthenticationNotForSigning {
        listed: String,
    },
    NotSigningCertificate {
        listed: String,
    },
    AuthenticationCertificate {
        listed: String,
    },
    NotAuthenticationCertificate {
        listed: String,
    },

    // Identity: one item per identifier expected.
    Identity(Vec<Identity>),
}

/// Where a time stands against a certificate's validity period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Within,
    Before,
    After,
}

/// An identifier the caller expects in the certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Matches { what: IdKind, value: String },
    Differs { what: IdKind, actual: String, expected: String },
    Absent { what: IdKind, expected: String },
}

/// IIN (a person) or BIN (an organisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    Iin,
    Bin,
}

/// Why a timestamp the signature carries does not give the signing time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimestampUnused {
    /// The TSA's certificate lacks the timeStamping usage.
    NotForTimestamps,
    /// The TSA's certificate does not chain to a trusted root.
    Untrusted(Box<Reason>),
    NoCertificate,
}

impl Reason {
    pub fn outcome(&self) -> Outcome {
        use Reason::*;
        match self {
            Intact
            | Trusted { .. }
            | NotRevoked(_)
            | RevokedAfterTimestamp { .. }
            | SigningCertificate { .. }
            | AuthenticationCertificate { .. } => Outcome::Passed,
            Validity { state, .. } if *state == Period::Within => Outcome::Passed,
            Identity(items) if items.iter().all(|i| matches!(i, self::Identity::Matches { .. })) => Outcome::Passed,
            NcaCasMissing | RevocationUnknown(_) | IssuerMissing => Outcome::Unknown,
            _ => Outcome::Failed,
        }
    }

    /// The usage check's finding for a certificate with these usages.
    pub fn key_usage(usage: Usage, signs: bool, authenticates: bool, listed: String) -> Self {
        match usage {
            Usage::Sign if signs => Self::SigningCertificate { listed },
            Usage::Sign if authenticates => Self::AuthenticationNotForSigning { listed },
            Usage::Sign => Self::NotSigningCertificate { listed },
            Usage::Auth if authenticates => Self::AuthenticationCertificate { listed },
            Usage::Auth => Self::NotAuthenticationCertificate { listed },
        }
    }
}

/// One check: `{"outcome": …, "detail": …}` in JSON, the detail in English (stable
/// words for scripts); people read it in their language through the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check(pub Reason);

impl Check {
    pub fn outcome(&self) -> Outcome {
        self.0.outcome()
    }

    /// The reason in `locale`'s words.
    pub fn detail(&self, locale: crate::i18n::Locale) -> String {
        crate::i18n::validation::reason(&self.0, locale)
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Check", 2)?;
        s.serialize_field("outcome", &self.outcome())?;
        s.serialize_field("detail", &self.detail(crate::i18n::Locale::En))?;
        s.end()
    }
}

impl Serialize for TimestampUnused {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::i18n::validation::timestamp_unused(self, crate::i18n::Locale::En))
    }
}
