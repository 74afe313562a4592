//! What the confirmation shows about each document: decided here, in one place, from
//! exactly what will be signed.

use der::{Decode, Encode};

use crate::keys::certificate::hex;
use crate::ui::{DocumentSummary, Shown};

/// Characters of a text document shown in the confirmation.
const PREVIEW_CHARS: usize = 300;

/// Describe `data` for the user: its start if it is text, else that it is binary.
pub fn summarize(data: &[u8]) -> DocumentSummary {
    DocumentSummary { size: data.len() as u64, shown: shown_data(data) }
}

fn shown_data(data: &[u8]) -> Shown {
    match text_shown(data) {
        // A PDF is binary; text that starts like one is shown as the text it is.
        Shown::Binary if data.starts_with(b"%PDF-") => Shown::Pdf { pages: pdf_pages(data) },
        shown => shown,
    }
}

fn text_shown(data: &[u8]) -> Shown {
    // Only the start is needed: never decode a whole large document for a preview.
    let head = &data[..data.len().min(PREVIEW_CHARS * 4 + 4)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A multi-byte character cut at the end of the head is fine.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Shown::Binary,
    };
    if text.chars().any(|c| c.is_control() && !c.is_whitespace()) || (text.is_empty() && !data.is_empty()) {
        return Shown::Binary;
    }
    let preview: String = text.chars().take(PREVIEW_CHARS).collect();
    Shown::Text { truncated: preview.len() < data.len(), preview }
}

/// Bytes of an XML document read for its summary.
const XML_HEAD: usize = 64 * 1024;

/// Fields of an XML document shown in the confirmation.
const XML_FIELDS: usize = 12;

/// Characters of one XML field's value shown.
const XML_VALUE_CHARS: usize = 80;

/// Describe an XML document: its root element and its first fields with values
/// (element name and text of leaf elements: IIN/BIN, amounts, dates...), read from its
/// start only. Falls back to a text preview when no element is found.
pub fn summarize_xml(xml: &str) -> DocumentSummary {
    let mut end = xml.len().min(XML_HEAD);
    while !xml.is_char_boundary(end) {
        end -= 1;
    }
    let head = &xml[..end];
    let (root, fields, complete) = xml_fields(head);
    match root {
        Some(root) => DocumentSummary {
            size: xml.len() as u64,
            shown: Shown::Xml { root, truncated: !complete || head.len() < xml.len(), fields },
        },
        None => summarize(xml.as_bytes()),
    }
}

