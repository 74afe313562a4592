//! Key files: the NCA PKCS#12 reader (`keys::pkcs12::open`) through
//! `keys::file::load_key_bytes`, which also reads PEM bundles and turns the PKCS#8
//! inside into RSA or GOST keys.
//!
//! The fixtures' passwords are tried, so mutated real files get past the MAC and the
//! decryption into the bag and key parsing behind them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qoltanba::keys::KeyInfo;
use qoltanba::keys::file::{KeyFileError, load_key_bytes, needs_password};
use qoltanba::keys::pkcs12::Pkcs12Error;

const PASSWORDS: [&str; 2] = ["Qwerty12", "Aa123456"];

fuzz_target!(|bytes: &[u8]| {
    let _ = needs_password(bytes);
    for password in PASSWORDS {
        match load_key_bytes(bytes, password) {
            Err(KeyFileError::Pkcs12(Pkcs12Error::WrongPassword)) => continue,
            Err(_) => break,
            Ok(keys) => {
                assert!(!keys.is_empty(), "Ok with no key");
                for key in &keys {
                    let info = KeyInfo::of(key.as_ref());
                    assert!(info.pem.starts_with("-----BEGIN CERTIFICATE-----"));
                }
                break;
            }
        }
    }
});
