//! XMLDSig as Kalkan makes it: spec §9.3 vectors, xmlsec1 for RSA, Debian's GOST engine
//! over an independently canonicalized SignedInfo (xmllint), our verifier, C14N
//! against xmllint, input safety, co-signing, the three entry points.

mod common;

use std::process::Command;

use common::*;
use serde_json::{Value, json};

const COMMON: &str = "kz.gov.pki.knca.commonUtils";
const GOST_KEY: &str = "nca-test/keys2026/individual.p12";

fn digest_value(xml: &str) -> String {
    let start = xml.find("<ds:DigestValue>").unwrap() + "<ds:DigestValue>".len();
    let end = xml[start..].find("</ds:DigestValue>").unwrap() + start;
    xml[start..end].split_whitespace().collect()
}

async fn sign_xml(ws: &mut Ws, xml: &str, tbs: &str, parent: &str) -> Value {
    ws.request(&json!({"module":COMMON,"method":"signXml","args":["PKCS12","SIGNATURE",xml,tbs,parent]})).await
}

fn our_verdicts(xml: &str) -> Vec<bool> {
    qoltanba::xmldsig::verify_xml(xml).unwrap().iter().map(|r| r.is_valid()).collect()
}

#[tokio::test]
async fn c11_rsa_whole_document_verified_by_xmlsec1() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let reply = sign_xml(&mut ws, "<tag>data</tag>", "", "").await;
    let xml = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(
        xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><tag>data<ds:Signature"#),
        "{xml}"
    );
    assert!(xml.ends_with("</ds:Signature></tag>"));
    assert_eq!(digest_value(xml), "soDZFGIUsZ1x0sK/7x1bJvtGeQsO0BKOVwAvKxC3RJY=");
    for uri in [
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "<ds:X509Certificate>",
    ] {
        assert!(xml.contains(uri), "{uri}");
    }
    assert!(xmlsec_verify(xml, None), "xmlsec1 rejected:\n{xml}");
    assert_eq!(our_verdicts(xml), [true]);
    // One changed character anywhere breaks it, for both verifiers.
    let tampered = xml.replace("<tag>data", "<tag>dbta");
    assert!(!xmlsec_verify(&tampered, None));
    assert_eq!(our_verdicts(&tampered), [false]);
    // Tricky input: namespaces, xml:lang, CRLF, character references, comments.
    let tricky = "<d:doc xmlns:d=\"urn:d\" xmlns=\"urn:default\" xml:lang=\"kk\">\r\n <d:x a=\"1\" b='&#x49;'>&#1178;азақ &amp; &lt;</d:x><!-- note -->\r\n<?pi x?><![CDATA[<raw>]]></d:doc>";
    let reply = sign_xml(&mut ws, tricky, "", "").await;
    let signed = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(xmlsec_verify(signed, None), "xmlsec1 rejected:\n{signed}");
    assert_eq!(our_verdicts(signed), [true]);
}

