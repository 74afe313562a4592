//! XML from pages (`signXml`, basics `format:"xml"`, `qoltanba verify xml`): the
//! parser policy (`xmldsig::check`, which parses), the XPath subset, `verify_xml`, and
//! `sign_xml` with a stand-in key.
//!
//! Input: an XML document, optionally preceded by `TBS_XPATH \0 PARENT_XPATH \0`; without
//! that header a few fixed XPath pairs are tried.
//!
//! Invariant: what `sign_xml` produces is well-formed, and its Reference digest is the
//! one the verifier computes (the stand-in key's SignatureValue does not verify, but
//! the digest must). The same for `sign_xades_bes` (whole documents), whose XAdES
//! properties must also pass the verifier's checks.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use qoltanba::xmldsig::{Layout, check, sign_xades_bes, sign_xml, verify_xml};

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
        let signed = match result {
            Ok(signed) => signed,
            Err(e) => panic!("check() accepted the document but sign_xml failed: {e}"),
        };
        only_the_stand_in_value_fails(xml, &signed);
        if tbs.is_empty() && parent.is_empty() {
            let xades = sign_xades_bes(xml, key, std::time::UNIX_EPOCH)
                .unwrap_or_else(|e| panic!("check() accepted the document but sign_xades_bes failed: {e}"));
            only_the_stand_in_value_fails(xml, &xades.into_xml());
        }
    }
});

/// `signed` (`xml` signed with the stand-in key) parses, and our signature, the last,
/// fails only for the stand-in SignatureValue. Only for documents without signatures of
/// their own: those have their own rules (signatures added later are left out) that
/// this oracle does not model.
fn only_the_stand_in_value_fails(xml: &str, signed: &str) {
    let reports = verify_xml(signed).expect("the signed output parses");
    if !xml.contains("Signature") {
        let ours = reports.last().expect("our signature is found");
        assert!(
            ours.problems.iter().all(|p| p.starts_with("SignatureValue")),
            "our signature fails for another reason than the stand-in value: {:?}\n{signed}",
            ours.problems
        );
    }
}
