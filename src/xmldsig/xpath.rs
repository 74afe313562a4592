//! The XPath subset pages send for `tbsElementXPath` / `signatureParentElementXPath`:
//! absolute paths (`/a/b`), descendants (`//b`, `/a//c`), prefixed names (`soap:Body`,
//! matched by the document's own prefix), `*`, and predicates `[@attr='v']` and `[n]`.
//! A step without a prefix matches by local name in any namespace.

use uppsala::{Document, NodeId};

use super::parse::XmlError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Predicate {
    Attr(String, String),
    Position(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    descendant: bool,
    prefix: Option<String>,
    name: String,
    predicates: Vec<Predicate>,
}

fn bad(path: &str) -> XmlError {
    XmlError(format!("unsupported or malformed XPath {path:?}: use /a/b, //b, prefix:name, [@attr='v'] or [n]"))
}

fn parse_path(path: &str) -> Result<Vec<Step>, XmlError> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    if !rest.starts_with('/') {
        return Err(bad(path));
    }
    while !rest.is_empty() {
        let descendant = rest.starts_with("//");
        rest = rest.strip_prefix(if descendant { "//" } else { "/" }).ok_or_else(|| bad(path))?;
        let end = rest.find(['/', '[']).unwrap_or(rest.len());
        let qname = &rest[..end];
        rest = &rest[end..];
        if qname.is_empty() {
            return Err(bad(path));
        }
        let (prefix, name) = match qname.split_once(':') {
            Some((p, n)) => (Some(p.to_owned()), n.to_owned()),
            None => (None, qname.to_owned()),
        };
        let mut predicates = Vec::new();
        while let Some(body) = rest.strip_prefix('[') {
            let close = body.find(']').ok_or_else(|| bad(path))?;
            let inner = body[..close].trim();
            rest = &body[close + 1..];
            if let Ok(n) = inner.parse::<usize>() {
                predicates.push(Predicate::Position(n.max(1)));
            } else if let Some(attr) = inner.strip_prefix('@') {
                let (name, value) = attr.split_once('=').ok_or_else(|| bad(path))?;
                let value = value.trim();
                let unquoted = value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                    .ok_or_else(|| bad(path))?;
                predicates.push(Predicate::Attr(name.trim().to_owned(), unquoted.to_owned()));
            } else {
                return Err(bad(path));
            }
        }
        steps.push(Step { descendant, prefix, name, predicates });
    }
    Ok(steps)
}

fn matches(doc: &Document<'_>, node: NodeId, step: &Step) -> bool {
    let Some(e) = doc.element(node) else { return false };
    let name_ok = step.name == "*" || e.name.local_name == step.name;
    let prefix_ok = match &step.prefix {
        Some(p) => e.name.prefix.as_deref() == Some(p.as_str()),
        None => true,
    };
    name_ok
        && prefix_ok
        && step.predicates.iter().all(|p| match p {
            Predicate::Attr(name, value) => e.get_attribute(name) == Some(value.as_str()),
            Predicate::Position(_) => true,
        })
}

/// The first element `path` selects, in document order.
pub fn select(doc: &Document<'_>, path: &str) -> Result<Option<NodeId>, XmlError> {
    let steps = parse_path(path)?;
    let mut context = vec![doc.root()];
    for step in &steps {
        let mut next = Vec::new();
        for node in &context {
            let candidates: Vec<NodeId> = if step.descendant { doc.descendants(*node) } else { doc.children(*node) };
            let mut hits: Vec<NodeId> = candidates.into_iter().filter(|n| matches(doc, *n, step)).collect();
            if let Some(Predicate::Position(n)) = step.predicates.iter().find(|p| matches!(p, Predicate::Position(_))) {
                hits = hits.into_iter().nth(n - 1).into_iter().collect();
            }
            for h in hits {
                if !next.contains(&h) {
                    next.push(h);
                }
            }
        }
        context = next;
    }
    Ok(context.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_what_pages_send() {
        let xml = r#"<soap:Envelope xmlns:soap="urn:s"><soap:Body><data Id="d1"><item n="1"/><item n="2"/></data></soap:Body></soap:Envelope>"#;
        let doc = uppsala::parse(xml).unwrap();
        let local =
            |path: &str| select(&doc, path).unwrap().map(|n| doc.element(n).unwrap().name.local_name.to_string());
        assert_eq!(local("/soap:Envelope/soap:Body").as_deref(), Some("Body"));
        assert_eq!(local("//data").as_deref(), Some("data"));
        assert_eq!(local("/soap:Envelope//item[2]").map(|_| ()), Some(()));
        let second = select(&doc, "//item[@n='2']").unwrap().unwrap();
        assert_eq!(doc.element(second).unwrap().get_attribute("n"), Some("2"));
        assert_eq!(select(&doc, "//item[2]").unwrap(), Some(second));
        assert!(select(&doc, "/Envelope/Body").unwrap().is_some());
        assert_eq!(select(&doc, "/x:Envelope").unwrap(), None);
        assert!(select(&doc, "Envelope").is_err());
        assert!(select(&doc, "//a[contains(.,'x')]").is_err());
    }
}
