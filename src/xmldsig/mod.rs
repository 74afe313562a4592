//! XMLDSig enveloped signatures as Kalkan makes them (spec §9.3).
//!
//! Whole document (no XPaths): `ds:Signature` is appended as the last child of the
//! document element; CanonicalizationMethod inclusive C14N 1.0; one `Reference URI=""`
//! with the enveloped-signature and `c14n#WithComments` transforms (a same-document
//! reference drops comments before the transform, so the digest has none);
//! `KeyInfo/X509Data/X509Certificate`. With `tbsElementXPath`: exclusive C14N for
//! SignedInfo, `Reference URI="#<Id of the element>"` with the single transform
//! `c14n#WithComments`, the signature under `signatureParentElementXPath`.
//!
//! XAdES-BES and XAdES-T of whole documents (which NCALayer cannot make) are in
//! `xades.rs`: the same signature with signed and unsigned qualifying properties.
//!
//! The input text is kept byte for byte: the signature element is spliced in before
//! the parent's end tag, and the document gets NCALayer's declaration
//! `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`. SignedInfo is then
//! canonicalized inside the output document (inherited namespaces count), so the
//! signature is computed over exactly what is emitted.

mod parse;
mod verify;
mod xades;
mod xpath;

use base64::Engine;
use bergshamra_c14n::C14nMode;
use bergshamra_xml::NodeSet;
use uppsala::{Document, NodeId};

pub use parse::XmlError;
pub use verify::{SignatureReport, verify_xml};
pub use xades::{NS_XADES, XadesBes, sign_xades, sign_xades_bes};

use crate::keys::{KeyAlgorithm, SigningKey};

pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;
/// Stands in for SignatureValue until SignedInfo is signed; looked up only inside the
/// signature element we insert.
const VALUE_MARK: &str = "QOLTANBA-SIGNATURE-VALUE-PLACEHOLDER";

/// SignatureMethod and DigestMethod URIs for a key (spec §9.3).
pub fn algorithm_uris(algorithm: KeyAlgorithm) -> (&'static str, &'static str) {
    match algorithm {
        KeyAlgorithm::Rsa => {
            ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256")
        }
        KeyAlgorithm::EcdsaP256 => {
            ("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256")
        }
        KeyAlgorithm::Gost2015_512 => (
            "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512",
            "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512",
        ),
        KeyAlgorithm::Gost2015_256 => (
            "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-256",
            "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-256",
        ),
        KeyAlgorithm::Gost2004 => (
            "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311",
            "http://www.w3.org/2001/04/xmldsig-more#gost34311",
        ),
    }
}

/// How the `ds:Signature` element is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Apache Santuario's: a line break after each element, base64 wrapped at 76
    /// (commonUtils `signXml`, `signXmls`).
    Santuario,
    /// No line breaks (basics `sign` with `format:"xml"`).
    Compact,
}

/// Why a document could not be signed.
#[derive(Debug)]
pub enum XmlDsigError {
    Xml(XmlError),
    Key(crate::keys::KeyError),
    /// A XAdES-T signature was asked for and the TSA gave no usable timestamp.
    Timestamp(crate::cms::CmsError),
}

