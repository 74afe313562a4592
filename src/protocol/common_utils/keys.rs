//! `getActiveTokens`, `getKeyInfo` and the storage-name rules they share.

use super::{Arg, Failure, str_arg};
use crate::signing::{KeyFilter, Operation};

/// Hardware storage names NCALayer knows (spec §3.2).
pub const TOKEN_STORAGES: &[&str] =
    &["AKKaztokenStore", "AKKZIDCardStore", "AKEToken72KStore", "AKEToken5110Store", "AKJaCartaStore", "AKAKEYStore"];

/// Is `name` one of NCALayer's hardware storage types?
pub fn is_token_storage(name: &str) -> bool {
    TOKEN_STORAGES.contains(&name)
}

/// Check a `storageName` before any dialog, with NCALayer's message keys.
pub fn check_storage(name: &str) -> Result<(), Failure> {
    match name {
        "" => Err(Failure::Message("storageName.param.empty".into())),
        // Whether a token of that storage is plugged in, the core finds out (and answers
        // `storage.empty` as NCALayer does when none is).
        "PKCS12" | "PKCS11" => Ok(()),
        n if is_token_storage(n) => Ok(()),
        "JKS" => Err(Failure::Message("storage.empty".into())),
        _ => Err(Failure::Message("storage.unknown".into())),
    }
}

/// `getKeyInfo(storageName)`: let the user choose a key, return its 12 fields.
pub fn get_key_info(args: &[Arg<'_>]) -> Result<Operation, Failure> {
    check_storage(str_arg(args, 0))?;
    Ok(Operation::KeyInfo {
        filter: KeyFilter { storages: Some(vec![str_arg(args, 0).to_owned()]), ..Default::default() },
    })
}
