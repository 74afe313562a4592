//! Parsers that read what pages or files send never panic: bytes of a real CMS (made by
//! Kalkan) and of an XML signature changed one at a time, and truncations, through the
//! verifiers and the co-signer. Truncated CMS never verifies.

mod common;

use common::*;

fn nca_token() -> Vec<u8> {
    std::fs::read(fixture("nca-test/tsp/tsp_token.bin")).unwrap()
}

#[test]
fn mutated_cms_never_panics() {
    let cms = nca_token();
    let key = &qoltanba::keys::load_key_file(&fixture(RSA_KEY), PASSWORD).unwrap()[0];
    // Every fourth byte: each verification runs GOST arithmetic, slow in debug builds.
    for i in (0..cms.len()).step_by(4) {
        let mut bad = cms.clone();
        bad[i] ^= 0x5A;
        let _ = qoltanba::cms::verify::verify_cms(&bad, None);
        if i % 7 == 0 {
            let _ = qoltanba::cms::cosign(key.as_ref(), &bad, std::time::SystemTime::now());
        }
    }
    for cut in (0..cms.len()).step_by(11) {
        assert!(
            qoltanba::cms::verify::verify_cms(&cms[..cut], None).map(|r| r.is_valid()).unwrap_or(false)
                == (cut == cms.len())
        );
    }
}

#[test]
fn mutated_xml_never_panics() {
    let key = &qoltanba::keys::load_key_file(&fixture(RSA_KEY), PASSWORD).unwrap()[0];
    let signed = qoltanba::xmldsig::sign_xml(
        key.as_ref(),
        "<d:doc xmlns:d=\"urn:d\"><d:a Id=\"x\">қ &amp; 1</d:a><!-- c --><b/></d:doc>",
        "//d:a",
        "/d:doc",
        qoltanba::xmldsig::Layout::Santuario,
    )
    .unwrap();
    assert!(qoltanba::xmldsig::verify_xml(&signed).unwrap().iter().all(|r| r.is_valid()));
    let bytes = signed.as_bytes();
    for i in (0..bytes.len()).step_by(3) {
        let mut bad = bytes.to_vec();
        bad[i] = [b'<', b'>', b'&', b'"', b'x', 0xD0][i % 6];
        if let Ok(text) = std::str::from_utf8(&bad) {
            let _ = qoltanba::xmldsig::verify_xml(text);
            let _ = qoltanba::xmldsig::check(text, "//d:a", "/d:doc");
        }
    }
}