#[tokio::test]
async fn rsa_by_id_verified_by_xmlsec1() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    let doc = r#"<root><a Id="part"><x>1</x></a><b/></root>"#;
    let reply = sign_xml(&mut ws, doc, "/root/a", "/root").await;
    let xml = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(xml.contains(r##"<ds:Reference URI="#part">"##));
    assert!(xml.contains("http://www.w3.org/2001/10/xml-exc-c14n#"));
    assert!(!xml.contains("enveloped-signature"));
    assert!(xml.ends_with("</ds:Signature></root>"));
    assert!(xmlsec_verify(xml, Some("Id:a")), "{xml}");
    assert_eq!(our_verdicts(xml), [true]);
    // The signature under a self-closing parent chosen by attribute.
    let doc = r#"<env><body Id="b1"><v>2</v></body><sig place="here"/></env>"#;
    let reply = sign_xml(&mut ws, doc, "//body", "/env/sig[@place='here']").await;
    let xml = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(
        xml.contains(r#"<sig place="here"><ds:Signature"#) && xml.ends_with("</ds:Signature></sig></env>"),
        "{xml}"
    );
    assert!(xmlsec_verify(xml, Some("Id:body")));
}

#[tokio::test]
async fn gost_vectors_and_the_gost_engine() {
    let daemon = Daemon::headless(GOST_KEY, "Qwerty12", "confirm");
    let mut ws = daemon.connect(None).await;
    // C12 and the second Kalkan vector.
    for (doc, expected) in [
        (
            "<root><a>1</a><b attr=\"x\">текст</b></root>",
            "OwGFymb5SI2nGFAtd1mm8zLWz9xdA5eID9LUIhk2ZvPmg+ad6o2B2edIxFgU0DlAl55ik3yAL2mCUuaKUOovmQ==",
        ),
        (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ns1:doc xmlns:ns1=\"urn:test\" id=\"d1\"><ns1:item>  spaced  </ns1:item><empty/></ns1:doc>",
            "5t9JrJqeWIw8lMWeu41RX7gTZ7p09FUKEsvjG0vvGY9fhP4Fa2Dlb5lL8kHYyxWnoKp3B4zPC67d46wG2qY+0w==",
        ),
    ] {
        let reply = sign_xml(&mut ws, doc, "", "").await;
        let xml = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
        assert_eq!(digest_value(xml), expected);
        assert!(xml.contains("urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"));
        assert_eq!(our_verdicts(xml), [true]);
        assert_eq!(our_verdicts(&xml.replace("текст", "тексt").replace("spaced", "spacad")), [false]);
        engine_checks_signed_info(xml, GOST_KEY);
    }
    // C13 by Id.
    let reply = sign_xml(&mut ws, r#"<root><a Id="part"><x>1</x></a><b/></root>"#, "/root/a", "/root").await;
    let xml = reply["responseObject"].as_str().unwrap();
    assert_eq!(
        digest_value(xml),
        "xn15kznLY7oPAScRZOlhSGI3n9EyYKF5gnIWMLwhCKTg4na9dgU0zaS1dlMKLCoJFwLzYXbgXC5ERM4kFDssag=="
    );
    assert_eq!(our_verdicts(xml), [true]);
}

#[tokio::test]
async fn unsafe_or_broken_xml_is_refused_before_any_dialog() {
    // The prompter cancels: an answer other than action.canceled shows no dialog was opened.
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "cancel");
    let mut ws = daemon.connect(None).await;
    for bad in [
        "<this>is not a valid XML",
        r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#,
        r#"<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>"#,
        r#"<!DOCTYPE r SYSTEM "http://example.kz/r.dtd"><r/>"#,
    ] {
        let reply = sign_xml(&mut ws, bad, "", "").await;
        assert_eq!(reply["code"], "500", "{bad}");
        assert_ne!(reply["message"], "action.canceled", "{bad}: must be refused before the dialog");
    }
    let reply = sign_xml(&mut ws, "<this>is not a valid XML", "", "").await;
    assert!(reply["message"].as_str().unwrap().starts_with("org.xml.sax.SAXParseException"));
    let reply = sign_xml(&mut ws, "<a/>", "/nope", "").await;
    assert!(reply["message"].as_str().unwrap().contains("selects no element"));
    // An internal DOCTYPE that only declares ID attributes is fine (and reaches the dialog).
    let ids = r#"<!DOCTYPE doc [<!ATTLIST a id ID #IMPLIED>]><doc><a id="x">1</a></doc>"#;
    assert_eq!(sign_xml(&mut ws, ids, "", "").await["message"], "action.canceled");
}

#[tokio::test]
async fn co_signing_keeps_the_first_signature_valid() {
    let rsa = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let gost = Daemon::headless(GOST_KEY, "Qwerty12", "confirm");
    let mut ws = rsa.connect(None).await;
    let once = sign_xml(&mut ws, "<contract><party>A</party></contract>", "", "").await;
    let once = once["responseObject"].as_str().unwrap().to_owned();
    let mut ws = gost.connect(None).await;
    let twice = sign_xml(&mut ws, &once, "", "").await;
    let twice = twice["responseObject"].as_str().unwrap_or_else(|| panic!("{twice}"));
    assert_eq!(twice.matches("<ds:Signature ").count(), 2);
    assert_eq!(our_verdicts(twice), [true, true]);
    let (_, text) = verify_cli(twice);
    assert_eq!(text.matches("signature     ok ").count(), 2, "both intact: {text}");
    let (code, text) = verify_cli(&twice.replace("<party>A", "<party>B"));
    assert_eq!(code, 1);
    assert!(text.contains("digest does not match"), "{text}");
}

fn verify_cli(xml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.xml");
    std::fs::write(&path, xml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["verify", "xml", "--offline"])
        .arg(&path)
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn sign_xmls_basics_and_legacy() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "confirm");
    let mut ws = daemon.connect(None).await;
    // C14: signXmls, in order.
    let reply = ws
        .request(
            &json!({"module":COMMON,"method":"signXmls","args":["PKCS12","SIGNATURE",["<a>1</a>","<b>2</b>"],"",""]}),
        )
        .await;
    let docs = reply["responseObject"].as_array().unwrap_or_else(|| panic!("{reply}"));
    assert!(
        docs[0].as_str().unwrap().contains("<a>1<ds:Signature")
            && docs[1].as_str().unwrap().contains("<b>2<ds:Signature")
    );
    assert!(docs.iter().all(|d| xmlsec_verify(d.as_str().unwrap(), None)));
    // B9, B10: basics xml: always an array, compact layout.
    for (data, count) in [(json!("<tag>data</tag>"), 1), (json!(["<a>1</a>", "<b/>"]), 2)] {
        let reply = ws
            .request(&json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"xml","data":data,
                "signingParams":{"allowExpired":true},"signerParams":{"extKeyUsageOids":[],"chain":[]}}}))
            .await;
        let result = reply["body"]["result"].as_array().unwrap_or_else(|| panic!("{reply}"));
        assert_eq!(result.len(), count);
        let first = result[0].as_str().unwrap();
        assert!(!first.contains('\n'), "compact layout");
        assert!(xmlsec_verify(first, None));
        if count == 1 {
            assert_eq!(digest_value(first), "soDZFGIUsZ1x0sK/7x1bJvtGeQsO0BKOVwAvKxC3RJY=");
        }
    }
    // Legacy signXml / signXmlByElementId / verifyXml.
    let rsa = fixture(RSA_KEY).to_str().unwrap().to_owned();
    let alias = "e3fe35adda3b45cbea3a3f1ed48f263dc55c556e";
    let reply = ws.request(&json!({"method":"signXml","args":["PKCS12",rsa,alias,PASSWORD,"<doc>x</doc>"]})).await;
    let signed = reply["result"].as_str().unwrap_or_else(|| panic!("{reply}")).to_owned();
    assert!(xmlsec_verify(&signed, None));
    assert_eq!(
        ws.request(&json!({"method":"verifyXml","args":[signed]})).await,
        json!({"result":true,"errorCode":"NONE"})
    );
    let changed = signed.replace("<doc>x", "<doc>y");
    assert_eq!(ws.request(&json!({"method":"verifyXml","args":[changed]})).await["result"], false);
    let reply = ws
        .request(&json!({"method":"signXmlByElementId","args":["PKCS12",rsa,alias,PASSWORD,
            "<root><data Id=\"d\">v</data></root>","data","Id",""]}))
        .await;
    let by_id = reply["result"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(by_id.contains("URI=\"#d\""));
    assert!(xmlsec_verify(by_id, Some("Id:data")));
}

