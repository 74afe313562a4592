//! Verifying every `ds:Signature` of a document: each Reference's digest, the
//! signature over canonical SignedInfo, with the certificate in KeyInfo.
//!
//! A XAdES signature (one with `ds:Object/xades:QualifyingProperties`) also has its
//! qualifying properties checked: SignedProperties covered by one of its References,
//! SigningCertificate(V2) naming the KeyInfo certificate, SigningTime (reported as the
//! claimed time) and each SignatureTimeStamp (imprint over the canonical SignatureValue
//! element and the TSA's signature; its genTime is reported as the timestamped time).
//!
//! Documents signed in sequence by several signers (each enveloped signature appended
//! to the root) are read the way Kalkan's verifier does: for a whole-document
//! reference, the signature itself and the signatures added after it are left out.
//!
//! A page can send the document, so the work is linear in it and bounded:
//! - at most [`MAX_SIGNATURES`] signatures, [`MAX_REFERENCES`] References in all and
//!   [`MAX_TRANSFORMS`] Transforms per Reference, counted before any other work;
//! - an `Id` is found through an index built once, not a search per Reference;
//! - a referenced element (and SignedInfo) is canonicalized on its own: its subtree is
//!   copied under one element that holds the namespaces and `xml:*` attributes it
//!   inherits, so the canonicalizer walks the subtree, not the whole document (it
//!   visits every node of the document it is given, whatever the node set);
//! - the same dereference (node, canonicalization, what is left out, digest) is
//!   computed once, however many References ask for it;
//! - at most [`xades::MAX_TIMESTAMPS`] SignatureTimeStamps per signature are checked
//!   (more is a problem of the signature);
//! - all canonicalization together covers at most [`WORK_FACTOR`] times the document
//!   plus [`WORK_FLOOR`] bytes (References to nested elements or to the whole
//!   document by many signers can otherwise add up to many times the document).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine;
use bergshamra_c14n::C14nMode;
use bergshamra_xml::NodeSet;
use bergshamra_xml::nodeset::{NodeIdSet, NodeSetType};
use der::asn1::ObjectIdentifier;
use uppsala::{Attribute, Document, NodeId, NodeKind, QName};

use super::parse::{self, MAX_DEPTH, XmlError};
use super::{C14N, C14N_WITH_COMMENTS, ENVELOPED, EXC_C14N, NS_DSIG, first_child, strip_declaration, xades};
use crate::crypto::Hasher;
use crate::keys::Certificate;

/// Most `ds:Signature` elements verified in one document.
pub const MAX_SIGNATURES: usize = 100;
/// Most References in one document, all signatures together.
pub const MAX_REFERENCES: usize = 1000;
/// Most Transforms in one Reference (Kalkan writes two).
pub const MAX_TRANSFORMS: usize = 16;
/// Canonicalization budget: this many times the document…
pub const WORK_FACTOR: usize = 16;
/// …plus this many bytes (small documents signed by many signers stay verifiable).
pub const WORK_FLOOR: usize = 16 << 20;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The verdict on one signature.
#[derive(Clone, Debug, Default)]
pub struct SignatureReport {
    /// The signer certificate's subject, NCALayer notation.
    pub subject: String,
    /// The SignatureMethod URI.
    pub algorithm: String,
    /// Why the signature is not valid; empty when it is.
    pub problems: Vec<String>,
    /// What a check of the signer's certificate needs (see `crate::validation`).
    pub evidence: crate::cms::verify::Evidence,
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

pub(super) fn digest_oid(uri: &str) -> Option<&'static str> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => "2.16.840.1.101.3.4.2.1",
        "http://www.w3.org/2000/09/xmldsig#sha1" => "1.3.14.3.2.26",
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512" => "1.2.398.3.10.1.3.3",
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-256" => "1.2.398.3.10.1.3.2",
        "http://www.w3.org/2001/04/xmldsig-more#gost34311" => "1.2.398.3.10.1.3.1",
        _ => return None,
    })
}

