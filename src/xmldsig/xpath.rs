//! The XPath subset pages send for `tbsElementXPath` / `signatureParentElementXPath`:
//! absolute paths (`/a/b`), descendants (`//b`, `/a//c`), prefixed names (`soap:Body`,
//! matched by the document's own prefix), `*`, and predicates `[@attr='v']` and `[n]`.
//! A step without a prefix matches by local name in any namespace.
//!
//! `[n]` counts the nodes the step reaches from one context node: for a child step
//! the n-th matching child (as in XPath), for a descendant step the n-th matching
//! descendant in document order (so `//item[2]` is the second `item` of the document,
//! like XPath's `(//item)[2]`). The first selected element in document order is the
//! answer.
//!
//! A page controls both the document and the path, so selection is linear: the
//! elements are numbered once in document order (a descendant test is then an
//! interval test), and each step is one pass over the children of its context nodes
//! or over the document, never a scan per context node or a search of the result
//! list per hit. Work is O(document × steps); steps are bounded by [`MAX_XPATH`] and,
//! because every step goes at least one level deeper, by the document's depth.

use uppsala::{Document, Element, NodeId};

use super::parse::XmlError;

/// Longest XPath accepted, in bytes. Real ones are a few dozen bytes; the cap bounds
/// the number of steps and predicates a page can make us evaluate per element.
pub const MAX_XPATH: usize = 4096;
/// Most predicates in one path: each is checked on every candidate element.
const MAX_PREDICATES: usize = 64;

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

impl Step {
    /// The `[n]` of the step (the first one; later ones are ignored, as they always were).
    fn position(&self) -> Option<usize> {
        self.predicates.iter().find_map(|p| match p {
            Predicate::Position(n) => Some(*n),
            Predicate::Attr(..) => None,
        })
    }
}

fn bad(path: &str) -> XmlError {
    XmlError(format!("unsupported or malformed XPath {path:?}: use /a/b, //b, prefix:name, [@attr='v'] or [n]"))
}

