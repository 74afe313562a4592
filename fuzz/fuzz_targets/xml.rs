//! XML from pages (`signXml`, basics `format:"xml"`, `qoltanba verify xml`): the
//! parser policy (`xmldsig::check`, which parses), the XPath subset, `verify_xml`, and
//! `sign_xml` with a stand-in key.
//!
//! Input: an XML document, optionally preceded by `TBS_XPATH \0 PARENT_XPATH \0`; without
//! that header a few fixed XPath pairs are tried.
//!
//! Invariant: what `sign_xml` produces is well-formed, and its Reference digest is the
//! one the verifier computes (the stand-in key's SignatureValue does not verify, but
//! the digest must).
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use qoltanba::xmldsig::{Layout, NS_DSIG, check, sign_xml, verify_xml};

const XPATHS: &[(&str, &str)] = &[("", ""), ("/*/*", ""), ("//*[@Id='part']", "/*"), ("/*/*[2]", "/*/*[1]")];

fuzz_target!(|bytes: &[u8]| {
    static KEY: OnceLock<common::FakeKey> = OnceLock::new();
    let key = KEY.get_or_init(common::FakeKey::new);
    let Ok(text) = std::str::from_utf8(bytes) else { return };

    let mut fields = text.splitn(3, '\0');
    let (paths, xml): (Vec<(&str, &str)>, &str) = match (fields.next(), fields.next(), fields.next()) {
        (Some(tbs), Some(parent), Some(xml)) => (vec![(tbs, parent)], xml),
        _ => (XPATHS.to_vec(), text),
    };

    let _ = verify_xml(xml);
    for (i, (tbs, parent)) in paths.into_iter().enumerate() {
        if check(xml, tbs, parent).is_err() {
            continue;
        }
        let layout = if i % 2 == 0 { Layout::Compact } else { Layout::Santuario };
        let result = sign_xml(key, xml, tbs, parent, layout);
        if !tbs.is_empty() && has_id_bug_characters(xml) {
            continue;
        }
        let signed = match result {
            Ok(signed) => signed,
            Err(e) => panic!("check() accepted the document but sign_xml failed: {e}"),
        };
        let reports = verify_xml(&signed).expect("sign_xml's output parses");
        // Only for documents without signatures of their own: those have their own
        // rules (signatures added later are left out) that this oracle does not model.
        if !xml.contains("Signature") {
            let ours = reports.last().expect("our signature is found");
            let digest_only = ours.problems.iter().all(|p| p.starts_with("SignatureValue") || p.contains("digest"));
            if digest_only && signature_inside_referenced_element(&signed) {
                continue;
            }
            assert!(
                ours.problems.iter().all(|p| p.starts_with("SignatureValue")),
                "our signature fails for another reason than the stand-in value: {:?}\n{signed}",
                ours.problems
            );
        }
    }
});

/// KNOWN BUG (fuzz/support/tests/known_bugs.rs, fuzz/known-bugs/xml/): the Id of the
/// element to sign is written into `<ds:Reference URI="#…">` unescaped, so a value with
/// `"`, `&` or `<` breaks the output or injects markup into SignedInfo. Until
/// src/xmldsig/mod.rs refuses or escapes such Ids, documents with an attribute value
/// like that are not held to the invariants above (they are still signed and parsed).
/// Remove this with the fix.
fn has_id_bug_characters(xml: &str) -> bool {
    // After the XML declaration, as the library reads it.
    let body = xml.trim_start_matches('\u{feff}');
    let body = if body.starts_with("<?xml") { body.split_once("?>").map_or(body, |(_, b)| b) } else { body };
    let Ok(doc) = uppsala::parse(body) else { return false };
    doc.descendants(doc.root())
        .into_iter()
        .filter_map(|n| doc.element(n))
        .any(|e| e.attributes.iter().any(|a| a.value.contains(['"', '&', '<'])))
}

/// KNOWN BUG (fuzz/support/tests/known_bugs.rs, fuzz/known-bugs/xml/): with a Reference
/// by Id, a signature placed inside the element it signs (the parent XPath selects that
/// element or one below it, e.g. tbs `/doc` on `<doc Id="d1">` with the default parent)
/// changes the element after its digest was taken, and there is no
/// enveloped-signature transform to take it out again: the signature never verifies.
/// Until src/xmldsig/mod.rs refuses that layout or adds the transform, such outputs are
/// not held to the digest invariant. Remove this with the fix.
fn signature_inside_referenced_element(signed: &str) -> bool {
    let Ok(doc) = uppsala::parse(signed) else { return false };
    let signatures: Vec<_> = doc
        .descendants(doc.root())
        .into_iter()
        .filter(|n| doc.element(*n).is_some_and(|e| e.name.matches(Some(NS_DSIG), "Signature")))
        .collect();
    let Some(ours) = signatures.last() else { return false };
    doc.ancestors(*ours)
        .into_iter()
        .filter_map(|a| doc.element(a))
        .any(|e| e.attributes.iter().any(|a| signed.contains(&format!("<ds:Reference URI=\"#{}\">", a.value))))
}