pub(super) fn mode_of(uri: &str) -> Option<C14nMode> {
    Some(match uri {
        C14N | C14N_WITH_COMMENTS => C14nMode::Inclusive,
        EXC_C14N | "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => C14nMode::Exclusive,
        _ => return None,
    })
}

pub(super) fn b64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).ok()
}

fn attr<'a>(doc: &'a Document<'_>, node: NodeId, name: &str) -> Option<&'a str> {
    doc.element(node)?.get_attribute(name)
}

/// Verify every signature in `xml`. An error means the document itself is unreadable,
/// or too costly to verify (see the module comment).
pub fn verify_xml(xml: &str) -> Result<Vec<SignatureReport>, XmlError> {
    let body = strip_declaration(xml);
    let doc = parse::parse(body)?;
    let root = doc.document_element().ok_or_else(|| XmlError("no root element".into()))?;
    let signatures: Vec<NodeId> = std::iter::once(root)
        .chain(doc.descendants(root))
        .filter(|n| doc.element(*n).is_some_and(|e| e.name.matches(Some(NS_DSIG), "Signature")))
        .collect();
    check_limits(&doc, &signatures)?;
    let id_names = parse::id_attribute_names(&doc);
    let mut verifier = Verifier {
        doc: &doc,
        signatures: &signatures,
        ids: parse::id_index(&doc, &id_names),
        digests: HashMap::new(),
        work_left: body.len().saturating_mul(WORK_FACTOR).saturating_add(WORK_FLOOR),
        document_len: body.len(),
    };
    signatures.iter().enumerate().map(|(i, sig)| verifier.check_signature(i, *sig)).collect()
}

/// The children of `node` that are XMLDSig elements named `local`.
fn dsig_children<'d>(doc: &'d Document<'_>, node: NodeId, local: &'d str) -> impl Iterator<Item = NodeId> + 'd {
    doc.children_iter(node).filter(move |c| doc.element(*c).is_some_and(|e| e.name.matches(Some(NS_DSIG), local)))
}

/// The Algorithm of each child of a Reference's Transforms, in order.
fn transforms<'d>(doc: &'d Document<'_>, reference: NodeId) -> impl Iterator<Item = &'d str> + 'd {
    first_child(doc, reference, "Transforms")
        .into_iter()
        .flat_map(move |t| doc.children_iter(t).filter_map(move |c| attr(doc, c, "Algorithm")))
}

/// Refuse, before any canonicalization or cryptography, a document with more
/// signatures, References or Transforms than any real one has.
fn check_limits(doc: &Document<'_>, signatures: &[NodeId]) -> Result<(), XmlError> {
    if signatures.len() > MAX_SIGNATURES {
        return Err(XmlError(format!("the XML document has more than {MAX_SIGNATURES} signatures")));
    }
    let mut references = 0usize;
    for signature in signatures {
        let Some(si) = first_child(doc, *signature, "SignedInfo") else { continue };
        for reference in dsig_children(doc, si, "Reference") {
            references += 1;
            if references > MAX_REFERENCES {
                return Err(XmlError(format!("the XML document has more than {MAX_REFERENCES} References")));
            }
            if transforms(doc, reference).nth(MAX_TRANSFORMS).is_some() {
                return Err(XmlError(format!("a Reference has more than {MAX_TRANSFORMS} Transforms")));
            }
        }
    }
    Ok(())
}

/// Why a Reference failed: a problem of its signature, or a refusal of the document.
enum Failure {
    Problem(String),
    Refused(XmlError),
}

impl From<String> for Failure {
    fn from(problem: String) -> Self {
        Self::Problem(problem)
    }
}

impl From<&str> for Failure {
    fn from(problem: &str) -> Self {
        Self::Problem(problem.to_owned())
    }
}

/// What a same-document dereference leaves out besides comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LeaveOut {
    Nothing,
    /// One subtree inside the referenced one (the enveloping signature).
    Subtree(NodeId),
    /// The signatures from this index of the document's list on (whole document).
    SignaturesFrom(usize),
    /// Everything: the referenced element lies inside the left-out signature.
    Everything,
}