fn parse_path(path: &str) -> Result<Vec<Step>, XmlError> {
    if path.len() > MAX_XPATH {
        return Err(XmlError(format!("the XPath is longer than {MAX_XPATH} bytes")));
    }
    let mut steps = Vec::new();
    let mut predicate_count = 0usize;
    let mut rest = path.trim();
    if !rest.starts_with('/') {
        return Err(bad(path));
    }
    while !rest.is_empty() {
        let descendant = rest.starts_with("//");
        rest = rest.strip_prefix(if descendant { "//" } else { "/" }).ok_or_else(|| bad(path))?;
        let end = rest.find(['/', '[']).unwrap_or(rest.len());
        let (qname, after) = rest.split_at(end);
        rest = after;
        if qname.is_empty() {
            return Err(bad(path));
        }
        let (prefix, name) = match qname.split_once(':') {
            Some((p, n)) => (Some(p.to_owned()), n.to_owned()),
            None => (None, qname.to_owned()),
        };
        let mut predicates = Vec::new();
        while let Some(body) = rest.strip_prefix('[') {
            let (inner, after) = body.split_once(']').ok_or_else(|| bad(path))?;
            let inner = inner.trim();
            rest = after;
            predicate_count += 1;
            if predicate_count > MAX_PREDICATES {
                return Err(XmlError(format!("the XPath has more than {MAX_PREDICATES} predicates")));
            }
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

/// Name and attribute tests of `step` (`[n]` is applied by the caller).
fn matches(e: &Element<'_>, step: &Step) -> bool {
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

/// Not a position: the node is not an element.
const NONE: usize = usize::MAX;

/// The document node and its elements numbered in document order, built in one walk.
/// A subtree is then the interval `position+1 .. end`.
struct Order<'d, 'x> {
    /// Position → node; 0 is the document node.
    nodes: Vec<NodeId>,
    /// Position → the element (`None` for the document node).
    elements: Vec<Option<&'d Element<'x>>>,
    /// Position → one past the position of the node's last descendant element.
    end: Vec<usize>,
    /// Arena index of a node → its position, or [`NONE`].
    position: Vec<usize>,
}

/// The first element among `node` and its following siblings.
fn element_from(doc: &Document<'_>, mut node: Option<NodeId>) -> Option<NodeId> {
    while let Some(n) = node {
        if doc.element(n).is_some() {
            return Some(n);
        }
        node = doc.next_sibling(n);
    }
    None
}

impl<'d, 'x> Order<'d, 'x> {
    fn new(doc: &'d Document<'x>) -> Self {
        let mut order = Order { nodes: Vec::new(), elements: Vec::new(), end: Vec::new(), position: Vec::new() };
        order.push(doc.root(), None);
        // Iterative pre-order walk (no recursion on page-controlled depth): each stack
        // entry is an open node's position and the next child element to visit.
        let mut stack = vec![(0usize, element_from(doc, doc.first_child(doc.root())))];
        while let Some(top) = stack.last_mut() {
            match top.1 {
                Some(child) => {
                    top.1 = element_from(doc, doc.next_sibling(child));
                    let at = order.push(child, doc.element(child));
                    stack.push((at, element_from(doc, doc.first_child(child))));
                }
                None => {
                    let open = top.0;
                    stack.pop();
                    let len = order.nodes.len();
                    if let Some(end) = order.end.get_mut(open) {
                        *end = len;
                    }
                }
            }
        }
        order
    }

    fn push(&mut self, node: NodeId, element: Option<&'d Element<'x>>) -> usize {
        let at = self.nodes.len();
        self.nodes.push(node);
        self.elements.push(element);
        self.end.push(at + 1);
        let index = node.index();
        if index >= self.position.len() {
            self.position.resize(index + 1, NONE);
        }
        if let Some(slot) = self.position.get_mut(index) {
            *slot = at;
        }
        at
    }

    fn node(&self, at: usize) -> Option<NodeId> {
        self.nodes.get(at).copied()
    }

    /// Whether the element at `at` passes the name and attribute tests of `step`.
    fn matches(&self, at: usize, step: &Step) -> bool {
        self.elements.get(at).copied().flatten().is_some_and(|e| matches(e, step))
    }

    fn end(&self, at: usize) -> usize {
        self.end.get(at).copied().unwrap_or(at)
    }

    fn position(&self, node: NodeId) -> usize {
        self.position.get(node.index()).copied().unwrap_or(NONE)
    }
}

/// One step from `context` (positions, ascending, no duplicates); the result is the
/// same kind of list. With `first_only` (the last step of [`select`]) the result may
/// be cut short after its first element.
fn apply(doc: &Document<'_>, order: &Order<'_, '_>, context: &[usize], step: &Step, first_only: bool) -> Vec<usize> {
    let nth = step.position();
    let mut out = Vec::new();
    if !step.descendant {
        // Every element has one parent, so the children of distinct context nodes are
        // distinct: one look at each child of each context node.
        for &at in context {
            let Some(parent) = order.node(at) else { continue };
            let mut seen = 0usize;
            let mut child = element_from(doc, doc.first_child(parent));
            while let Some(c) = child {
                if doc.element(c).is_some_and(|e| matches(e, step)) {
                    seen += 1;
                    if nth.is_none_or(|n| n == seen) {
                        out.push(order.position(c));
                        if nth.is_some() {
                            break;
                        }
                    }
                }
                child = element_from(doc, doc.next_sibling(c));
            }
        }
        // Children of a nested context node fall between those of its ancestors.
        out.sort_unstable();
        out.dedup();
        return out;
    }
    let (Some(&first), Some(stop)) = (context.first(), context.iter().map(|&at| order.end(at)).max()) else {
        return out;
    };
    match nth {
        None => {
            // One sweep: a position is a descendant of some context node exactly when
            // it lies before the furthest subtree end of the context nodes seen so far
            // (subtrees nest or are disjoint). The output is in document order.
            let mut cover = 0usize;
            let mut next_context = context.iter().copied().peekable();
            for at in first..stop {
                if at < cover && order.matches(at, step) {
                    out.push(at);
                    if first_only {
                        break;
                    }
                }
                if next_context.next_if_eq(&at).is_some() {
                    cover = cover.max(order.end(at));
                }
            }
        }
        Some(n) => {
            // The n-th match inside each context subtree: the matches in document order,
            // and for each context node (ascending) the first match after it, found by
            // a pointer that only moves forward.
            let hits: Vec<usize> = (first + 1..stop).filter(|&at| order.matches(at, step)).collect();
            let mut i = 0usize;
            for &at in context {
                while hits.get(i).is_some_and(|&h| h <= at) {
                    i += 1;
                }
                if let Some(&hit) = i.checked_add(n.saturating_sub(1)).and_then(|k| hits.get(k))
                    && hit < order.end(at)
                {
                    out.push(hit);
                }
            }
            out.sort_unstable();
            out.dedup();
        }
    }
    out
}

/// The elements `path` selects, in document order: all of them, or with `first_only`
/// at least the first.
fn evaluate(doc: &Document<'_>, path: &str, first_only: bool) -> Result<Vec<NodeId>, XmlError> {
    let steps = parse_path(path)?;
    let order = Order::new(doc);
    let mut context = vec![0usize];
    for (i, step) in steps.iter().enumerate() {
        if context.is_empty() {
            break;
        }
        context = apply(doc, &order, &context, step, first_only && i + 1 == steps.len());
    }
    Ok(context.into_iter().filter(|&at| at != 0).filter_map(|at| order.node(at)).collect())
}

/// The first element `path` selects, in document order.
pub fn select(doc: &Document<'_>, path: &str) -> Result<Option<NodeId>, XmlError> {
    Ok(evaluate(doc, path, true)?.into_iter().next())
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

    #[test]
    fn the_answer_is_first_in_document_order() {
        // The quadratic selection answered with the first node of its working list, not
        // always the first in document order: here it gave the `c` under `x`.
        let xml = "<r><a><b><c/></b></a><x><c/></x></r>";
        let doc = uppsala::parse(xml).unwrap();
        let parent = |n: NodeId| doc.element(doc.parent(n).unwrap()).unwrap().name.local_name.to_string();
        assert_eq!(parent(select(&doc, "//*/*/c").unwrap().unwrap()), "b");
        assert_eq!(parent(quadratic_select_all(&doc, "//*/*/c")[0]), "x");
    }

    /// The selection as it was before it was made linear (a scan per context node and
    /// a search of the result list per hit): the reference for the semantics.
    fn quadratic_select_all(doc: &Document<'_>, path: &str) -> Vec<NodeId> {
        let matches = |doc: &Document<'_>, n: NodeId, step: &Step| doc.element(n).is_some_and(|e| matches(e, step));
        let steps = parse_path(path).unwrap();
        let mut context = vec![doc.root()];
        for step in &steps {
            let mut next = Vec::new();
            for node in &context {
                let candidates: Vec<NodeId> =
                    if step.descendant { doc.descendants(*node) } else { doc.children(*node) };
                let mut hits: Vec<NodeId> = candidates.into_iter().filter(|n| matches(doc, *n, step)).collect();
                if let Some(Predicate::Position(n)) =
                    step.predicates.iter().find(|p| matches!(p, Predicate::Position(_)))
                {
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
        context
    }

    /// Same node set as the old selection, and its first element in document order.
    fn assert_same_as_before(doc: &Document<'_>, path: &str) {
        let order = Order::new(doc);
        let mut before = quadratic_select_all(doc, path);
        before.sort_by_key(|n| order.position(*n));
        let now = evaluate(doc, path, false).unwrap();
        assert_eq!(now, before, "{path}");
        assert_eq!(select(doc, path).unwrap(), before.first().copied(), "{path}");
    }

    /// A small deterministic generator (no dependency for one test).
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }
    }

    const NAMES: [&str; 5] = ["a", "b", "c", "p:a", "q:b"];

    fn random_element(rng: &mut Lcg, depth: u32, out: &mut String) {
        let name = rng.pick(&NAMES);
        out.push('<');
        out.push_str(name);
        if rng.below(2) == 0 {
            out.push_str(&format!(" n=\"{}\"", rng.below(3)));
        }
        out.push('>');
        let children = if depth == 0 { 0 } else { rng.below(5) };
        for _ in 0..children {
            match rng.below(6) {
                0 => out.push_str("text"),
                1 => out.push_str("<!--c-->"),
                _ => random_element(rng, depth - 1, out),
            }
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }

    fn random_path(rng: &mut Lcg) -> String {
        let mut path = String::new();
        for _ in 0..=rng.below(4) {
            path.push_str(if rng.below(2) == 0 { "/" } else { "//" });
            path.push_str(rng.pick(&["a", "b", "c", "*", "p:a", "q:b", "x", "p:*"]));
            if rng.below(3) == 0 {
                path.push_str(&format!("[@n='{}']", rng.below(3)));
            }
            if rng.below(3) == 0 {
                path.push_str(&format!("[{}]", rng.below(4)));
            }
        }
        path
    }

    #[test]
    fn same_nodes_as_the_quadratic_selection() {
        let mut rng = Lcg(9);
        for _ in 0..300 {
            let mut xml = String::from(r#"<r xmlns:p="urn:p" xmlns:q="urn:q">"#);
            for _ in 0..3 {
                random_element(&mut rng, 5, &mut xml);
            }
            xml.push_str("</r>");
            let doc = uppsala::parse(&xml).unwrap();
            for _ in 0..30 {
                assert_same_as_before(&doc, &random_path(&mut rng));
            }
            for path in ["//*", "/r", "/*/*", "//*//*", "//a//b[2]", "//*/*/*[1]", "/r//*[3]", "//p:*"] {
                assert_same_as_before(&doc, path);
            }
        }
    }

    /// A flat document of `count` `<e>` siblings (numbered by `n`) with some nesting.
    fn wide(count: usize) -> String {
        let mut xml = String::from("<r><head><x/></head>");
        for i in 0..count {
            xml.push_str(&format!("<e n=\"{i}\"><v>{i}</v></e>"));
        }
        xml.push_str("</r>");
        xml
    }

    #[test]
    fn wide_documents_same_as_before() {
        let xml = wide(2000);
        let doc = uppsala::parse(&xml).unwrap();
        for path in
            ["//*", "//e", "/r/e[1500]", "//e[2000]", "//v[7]", "/r//v[@n='3']", "//e[@n='1999']/v", "//*[3000]"]
        {
            assert_same_as_before(&doc, path);
        }
    }

    #[test]
    fn large_documents_select_in_linear_time() {
        let xml = wide(100_000);
        assert!(xml.len() > 2 << 20, "{}", xml.len());
        let doc = uppsala::parse(&xml).unwrap();
        let n = |node: Option<NodeId>| node.and_then(|n| doc.element(n)?.get_attribute("n").map(str::to_owned));
        let name = |node: Option<NodeId>| node.map(|n| doc.element(n).unwrap().name.local_name.to_string());
        let timed = |path: &str| {
            let start = std::time::Instant::now();
            let node = select(&doc, path).unwrap();
            let elapsed = start.elapsed();
            // The quadratic selection took minutes on this document; the linear one takes
            // a few hundred milliseconds unoptimised. The bound is loose for a busy machine.
            assert!(elapsed < std::time::Duration::from_secs(2), "{path}: {elapsed:?}");
            node
        };
        assert_eq!(name(timed("//*")).as_deref(), Some("r"));
        assert_eq!(name(timed("//*//*//*")).as_deref(), Some("x"));
        assert_eq!(n(timed("/r/e[99999]")).as_deref(), Some("99998"));
        assert_eq!(n(timed("//e[100000]")).as_deref(), Some("99999"));
        assert_eq!(n(timed("//*[@n='99999']")).as_deref(), Some("99999"));
        assert_eq!(timed("//*//*//*[@n='none']"), None);
        assert_eq!(timed("//e[100001]"), None);
        assert_eq!(n(timed("//*/*[100001]")).as_deref(), Some("99999"));
        assert_eq!(timed("//*/*[100002]"), None);
        let v = timed("//v[50000]").unwrap();
        assert_eq!(doc.text_content_deep(v), "49999");
        assert_eq!(evaluate(&doc, "//e/v", false).unwrap().len(), 100_000);
    }

    #[test]
    fn deep_documents_same_as_before() {
        // As deep as the parser allows (see parse::MAX_DEPTH).
        let depth = super::super::parse::MAX_DEPTH as usize - 1;
        let xml = format!("{}{}", "<d><i/>".repeat(depth), "</d>".repeat(depth));
        let doc = super::super::parse::parse(&xml).unwrap();
        for path in
            ["//*", "//d[200]", "//d//d//i[3]", "/d/d/d/d/i", "//*//*//*//*//*//*//*//*", "//i[254]", "//i[255]"]
        {
            assert_same_as_before(&doc, path);
        }
        let deepest = select(&doc, &format!("{}/i", "/d".repeat(depth))).unwrap();
        assert!(deepest.is_some_and(|n| doc.first_child(n).is_none()));
    }

    #[test]
    fn hostile_paths_are_bounded() {
        let xml = wide(10);
        let doc = uppsala::parse(&xml).unwrap();
        assert!(select(&doc, &"/r".repeat(MAX_XPATH)).is_err());
        assert!(select(&doc, &format!("//e{}", "[@n='1']".repeat(MAX_PREDICATES + 1))).is_err());
        // More steps than the document is deep: the context empties and the rest is skipped.
        assert_eq!(select(&doc, &"//*".repeat(1000)).unwrap(), None);
        assert!(select(&doc, "//e[18446744073709551615]").unwrap().is_none());
        assert!(select(&doc, "//e[99999999999999999999999]").is_err());
    }
}
