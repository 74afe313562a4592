//! Hostile pages (issue 9, item 4): XML that used to freeze the daemon. XPath selection
//! and verification are linear in the document, bounded, and still agree with xmlsec1.
//!
//! Timings are asserted with loose bounds (debug build, busy machine); the quadratic
//! code took minutes on the same inputs. `measure_release` prints the figures quoted
//! in the issue: `cargo test --release --test xml_scaling -- --ignored --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use qoltanba::keys::SigningKey;
use qoltanba::xmldsig::{self, Layout};

const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

fn rsa_key() -> Box<dyn SigningKey> {
    qoltanba::keys::load_key_file(&fixture(RSA_KEY), PASSWORD).unwrap().remove(0)
}

/// `<r>` with a `<head>` and `count` `<e Id="e{i}" n="{i}"><v>{i}</v></e>` siblings.
fn wide(count: usize) -> String {
    let mut xml = String::from("<r><head><x/></head>");
    for i in 0..count {
        xml.push_str(&format!("<e Id=\"e{i}\" n=\"{i}\"><v>{i}</v></e>"));
    }
    xml.push_str("</r>");
    xml
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

#[test]
fn xpath_on_two_mebibytes_costs_little_more_than_parsing() {
    let xml = wide(70_000);
    assert!(xml.len() > 2 << 20, "{}", xml.len());
    // Parsing alone (no XPath) is the baseline; selection adds well under a second
    // even unoptimised. The quadratic selection took minutes here.
    let (parsed, baseline) = timed(|| xmldsig::check(&xml, "", ""));
    parsed.unwrap();
    for path in ["//*", "/r/e[70000]", "//*//*[@n='none']"] {
        let (result, elapsed) = timed(|| xmldsig::check(&xml, "", path));
        let extra = elapsed.saturating_sub(baseline);
        assert!(extra < Duration::from_secs(2), "{path}: {elapsed:?} against {baseline:?} to parse");
        if path.contains("none") {
            assert!(result.unwrap_err().to_string().contains("selects no element"));
        } else {
            result.unwrap();
        }
    }
}

#[test]
fn selections_on_a_wide_document_land_where_they_did_and_xmlsec1_agrees() {
    let key = rsa_key();
    let xml = wide(20_000);
    // `[n]` among 20 000 siblings, `//` with an attribute predicate, the document element by `//*`.
    let signed = xmldsig::sign_xml(&*key, &xml, "/r/e[15000]", "//*[@n='17']", Layout::Santuario).unwrap();
    assert!(signed.contains(r##"<ds:Reference URI="#e14999">"##), "the 15000th <e>");
    assert!(signed.contains("<v>17</v><ds:Signature"), "inside <e n=\"17\">");
    assert!(xmlsec_verify(&signed, Some("Id:e")));
    assert!(xmldsig::verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
    let signed = xmldsig::sign_xml(&*key, &xml, "//e[20000]", "//*", Layout::Compact).unwrap();
    assert!(signed.contains(r##"<ds:Reference URI="#e19999">"##));
    assert!(signed.ends_with("</ds:Signature></r>"), "under the document element");
    assert!(xmlsec_verify(&signed, Some("Id:e")));
    assert!(xmldsig::verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
    // The whole document, the way pages sign most often.
    let signed = xmldsig::sign_xml(&*key, &xml, "", "", Layout::Santuario).unwrap();
    assert!(xmlsec_verify(&signed, None));
    assert!(xmldsig::verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
}

#[test]
fn nesting_deeper_than_the_parser_allows_is_a_clean_error() {
    // Canonicalization recurses per level: run with the daemon's thread stack (8 MiB).
    std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(nesting_at_and_past_the_limit)
        .unwrap()
        .join()
        .unwrap();
}

fn nesting_at_and_past_the_limit() {
    // The parser stops at 256 levels; 10 000 is refused without recursion trouble.
    let deep = format!("{}{}", "<d>".repeat(10_000), "</d>".repeat(10_000));
    let e = xmldsig::check(&deep, "", "//*").unwrap_err().to_string();
    assert!(e.starts_with("org.xml.sax.SAXParseException") && e.contains("depth"), "{e}");
    assert!(xmldsig::verify_xml(&deep).unwrap_err().to_string().contains("depth"));
    let too_deep = format!("{}{}", "<d>".repeat(257), "</d>".repeat(257));
    assert!(xmldsig::check(&too_deep, "", "").is_err());
    // At the limit: the innermost element signed by Id, the signature (five levels
    // deep itself) five levels up.
    let depth = 255;
    let at_limit = format!("{}<i Id=\"in\">x</i>{}", "<d>".repeat(depth), "</d>".repeat(depth));
    let key = rsa_key();
    let path = "/d".repeat(depth - 5);
    let (signed, elapsed) =
        timed(|| xmldsig::sign_xml(&*key, &at_limit, "//*//*//*//*//*//*//*//*//i", &path, Layout::Compact));
    let signed = signed.unwrap();
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(signed.contains(&format!("<i Id=\"in\">x</i>{}<ds:Signature", "</d>".repeat(5))));
    assert!(xmlsec_verify(&signed, Some("Id:i")));
    assert!(xmldsig::verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
}

/// A document of `items` elements `<item Id="i{k}">` (each with `filler` empty elements)
/// and one RSA signature with a Reference to each, by exclusive C14N. Built by hand:
/// items and SignedInfo are written in canonical form, so the digests and the signed
/// bytes are plain SHA-256 of the text, independent of our canonicalizer.
fn multi_reference_document(key: &dyn SigningKey, items: usize, filler: usize) -> String {
    let mut body = String::new();
    let mut signed_info = format!(
        "<ds:SignedInfo xmlns:ds=\"{NS_DSIG}\"><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"></ds:SignatureMethod>"
    );
    for k in 0..items {
        let item = format!("<item Id=\"i{k}\"><v>{k}</v>{}</item>", "<f></f>".repeat(filler));
        signed_info.push_str(&format!(
            "<ds:Reference URI=\"#i{k}\"><ds:Transforms><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference>",
            b64(&qoltanba::crypto::sha256(item.as_bytes()))
        ));
        body.push_str(&item);
        body.push('\n');
    }
    signed_info.push_str("</ds:SignedInfo>");
    let value = key.sign(signed_info.as_bytes()).unwrap();
    format!(
        "<doc>\n{body}<ds:Signature xmlns:ds=\"{NS_DSIG}\">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature></doc>",
        b64(&value),
        b64(key.certificate().der())
    )
}

#[test]
fn five_hundred_references_verify_in_bounded_time() {
    let key = rsa_key();
    let xml = multi_reference_document(&*key, 500, 20);
    assert!(xmlsec_verify(&xml, Some("Id:item")), "the hand-made document is valid for xmlsec1");
    let (reports, elapsed) = timed(|| xmldsig::verify_xml(&xml).unwrap());
    assert_eq!(reports.len(), 1);
    assert!(reports[0].is_valid(), "{:?}", reports[0].problems);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // One referenced element altered: exactly that Reference fails, for both verifiers.
    let altered = xml.replace("<v>321</v>", "<v>322</v>");
    assert_ne!(altered, xml);
    let reports = xmldsig::verify_xml(&altered).unwrap();
    assert_eq!(reports[0].problems.len(), 1, "{:?}", reports[0].problems);
    assert!(reports[0].problems[0].contains("\"#i321\": the digest does not match"), "{:?}", reports[0].problems);
    assert!(!xmlsec_verify(&altered, Some("Id:item")));
    // Two elements claiming the same Id: the first in document order is the one signed.
    let decoy = xml.replacen("<item Id=\"i0\">", "<item Id=\"i7\"><v>decoy</v></item><item Id=\"i0\">", 1);
    assert!(!xmldsig::verify_xml(&decoy).unwrap()[0].is_valid());
}

#[test]
fn many_references_to_one_element_are_canonicalized_once() {
    // 1000 References (the limit) to one element of 100 000 elements: one canonicalization.
    let key = rsa_key();
    let one = multi_reference_document(&*key, 1, 100_000);
    let start = one.find("<ds:Reference ").unwrap();
    let end = one.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let reference = &one[start..end];
    let many = one.replacen(reference, &reference.repeat(1000), 1);
    let (reports, elapsed) = timed(|| xmldsig::verify_xml(&many).unwrap());
    // SignedInfo changed, so the signature value no longer matches; the digests do.
    assert_eq!(reports[0].problems.len(), 1, "{:?}", reports[0].problems);
    assert!(reports[0].problems[0].starts_with("SignatureValue"), "{:?}", reports[0].problems);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let too_many = one.replacen(reference, &reference.repeat(1001), 1);
    let e = xmldsig::verify_xml(&too_many).unwrap_err().to_string();
    assert!(e.contains("more than 1000 References"), "{e}");
}

#[test]
fn many_co_signatures_verify() {
    // Whole-document signatures added one after another: each leaves out itself and the
    // later ones, so each is checked over the document as it was signed.
    let key = rsa_key();
    let mut xml = wide(500);
    for _ in 0..30 {
        xml = xmldsig::sign_xml(&*key, &xml, "", "", Layout::Compact).unwrap();
    }
    let (reports, elapsed) = timed(|| xmldsig::verify_xml(&xml).unwrap());
    assert_eq!(reports.len(), 30);
    assert!(reports.iter().all(|r| r.is_valid()));
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let changed = xml.replacen("<v>250</v>", "<v>251</v>", 1);
    assert!(xmldsig::verify_xml(&changed).unwrap().iter().all(|r| !r.is_valid()));
}

/// The best of five runs of `f`.
fn best_of_five(mut f: impl FnMut()) -> Duration {
    (0..5).map(|_| timed(&mut f).1).min().unwrap_or_default()
}

/// Release-mode figures for the issue (ignored by default; see the module comment).
#[test]
#[ignore]
fn measure_release() {
    // The issue's shape: 600 KiB of small elements, `//*`.
    let xml = format!("<r>{}</r>", "<a/>".repeat(150_000));
    println!("select: {} KiB, 150 001 elements", xml.len() / 1024);
    let parse = best_of_five(|| xmldsig::check(&xml, "", "").unwrap());
    for path in ["//*", "/r/a[150000]", "//a[@n='none']"] {
        let total = best_of_five(|| drop(xmldsig::check(&xml, "", path)));
        println!("select {path}: {total:?} with parsing, parsing alone {parse:?}");
    }
    let key = rsa_key();
    for (items, filler) in [(200, 0), (200, 370)] {
        let doc = multi_reference_document(&*key, items, filler);
        assert!(xmldsig::verify_xml(&doc).unwrap()[0].is_valid());
        let total = best_of_five(|| drop(xmldsig::verify_xml(&doc)));
        let parse = best_of_five(|| xmldsig::check(&doc, "", "").unwrap());
        println!(
            "verify {items} References, {} KiB, {} elements: {total:?} (parsing alone {parse:?})",
            doc.len() / 1024,
            items * (filler + 2) + 1
        );
    }
}
