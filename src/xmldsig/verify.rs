//! Verifying every `ds:Signature` of a document: each Reference's digest, the
//! signature over canonical SignedInfo, with the certificate in KeyInfo.
//!
//! Documents signed in sequence by several signers (each enveloped signature appended
//! to the root) are read the way Kalkan's verifier does: for a whole-document
//! reference, the signature itself and the signatures added after it are left out.

use base64::Engine;
use bergshamra_c14n::C14nMode;
use bergshamra_xml::NodeSet;
use der::asn1::ObjectIdentifier;
use uppsala::{Document, NodeId};

use super::parse::{self, XmlError};
use super::{C14N, C14N_WITH_COMMENTS, ENVELOPED, EXC_C14N, NS_DSIG, first_child, strip_declaration};
use crate::crypto::Hasher;
use crate::keys::Certificate;

/// The verdict on one signature.
#[derive(Clone, Debug, Default)]
pub struct SignatureReport {
    /// The signer certificate's subject, NCALayer notation.
    pub subject: String,
    /// The SignatureMethod URI.
    pub algorithm: String,
    /// Why the signature is not valid; empty when it is.
    pub problems: Vec<String>,
}

impl SignatureReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The signature OID and digest OID behind a SignatureMethod URI.
fn signature_oids(uri: &str) -> Option<(&'static str, &'static str)> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => ("1.2.840.113549.1.1.11", "2.16.840.1.101.3.4.2.1"),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => ("1.2.840.113549.1.1.5", "1.3.14.3.2.26"),
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512" => {
            ("1.2.398.3.10.1.1.2.3.2", "1.2.398.3.10.1.3.3")
        }
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-256" => {
            ("1.2.398.3.10.1.1.2.3.1", "1.2.398.3.10.1.3.2")
        }
        "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311" => ("1.2.398.3.10.1.1.1.2", "1.2.398.3.10.1.3.1"),
        _ => return None,
    })
}

fn digest_oid(uri: &str) -> Option<&'static str> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => "2.16.840.1.101.3.4.2.1",
        "http://www.w3.org/2000/09/xmldsig#sha1" => "1.3.14.3.2.26",
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512" => "1.2.398.3.10.1.3.3",
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-256" => "1.2.398.3.10.1.3.2",
        "http://www.w3.org/2001/04/xmldsig-more#gost34311" => "1.2.398.3.10.1.3.1",
        _ => return None,
    })
}

fn mode_of(uri: &str) -> Option<C14nMode> {
    Some(match uri {
        C14N | C14N_WITH_COMMENTS => C14nMode::Inclusive,
        EXC_C14N | "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => C14nMode::Exclusive,
        _ => return None,
    })
}

fn b64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).ok()
}

fn attr<'a>(doc: &'a Document<'_>, node: NodeId, name: &str) -> Option<&'a str> {
    doc.element(node)?.get_attribute(name)
}

/// Verify every signature in `xml`. An error means the document itself is unreadable.
pub fn verify_xml(xml: &str) -> Result<Vec<SignatureReport>, XmlError> {
    let body = strip_declaration(xml);
    let doc = parse::parse(body)?;
    let root = doc.document_element().ok_or_else(|| XmlError("no root element".into()))?;
    let signatures: Vec<NodeId> = std::iter::once(root)
        .chain(doc.descendants(root))
        .filter(|n| doc.element(*n).is_some_and(|e| e.name.matches(Some(NS_DSIG), "Signature")))
        .collect();
    let id_names = parse::id_attribute_names(body);
    Ok(signatures.iter().enumerate().map(|(i, sig)| check_signature(&doc, *sig, &signatures[i..], &id_names)).collect())
}

