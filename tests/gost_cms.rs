//! CMS made by the daemon with NCA GOST keys, checked independently: the
//! messageDigest is Streebog-512 (or GOST 34.311) of the content, and Debian's GOST
//! engine accepts the signature over DER(signed attributes).

mod common;

use common::*;
use der::{Decode, Encode};
use qoltanba::crypto::gost::GostCurve;
use qoltanba::crypto::verify::gost_public_octets;
use serde_json::json;

fn signed_data(cms_der: &[u8]) -> cms::signed_data::SignedData {
    let ci = cms::content_info::ContentInfo::from_der(cms_der).unwrap();
    assert_eq!(ci.content_type.to_string(), "1.2.840.113549.1.7.2");
    ci.content.decode_as().unwrap()
}

#[tokio::test]
async fn basics_cms_with_gost_keys_is_accepted_by_the_gost_engine() {
    for (key, password, curve, digest_oid, sig_oid) in [
        (
            "nca-test/keys2026/legal_head.p12",
            "Qwerty12",
            GostCurve::Tc26_512A,
            "1.2.398.3.10.1.3.3",
            "1.2.398.3.10.1.1.2.3.2",
        ),
        (
            "nca-test/keys/gost2004_ceo.p12",
            "Qwerty12",
            GostCurve::CryptoProA,
            "1.2.398.3.10.1.3.1",
            "1.2.398.3.10.1.1.1.2",
        ),
    ] {
        let daemon = Daemon::headless(key, password, "confirm");
        let mut ws = daemon.connect(Some("https://sigex.kz")).await;
        let reply = ws
            .request(&json!({"module":"kz.gov.pki.knca.basics","method":"sign","args":{
                "format":"cms","data":"MTEK","signingParams":{"decode":true,"encapsulate":true,"allowExpired":true},
                "signerParams":{"extKeyUsageOids":[],"chain":[]}}}))
            .await;
        let cms_der = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap_or_else(|| panic!("{key}: {reply}")));
        let sd = signed_data(&cms_der);
        assert_eq!(sd.digest_algorithms.iter().next().unwrap().oid.to_string(), digest_oid);
        let si = sd.signer_infos.0.iter().next().unwrap();
        assert_eq!(si.signature_algorithm.oid.to_string(), sig_oid, "{key}");
        assert!(si.signature_algorithm.parameters.is_some(), "explicit NULL parameters");
        assert_eq!(si.signature.as_bytes().len(), 2 * curve.size());

        let attrs = si.signed_attrs.as_ref().unwrap();
        let digest_attr = attrs.iter().find(|a| a.oid.to_string() == "1.2.840.113549.1.9.4").unwrap();
        let md =
            der::asn1::OctetString::from_der(&digest_attr.values.iter().next().unwrap().to_der().unwrap()).unwrap();
        let expected = qoltanba::crypto::Hasher::for_oid(&der::asn1::ObjectIdentifier::new_unwrap(digest_oid))
            .unwrap()
            .digest(b"11\n");
        assert_eq!(md.as_bytes(), expected.as_slice(), "{key}: messageDigest in natural byte order");

        let cert = match sd.certificates.as_ref().unwrap().0.iter().next().unwrap() {
            cms::cert::CertificateChoices::Certificate(c) => c.clone(),
            _ => panic!("certificate expected"),
        };
        let public = gost_public_octets(cert.tbs_certificate().subject_public_key_info()).unwrap();
        let signed = attrs.to_der().unwrap();
        assert!(
            engine_verifies(curve, &public, &signed, si.signature.as_bytes()),
            "{key}: engine rejected the CMS signature"
        );
        let mut other = signed.clone();
        other[5] ^= 1;
        assert!(!engine_verifies(curve, &public, &other, si.signature.as_bytes()));
    }
}