impl std::fmt::Display for XmlDsigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Xml(e) => e.fmt(f),
            Self::Key(e) => e.fmt(f),
            Self::Timestamp(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for XmlDsigError {}

impl From<XmlError> for XmlDsigError {
    fn from(e: XmlError) -> Self {
        Self::Xml(e)
    }
}

impl From<crate::keys::KeyError> for XmlDsigError {
    fn from(e: crate::keys::KeyError) -> Self {
        Self::Key(e)
    }
}

fn c14n_err(e: impl std::fmt::Display) -> XmlError {
    XmlError(format!("canonicalization failed: {e}"))
}

/// Check, before any dialog, that `xml` can be signed with these XPaths: well-formed,
/// no entities, the elements exist and the signed one has an Id.
pub fn check(xml: &str, tbs_xpath: &str, parent_xpath: &str) -> Result<(), XmlError> {
    let body = strip_declaration(xml);
    let doc = parse::parse(body)?;
    plan(&doc, tbs_xpath, parent_xpath).map(|_| ())
}

/// What gets signed and where the signature goes.
struct Plan {
    /// `None`: the whole document; else the referenced element and its Id.
    target: Option<(NodeId, String)>,
    parent: NodeId,
}

fn plan(doc: &Document<'_>, tbs_xpath: &str, parent_xpath: &str) -> Result<Plan, XmlError> {
    let root = doc.document_element().ok_or_else(|| XmlError("the XML document has no root element".into()))?;
    let find = |path: &str, what: &str| -> Result<NodeId, XmlError> {
        xpath::select(doc, path)?.ok_or_else(|| XmlError(format!("{what} {path:?} selects no element")))
    };
    let parent = if parent_xpath.trim().is_empty() { root } else { find(parent_xpath, "signatureParentElementXPath")? };
    if tbs_xpath.trim().is_empty() {
        return Ok(Plan { target: None, parent });
    }
    let target = find(tbs_xpath, "tbsElementXPath")?;
    let names = parse::id_attribute_names(doc);
    let element = doc.element(target).ok_or_else(|| XmlError("tbsElementXPath must select an element".into()))?;
    let id = element
        .attributes
        .iter()
        .find(|a| parse::is_id_attribute(a, &names))
        .map(|a| a.value.to_string())
        .ok_or_else(|| XmlError(format!("the element {tbs_xpath:?} has no Id attribute to reference")))?;
    // A reference by Id is a fragment URI: whitespace and control characters would not
    // survive attribute normalization, so such an Id cannot be referenced reliably.
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(XmlError(format!("the Id of {tbs_xpath:?} cannot be referenced: it is empty or has spaces")));
    }
    Ok(Plan { target: Some((target, id)), parent })
}

/// `text` as the value of a double-quoted attribute.
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The document after its XML declaration, if it has one.
fn strip_declaration(xml: &str) -> &str {
    let trimmed = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    if trimmed.starts_with("<?xml")
        && trimmed[5..].starts_with(|c: char| c.is_whitespace())
        && let Some(end) = trimmed.find("?>")
    {
        return &trimmed[end + 2..];
    }
    trimmed
}

/// Sign `xml` with `key`: the whole document, or the element `tbs_xpath` selects with
/// the signature under `parent_xpath`.
pub fn sign_xml(
    key: &dyn SigningKey,
    xml: &str,
    tbs_xpath: &str,
    parent_xpath: &str,
    layout: Layout,
) -> Result<String, XmlDsigError> {
    let body = strip_declaration(xml);
    let doc = parse::parse(body)?;
    let plan = plan(&doc, tbs_xpath, parent_xpath)?;
    let algorithm = key.algorithm();
    let (signature_uri, digest_uri) = algorithm_uris(algorithm);

    let referenced = match &plan.target {
        None => bergshamra_c14n::canonicalize_doc::<&str>(&doc, C14nMode::Inclusive, None, &[]),
        Some((node, _)) => {
            let set = NodeSet::tree_without_comments(*node, &doc);
            bergshamra_c14n::canonicalize_doc::<&str>(&doc, C14nMode::Inclusive, Some(&set), &[])
        }
    }
    .map_err(c14n_err)?;
    let digest = algorithm.digest(&referenced)?;

    let (c14n_uri, uri, transforms): (&str, String, Vec<&str>) = match &plan.target {
        None => (C14N, String::new(), vec![ENVELOPED, C14N_WITH_COMMENTS]),
        // The Id comes from the page's document: escaped, it can only ever be an
        // attribute value, never markup inside SignedInfo.
        Some((node, id)) => {
            // A signature placed inside the element it signs must be taken out again
            // by the verifier (found by the xml fuzz target: it never verified).
            let inside = std::iter::successors(Some(plan.parent), |n| doc.parent(*n)).any(|n| n == *node);
            let transforms = if inside { vec![ENVELOPED, C14N_WITH_COMMENTS] } else { vec![C14N_WITH_COMMENTS] };
            (EXC_C14N, format!("#{}", escape_attribute(id)), transforms)
        }
    };
    let cert = key.certificate().der().to_vec();
    let template = signature_element(layout, c14n_uri, signature_uri, digest_uri, &uri, &transforms, &digest, &cert);

    let (mut out, signature_start) = splice(&doc, body, plan.parent, &template)?;
    let mode = if c14n_uri == EXC_C14N { C14nMode::Exclusive } else { C14nMode::Inclusive };
    sign_signed_info(&mut out, signature_start, mode, key, layout)?;
    Ok(out)
}