fn check_signature(
    doc: &Document<'_>,
    signature: NodeId,
    this_and_later: &[NodeId],
    id_names: &[String],
) -> SignatureReport {
    let mut report = SignatureReport::default();
    let problems = &mut report.problems;
    let Some(si) = first_child(doc, signature, "SignedInfo") else {
        problems.push("no SignedInfo".into());
        return report;
    };
    let method = first_child(doc, si, "SignatureMethod").and_then(|m| attr(doc, m, "Algorithm")).unwrap_or_default();
    report.algorithm = method.to_owned();
    let c14n = first_child(doc, si, "CanonicalizationMethod").and_then(|m| attr(doc, m, "Algorithm")).and_then(mode_of);
    let Some(c14n) = c14n else {
        report.problems.push("unsupported CanonicalizationMethod".into());
        return report;
    };
    let references: Vec<NodeId> = doc
        .children(si)
        .into_iter()
        .filter(|c| doc.element(*c).is_some_and(|e| e.name.matches(Some(NS_DSIG), "Reference")))
        .collect();
    if references.is_empty() {
        report.problems.push("no Reference".into());
    }
    for reference in references {
        if let Err(why) = check_reference(doc, reference, signature, this_and_later, id_names) {
            report.problems.push(why);
        }
    }
    // The certificate and the signature over canonical SignedInfo.
    let cert = first_child(doc, signature, "KeyInfo")
        .and_then(|k| first_child(doc, k, "X509Data"))
        .and_then(|d| first_child(doc, d, "X509Certificate"))
        .and_then(|c| b64(&doc.text_content_deep(c)))
        .and_then(|der| Certificate::from_der(&der).ok());
    let Some(cert) = cert else {
        report.problems.push("no readable X509Certificate in KeyInfo".into());
        return report;
    };
    report.subject = cert.subject_dn();
    let Some((sig_oid, _)) = signature_oids(method) else {
        report.problems.push(format!("unsupported SignatureMethod {method}"));
        return report;
    };
    let value = first_child(doc, signature, "SignatureValue").and_then(|v| b64(&doc.text_content_deep(v)));
    let set = NodeSet::tree_without_comments(si, doc);
    let canonical = bergshamra_c14n::canonicalize_doc::<&str>(doc, c14n, Some(&set), &[]);
    match (value, canonical) {
        (Some(value), Ok(canonical)) => {
            let spki = cert.parsed().tbs_certificate().subject_public_key_info();
            if let Err(e) =
                crate::crypto::verify::verify(spki, &ObjectIdentifier::new_unwrap(sig_oid), &canonical, &value)
            {
                report.problems.push(format!("SignatureValue: {e}"));
            }
        }
        (None, _) => report.problems.push("no readable SignatureValue".into()),
        (_, Err(e)) => report.problems.push(format!("canonicalization: {e}")),
    }
    report
}

/// Dereference, transform, digest and compare one Reference.
fn check_reference(
    doc: &Document<'_>,
    reference: NodeId,
    signature: NodeId,
    this_and_later: &[NodeId],
    id_names: &[String],
) -> Result<(), String> {
    let uri = attr(doc, reference, "URI").unwrap_or_default();
    let transforms: Vec<String> = first_child(doc, reference, "Transforms")
        .map(|t| doc.children(t).into_iter().filter_map(|c| attr(doc, c, "Algorithm").map(str::to_owned)).collect())
        .unwrap_or_default();
    let digest_uri =
        first_child(doc, reference, "DigestMethod").and_then(|m| attr(doc, m, "Algorithm")).unwrap_or_default();
    let expected = first_child(doc, reference, "DigestValue")
        .and_then(|v| b64(&doc.text_content_deep(v)))
        .ok_or("no DigestValue")?;
    let hasher = digest_oid(digest_uri)
        .and_then(|o| Hasher::for_oid(&ObjectIdentifier::new_unwrap(o)))
        .ok_or_else(|| format!("unsupported DigestMethod {digest_uri}"))?;

    // Same-document references select nodes without comments.
    let mut set = if uri.is_empty() {
        NodeSet::all_without_comments(doc)
    } else if let Some(id) = uri.strip_prefix('#') {
        let target = parse::find_by_id(doc, id_names, id).ok_or_else(|| format!("no element with Id {id}"))?;
        NodeSet::tree_without_comments(target, doc)
    } else {
        return Err(format!("external reference {uri:?} is not supported"));
    };
    let mut mode = C14nMode::Inclusive;
    for t in &transforms {
        if t == ENVELOPED {
            // This signature, and (whole-document references) those added after it.
            let leave_out: &[NodeId] = if uri.is_empty() { this_and_later } else { std::slice::from_ref(&signature) };
            for s in leave_out {
                set = set.subtract(&NodeSet::tree_with_comments(*s, doc));
            }
        } else if let Some(m) = mode_of(t) {
            mode = m;
        } else {
            return Err(format!("unsupported Transform {t}"));
        }
    }
    let canonical = bergshamra_c14n::canonicalize_doc::<&str>(doc, mode, Some(&set), &[])
        .map_err(|e| format!("canonicalization: {e}"))?;
    if hasher.digest(&canonical) == expected {
        Ok(())
    } else {
        Err(format!("Reference {uri:?}: the digest does not match: the document was changed"))
    }
}