/// Our canonicalization against libxml2's (xmllint), with comments, inclusive and
/// exclusive, on documents that trip canonicalizers.
#[test]
fn c14n_matches_xmllint_on_tricky_documents() {
    use bergshamra_c14n::C14nMode;
    let corpus = [
        "<a xmlns=\"urn:x\"><b xmlns=\"urn:x\"><c xmlns=\"\"/></b></a>",
        "<p:a xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"><p:b xmlns:p=\"urn:p2\" q:attr=\"1\"/></p:a>",
        "<a z=\"1\" a=\"2\" xmlns:b=\"urn:b\" b:y=\"3\" xmlns:a=\"urn:a\" a:y=\"4\"/>",
        "<a><![CDATA[<x> & y]]></a>",
        "<a attr=\"&#9;&#10;&#13; &lt;&quot;&amp;\">&#13;&#x41;&gt;</a>",
        "<a>\n  <b>  text  </b>\n\t</a>",
        "<!-- before --><a><!-- inside --><b/></a><!-- after -->",
        "<?pi before?><a><?pi inside data ?></a>",
        "<a xml:lang=\"kk\" xml:space=\"preserve\"><b xml:lang=\"ru\">қ</b></a>",
        "<!DOCTYPE a [<!ATTLIST a id ID #IMPLIED>]><a id=\"1\"/>",
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, doc) in corpus.iter().enumerate() {
        let path = dir.path().join(format!("{i}.xml"));
        std::fs::write(&path, doc).unwrap();
        for (flag, mode) in
            [("--c14n", C14nMode::InclusiveWithComments), ("--exc-c14n", C14nMode::ExclusiveWithComments)]
        {
            let libxml = Command::new("xmllint").arg(flag).arg(&path).output().unwrap().stdout;
            let ours = bergshamra_c14n::canonicalize::<&str>(doc, mode, None, &[]).unwrap();
            assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&libxml), "{flag} on {doc}");
        }
    }
}

