//! The two PKCS#11 calls `cryptoki` cannot express, made directly on the module's
//! function list: the mechanism list as it is (cryptoki drops every mechanism it has no
//! name for, GOST's among them) and signing with a mechanism by number (cryptoki
//! refuses `CKM_GOSTR3410` = 0x1201, a standard value it does not model).
//!
//! This is the crate's only unsafe code: calls into the vendor's C library, in the
//! helper process. The library is opened a second time by path; the dynamic loader
//! hands back the same loaded copy, so the function list is the one `cryptoki`
//! initialised and session and object handles from `cryptoki` are valid here.
#![allow(unsafe_code)]

use std::path::Path;
use std::ptr;

use cryptoki_sys::{CK_FUNCTION_LIST, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_OK};

/// Most mechanisms read from a module, most bytes of a signature (RSA-16384 is 2 KiB).
const MAX_MECHANISMS: CK_ULONG = 1024;
const MAX_SIGNATURE: CK_ULONG = 16 * 1024;

/// A PKCS#11 return value other than `CKR_OK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rv(pub CK_RV);

impl std::fmt::Display for Rv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            cryptoki_sys::CKR_MECHANISM_INVALID => f.write_str("CKR_MECHANISM_INVALID"),
            cryptoki_sys::CKR_KEY_TYPE_INCONSISTENT => f.write_str("CKR_KEY_TYPE_INCONSISTENT"),
            cryptoki_sys::CKR_FUNCTION_NOT_SUPPORTED => f.write_str("CKR_FUNCTION_NOT_SUPPORTED"),
            cryptoki_sys::CKR_USER_NOT_LOGGED_IN => f.write_str("CKR_USER_NOT_LOGGED_IN"),
            other => write!(f, "PKCS#11 error 0x{other:x}"),
        }
    }
}

/// `CK_ULONG` is 32 bits on Windows, 64 elsewhere; the daemon speaks `u64`.
#[allow(clippy::useless_conversion)]
fn ulong(value: u64) -> Result<CK_ULONG, Rv> {
    CK_ULONG::try_from(value).map_err(|_| Rv(cryptoki_sys::CKR_ARGUMENTS_BAD))
}

#[allow(clippy::useless_conversion)]
fn wide(value: CK_ULONG) -> u64 {
    u64::from(value)
}

fn check(rv: CK_RV) -> Result<(), Rv> {
    if rv == CKR_OK { Ok(()) } else { Err(Rv(rv)) }
}

/// The module's function list, for the calls above.
pub struct Functions {
    /// Keeps the library loaded while `list` points into it.
    _library: cryptoki_sys::Pkcs11,
    list: CK_FUNCTION_LIST,
}

impl Functions {
    /// Open `module` (already loaded and initialised by `cryptoki`) and read its
    /// function list.
    pub fn load(module: &Path) -> Result<Self, String> {
        // SAFETY: the same library cryptoki has already loaded and initialised; loading it
        // again runs no initialiser a second time (the loader shares the loaded copy).
        let library = unsafe { cryptoki_sys::Pkcs11::new(module) }.map_err(|e| e.to_string())?;
        let get = *library.C_GetFunctionList.as_ref().map_err(|e| e.to_string())?;
        let mut list: *mut CK_FUNCTION_LIST = ptr::null_mut();
        // SAFETY: C_GetFunctionList writes one pointer to a list that lives as long as the
        // library; it is checked for null and copied before use.
        let rv = unsafe { get(&mut list) };
        check(rv).map_err(|e| e.to_string())?;
        if list.is_null() {
            return Err("the module gave no function list".into());
        }
        // SAFETY: non-null, returned by the module for this purpose, read once.
        let list = unsafe { *list };
        // The loader must have handed back the copy cryptoki initialised (handles from
        // cryptoki mean nothing to another copy): that copy answers "already initialised".
        let initialize = list.C_Initialize.ok_or("the module has no C_Initialize")?;
        // SAFETY: C_Initialize without arguments, as PKCS#11 allows.
        match unsafe { initialize(ptr::null_mut()) } {
            cryptoki_sys::CKR_CRYPTOKI_ALREADY_INITIALIZED => Ok(Self { _library: library, list }),
            rv => {
                if rv == CKR_OK
                    && let Some(finalize) = list.C_Finalize
                {
                    // SAFETY: undoes the initialisation just made, of this copy only.
                    unsafe { finalize(ptr::null_mut()) };
                }
                Err("the module was loaded twice as separate copies".into())
            }
        }
    }

