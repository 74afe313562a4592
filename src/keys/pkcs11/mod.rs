//! Hardware tokens through PKCS#11 (`cryptoki`).
//!
//! A vendor's PKCS#11 library is native code we did not write: it may crash or hang. So
//! it is never loaded into the daemon. Each module is driven by its own helper process
//! (`qoltanba pkcs11-helper MODULE`, see [`helper`]), started on first use and asked
//! through typed JSON lines with a time limit ([`client`]); a helper that crashes or
//! stops answering is killed and started again on the next request.
//!
//! Modules: the known vendor libraries of each OS, mapped to NCALayer's storage names
//! ([`KNOWN`]), and modules the user names (`--pkcs11-module PATH[=STORAGE]`,
//! `QOLTANBA_PKCS11_MODULES`), which appear as storage `PKCS11` unless mapped.

pub mod client;
pub mod helper;
pub mod raw;
pub mod token_key;

use std::path::{Path, PathBuf};

/// A hardware token as the key chooser shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenSlot {
    /// NCALayer's storage name (`AKKaztokenStore`, `PKCS11`...).
    pub storage: String,
    pub slot: u64,
    pub label: String,
    /// Which of the configured modules serves it.
    #[serde(default)]
    pub module: usize,
    /// The token says one more wrong PIN locks it.
    #[serde(default)]
    pub pin_final_try: bool,
    /// The token's PIN is locked.
    #[serde(default)]
    pub pin_locked: bool,
}

/// Storage name of a user-configured module that is not mapped to a vendor's.
pub const GENERIC_STORAGE: &str = "PKCS11";

/// A module and the storage name pages know it by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSpec {
    pub path: PathBuf,
    pub storage: String,
}

/// Vendor PKCS#11 libraries that are public, per OS, and NCALayer's storage for each.
/// No public module is known for KAZTOKEN, the Kazakh ID card or aKey (see README).
pub const KNOWN: &[(&str, &str)] = &[
    // SafeNet eToken (72K and 5110 share the library; 72K is the older JavaCard).
    #[cfg(target_os = "linux")]
    ("/usr/lib/libeTPkcs11.so", "AKEToken5110Store"),
    #[cfg(target_os = "linux")]
    ("/usr/lib/x86_64-linux-gnu/libeTPkcs11.so", "AKEToken5110Store"),
    #[cfg(target_os = "linux")]
    ("/usr/lib/libjcPKCS11-2.so", "AKJaCartaStore"),
    #[cfg(target_os = "linux")]
    ("/usr/lib/x86_64-linux-gnu/libjcPKCS11-2.so", "AKJaCartaStore"),
    #[cfg(windows)]
    ("C:\\Windows\\System32\\eTPKCS11.dll", "AKEToken5110Store"),
    #[cfg(windows)]
    ("C:\\Windows\\System32\\jcPKCS11-2.dll", "AKJaCartaStore"),
    #[cfg(target_os = "macos")]
    ("/usr/local/lib/libeTPkcs11.dylib", "AKEToken5110Store"),
    #[cfg(target_os = "macos")]
    ("/Library/Frameworks/jcPKCS11-2.framework/jcPKCS11-2", "AKJaCartaStore"),
];

/// The modules to use: the user's (`PATH[=STORAGE]` each), then the known vendor
/// libraries that exist on this computer.
pub fn modules(configured: &[String]) -> Vec<ModuleSpec> {
    let mut specs: Vec<ModuleSpec> = configured.iter().filter_map(|s| parse_spec(s)).collect();
    for (path, storage) in KNOWN {
        let path = Path::new(path);
        if path.is_file() && !specs.iter().any(|s| s.path == path) {
            specs.push(ModuleSpec { path: path.to_owned(), storage: (*storage).to_owned() });
        }
    }
    specs
}

/// `PATH` or `PATH=STORAGE` (a storage name of NCALayer's, or `PKCS11`).
pub fn parse_spec(spec: &str) -> Option<ModuleSpec> {
    let spec = spec.trim();
    if spec.is_empty() {
        return None;
    }
    let (path, storage) = match spec.rsplit_once('=') {
        Some((path, storage)) if storage.chars().all(|c| c.is_ascii_alphanumeric()) && !storage.is_empty() => {
            (path, storage)
        }
        _ => (spec, GENERIC_STORAGE),
    };
    Some(ModuleSpec { path: PathBuf::from(path), storage: storage.to_owned() })
}

/// The factory PINs NCA RK publishes for the tokens it issues: KAZTOKEN `12345678`,
/// the others `1234567890`. A PIN still equal to one of them protects nothing.
pub const FACTORY_PINS: &[&str] = &["12345678", "1234567890"];

/// Whether `pin` is a factory PIN.
pub fn is_factory_pin(pin: &str) -> bool {
    FACTORY_PINS.contains(&pin)
}

/// The fewest characters a new PIN may have.
pub const MIN_PIN_CHARS: usize = 6;

