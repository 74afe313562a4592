//! Reading XML safely: no entities at all (neither external ones, which read files or
//! the network, nor internal ones, which expand without bound), a DOCTYPE only for
//! `ATTLIST` declarations (some systems declare their ID attributes), bounded depth.
//! Errors read like the Java parser's, which pages show as is.

use std::collections::{HashMap, HashSet};

use uppsala::{Document, NodeId, Parser};

/// Largest XML document we sign or verify (the WebSocket limit is larger; this is the
/// parsed-tree budget).
pub const MAX_XML: usize = 64 * 1024 * 1024;

/// Deepest element nesting accepted; deeper documents are refused by the parser with
/// a SAXParseException-style error. It also bounds every walk up the ancestors.
pub const MAX_DEPTH: u32 = 256;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(pub String);

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XmlError {}

/// Parse `xml` under the policy above.
pub fn parse(xml: &str) -> Result<Document<'_>, XmlError> {
    if xml.len() > MAX_XML {
        return Err(XmlError(format!("the XML document is larger than {MAX_XML} bytes")));
    }
    check_doctype(xml)?;
    Parser::new()
        .with_forbid_entities(true)
        .with_max_depth(MAX_DEPTH)
        .parse(xml)
        .map_err(|e| XmlError(format!("org.xml.sax.SAXParseException; {e}")))
}

/// Refuse DOCTYPEs that declare anything but attribute lists (and comments).
fn check_doctype(xml: &str) -> Result<(), XmlError> {
    let Some(start) = xml.find("<!DOCTYPE") else { return Ok(()) };
    let rest = &xml[start..];
    if let Some(open) = rest.find('[') {
        let close = rest.find("]>").unwrap_or(rest.len());
        let subset = &rest[open.min(close)..close];
        let mut i = 0;
        while let Some(pos) = subset[i..].find("<!") {
            let decl = &subset[i + pos..];
            if !(decl.starts_with("<!ATTLIST") || decl.starts_with("<!--")) {
                return Err(XmlError(
                    "DOCTYPE declarations other than ATTLIST (entities, elements) are not accepted".into(),
                ));
            }
            i += pos + 2;
        }
    }
    let head = &rest[..rest.find(['[', '>']).unwrap_or(rest.len())];
    if head.contains("SYSTEM") || head.contains("PUBLIC") {
        return Err(XmlError("external DTDs are not accepted".into()));
    }
    Ok(())
}

/// Attribute names that make an ID: the usual `Id`, `ID`, `id`, plus those the
/// document's DOCTYPE declares with type `ID`. Only the DOCTYPE the parser read counts:
/// an `<!ATTLIST` in a comment or CDATA section of the body declares nothing. A set,
/// so that a DOCTYPE with many thousands of declarations costs linear time to read
/// and constant time per attribute to consult.
pub fn id_attribute_names(doc: &Document<'_>) -> HashSet<String> {
    let mut names: HashSet<String> = ["Id", "ID", "id"].iter().map(|s| s.to_string()).collect();
    let mut rest = doc.doctype.as_deref().unwrap_or_default();
    while let Some(pos) = rest.find("<!ATTLIST") {
        let decl = rest.get(pos..).unwrap_or_default();
        let end = decl.find('>').unwrap_or(decl.len());
        let (body, after) = decl.split_at(end);
        let tokens: Vec<&str> = body.split_whitespace().collect();
        // <!ATTLIST element attr TYPE default [attr TYPE default]...
        for group in tokens.get(2..).unwrap_or_default().chunks(3) {
            if let [attr, "ID", ..] = group {
                names.insert((*attr).to_owned());
            }
        }
        // `decl` starts with "<!ATTLIST", so `end` > 0 and the scan moves forward.
        rest = after;
    }
    names
}

/// Whether `attr` is an ID attribute: unprefixed, with one of `id_names`.
pub fn is_id_attribute(attr: &uppsala::Attribute<'_>, id_names: &HashSet<String>) -> bool {
    attr.name.prefix.is_none() && id_names.contains(attr.name.local_name.as_ref())
}

/// Every ID value of the document and the element that carries it: the first such
/// element in document order, as a search from the root would find. Built once per
/// document so that each same-document Reference is dereferenced in constant time.
pub fn id_index<'d>(doc: &'d Document<'_>, id_names: &HashSet<String>) -> HashMap<&'d str, NodeId> {
    let mut index = HashMap::new();
    let Some(root) = doc.document_element() else { return index };
    // Iterative pre-order walk over the sibling links: no Vec per node, no recursion.
    let mut next = Some(root);
    while let Some(node) = next {
        if let Some(e) = doc.element(node) {
            for a in e.attributes.iter().filter(|a| is_id_attribute(a, id_names)) {
                index.entry(a.value.as_ref()).or_insert(node);
            }
        }
        next = doc.first_child(node).or_else(|| {
            let mut up = Some(node);
            while let Some(n) = up {
                if n == root {
                    return None;
                }
                if let Some(sibling) = doc.next_sibling(n) {
                    return Some(sibling);
                }
                up = doc.parent(n);
            }
            None
        });
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_external_dtds_are_refused() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
        assert!(parse(xxe).is_err());
        let laughs = r#"<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>"#;
        assert!(parse(laughs).is_err());
        assert!(parse(r#"<!DOCTYPE r SYSTEM "http://evil/x.dtd"><r/>"#).is_err());
        let ids = r#"<!DOCTYPE doc [<!ATTLIST a id ID #IMPLIED>]><doc><a id="x"/></doc>"#;
        assert!(parse(ids).is_ok());
        assert!(parse("<this>is not a valid XML").unwrap_err().0.starts_with("org.xml.sax.SAXParseException"));
    }

    #[test]
    fn attlist_ids_are_found() {
        let xml = r#"<!DOCTYPE doc [<!ATTLIST item key ID #IMPLIED other CDATA #IMPLIED>]><doc><item key="k1"/></doc>"#;
        let doc = parse(xml).unwrap();
        let names = id_attribute_names(&doc);
        assert!(names.contains("key"));
        assert!(id_index(&doc, &names).contains_key("k1"));
        // Only the DOCTYPE declares; the first element in document order wins an Id.
        let xml = r#"<!DOCTYPE doc [<!ATTLIST a key ID #IMPLIED>]><doc><b id="x"><c Id="x"/></b><!-- <!ATTLIST b other ID #IMPLIED> --><![CDATA[<!ATTLIST c cdata ID #IMPLIED>]]><d other="y" ID="z"/></doc>"#;
        let doc = parse(xml).unwrap();
        let names = id_attribute_names(&doc);
        assert_eq!(names.len(), 4, "{names:?}");
        let index = id_index(&doc, &names);
        let name = |id: &str| index.get(id).map(|n| doc.element(*n).unwrap().name.local_name.to_string());
        assert_eq!(name("x").as_deref(), Some("b"));
        assert_eq!(name("z").as_deref(), Some("d"));
        assert_eq!(name("y"), None);
    }
}