#[test]
fn verify_xml_command_exit_codes() {
    let (code, text) = verify_cli("<a/>");
    assert_eq!(code, 1, "no signature: {text}");
    let (code, _) = verify_cli("<a>");
    assert_eq!(code, 2);
}

#[tokio::test]
async fn gost2004_xml_signature() {
    let daemon = Daemon::headless("nca-test/keys/gost2004_ceo.p12", "Qwerty12", "confirm");
    let mut ws = daemon.connect(None).await;
    let reply = sign_xml(&mut ws, "<doc><v>2004</v></doc>", "", "").await;
    let xml = reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(xml.contains("http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"));
    assert!(xml.contains("http://www.w3.org/2001/04/xmldsig-more#gost34311"));
    assert_eq!(our_verdicts(xml), [true]);
    assert_eq!(our_verdicts(&xml.replace("<v>2004", "<v>2005")), [false]);
}

fn rsa_key() -> Box<dyn qoltanba::keys::SigningKey> {
    qoltanba::keys::load_key_file(&fixture(RSA_KEY), PASSWORD).unwrap().remove(0)
}

/// Found by the `xml` fuzz target: an Id with `&` was written into `Reference URI`
/// unescaped, so a document `check` accepted failed after the user had confirmed.
#[test]
fn an_id_with_an_ampersand_is_signed_and_verifies() {
    use qoltanba::xmldsig::{Layout, check, sign_xml, verify_xml};
    let doc = r#"<root><a Id="&amp;">x</a></root>"#;
    assert!(check(doc, "/root/a", "").is_ok());
    let signed = sign_xml(rsa_key().as_ref(), doc, "/root/a", "", Layout::Compact).unwrap();
    assert!(signed.contains(r##"URI="#&amp;""##), "{signed}");
    assert!(verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
}

/// Found by the `xml` fuzz target: a page chose an Id whose value, unescaped, closed the
/// Reference and added markup of its own to SignedInfo (here a second Reference to an
/// outside document with a digest of the page's choice), which the user's key signed.
#[test]
fn an_id_cannot_inject_markup_into_signed_info() {
    use qoltanba::xmldsig::{Layout, sign_xml, verify_xml};
    let id = concat!(
        r##"x"/><ds:Reference URI="https://example.com/other-contract.pdf"><ds:DigestMethod "##,
        r##"Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>"##,
        r##"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></ds:Reference><ds:Reference URI="#x"##
    );
    let escaped = id.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let doc = format!(r#"<root><a Id="{escaped}">pay 1 tenge</a><b Id="x"/></root>"#);
    // Refused (an Id with spaces cannot be referenced), or signed as one Reference.
    if let Ok(signed) = sign_xml(rsa_key().as_ref(), &doc, "/root/a", "/root", Layout::Compact) {
        assert!(!signed.contains("other-contract.pdf\">"), "markup from the Id was signed:\n{signed}");
        assert_eq!(signed.matches("<ds:Reference ").count(), 1, "{signed}");
    }
    // Without spaces the Id is signed, escaped, and the markup stays an attribute value.
    let id = r#"x"/><ds:Reference/><ds:Transforms/><y"#;
    let escaped = id.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let doc = format!(r#"<root><a Id="{escaped}">pay 1 tenge</a></root>"#);
    let signed = sign_xml(rsa_key().as_ref(), &doc, "/root/a", "/root", Layout::Compact).unwrap();
    assert_eq!(signed.matches("<ds:Reference ").count(), 1, "{signed}");
    assert!(verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
}

/// Found by the `xml` fuzz target: signing an element by Id with the signature inside
/// that element (the default parent is the root) produced a signature that never
/// verified; it now carries the enveloped-signature transform, and xmlsec1 agrees.
#[test]
fn a_signature_inside_the_element_it_signs_verifies() {
    use qoltanba::xmldsig::{Layout, sign_xml, verify_xml};
    let doc = r#"<doc Id="d1"><v>1</v></doc>"#;
    let signed = sign_xml(rsa_key().as_ref(), doc, "/doc", "", Layout::Santuario).unwrap();
    assert!(signed.contains("enveloped-signature"), "{signed}");
    assert!(verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
    assert!(xmlsec_verify(&signed, Some("Id:doc")));
}