/// Why a new PIN is not set (nothing is sent to the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewPinProblem {
    /// The new PIN and its repetition differ.
    Differ,
    /// Fewer than [`MIN_PIN_CHARS`] characters.
    TooShort,
    /// One of the [`FACTORY_PINS`].
    Factory,
}

/// Whether `new`, typed again as `again`, may become a token's PIN.
pub fn check_new_pin(new: &str, again: &str) -> Result<(), NewPinProblem> {
    if new != again {
        Err(NewPinProblem::Differ)
    } else if is_factory_pin(new) {
        Err(NewPinProblem::Factory)
    } else if new.chars().count() < MIN_PIN_CHARS {
        Err(NewPinProblem::TooShort)
    } else {
        Ok(())
    }
}

/// What an attempt to change a token's PIN came to, for the terminal and the window.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PinChange {
    /// The token has the new PIN now.
    Changed,
    /// The new PIN was not acceptable; the token was not asked.
    Rejected { problem: NewPinProblem },
    /// The current PIN was wrong; `final_try`: one more wrong PIN locks the token.
    WrongPin { final_try: bool },
    /// The PIN is locked: only the PUK unblocks it.
    Locked,
    /// A signing request is logged in on the token now.
    Busy,
    /// The token was taken out or replaced by another.
    Removed,
    /// The module failed; `reason` in its words.
    Failed { reason: String },
}

impl PinChange {
    /// The outcome of [`client::Module::change_pin`].
    pub fn of(result: Result<client::LoginOutcome, client::ModuleError>) -> Self {
        use client::LoginOutcome;
        match result {
            Ok(LoginOutcome::LoggedIn(_)) => Self::Changed,
            Ok(LoginOutcome::Refused { locked: true, .. }) => Self::Locked,
            Ok(LoginOutcome::Refused { final_try, .. }) => Self::WrongPin { final_try },
            Ok(LoginOutcome::RefusedBefore) => Self::WrongPin { final_try: false },
            Ok(LoginOutcome::Busy) => Self::Busy,
            Ok(LoginOutcome::Changed) => Self::Removed,
            Err(e) => Self::Failed { reason: e.to_string() },
        }
    }
}

/// `QOLTANBA_PKCS11_MODULES`: specs separated by `;` (a path may hold `:` on Windows).
pub fn from_env(value: &str) -> Vec<String> {
    value.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_specs_name_a_storage_or_are_generic() {
        let spec = parse_spec("/usr/lib/softhsm/libsofthsm2.so=AKKaztokenStore").unwrap();
        assert_eq!(
            (spec.path.to_str().unwrap(), spec.storage.as_str()),
            ("/usr/lib/softhsm/libsofthsm2.so", "AKKaztokenStore")
        );
        assert_eq!(parse_spec("/opt/x/lib.so").unwrap().storage, GENERIC_STORAGE);
        assert_eq!(parse_spec("/opt/a=b/lib.so").unwrap().path, PathBuf::from("/opt/a=b/lib.so"));
        assert_eq!(parse_spec("  "), None);
        assert_eq!(from_env("/a.so; /b.so=AKJaCartaStore;"), ["/a.so", "/b.so=AKJaCartaStore"]);
    }

    #[test]
    fn a_new_pin_is_typed_twice_is_long_enough_and_not_a_factory_pin() {
        assert_eq!(check_new_pin("246813", "246813"), Ok(()));
        assert_eq!(check_new_pin("ӘбвгдЕ", "ӘбвгдЕ"), Ok(()), "characters, not bytes");
        assert_eq!(check_new_pin("246813", "246814"), Err(NewPinProblem::Differ));
        assert_eq!(check_new_pin("12345", "12345"), Err(NewPinProblem::TooShort));
        assert_eq!(check_new_pin("12345678", "12345678"), Err(NewPinProblem::Factory));
        assert_eq!(check_new_pin("1234567890", "1234567890"), Err(NewPinProblem::Factory));
    }

    #[test]
    fn what_the_module_answered_is_one_outcome() {
        use client::{LoginOutcome, ModuleError};
        assert_eq!(PinChange::of(Ok(LoginOutcome::LoggedIn(0))), PinChange::Changed);
        let refused = |locked, final_try| PinChange::of(Ok(LoginOutcome::Refused { locked, final_try }));
        assert_eq!(refused(true, false), PinChange::Locked);
        assert_eq!(refused(false, true), PinChange::WrongPin { final_try: true });
        assert_eq!(refused(false, false), PinChange::WrongPin { final_try: false });
        assert_eq!(PinChange::of(Ok(LoginOutcome::Busy)), PinChange::Busy);
        assert_eq!(PinChange::of(Ok(LoginOutcome::Changed)), PinChange::Removed);
        let failed = |why: &str| PinChange::of(Err(ModuleError::Failed(why.into())));
        // A token gone mid-change comes as `Changed` from the helper (typed, not text).
        assert!(matches!(failed("CKR_GENERAL_ERROR"), PinChange::Failed { .. }));
        assert!(matches!(PinChange::of(Err(ModuleError::TimedOut)), PinChange::Failed { .. }));
    }
}