    /// Every mechanism the token in `slot` offers, by number.
    pub fn mechanisms(&self, slot: u64) -> Result<Vec<u64>, Rv> {
        let slot = ulong(slot)?;
        let get = self.list.C_GetMechanismList.ok_or(Rv(cryptoki_sys::CKR_FUNCTION_NOT_SUPPORTED))?;
        let mut count: CK_ULONG = 0;
        // SAFETY: asks only for the count (null list), written to a local.
        check(unsafe { get(slot, ptr::null_mut(), &mut count) })?;
        let count = count.min(MAX_MECHANISMS);
        let mut mechanisms: Vec<CK_ULONG> = vec![0; count as usize];
        let mut written = count;
        // SAFETY: the buffer holds `written` entries, and the module writes at most that
        // many (it answers CKR_BUFFER_TOO_SMALL otherwise).
        check(unsafe { get(slot, mechanisms.as_mut_ptr(), &mut written) })?;
        mechanisms.truncate(written.min(count) as usize);
        Ok(mechanisms.into_iter().map(wide).collect())
    }

    /// Sign `data` with `key` in `session`, with the parameterless `mechanism`.
    pub fn sign(
        &self,
        session: CK_SESSION_HANDLE,
        key: CK_OBJECT_HANDLE,
        mechanism: u64,
        data: &[u8],
    ) -> Result<Vec<u8>, Rv> {
        let unsupported = Rv(cryptoki_sys::CKR_FUNCTION_NOT_SUPPORTED);
        let (init, sign) = (self.list.C_SignInit.ok_or(unsupported)?, self.list.C_Sign.ok_or(unsupported)?);
        // Everything that can fail is checked before the operation starts: once it has,
        // only C_Sign ends it.
        let length = CK_ULONG::try_from(data.len()).map_err(|_| Rv(cryptoki_sys::CKR_DATA_LEN_RANGE))?;
        let mut mechanism =
            CK_MECHANISM { mechanism: ulong(mechanism)?, pParameter: ptr::null_mut(), ulParameterLen: 0 };
        // The module only reads the input (a scratch copy: the C prototype is not const).
        let mut input = data.to_vec();
        let mut signature = vec![0u8; MAX_SIGNATURE as usize];
        let mut written = MAX_SIGNATURE;
        // SAFETY: a mechanism without parameters, read by the module during the call.
        check(unsafe { init(session, &mut mechanism, key) })?;
        // SAFETY: `input` holds `length` bytes and the output `written` bytes, as the module
        // is told; one call ends the operation whatever it answers (a signature larger
        // than the buffer is CKR_BUFFER_TOO_SMALL, refused).
        check(unsafe { sign(session, input.as_mut_ptr(), length, signature.as_mut_ptr(), &mut written) })?;
        if written == 0 || written > MAX_SIGNATURE {
            return Err(Rv(cryptoki_sys::CKR_GENERAL_ERROR));
        }
        signature.truncate(written as usize);
        Ok(signature)
    }
}

#[cfg(test)]
mod tests {
    /// This file stays the crate's only unsafe code (the crate denies it elsewhere; a
    /// module could opt back in with `allow`, so that is checked here).
    #[test]
    fn no_other_source_file_allows_unsafe_code() {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else if std::fs::read_to_string(&path).is_ok_and(|text| text.contains("allow(unsafe_code)")) {
                    found.push(path.to_string_lossy().into_owned());
                }
            }
        }
        let mut found = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].ends_with("raw.rs"), "{found:?}");
    }
}
