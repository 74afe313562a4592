//! Reading XML safely: no entities at all (neither external ones, which read files or
//! the network, nor internal ones, which expand without bound), a DOCTYPE only for
//! `ATTLIST` declarations (some systems declare their ID attributes), bounded depth.
//! Errors read like the Java parser's, which pages show as is.

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

/// Attribute names the document's DOCTYPE declares as IDs, plus the usual `Id`, `ID`, `id`.
pub fn id_attribute_names(xml: &str) -> Vec<String> {
    let mut names: Vec<String> = ["Id", "ID", "id"].iter().map(|s| s.to_string()).collect();
    let mut rest = xml;
    while let Some(pos) = rest.find("<!ATTLIST") {
        let decl = &rest[pos..];
        let end = decl.find('>').unwrap_or(decl.len());
        let tokens: Vec<&str> = decl[..end].split_whitespace().collect();
        // <!ATTLIST element attr TYPE default [attr TYPE default]...
        let mut i = 2;
        while i + 1 < tokens.len() {
            if tokens[i + 1] == "ID" && !names.iter().any(|n| n == tokens[i]) {
                names.push(tokens[i].to_owned());
            }
            i += 3;
        }
        rest = &decl[end.min(decl.len())..];
        if end == 0 {
            break;
        }
    }
    names
}

/// The element whose ID attribute (one of `id_names`) equals `id`.
pub fn find_by_id(doc: &Document<'_>, id_names: &[String], id: &str) -> Option<NodeId> {
    let root = doc.document_element()?;
    std::iter::once(root).chain(doc.descendants(root)).find(|n| {
        doc.element(*n).is_some_and(|e| {
            e.attributes
                .iter()
                .any(|a| a.name.prefix.is_none() && id_names.iter().any(|n| *n == a.name.local_name) && a.value == id)
        })
    })
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
        let names = id_attribute_names(xml);
        assert!(names.contains(&"key".to_string()));
        let doc = parse(xml).unwrap();
        assert!(find_by_id(&doc, &names, "k1").is_some());
    }
}