/// One dereference and digest; References that agree on it share the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct DigestKey<'x> {
    /// `None`: the whole document.
    apex: Option<NodeId>,
    exclusive: bool,
    leave_out: LeaveOut,
    digest_uri: &'x str,
}

struct Verifier<'d, 'x> {
    doc: &'d Document<'x>,
    /// Every `ds:Signature` in document order.
    signatures: &'d [NodeId],
    ids: HashMap<&'d str, NodeId>,
    digests: HashMap<DigestKey<'d>, Vec<u8>>,
    /// Bytes of canonicalization input still allowed.
    work_left: usize,
    document_len: usize,
}

impl<'d, 'x> Verifier<'d, 'x> {
    fn check_signature(&mut self, index: usize, signature: NodeId) -> Result<SignatureReport, XmlError> {
        let doc = self.doc;
        let mut report = SignatureReport::default();
        let Some(si) = first_child(doc, signature, "SignedInfo") else {
            report.problems.push("no SignedInfo".into());
            return Ok(report);
        };
        let method =
            first_child(doc, si, "SignatureMethod").and_then(|m| attr(doc, m, "Algorithm")).unwrap_or_default();
        report.algorithm = method.to_owned();
        let c14n =
            first_child(doc, si, "CanonicalizationMethod").and_then(|m| attr(doc, m, "Algorithm")).and_then(mode_of);
        let Some(c14n) = c14n else {
            report.problems.push("unsupported CanonicalizationMethod".into());
            return Ok(report);
        };
        let mut references = dsig_children(doc, si, "Reference").peekable();
        if references.peek().is_none() {
            report.problems.push("no Reference".into());
        }
        for reference in references {
            match self.check_reference(reference, index, signature) {
                Ok(()) => {}
                Err(Failure::Problem(why)) => report.problems.push(why),
                Err(Failure::Refused(e)) => return Err(e),
            }
        }
        // The certificate (the first of KeyInfo's) and the signature over canonical SignedInfo.
        let mut certificates = first_child(doc, signature, "KeyInfo")
            .into_iter()
            .flat_map(|k| dsig_children(doc, k, "X509Data"))
            .flat_map(|d| dsig_children(doc, d, "X509Certificate"))
            .filter_map(|c| b64(&doc.text_content_deep(c)));
        let cert = certificates.next().and_then(|der| Certificate::from_der(&der).ok().map(|c| (c, der)));
        let Some((cert, der)) = cert else {
            report.problems.push("no readable X509Certificate in KeyInfo".into());
            return Ok(report);
        };
        report.evidence.certificate = Some(der);
        report.evidence.other_certificates = certificates.collect();
        report.subject = cert.subject_dn();
        let Some((sig_oid, _)) = signature_oids(method) else {
            report.problems.push(format!("unsupported SignatureMethod {method}"));
            return Ok(report);
        };
        let value = first_child(doc, signature, "SignatureValue").and_then(|v| b64(&doc.text_content_deep(v)));
        let canonical = match self.canonical(Some(si), LeaveOut::Nothing, c14n) {
            Ok(canonical) => Ok(canonical),
            Err(Failure::Refused(e)) => return Err(e),
            Err(Failure::Problem(why)) => Err(why),
        };
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
            (_, Err(e)) => report.problems.push(e),
        }
        if let Some(qualifying) = xades::qualifying_properties(doc, signature) {
            self.check_xades(signature, si, &qualifying, &cert, &mut report)?;
        }
        Ok(report)
    }

    /// The XAdES qualifying properties of `signature` (SignedInfo `si`, certificate
    /// `cert`): the SignedProperties are covered by a Reference of this signature, the
    /// SigningCertificate names `cert`, SigningTime is readable (the claimed time), and
    /// each SignatureTimeStamp stamps this SignatureValue with a valid TSA signature
    /// (the timestamped time). What fails is a problem of the signature; only the work
    /// budget refuses the document.
    fn check_xades(
        &mut self,
        signature: NodeId,
        si: NodeId,
        qualifying: &xades::Qualifying,
        cert: &Certificate,
        report: &mut SignatureReport,
    ) -> Result<(), XmlError> {
        let doc = self.doc;
        let own_target = attr(doc, signature, "Id").map(|id| format!("#{id}"));
        if own_target.is_none() || qualifying.target != own_target {
            report.problems.push("XAdES QualifyingProperties do not target this signature".into());
        }
        let covered = qualifying.signed_properties.and_then(|p| attr(doc, p, "Id").map(|id| (p, id))).is_some_and(
            |(properties, id)| {
                let uri = format!("#{id}");
                self.ids.get(id) == Some(&properties)
                    && dsig_children(doc, si, "Reference").any(|r| attr(doc, r, "URI") == Some(uri.as_str()))
            },
        );
        if !covered {
            report.problems.push("XAdES SignedProperties are not signed".into());
        }
        match qualifying.signing_certificate {
            None => report.problems.push("XAdES SignedProperties have no SigningCertificate".into()),
            Some(node) => {
                let digest_of = |uri: &str, data: &[u8]| {
                    digest_oid(uri)
                        .and_then(|o| Hasher::for_oid(&ObjectIdentifier::new_unwrap(o)))
                        .map(|h| h.digest(data))
                };
                if let Err(why) = xades::check_signing_certificate(doc, node, cert, digest_of) {
                    report.problems.push(why);
                }
            }
        }
        if let Some(text) = &qualifying.signing_time {
            match xades::parse_date_time(text) {
                Some(ms) => report.evidence.claimed_time_ms = Some(ms),
                None => {
                    let shown: String = text.chars().take(40).collect();
                    report.problems.push(format!("XAdES SigningTime {shown:?} is not an xs:dateTime with a time zone"));
                }
            }
        }
        if qualifying.timestamps.len() > xades::MAX_TIMESTAMPS {
            report.problems.push(format!("more than {} XAdES SignatureTimeStamps", xades::MAX_TIMESTAMPS));
            return Ok(());
        }
        for timestamp in &qualifying.timestamps {
            match self.check_signature_timestamp(signature, *timestamp) {
                Ok((ms, tsa)) => {
                    if report.evidence.timestamp_time_ms.is_none_or(|t| ms < t) {
                        report.evidence.timestamp_time_ms = Some(ms);
                        report.evidence.timestamp_certificate = tsa;
                    }
                }
                Err(Failure::Problem(why)) => report.problems.push(format!("XAdES SignatureTimeStamp: {why}")),
                Err(Failure::Refused(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// One SignatureTimeStamp of `signature`: its token stamps the canonical
    /// SignatureValue element and the TSA's signature verifies. Returns genTime, epoch ms,
    /// and the TSA's certificate.
    fn check_signature_timestamp(
        &mut self,
        signature: NodeId,
        timestamp: NodeId,
    ) -> Result<(i64, Option<Vec<u8>>), Failure> {
        let doc = self.doc;
        let mode = xades::timestamp_c14n(doc, timestamp).ok_or("unsupported CanonicalizationMethod")?;
        let token = xades::timestamp_token(doc, timestamp).ok_or("no readable EncapsulatedTimeStamp")?;
        let value = first_child(doc, signature, "SignatureValue").ok_or("no SignatureValue to stamp")?;
        let stamped = self.canonical(Some(value), LeaveOut::Nothing, mode)?;
        Ok(xades::check_timestamp_token(&token, &stamped)?)
    }

    /// Dereference, transform, digest and compare one Reference of the signature
    /// `signature`, the `index`-th of the document.
    fn check_reference(&mut self, reference: NodeId, index: usize, signature: NodeId) -> Result<(), Failure> {
        let doc = self.doc;
        let uri = attr(doc, reference, "URI").unwrap_or_default();
        let digest_uri =
            first_child(doc, reference, "DigestMethod").and_then(|m| attr(doc, m, "Algorithm")).unwrap_or_default();
        let expected = first_child(doc, reference, "DigestValue")
            .and_then(|v| b64(&doc.text_content_deep(v)))
            .ok_or("no DigestValue")?;
        let hasher = digest_oid(digest_uri)
            .and_then(|o| Hasher::for_oid(&ObjectIdentifier::new_unwrap(o)))
            .ok_or_else(|| format!("unsupported DigestMethod {digest_uri}"))?;

        // Same-document references select nodes without comments.
        let apex = if uri.is_empty() {
            None
        } else if let Some(id) = uri.strip_prefix('#') {
            Some(*self.ids.get(id).ok_or_else(|| format!("no element with Id {id}"))?)
        } else {
            return Err(format!("external reference {uri:?} is not supported").into());
        };
        let mut enveloped = false;
        let mut mode = C14nMode::Inclusive;
        for t in transforms(doc, reference) {
            if t == ENVELOPED {
                enveloped = true;
            } else if let Some(m) = mode_of(t) {
                mode = m;
            } else {
                return Err(format!("unsupported Transform {t}").into());
            }
        }
        // The enveloped-signature transform leaves out this signature, and (whole-document
        // references) those added after it.
        let leave_out = match (enveloped, apex) {
            (false, _) => LeaveOut::Nothing,
            (true, None) => LeaveOut::SignaturesFrom(index),
            (true, Some(apex)) if is_ancestor_or_self(doc, signature, apex) => LeaveOut::Everything,
            (true, Some(apex)) if is_ancestor_or_self(doc, apex, signature) => LeaveOut::Subtree(signature),
            (true, Some(_)) => LeaveOut::Nothing,
        };
        let key = DigestKey { apex, exclusive: mode == C14nMode::Exclusive, leave_out, digest_uri };
        let digest = match self.digests.get(&key) {
            Some(digest) => digest.clone(),
            None => {
                let canonical = self.canonical(apex, leave_out, mode)?;
                let digest = hasher.digest(&canonical);
                self.digests.insert(key, digest.clone());
                digest
            }
        };
        if digest == expected {
            Ok(())
        } else {
            Err(format!("Reference {uri:?}: the digest does not match: the document was changed").into())
        }
    }

    /// The canonical form of `apex`'s subtree (the whole document for `None`), without
    /// comments and without what `leave_out` says, charged to the work budget.
    fn canonical(&mut self, apex: Option<NodeId>, leave_out: LeaveOut, mode: C14nMode) -> Result<Vec<u8>, Failure> {
        let doc = self.doc;
        let skip: HashSet<NodeId> = match leave_out {
            LeaveOut::Nothing => HashSet::new(),
            LeaveOut::Subtree(node) => HashSet::from([node]),
            LeaveOut::SignaturesFrom(i) => self.signatures.get(i..).unwrap_or_default().iter().copied().collect(),
            LeaveOut::Everything => return Ok(Vec::new()),
        };
        let mut cost = match apex {
            None => self.document_len,
            Some(node) => doc.node_range(node).map_or(self.document_len, |r| r.len()),
        };
        let context = apex.map(|node| Inherited::of(doc, node));
        cost = cost.saturating_add(context.as_ref().map_or(0, |c| c.bytes));
        self.work_left = self.work_left.checked_sub(cost).ok_or_else(|| {
            Failure::Refused(XmlError(
                "the XML document is too costly to verify: its References cover the document too many times".into(),
            ))
        })?;
        canonicalize_subtree(doc, apex, context, &skip, mode)
            .map_err(|e| Failure::Problem(format!("canonicalization: {e}")))
    }
}

/// Whether `ancestor` is `node` or one of its ancestors (at most [`MAX_DEPTH`] steps).
fn is_ancestor_or_self(doc: &Document<'_>, ancestor: NodeId, node: NodeId) -> bool {
    let mut current = Some(node);
    while let Some(n) = current {
        if n == ancestor {
            return true;
        }
        current = doc.parent(n);
    }
    false
}

/// What an element inherits from its ancestors that canonicalization renders on it:
/// the namespace bindings in scope (nearest declaration of each prefix) and the
/// `xml:*` attributes (nearest of each name; only inclusive C14N renders them).
struct Inherited<'d, 'x> {
    namespaces: BTreeMap<&'d str, &'d Cow<'x, str>>,
    xml_attributes: BTreeMap<&'d str, &'d Attribute<'x>>,
    /// Bytes of declarations and attributes read on the ancestors.
    bytes: usize,
}

impl<'d, 'x> Inherited<'d, 'x> {
    fn of(doc: &'d Document<'x>, node: NodeId) -> Self {
        let mut inherited = Inherited { namespaces: BTreeMap::new(), xml_attributes: BTreeMap::new(), bytes: 0 };
        let ancestors: Vec<NodeId> = doc.ancestors(node);
        // From the document element down, so that nearer declarations overwrite.
        for element in ancestors.iter().rev().filter_map(|a| doc.element(*a)) {
            for (prefix, uri) in &element.namespace_declarations {
                inherited.bytes = inherited.bytes.saturating_add(prefix.len() + uri.len());
                inherited.namespaces.insert(prefix.as_ref(), uri);
            }
            for a in &element.attributes {
                inherited.bytes = inherited.bytes.saturating_add(a.name.local_name.len() + a.value.len());
                if a.name.namespace_uri.as_deref() == Some(XML_NS) {
                    inherited.xml_attributes.insert(a.name.local_name.as_ref(), a);
                }
            }
        }
        inherited
    }
}

/// Canonicalize `apex`'s subtree (the whole document for `None`) without comments and
/// the `skip` subtrees. The canonicalizer walks every node of the document it is given,
/// so the subtree is copied into a document of its own first, under one element (not
/// in the node set) that carries what `inherited` lists: the copy's canonical form is
/// the subtree's canonical form in the original document, at the cost of the subtree.
/// Leaving nodes out of the copy is the same as leaving them out of the node set.
fn canonicalize_subtree<'x>(
    doc: &Document<'x>,
    apex: Option<NodeId>,
    inherited: Option<Inherited<'_, 'x>>,
    skip: &HashSet<NodeId>,
    mode: C14nMode,
) -> Result<Vec<u8>, String> {
    if let Some(root) = doc.document_element().filter(|r| apex.is_none() && skip.contains(r)) {
        // The document element left out (a signature as the root): what remains are the
        // top-level comments and PIs, whose line breaks depend on the element being
        // there, so canonicalize the original. Linear: the whole document is asked for.
        let set = NodeSet::all_without_comments(doc).subtract(&NodeSet::tree_with_comments(root, doc));
        return bergshamra_c14n::canonicalize_doc::<&str>(doc, mode, Some(&set), &[]).map_err(|e| e.to_string());
    }
    let mut copy = Document::new();
    let mut parent = copy.root();
    let mut hidden = None;
    if let Some(inherited) = inherited.filter(|i| !i.namespaces.is_empty() || !i.xml_attributes.is_empty()) {
        let holder = copy.create_element(QName::local("inherited"));
        if let Some(e) = copy.element_mut(holder) {
            e.namespace_declarations =
                inherited.namespaces.into_iter().map(|(p, u)| (Cow::Borrowed(p), u.clone())).collect();
            // Only the nearest value of each attribute, as libxml2 and the inclusive
            // canonicalizer read them.
            e.attributes = inherited.xml_attributes.into_values().cloned().collect();
        }
        copy.append_child(parent, holder);
        parent = holder;
        hidden = Some(holder);
    }
    let tops: Vec<NodeId> = match apex {
        Some(node) => vec![node],
        None => doc.children(doc.root()),
    };
    for top in tops {
        if let Some(node) = copy_subtree(doc, top, skip, &mut copy, 0) {
            copy.append_child(parent, node);
        }
    }
    let set = hidden.map(|h| NodeSet::from_ids(NodeIdSet::from_iter([h.index()]), NodeSetType::Invert));
    bergshamra_c14n::canonicalize_doc::<&str>(&copy, mode, set.as_ref(), &[]).map_err(|e| e.to_string())
}

/// Copy `node`'s subtree into `copy` without comments and the `skip` subtrees; the
/// new node is not attached yet. Children are attached before their parent is, so each
/// attachment's cycle check looks at one node, not at the whole chain of ancestors.
/// Recursion depth is bounded by the parser's [`MAX_DEPTH`]; the check here only
/// guards against a document built some other way.
fn copy_subtree<'x>(
    doc: &Document<'x>,
    node: NodeId,
    skip: &HashSet<NodeId>,
    copy: &mut Document<'x>,
    depth: u32,
) -> Option<NodeId> {
    if skip.contains(&node) || depth > MAX_DEPTH {
        return None;
    }
    let new = match doc.node_kind(node)? {
        NodeKind::Element(e) => {
            let id = copy.create_element(e.name.clone());
            if let Some(slot) = copy.element_mut(id) {
                *slot = e.clone();
            }
            id
        }
        NodeKind::Text(t) => copy.create_text(t.clone()),
        NodeKind::CData(t) => copy.create_cdata(t.clone()),
        NodeKind::ProcessingInstruction(pi) => copy.create_processing_instruction(pi.target.clone(), pi.data.clone()),
        NodeKind::Comment(_) | NodeKind::Document | NodeKind::Attribute(..) => return None,
    };
    for child in doc.children_iter(node) {
        if let Some(c) = copy_subtree(doc, child, skip, copy, depth + 1) {
            copy.append_child(new, c);
        }
    }
    Some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical form as verification computed it before: a node set over the
    /// whole document, walked from the root.
    fn whole_walk(doc: &Document<'_>, apex: Option<NodeId>, skip: &[NodeId], mode: C14nMode) -> Vec<u8> {
        let mut set = match apex {
            None => NodeSet::all_without_comments(doc),
            Some(node) => NodeSet::tree_without_comments(node, doc),
        };
        for s in skip {
            set = set.subtract(&NodeSet::tree_with_comments(*s, doc));
        }
        bergshamra_c14n::canonicalize_doc::<&str>(doc, mode, Some(&set), &[]).unwrap()
    }

    const CORPUS: [&str; 12] = [
        "<a xmlns=\"urn:x\"><b xmlns=\"urn:x\"><c xmlns=\"\"><d/></c></b></a>",
        "<p:a xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"><p:b xmlns:p=\"urn:p2\" q:attr=\"1\"><q:c><p:d/></q:c></p:b></p:a>",
        "<a z=\"1\" a=\"2\" xmlns:b=\"urn:b\" b:y=\"3\" xmlns:a=\"urn:a\" a:y=\"4\"><b:x a:z=\"5\"/></a>",
        "<a><![CDATA[<x> & y]]><b>t<![CDATA[]]>u</b></a>",
        "<a attr=\"&#9;&#10;&#13; &lt;&quot;&amp;\">&#13;&#x41;&gt;<b c=\"&#10;\">&#13;</b></a>",
        "<!-- before --><a><!-- inside --><b><!--x-->y</b></a><!-- after -->",
        "<?pi before?><a><?pi inside data ?><b><?p?></b></a><?pi after?>",
        "<a xml:lang=\"kk\" xml:space=\"preserve\"><b xml:lang=\"ru\"><c>қ</c></b><d xml:space=\"default\"/></a>",
        "<!DOCTYPE a [<!ATTLIST a id ID #IMPLIED>]><a id=\"1\"><b id=\"2\"/></a>",
        "<d:doc xmlns:d=\"urn:d\" xmlns=\"urn:default\" xml:lang=\"kk\">\r\n <d:x a=\"1\" b='&#x49;'>&#1178;азақ &amp; &lt;</d:x><!-- note -->\r\n<?pi x?><![CDATA[<raw>]]><y xmlns=\"\"><z xmlns=\"urn:z\" xml:base=\"http://e/\"/></y></d:doc>",
        "<r xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:u=\"urn:unused\"><i Id=\"a\"><v>1</v><ds:Signature><ds:SignedInfo><ds:Reference URI=\"#a\"/></ds:SignedInfo></ds:Signature></i><ds:Signature><ds:SignedInfo/></ds:Signature></r>",
        "<a xmlns:p=\"urn:1\"><b xmlns:p=\"urn:2\"><c xmlns:p=\"urn:1\" p:x=\"1\"><p:d xmlns:p=\"\"/></c></b></a>",
    ];

    #[test]
    fn subtree_canonicalization_matches_the_whole_document_walk() {
        for xml in CORPUS {
            let doc = parse::parse(xml).unwrap_or_else(|e| panic!("{xml}: {e}"));
            let root = doc.document_element().unwrap();
            let elements: Vec<NodeId> =
                std::iter::once(root).chain(doc.descendants(root)).filter(|n| doc.element(*n).is_some()).collect();
            let apexes = std::iter::once(None).chain(elements.iter().copied().map(Some));
            for apex in apexes {
                for mode in [C14nMode::Inclusive, C14nMode::Exclusive] {
                    let skips = std::iter::once(None).chain(elements.iter().copied().map(Some));
                    for skip in skips {
                        let skip: Vec<NodeId> = skip.into_iter().collect();
                        let before = whole_walk(&doc, apex, &skip, mode);
                        let inside = skip.iter().all(|s| apex.is_none_or(|a| !is_ancestor_or_self(&doc, *s, a)));
                        let now = if inside {
                            let inherited = apex.map(|a| Inherited::of(&doc, a));
                            let set: HashSet<NodeId> = skip.iter().copied().collect();
                            canonicalize_subtree(&doc, apex, inherited, &set, mode).unwrap()
                        } else {
                            // LeaveOut::Everything: the referenced element is left out.
                            Vec::new()
                        };
                        assert_eq!(
                            String::from_utf8_lossy(&now),
                            String::from_utf8_lossy(&before),
                            "{xml}\napex {apex:?} skip {skip:?} {mode:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_work_budget_refuses_overlapping_references() {
        let xml = format!("<a Id=\"a\"><b Id=\"b\">{}</b></a>", "x".repeat(1000));
        let doc = parse::parse(&xml).unwrap();
        let ids = parse::id_index(&doc, &parse::id_attribute_names(&doc));
        let (a, b) = (ids["a"], ids["b"]);
        let mut verifier = Verifier {
            doc: &doc,
            signatures: &[],
            ids: HashMap::new(),
            digests: HashMap::new(),
            work_left: 2500,
            document_len: xml.len(),
        };
        assert!(verifier.canonical(Some(a), LeaveOut::Nothing, C14nMode::Inclusive).is_ok());
        assert!(verifier.canonical(Some(b), LeaveOut::Nothing, C14nMode::Inclusive).is_ok());
        assert!(matches!(
            verifier.canonical(Some(a), LeaveOut::Nothing, C14nMode::Inclusive),
            Err(Failure::Refused(_))
        ));
    }

    fn signature(references: usize, transforms: usize) -> String {
        let reference = format!(
            "<ds:Reference URI=\"\"><ds:Transforms>{}</ds:Transforms><ds:DigestValue>AA==</ds:DigestValue></ds:Reference>",
            format!("<ds:Transform Algorithm=\"{C14N}\"/>").repeat(transforms)
        );
        format!(
            "<ds:Signature xmlns:ds=\"{NS_DSIG}\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{C14N}\"/>{}</ds:SignedInfo></ds:Signature>",
            reference.repeat(references)
        )
    }

    #[test]
    fn limits_are_clear_errors() {
        let many_signatures = format!("<r>{}</r>", signature(1, 1).repeat(MAX_SIGNATURES + 1));
        let e = verify_xml(&many_signatures).unwrap_err();
        assert!(e.0.contains("more than 100 signatures"), "{e}");
        let many_references = format!("<r>{}</r>", signature(MAX_REFERENCES / 2 + 1, 1).repeat(2));
        let e = verify_xml(&many_references).unwrap_err();
        assert!(e.0.contains("more than 1000 References"), "{e}");
        let many_transforms = format!("<r>{}</r>", signature(1, MAX_TRANSFORMS + 1));
        let e = verify_xml(&many_transforms).unwrap_err();
        assert!(e.0.contains("more than 16 Transforms"), "{e}");
        // At the limits, the document is read (and its signatures are reported invalid).
        let at_limits = format!("<r>{}</r>", signature(MAX_REFERENCES, MAX_TRANSFORMS));
        let reports = verify_xml(&at_limits).unwrap();
        assert_eq!(reports.len(), 1);
        assert!(!reports[0].is_valid());
    }
}