/// Where the markup that starts at `after` (just past a `<`) ends: the index just past
/// its end, read as the XML parser reads it (comments to `-->`, processing
/// instructions to `?>`, CDATA to `]]>`, a DOCTYPE's internal subset to `]>`, a tag to
/// the first `>` outside quotes). `None` if it does not end in `after`.
fn markup_end(after: &str) -> Option<usize> {
    let until = |close: &str| after.find(close).map(|e| e + close.len());
    if after.starts_with("!--") {
        return until("-->");
    }
    if after.starts_with('?') {
        return until("?>");
    }
    if after.starts_with("![CDATA[") {
        return until("]]>");
    }
    if after.starts_with('!') {
        let bracket = after.find('[');
        let gt = after.find('>')?;
        return match bracket {
            Some(b) if b < gt => until("]>"),
            _ => Some(gt + 1),
        };
    }
    let mut quote = None;
    for (i, c) in after.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The root element's name, the first leaf fields, and whether they are all of them.
/// A leaf holding anything but text (a comment, CDATA, a child) is not shown.
fn xml_fields(text: &str) -> (Option<String>, Vec<(String, String)>, bool) {
    let local = |name: &str| name.rsplit(':').next().unwrap_or(name).to_owned();
    let mut root = None;
    let mut fields = Vec::new();
    // The element whose start was seen last, while nothing but text followed it.
    let mut open_leaf: Option<(String, usize)> = None;
    let mut offset = 0;
    while let Some(lt) = text[offset..].find('<') {
        let tag_start = offset + lt;
        let after = &text[tag_start + 1..];
        let Some(len) = markup_end(after) else { return (root, fields, false) };
        offset = tag_start + 1 + len;
        let markup = &after[..len];
        if markup.starts_with('!') || markup.starts_with('?') {
            open_leaf = None;
            continue;
        }
        let tag = markup.trim_end_matches('>');
        if let Some(name) = tag.strip_prefix('/') {
            if let Some((open, text_start)) = open_leaf.take()
                && open == local(name.trim())
            {
                let value = unescape(&text[text_start..tag_start]);
                let value: String = value.split_whitespace().collect::<Vec<_>>().join(" ");
                if !value.is_empty() {
                    fields.push((open, value.chars().take(XML_VALUE_CHARS).collect()));
                    if fields.len() == XML_FIELDS {
                        return (root, fields, false);
                    }
                }
            }
        } else {
            let name = local(tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or_default());
            if root.is_none() {
                root = Some(name.clone());
            }
            open_leaf = (!tag.ends_with('/')).then_some((name, offset));
        }
    }
    (root, fields, true)
}

/// XML's five predefined entities (others are shown as written).
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// Pages of a PDF, counted cheaply, only when two readings agree: the `/Type /Page`
/// objects and the largest `/Count` of a `/Type /Pages` node (the page tree's root).
/// `None` otherwise (pages in compressed object streams, decoys, incremental updates):
/// no number is better than a wrong one.
fn pdf_pages(data: &[u8]) -> Option<usize> {
    let skip_space = |b: &[u8]| b.iter().position(|c| !b" \t\r\n".contains(c)).map_or(0, |i| i);
    let (mut pages, mut count) = (0usize, None::<usize>);
    let mut rest = data;
    while let Some(at) = find(rest, b"/Type") {
        rest = &rest[at + 5..];
        let value = &rest[skip_space(rest)..];
        if !value.starts_with(b"/Page") {
            continue;
        }
        match value.get(5) {
            Some(b's') if !value.get(6).is_some_and(u8::is_ascii_alphanumeric) => {
                // The node's own dictionary holds its /Count; look a little around.
                let near = &rest[..rest.len().min(512)];
                let n = find(near, b"/Count").and_then(|c| {
                    let digits = &near[c + 6..];
                    let digits = &digits[skip_space(digits)..];
                    let len = digits.iter().take_while(|d| d.is_ascii_digit()).count();
                    std::str::from_utf8(&digits[..len.min(9)]).ok()?.parse::<usize>().ok()
                });
                count = count.max(n);
            }
            Some(c) if c.is_ascii_alphanumeric() => {}
            _ => pages += 1,
        }
    }
    (pages > 0 && count == Some(pages)).then_some(pages)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A hash the page computed: the user cannot see the document.
pub fn summarize_digest(digest: &[u8]) -> DocumentSummary {
    DocumentSummary { size: digest.len() as u64, shown: Shown::BlindHash { hex: hex(digest) } }
}

/// The hash algorithm an OID names, for people.
fn hash_name(oid: &der::asn1::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "2.16.840.1.101.3.4.2.1" => "SHA-256".into(),
        "1.3.14.3.2.26" => "SHA-1".into(),
        "1.2.398.3.10.1.3.1" => "GOST 34.311-95".into(),
        "1.2.398.3.10.1.3.2" => "GOST 34.11-2015 (256)".into(),
        "1.2.398.3.10.1.3.3" => "GOST 34.11-2015 (512)".into(),
        other => other.into(),
    }
}

/// An existing CMS the user's signature is added to. Attached content is shown like
/// any document; for a detached CMS the user signs a hash its signers claim, which is a
/// blind signature: every (algorithm, hash) the user's key could sign is shown, and a
/// CMS whose signers claim different hashes under one algorithm is refused (the user
/// could not tell which one is signed).
pub fn summarize_cosign(sd: &cms::signed_data::SignedData) -> Result<DocumentSummary, &'static str> {
    let signers = sd.signer_infos.0.len();
    let content = sd
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|e| e.to_der().ok())
        .and_then(|der| der::asn1::OctetString::from_der(&der).ok());
    if let Some(bytes) = content {
        let inner = summarize(bytes.as_bytes());
        return Ok(DocumentSummary {
            size: inner.size,
            shown: Shown::CoSign { signers, content: Box::new(inner.shown) },
        });
    }
    let mut claims: Vec<(der::asn1::ObjectIdentifier, Vec<u8>)> = Vec::new();
    for si in sd.signer_infos.0.iter() {
        let Some(digest) = crate::cms::message_digest(si) else { continue };
        match claims.iter().find(|(alg, _)| *alg == si.digest_alg.oid) {
            Some((_, known)) if *known != digest => return Err("the signers of this CMS claim different hashes"),
            Some(_) => {}
            None => claims.push((si.digest_alg.oid, digest)),
        }
    }
    let shown = claims.iter().map(|(alg, d)| format!("{} {}", hash_name(alg), hex(d))).collect::<Vec<_>>().join("; ");
    let size = claims.first().map(|(_, d)| d.len() as u64).unwrap_or(0);
    Ok(DocumentSummary { size, shown: Shown::CoSign { signers, content: Box::new(Shown::BlindHash { hex: shown }) } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_shows_its_page_count() {
        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n3 0 obj << /Type /Page >> endobj\n4 0 obj <</Type/Page/Parent 2 0 R>> endobj\n%%EOF";
        // Real PDFs are binary: a comment line of high bytes follows the header.
        let pdf = [&b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"[..], &pdf[9..]].concat();
        assert_eq!(summarize(&pdf).shown, Shown::Pdf { pages: Some(2) });
        // A decoy page outside the tree: the readings disagree, no number is shown.
        let decoy = [&pdf[..], b"9 0 obj << /Type /Page >> endobj"].concat();
        assert_eq!(summarize(&decoy).shown, Shown::Pdf { pages: None });
        assert_eq!(summarize(b"%PDF-1.5\n%\xe2\xe3 compressed").shown, Shown::Pdf { pages: None });
        // Text that starts like a PDF is shown as text.
        assert!(matches!(summarize(b"%PDF- this is a letter").shown, Shown::Text { .. }));
    }

    #[test]
    fn xml_shows_its_root_and_first_fields() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- c --><ns:Order xmlns:ns=\"u\"><ns:IIN>123456789011</ns:IIN>\
                   <Payer><Name>ТОО «Қолтаңба»</Name><Amount currency=\"KZT\">1&#160;250 &amp; 00</Amount></Payer><Empty/><Date>\n 2026-12-31 </Date></ns:Order>";
        let Shown::Xml { root, fields, truncated } = summarize_xml(xml).shown else { panic!() };
        assert_eq!(root, "Order");
        assert!(!truncated);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("IIN", "123456789011"),
                ("Name", "ТОО «Қолтаңба»"),
                ("Amount", "1&#160;250 & 00"),
                ("Date", "2026-12-31")
            ]
        );
        // Many fields: the first ones, marked as more.
        let many = format!("<r>{}</r>", (0..50).map(|i| format!("<f{i}>{i}</f{i}>")).collect::<String>());
        let Shown::Xml { fields, truncated, .. } = summarize_xml(&many).shown else { panic!() };
        assert_eq!(fields.len(), XML_FIELDS);
        assert!(truncated);
        // What the parser skips is skipped here too: no fields from inside processing
        // instructions, comments or CDATA, and a `>` in an attribute ends nothing.
        let tricky = "<?x ><IIN>870101300123</IIN>?><R><!-- <IIN>1</IIN> --><IIN a=\">decoy\">real</IIN><X><![CDATA[<BIN>2</BIN>]]></X></R>";
        let Shown::Xml { root, fields, .. } = summarize_xml(tricky).shown else { panic!() };
        assert_eq!(root, "R");
        assert_eq!(fields, [("IIN".to_owned(), "real".to_owned())]);
        // A multi-byte character across the 64 KiB mark: no panic.
        for pad in 0..4 {
            let big = format!("<r>{}{}</r>", "a".repeat(XML_HEAD - 3 + pad), "ә".repeat(10));
            let _ = summarize_xml(&big);
        }
        // Not XML at all, or broken: still a text preview, never a panic.
        assert!(matches!(summarize_xml("plain").shown, Shown::Text { .. }));
        for broken in ["<", "<a", "<a><b>x</", "<!--", "<?x", "<a>ә</a", "</>", "<a>x</b>"] {
            let _ = summarize_xml(broken);
        }
    }

    #[test]
    fn text_is_previewed_binary_is_described() {
        assert_eq!(summarize(b"11\n").shown, Shown::Text { preview: "11\n".into(), truncated: false });
        assert_eq!(summarize(&[0, 1, 2]).shown, Shown::Binary);
        let long = "ә".repeat(400);
        match summarize(long.as_bytes()).shown {
            Shown::Text { preview, truncated } => assert!(truncated && preview.chars().count() == PREVIEW_CHARS),
            other => panic!("{other:?}"),
        }
        assert_eq!(summarize_digest(&[0xab, 0x01]).shown, Shown::BlindHash { hex: "ab01".into() });
    }

    fn key(name: &str) -> Box<dyn crate::keys::SigningKey> {
        let password = if name.starts_with("gost2015") { "Aa123456" } else { "Qwerty12" };
        let path = format!("{}/tests/fixtures/nca-test/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        crate::keys::file::load_key_bytes(&std::fs::read(path).unwrap(), password).unwrap().remove(0)
    }

    /// Detached CMS with one signer per (key, hash), merged into one SignedData.
    fn merged(signers: &[(&str, &[u8])]) -> cms::signed_data::SignedData {
        use crate::cms::{Content, parse_signed_data, sign_cades_bes};
        let now = std::time::SystemTime::now();
        let mut all: Option<cms::signed_data::SignedData> = None;
        for (name, digest) in signers {
            let one =
                parse_signed_data(&sign_cades_bes(key(name).as_ref(), Content::Digest(digest), now).unwrap()).unwrap();
            match all.as_mut() {
                None => all = Some(one),
                Some(sd) => {
                    for si in one.signer_infos.0.iter() {
                        sd.signer_infos.0.insert(si.clone()).unwrap();
                    }
                }
            }
        }
        all.unwrap()
    }

    #[test]
    fn co_signing_a_detached_cms_shows_every_hash_a_key_could_sign() {
        // A page's trick (found in review): a GOST signer claims one hash, an RSA signer
        // another; a GOST key signs the first, so both must be on screen.
        let sd = merged(&[("gost2015_individual.p12", &[0x11; 64]), ("rsa_sign_individual.p12", &[0x22; 32])]);
        let Shown::CoSign { signers: 2, content } = summarize_cosign(&sd).unwrap().shown else { panic!() };
        let Shown::BlindHash { hex } = *content else { panic!() };
        assert!(hex.contains(&format!("GOST 34.11-2015 (512) {}", "11".repeat(64))), "{hex}");
        assert!(hex.contains(&format!("SHA-256 {}", "22".repeat(32))), "{hex}");
        // Two signers of one algorithm claiming different hashes: refused.
        let sd = merged(&[("rsa_sign_individual.p12", &[0x22; 32]), ("rsa_auth_individual.p12", &[0x33; 32])]);
        assert!(summarize_cosign(&sd).is_err());
    }
}
