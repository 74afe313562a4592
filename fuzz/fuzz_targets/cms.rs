//! CMS SignedData from outside (pages co-signing, `applyCAdEST`, `qoltanba verify cms`):
//! `parse_signed_data`, `verify::verify_cms` (DER, BER, PEM or base64; attached and
//! detached), the timestamp token reader `tsp::token_info`, co-signing (`cosign`, with a
//! stand-in key) and `add_timestamps` up to the point where it would ask a TSA.
#![no_main]

mod common;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use qoltanba::cms::tsp::{SIGNATURE_TIMESTAMP_TOKEN, TsaConfig, add_timestamps, token_info};
use qoltanba::cms::verify::{key_algorithm_of, verify_cms, verify_token_signature};
use qoltanba::cms::{cosign, parse_signed_data};

/// The document the seed signatures were made over (NCALayer's test data, `MTEK`).
const DOCUMENT: &[u8] = b"11\n";

fuzz_target!(|bytes: &[u8]| {
    static KEY: OnceLock<common::FakeKey> = OnceLock::new();
    let key = KEY.get_or_init(common::FakeKey::new);

    if let Ok(sd) = parse_signed_data(bytes) {
        for si in sd.signer_infos.0.iter() {
            let _ = key_algorithm_of(si);
            let tokens = si.unsigned_attrs.iter().flat_map(|a| a.iter()).filter(|a| a.oid == SIGNATURE_TIMESTAMP_TOKEN);
            for value in tokens.flat_map(|a| a.values.iter()) {
                let Ok(der) = der::Encode::to_der(value) else { continue };
                if let Ok(token) = parse_signed_data(&der) {
                    if let Ok(info) = token_info(&token) {
                        let _ = info.gen_time_unix();
                    }
                    let _ = verify_token_signature(&token);
                }
            }
        }
        // The input itself as a token (the seeds include a bare TSA token).
        if let Ok(info) = token_info(&sd) {
            let _ = info.gen_time_unix();
        }
        let _ = verify_token_signature(&sd);
        let _ = add_timestamps(bytes, &TsaConfig { url: "fuzz://no-network".into(), timeout: Duration::ZERO });
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        if let Ok(cosigned) = cosign(key, bytes, at) {
            let again = parse_signed_data(&cosigned).expect("our own co-signed CMS parses");
            assert_eq!(again.signer_infos.0.len(), sd.signer_infos.0.len() + 1, "co-signing adds one signer");
        }
    }
    // Verification takes armoured input too, so it runs on everything.
    if let Ok(report) = verify_cms(bytes, Some(&mut &DOCUMENT[..])) {
        let _ = report.is_valid();
    }
    let _ = verify_cms(bytes, None);
});
