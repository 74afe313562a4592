//! Bugs the fuzz targets found, as tests of the behaviour that is right. They fail until
//! the library is fixed; then move them to the main crate's tests/ and the inputs in
//! fuzz/known-bugs/ into fuzz/corpus/ (see fuzz/README.md).
//!
//! `cargo test --manifest-path fuzz/support/Cargo.toml`

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use qoltanba::keys::SigningKey;
use qoltanba::xmldsig::{Layout, check, sign_xml};

fn rsa_key() -> Box<dyn SigningKey> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/nca-test/keys/rsa_sign_individual.p12");
    qoltanba::keys::load_key_file(&path, "Qwerty12").unwrap().remove(0)
}

/// fuzz/known-bugs/xml/id_with_amp.txt: the Id value is written into
/// `<ds:Reference URI="#…">` without escaping, so `&` makes the output unparseable:
/// `check` accepts the document, the user confirms, and then signing fails.
#[test]
fn xml_id_with_an_ampersand_is_signed_or_refused_before_the_dialog() {
    let key = rsa_key();
    let doc = r#"<root><a Id="&amp;"></a></root>"#;
    let checked = check(doc, "/root/a", "");
    let signed = sign_xml(key.as_ref(), doc, "/root/a", "", Layout::Compact);
    assert_eq!(checked.is_ok(), signed.is_ok(), "check: {checked:?}, sign_xml: {:?}", signed.err());
}

/// The same flaw used on purpose: a page chooses an Id whose value, once unescaped, closes
/// the Reference and adds markup of its own inside SignedInfo, which the user's key
/// then signs. Here an extra Reference to an outside document (with a digest the page
/// chose) ends up in the signed SignedInfo.
#[test]
fn xml_id_cannot_inject_markup_into_signed_info() {
    let key = rsa_key();
    let id = concat!(
        r##"x"/><ds:Reference URI="https://example.com/other-contract.pdf"><ds:DigestMethod "##,
        r##"Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>"##,
        r##"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></ds:Reference><ds:Reference URI="#x"##
    );
    let escaped = id.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let doc = format!(r#"<root><a Id="{escaped}">pay 1 tenge</a><b Id="x"/></root>"#);
    if let Ok(signed) = sign_xml(key.as_ref(), &doc, "/root/a", "/root", Layout::Compact) {
        assert!(!signed.contains("other-contract.pdf\">"), "markup from the Id was signed:\n{signed}");
    }
}

/// fuzz/known-bugs/dispatch/legacy_get_keys_dev_zero.json: the legacy API opens any
/// path a page names, and `read_key_file` checks the size from the metadata only,
/// which is 0 for devices and pipes: `/dev/zero` is read until memory runs out, a FIFO
/// blocks a thread for ever. Here a pipe delivers 64 MiB; a key file is at most 1 MiB.
#[test]
fn key_files_are_read_with_a_bound_whatever_their_metadata_says() {
    let dir = std::env::temp_dir().join(format!("qoltanba-known-bug-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("key.p12");
    let _ = std::fs::remove_file(&fifo);
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..64 {
                if pipe.write_all(&chunk).is_err() {
                    break; // the reader stopped early, as it should
                }
            }
        })
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let reader_path = fifo.clone();
    std::thread::spawn(move || tx.send(qoltanba::keys::file::read_key_file(&reader_path).map(|b| b.len())));
    let result = rx.recv_timeout(Duration::from_secs(60)).expect("read_key_file returned");
    writer.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(_) => {}
        Ok(n) => assert!(n <= qoltanba::keys::pkcs12::MAX_FILE_SIZE, "read {n} bytes from a pipe named as a key file"),
    }
}

/// fuzz/known-bugs/xml/signature_inside_signed_element.txt: signing an element by Id
/// with the signature placed inside that element (here the Id'd document element with
/// the default parent, a natural request) digests the element before the signature is
/// added, and the Reference has no enveloped-signature transform to remove it again, so
/// the signature never verifies (ours and xmlsec1 agree).
#[test]
fn xml_signature_inside_the_signed_element_verifies_or_is_refused() {
    let key = rsa_key();
    let doc = r#"<doc Id="d1"><v>1</v></doc>"#;
    let checked = check(doc, "/doc", "");
    match sign_xml(key.as_ref(), doc, "/doc", "", Layout::Compact) {
        Err(e) => assert!(checked.is_err(), "check accepted what sign_xml refuses: {e}"),
        Ok(signed) => {
            let reports = qoltanba::xmldsig::verify_xml(&signed).unwrap();
            assert!(reports.iter().all(|r| r.is_valid()), "{:?}\n{signed}", reports[0].problems);
        }
    }
}