/// The output document: NCALayer's declaration, then `body` with `signature` spliced in
/// before `parent`'s end tag. Returns it and the byte offset where the signature starts.
fn splice(doc: &Document<'_>, body: &str, parent: NodeId, signature: &str) -> Result<(String, usize), XmlError> {
    let (insert_at, open_fix, close_tag) = insertion_point(doc, body, parent)?;
    let mut out = String::with_capacity(DECLARATION.len() + body.len() + signature.len() + 64);
    out.push_str(DECLARATION);
    out.push_str(&body[..insert_at]);
    out.push_str(open_fix);
    let signature_start = out.len();
    out.push_str(signature);
    out.push_str(&close_tag);
    // A self-closing parent loses its "/>", replaced by ">" … "</name>".
    out.push_str(&body[insert_at + if open_fix.is_empty() { 0 } else { 2 }..]);
    Ok((out, signature_start))
}

/// The canonical form of one element of the signature starting at byte
/// `signature_start` of `out` (a document with [`DECLARATION`]), canonicalized where it
/// stands in the whole document (inherited namespaces count). `select` picks the
/// element from the signature element.
fn canonical_in_place(
    out: &str,
    signature_start: usize,
    mode: C14nMode,
    select: impl FnOnce(&Document<'_>, NodeId) -> Option<NodeId>,
) -> Result<Vec<u8>, XmlError> {
    let out_doc = parse::parse(&out[DECLARATION.len()..])?;
    let signature = signature_at(&out_doc, signature_start - DECLARATION.len())
        .ok_or_else(|| XmlError("internal: the inserted signature was not found".into()))?;
    let node = select(&out_doc, signature)
        .ok_or_else(|| XmlError("internal: an element of the signature is missing".into()))?;
    let set = NodeSet::tree_without_comments(node, &out_doc);
    bergshamra_c14n::canonicalize_doc::<&str>(&out_doc, mode, Some(&set), &[]).map_err(c14n_err)
}

/// Canonicalize SignedInfo of the signature at `signature_start` where it now stands,
/// sign it with `key`, and fill in SignatureValue (in place of [`VALUE_MARK`]). Returns
/// the signature value.
fn sign_signed_info(
    out: &mut String,
    signature_start: usize,
    mode: C14nMode,
    key: &dyn SigningKey,
    layout: Layout,
) -> Result<Vec<u8>, XmlDsigError> {
    let signed_info = canonical_in_place(out, signature_start, mode, |doc, s| first_child(doc, s, "SignedInfo"))?;
    let mut value = key.sign(&signed_info)?;
    if key.algorithm() == KeyAlgorithm::EcdsaP256 {
        // XMLDSig's ECDSA value is r ‖ s (RFC 4051 §3.3), not X.509's DER.
        value = crate::crypto::ecdsa::der_to_raw(&value, 32)
            .ok_or_else(|| crate::keys::KeyError::Failed("malformed ECDSA signature".into()))?;
    }
    let mark = out[signature_start..]
        .find(VALUE_MARK)
        .map(|i| i + signature_start)
        .ok_or_else(|| XmlError("internal: no value mark".into()))?;
    out.replace_range(mark..mark + VALUE_MARK.len(), &base64_layout(layout, &value));
    Ok(value)
}

/// Where to insert inside `parent`: the byte offset in `text`, what to write first
/// (`">"` when a self-closing `<p/>` must be opened), and the end tag to add after
/// the signature for that case.
fn insertion_point(doc: &Document<'_>, text: &str, parent: NodeId) -> Result<(usize, &'static str, String), XmlError> {
    let range = doc.node_range(parent).ok_or_else(|| XmlError("internal: no source range".into()))?;
    let source = &text[range.clone()];
    if source.ends_with("/>") && !source.contains("</") {
        let qname = doc.element(parent).map(|e| e.name.prefixed_name().to_string()).unwrap_or_default();
        return Ok((range.end - 2, ">", format!("</{qname}>")));
    }
    let close = source.rfind("</").ok_or_else(|| XmlError("internal: no end tag".into()))?;
    Ok((range.start + close, "", String::new()))
}

/// The element starting at byte `at` of the document text.
fn signature_at(doc: &Document<'_>, at: usize) -> Option<NodeId> {
    let root = doc.document_element()?;
    doc.descendants(root)
        .into_iter()
        .find(|n| doc.element(*n).is_some() && doc.node_range(*n).is_some_and(|r| r.start == at))
}

/// The first child element of `node` in the XMLDSig namespace named `local`.
pub(crate) fn first_child(doc: &Document<'_>, node: NodeId, local: &str) -> Option<NodeId> {
    doc.children(node).into_iter().find(|c| doc.element(*c).is_some_and(|e| e.name.matches(Some(NS_DSIG), local)))
}

fn base64_layout(layout: Layout, bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    match layout {
        Layout::Compact => b64,
        Layout::Santuario => {
            let mut out = String::from("\n");
            for chunk in b64.as_bytes().chunks(76) {
                out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                out.push('\n');
            }
            out
        }
    }
}

/// DigestValue: one line for short digests, wrapped (like Santuario) when longer than 76.
fn digest_layout(layout: Layout, digest: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    if layout == Layout::Santuario && b64.len() > 76 { base64_layout(layout, digest) } else { b64 }
}

#[allow(clippy::too_many_arguments)]
fn signature_element(
    layout: Layout,
    c14n_uri: &str,
    signature_uri: &str,
    digest_uri: &str,
    reference_uri: &str,
    transforms: &[&str],
    digest: &[u8],
    cert: &[u8],
) -> String {
    let nl = if layout == Layout::Santuario { "\n" } else { "" };
    let mut s = format!(r#"<ds:Signature xmlns:ds="{NS_DSIG}">{nl}<ds:SignedInfo>{nl}"#);
    s.push_str(&format!(r#"<ds:CanonicalizationMethod Algorithm="{c14n_uri}"/>{nl}"#));
    s.push_str(&format!(r#"<ds:SignatureMethod Algorithm="{signature_uri}"/>{nl}"#));
    s.push_str(&format!(r#"<ds:Reference URI="{reference_uri}">{nl}<ds:Transforms>{nl}"#));
    for t in transforms {
        s.push_str(&format!(r#"<ds:Transform Algorithm="{t}"/>{nl}"#));
    }
    s.push_str(&format!(r#"</ds:Transforms>{nl}<ds:DigestMethod Algorithm="{digest_uri}"/>{nl}"#));
    s.push_str(&format!(
        "<ds:DigestValue>{}</ds:DigestValue>{nl}</ds:Reference>{nl}</ds:SignedInfo>{nl}",
        digest_layout(layout, digest)
    ));
    s.push_str(&format!("<ds:SignatureValue>{VALUE_MARK}</ds:SignatureValue>{nl}"));
    s.push_str(&format!(
        "<ds:KeyInfo>{nl}<ds:X509Data>{nl}<ds:X509Certificate>{}</ds:X509Certificate>{nl}</ds:X509Data>{nl}</ds:KeyInfo>{nl}</ds:Signature>",
        base64_layout(layout, cert)
    ));
    s
}
