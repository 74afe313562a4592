//! The authentication-key guard: a key certified for logging in only (client
//! authentication, no signing purpose) signs only what looks like a login challenge,
//! never a document; and a challenge that names another site than the one asking is
//! pointed out to the person.
//!
//! "Looks like a login": one short piece of text, XML or random bytes (at most
//! [`MAX_CHALLENGE`] bytes), as eGov's `<login><timeTicket>…` or SIGEX's nonce; not a
//! PDF, a file, a co-signature, several documents, or a hash the page chose (which
//! could be the hash of any document). A raw signature (basics `raw`, legacy plain
//! signing) of bytes that are not text is refused too: a page could send the DER of a
//! CMS's signed attributes, which name the hash of any document, and wrap the returned
//! signature into a signature of that document.

use crate::signing::Action;
use crate::ui::{DocumentSummary, Shown};

/// The largest challenge an authentication-only key signs.
pub const MAX_CHALLENGE: u64 = 2048;

/// May an authentication-only key sign `documents` for `action`?
pub fn looks_like_login(action: Action, documents: &[DocumentSummary]) -> bool {
    match documents {
        [one] if one.size <= MAX_CHALLENGE => match one.shown {
            Shown::Text { truncated: false, .. } | Shown::Xml { truncated: false, .. } => true,
            // Random bytes as the content of a CMS; never as a raw signature.
            Shown::Binary => action != Action::SignRaw,
            _ => false,
        },
        _ => false,
    }
}

/// A domain the challenge names that is neither the requesting site's host nor one of
/// its parent or child domains (`None`: none, or no site to compare with).
pub fn other_domain(origin: Option<&str>, documents: &[DocumentSummary]) -> Option<String> {
    let host = origin?.split_once("://")?.1.split(':').next()?.to_ascii_lowercase();
    let text = match &documents.first()?.shown {
        Shown::Text { preview, .. } => preview.clone(),
        Shown::Xml { root, fields, .. } => {
            let mut all = root.clone();
            for (name, value) in fields {
                all.push(' ');
                all.push_str(name);
                all.push(' ');
                all.push_str(value);
            }
            all
        }
        _ => return None,
    };
    let related = |d: &str| d == host || d.ends_with(&format!(".{host}")) || host.ends_with(&format!(".{d}"));
    domains(&text).into_iter().find(|d| !related(d))
}

/// Host names in `text`: dot-separated labels of letters, digits and hyphens, ending
/// in an alphabetic label of two or more letters (`egov.kz`, `login.example.com`).
fn domains(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let is_host_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    for word in text.split(|c: char| !is_host_char(c)) {
        let word = word.trim_matches(|c| c == '.' || c == '-').to_ascii_lowercase();
        let labels: Vec<&str> = word.split('.').collect();
        let Some(top) = labels.last() else { continue };
        let looks_like_host = labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty() && l.len() <= 63)
            && top.len() >= 2
            && top.chars().all(|c| c.is_ascii_alphabetic());
        if looks_like_host && !found.contains(&word) {
            found.push(word);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> DocumentSummary {
        DocumentSummary { size: s.len() as u64, shown: Shown::Text { preview: s.into(), truncated: false } }
    }

    #[test]
    fn only_one_short_challenge_looks_like_a_login() {
        let cms = Action::SignCms;
        let xml =
            |truncated| Shown::Xml { root: "login".into(), fields: vec![("timeTicket".into(), "1".into())], truncated };
        assert!(looks_like_login(cms, &[text("nonce 7f3a")]));
        assert!(looks_like_login(Action::SignXml, &[DocumentSummary { size: 60, shown: xml(false) }]));
        let long = [DocumentSummary { size: 600, shown: xml(true) }];
        assert!(!looks_like_login(Action::SignXml, &long), "fields not shown");
        assert!(looks_like_login(cms, &[DocumentSummary { size: 32, shown: Shown::Binary }]));
        let signed_attributes = [DocumentSummary { size: 250, shown: Shown::Binary }];
        assert!(!looks_like_login(Action::SignRaw, &signed_attributes), "raw bytes could be signed attributes");
        assert!(looks_like_login(Action::SignRaw, &[text("nonce")]));
        assert!(!looks_like_login(cms, &[text("a"), text("b")]), "several documents");
        assert!(!looks_like_login(cms, &[DocumentSummary { size: 5000, shown: Shown::Binary }]), "a document");
        assert!(!looks_like_login(cms, &[DocumentSummary { size: 100, shown: Shown::Pdf { pages: Some(1) } }]));
        let blind = [DocumentSummary { size: 32, shown: Shown::BlindHash { hex: "00".into() } }];
        assert!(!looks_like_login(cms, &blind));
        assert!(!looks_like_login(cms, &[]));
    }

    #[test]
    fn a_challenge_naming_another_site_is_found() {
        let origin = Some("https://idp.egov.kz");
        assert_eq!(other_domain(origin, &[text("login to idp.egov.kz at 12:00")]), None);
        assert_eq!(
            other_domain(origin, &[text("egov.kz nonce 1.5")]),
            None,
            "a parent domain, and no number is a host"
        );
        assert_eq!(
            other_domain(origin, &[text("Login to bank.example.com, nonce 42")]).as_deref(),
            Some("bank.example.com")
        );
        let xml =
            Shown::Xml { root: "login".into(), fields: vec![("site".into(), "evil.kz".into())], truncated: false };
        assert_eq!(other_domain(origin, &[DocumentSummary { size: 40, shown: xml }]).as_deref(), Some("evil.kz"));
        assert_eq!(other_domain(None, &[text("evil.kz")]), None, "no site to compare with");
    }
}
