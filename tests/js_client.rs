//! End to end with SIGEX's real `ncalayer-js-client` (npm) in Node.js, over `wss://`,
//! trusting qoltanba's CA through `NODE_EXTRA_CA_CERTS`. The signatures the client
//! returns are checked with `openssl cms -verify`.
//!
//! Needs `node` and `npm` (Debian: `apt-get install nodejs npm`); `npm ci` runs in
//! `tests/js` on first use.

mod common;

use common::*;

#[test]
fn sigex_client_signs_and_openssl_verifies() {
    let tsa = Tsa::start();
    let key = fixture(RSA_KEY);
    let daemon =
        Daemon::start(&["--auto-key", key.to_str().unwrap(), "--auto-password", PASSWORD, "--tsa-url", &tsa.url()]);
    let results = sigex_e2e(&daemon, "confirm");
    let ca = fixture("nca-test/ca/nca_rsa_test.crt");
    let chain = Some((ca.as_path(), RSA_KEY_VALID_AT));

    assert_eq!(results["version"], "1.4");
    assert_eq!(results["activeTokens"], serde_json::json!([]));

    // basicsSignCMS with a single document resolves with one PEM string (client takes [0]).
    let pem = results["basicsSignCMS"].as_str().expect("a single PEM string");
    let verdict = openssl_verify(&cms_pem_to_der(pem), Some(b"11\n"), chain);
    assert!(verdict.ok, "{}", verdict.output);

    // With the timestamp preset: the token stamps the signature, says openssl ts -verify.
    let stamped = cms_pem_to_der(results["basicsSignCMSWithTSP"].as_str().unwrap());
    assert!(openssl_verify(&stamped, Some(b"11\n"), chain).ok);
    let signers = signer_tokens(&stamped);
    assert!(openssl_ts_verify(&signers[0].0, signers[0].1.as_ref().expect("a timestamp"), &tsa.cert()));

    let batch = results["basicsSignCMSBatch"].as_array().expect("an array for a batch");
    for (pem, content) in batch.iter().zip([b"11\n", b"12\n"]) {
        assert!(openssl_verify(&cms_pem_to_der(pem.as_str().unwrap()), Some(content), chain).ok);
    }

    let detached = unb64(results["createCAdESFromBase64"].as_str().unwrap());
    let verdict = openssl_verify(&detached, Some(b"11\n"), chain);
    assert!(verdict.ok, "{}", verdict.output);
    let attached = unb64(results["createCAdESFromBase64Attached"].as_str().unwrap());
    assert_eq!(openssl_attached_content(&attached), b"11\n");
    assert!(openssl_verify(&attached, None, chain).ok);

    let from_hash = unb64(results["createCAdESFromBase64Hash"].as_str().unwrap());
    assert!(openssl_verify(&from_hash, Some(b"11\n"), chain).ok);

    assert_eq!(results["keyInfo"]["subjectCn"], "ТЕСТОВ ТЕСТ");

    // XML: signXml resolves with the document, signXmls with an array, basicsSignXML
    // with an array of one (the client does not unwrap XML results).
    assert!(xmlsec_verify(results["signXml"].as_str().unwrap(), None));
    let many = results["signXmls"].as_array().unwrap();
    assert_eq!(many.len(), 2);
    assert!(many.iter().all(|x| xmlsec_verify(x.as_str().unwrap(), None)));
    let basics = results["basicsSignXML"].as_array().expect("an array for XML");
    assert_eq!(basics.len(), 1);
    assert!(xmlsec_verify(basics[0].as_str().unwrap(), None));
}

#[test]
fn sigex_client_sees_the_cancel() {
    let daemon = Daemon::headless(RSA_KEY, PASSWORD, "cancel");
    let results = sigex_e2e(&daemon, "cancel");
    assert_eq!(results["basicsCanceledByUser"], true, "{results}");
    assert_eq!(results["basicsMessage"], "cancelled by user");
    assert_eq!(results["commonUtilsMessage"], "500: action.canceled");
}
