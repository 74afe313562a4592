//! A PKCS#11 module for tests only: one slot, one token, one key from a PKCS#12 file,
//! signing with the GOST mechanisms no free token emulator has (SoftHSM has none for
//! GOST 34.10-2015): over a hash `CKM_GOSTR3410` (0x1201, 256-bit keys) and TC26's
//! `CKM_GOSTR3410_512` (0xD4321006), and over the data TC26's
//! `CKM_GOSTR3410_WITH_GOSTR3411_12_256/512` (0xD4321008/9). It answers as
//! the PKCS#11 standard says a token does, including the user-PIN counter SoftHSM lacks
//! (`CKF_USER_PIN_COUNT_LOW`, `_FINAL_TRY`, `_LOCKED`).
//!
//! Built by `cargo build --example test_token` as `target/<profile>/examples/
//! libtest_token.so` and loaded by qoltanba's helper like any vendor library. The
//! token lives in the directory `QOLTANBA_TEST_TOKEN` names, read at every call, so a
//! test changes it from outside like a person at a reader:
//! - `key.p12` and `key.password`: the key (an NCA GOST test file);
//! - `pin`: the user PIN (rewritten by `C_SetPIN`); `tries`: wrong PINs left, 3 when
//!   absent, 0 = locked (rewritten by `C_Login`);
//! - `absent`: while this file exists the token is out of the reader;
//! - `mechanisms`: mechanisms offered, hex numbers separated by commas (default all four);
//! - `label`: the token's label (default `GOST test token`).
//!
//! Signatures come out as PKCS#11 gives them, `s ‖ r` big-endian (RFC 4491): the
//! reversal of what qoltanba's GOST code returns.
#![allow(unsafe_code, non_snake_case, clippy::missing_safety_doc)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use cryptoki_sys::*;
use qoltanba::keys::SigningKey;

const SLOT: CK_SLOT_ID = 1;
const CERTIFICATE: CK_OBJECT_HANDLE = 1;
const PRIVATE_KEY: CK_OBJECT_HANDLE = 2;
/// `CKA_ID` of the key and its certificate.
const ID: &[u8] = &[0x01];
const MAX_TRIES: u32 = 3;
const GOSTR3410: CK_ULONG = 0x1201;
const GOSTR3410_512: CK_ULONG = 0xD432_1006;
const TC26_256: CK_ULONG = 0xD432_1008;
const TC26_512: CK_ULONG = 0xD432_1009;

struct Session {
    found: Vec<CK_OBJECT_HANDLE>,
    signing: Option<CK_ULONG>,
}

#[derive(Default)]
struct State {
    initialized: bool,
    logged_in: bool,
    next_session: CK_SESSION_HANDLE,
    sessions: HashMap<CK_SESSION_HANDLE, Session>,
    key: Option<Box<dyn SigningKey>>,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner())
}

/// The token's directory; without one (the variable unset) there is no token, and
/// `C_Initialize` fails rather than read the working directory.
fn dir() -> PathBuf {
    PathBuf::from(std::env::var_os("QOLTANBA_TEST_TOKEN").unwrap_or_else(|| "/nonexistent".into()))
}

fn read(name: &str) -> Option<String> {
    std::fs::read_to_string(dir().join(name)).ok().map(|s| s.trim().to_owned())
}

fn present() -> bool {
    !dir().join("absent").exists()
}

fn tries() -> u32 {
    read("tries").and_then(|t| t.parse().ok()).unwrap_or(MAX_TRIES)
}

fn set_tries(tries: u32) {
    let _ = std::fs::write(dir().join("tries"), tries.to_string());
}

fn offered() -> Vec<CK_ULONG> {
    match read("mechanisms") {
        Some(list) => list
            .split(',')
            .filter_map(|m| CK_ULONG::from_str_radix(m.trim().trim_start_matches("0x"), 16).ok())
            .collect(),
        None => vec![GOSTR3410, GOSTR3410_512, TC26_256, TC26_512],
    }
}

/// `text` in a blank-padded fixed-size field, as PKCS#11 info structures hold strings.
fn padded<const N: usize>(text: &str) -> [CK_UTF8CHAR; N] {
    let mut field = [b' '; N];
    let bytes = text.as_bytes();
    let n = bytes.len().min(N);
    field[..n].copy_from_slice(&bytes[..n]);
    field
}

fn ulong_bytes(value: CK_ULONG) -> Vec<u8> {
    value.to_ne_bytes().to_vec()
}

/// An object's attribute, as bytes; `None`: the object has no such attribute.
fn attribute(key: &dyn SigningKey, object: CK_OBJECT_HANDLE, kind: CK_ATTRIBUTE_TYPE) -> Option<Vec<u8>> {
    let certificate = object == CERTIFICATE;
    match kind {
        CKA_CLASS => Some(ulong_bytes(if certificate { CKO_CERTIFICATE } else { CKO_PRIVATE_KEY })),
        CKA_ID => Some(ID.to_vec()),
        CKA_LABEL => Some(key.alias().as_bytes().to_vec()),
        CKA_TOKEN => Some(vec![CK_TRUE]),
        CKA_PRIVATE => Some(vec![if certificate { CK_FALSE } else { CK_TRUE }]),
        CKA_VALUE if certificate => Some(key.certificate().der().to_vec()),
        CKA_CERTIFICATE_TYPE if certificate => Some(ulong_bytes(CKC_X_509)),
        CKA_KEY_TYPE if !certificate => Some(ulong_bytes(CKK_GOSTR3410)),
        CKA_SIGN if !certificate => Some(vec![CK_TRUE]),
        _ => None,
    }
}

unsafe fn bytes<'a>(pointer: *const u8, length: CK_ULONG) -> &'a [u8] {
    if pointer.is_null() || length == 0 { &[] } else { unsafe { std::slice::from_raw_parts(pointer, length as usize) } }
}

/// Write `value` the PKCS#11 way: the size only when `out` is null, else the bytes if
/// they fit.
unsafe fn give(value: &[u8], out: *mut u8, length: *mut CK_ULONG) -> CK_RV {
    unsafe {
        if out.is_null() {
            *length = value.len() as CK_ULONG;
            return CKR_OK;
        }
        if (*length as usize) < value.len() {
            *length = value.len() as CK_ULONG;
            return CKR_BUFFER_TOO_SMALL;
        }
        std::ptr::copy_nonoverlapping(value.as_ptr(), out, value.len());
        *length = value.len() as CK_ULONG;
    }
    CKR_OK
}

extern "C" fn C_Initialize(_args: *mut std::ffi::c_void) -> CK_RV {
    let mut state = state();
    if state.initialized {
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    let (Some(password), true) = (read("key.password"), dir().join("key.p12").is_file()) else {
        return CKR_GENERAL_ERROR;
    };
    match qoltanba::keys::load_key_file(&dir().join("key.p12"), &password) {
        Ok(mut keys) if !keys.is_empty() => state.key = Some(keys.remove(0)),
        _ => return CKR_GENERAL_ERROR,
    }
    state.initialized = true;
    state.next_session = 1;
    CKR_OK
}

extern "C" fn C_Finalize(_reserved: *mut std::ffi::c_void) -> CK_RV {
    *state() = State::default();
    CKR_OK
}

unsafe extern "C" fn C_GetInfo(info: *mut CK_INFO) -> CK_RV {
    if info.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    unsafe {
        *info = CK_INFO {
            cryptokiVersion: CK_VERSION { major: 2, minor: 40 },
            manufacturerID: padded("qoltanba tests"),
            flags: 0,
            libraryDescription: padded("GOST test token"),
            libraryVersion: CK_VERSION { major: 1, minor: 0 },
        };
    }
    CKR_OK
}

unsafe extern "C" fn C_GetSlotList(token_present: CK_BBOOL, list: *mut CK_SLOT_ID, count: *mut CK_ULONG) -> CK_RV {
    if count.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let slots: &[CK_SLOT_ID] = if token_present == CK_TRUE && !present() { &[] } else { &[SLOT] };
    unsafe {
        if !list.is_null() {
            if (*count as usize) < slots.len() {
                *count = slots.len() as CK_ULONG;
                return CKR_BUFFER_TOO_SMALL;
            }
            std::ptr::copy_nonoverlapping(slots.as_ptr(), list, slots.len());
        }
        *count = slots.len() as CK_ULONG;
    }
    CKR_OK
}

unsafe extern "C" fn C_GetSlotInfo(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    if slot != SLOT || info.is_null() {
        return CKR_SLOT_ID_INVALID;
    }
    let flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | if present() { CKF_TOKEN_PRESENT } else { 0 };
    unsafe {
        *info = CK_SLOT_INFO {
            slotDescription: padded("qoltanba test reader"),
            manufacturerID: padded("qoltanba tests"),
            flags,
            hardwareVersion: CK_VERSION { major: 1, minor: 0 },
            firmwareVersion: CK_VERSION { major: 1, minor: 0 },
        };
    }
    CKR_OK
}

unsafe extern "C" fn C_GetTokenInfo(slot: CK_SLOT_ID, info: *mut CK_TOKEN_INFO) -> CK_RV {
    if slot != SLOT || info.is_null() {
        return CKR_SLOT_ID_INVALID;
    }
    if !present() {
        return CKR_TOKEN_NOT_PRESENT;
    }
    let tries = tries();
    let mut flags = CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
    if tries < MAX_TRIES {
        flags |= CKF_USER_PIN_COUNT_LOW;
    }
    if tries == 1 {
        flags |= CKF_USER_PIN_FINAL_TRY;
    }
    if tries == 0 {
        flags |= CKF_USER_PIN_LOCKED;
    }
    let sessions = state().sessions.len() as CK_ULONG;
    unsafe {
        *info = CK_TOKEN_INFO {
            label: padded(&read("label").unwrap_or_else(|| "GOST test token".into())),
            manufacturerID: padded("qoltanba tests"),
            model: padded("GOST"),
            serialNumber: padded("0001"),
            flags,
            ulMaxSessionCount: 16,
            ulSessionCount: sessions,
            ulMaxRwSessionCount: 16,
            ulRwSessionCount: 0,
            ulMaxPinLen: 32,
            ulMinPinLen: 4,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: CK_VERSION { major: 1, minor: 0 },
            firmwareVersion: CK_VERSION { major: 1, minor: 0 },
            utcTime: padded(""),
        };
    }
    CKR_OK
}

unsafe extern "C" fn C_GetMechanismList(slot: CK_SLOT_ID, list: *mut CK_MECHANISM_TYPE, count: *mut CK_ULONG) -> CK_RV {
    if slot != SLOT || count.is_null() {
        return CKR_SLOT_ID_INVALID;
    }
    let offered = offered();
    unsafe {
        if !list.is_null() {
            if (*count as usize) < offered.len() {
                *count = offered.len() as CK_ULONG;
                return CKR_BUFFER_TOO_SMALL;
            }
            std::ptr::copy_nonoverlapping(offered.as_ptr(), list, offered.len());
        }
        *count = offered.len() as CK_ULONG;
    }
    CKR_OK
}

unsafe extern "C" fn C_GetMechanismInfo(
    slot: CK_SLOT_ID,
    kind: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    if slot != SLOT || info.is_null() {
        return CKR_SLOT_ID_INVALID;
    }
    let bits = match kind {
        TC26_256 | GOSTR3410 => (256, 256),
        TC26_512 | GOSTR3410_512 => (512, 512),
        _ => return CKR_MECHANISM_INVALID,
    };
    if !offered().contains(&kind) {
        return CKR_MECHANISM_INVALID;
    }
    unsafe { *info = CK_MECHANISM_INFO { ulMinKeySize: bits.0, ulMaxKeySize: bits.1, flags: CKF_HW | CKF_SIGN } };
    CKR_OK
}

unsafe extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    _flags: CK_FLAGS,
    _application: *mut std::ffi::c_void,
    _notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    if slot != SLOT || session.is_null() {
        return CKR_SLOT_ID_INVALID;
    }
    if !present() {
        return CKR_TOKEN_NOT_PRESENT;
    }
    let mut state = state();
    let handle = state.next_session;
    state.next_session += 1;
    state.sessions.insert(handle, Session { found: Vec::new(), signing: None });
    unsafe { *session = handle };
    CKR_OK
}

extern "C" fn C_CloseSession(session: CK_SESSION_HANDLE) -> CK_RV {
    let mut state = state();
    if state.sessions.remove(&session).is_none() {
        return CKR_SESSION_HANDLE_INVALID;
    }
    // Closing the application's last session logs it out (PKCS#11 §5.6).
    if state.sessions.is_empty() {
        state.logged_in = false;
    }
    CKR_OK
}

extern "C" fn C_CloseAllSessions(_slot: CK_SLOT_ID) -> CK_RV {
    let mut state = state();
    state.sessions.clear();
    state.logged_in = false;
    CKR_OK
}

/// Check a PIN against the token's, counting a wrong one.
fn check_pin(pin: &[u8]) -> CK_RV {
    let tries = tries();
    if tries == 0 {
        return CKR_PIN_LOCKED;
    }
    if read("pin").is_some_and(|right| right.as_bytes() == pin) {
        set_tries(MAX_TRIES);
        CKR_OK
    } else {
        set_tries(tries - 1);
        CKR_PIN_INCORRECT
    }
}

unsafe extern "C" fn C_Login(session: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: *mut u8, length: CK_ULONG) -> CK_RV {
    let mut state = state();
    if !state.sessions.contains_key(&session) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if !present() {
        return CKR_DEVICE_REMOVED;
    }
    if user != CKU_USER {
        return CKR_USER_TYPE_INVALID;
    }
    if state.logged_in {
        return CKR_USER_ALREADY_LOGGED_IN;
    }
    let rv = check_pin(unsafe { bytes(pin, length) });
    state.logged_in = rv == CKR_OK;
    rv
}

extern "C" fn C_Logout(session: CK_SESSION_HANDLE) -> CK_RV {
    let mut state = state();
    if !state.sessions.contains_key(&session) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if !std::mem::replace(&mut state.logged_in, false) {
        return CKR_USER_NOT_LOGGED_IN;
    }
    CKR_OK
}

unsafe extern "C" fn C_SetPIN(
    session: CK_SESSION_HANDLE,
    old: *mut u8,
    old_length: CK_ULONG,
    new: *mut u8,
    new_length: CK_ULONG,
) -> CK_RV {
    if !state().sessions.contains_key(&session) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    let rv = check_pin(unsafe { bytes(old, old_length) });
    if rv != CKR_OK {
        return rv;
    }
    let new = unsafe { bytes(new, new_length) };
    if new.len() < 4 || std::fs::write(dir().join("pin"), new).is_err() {
        return CKR_PIN_LEN_RANGE;
    }
    CKR_OK
}

unsafe extern "C" fn C_FindObjectsInit(
    session: CK_SESSION_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    let mut state = state();
    let logged_in = state.logged_in;
    let Some(key) = state.key.take() else { return CKR_CRYPTOKI_NOT_INITIALIZED };
    let template: &[CK_ATTRIBUTE] =
        if template.is_null() { &[] } else { unsafe { std::slice::from_raw_parts(template, count as usize) } };
    // Private objects are seen only in a login.
    let visible: &[CK_OBJECT_HANDLE] = if logged_in { &[CERTIFICATE, PRIVATE_KEY] } else { &[CERTIFICATE] };
    let found = visible
        .iter()
        .copied()
        .filter(|object| {
            template.iter().all(|wanted| {
                let value = unsafe { bytes(wanted.pValue.cast(), wanted.ulValueLen) };
                attribute(key.as_ref(), *object, wanted.type_).is_some_and(|have| have == value)
            })
        })
        .collect();
    state.key = Some(key);
    match state.sessions.get_mut(&session) {
        Some(s) => {
            s.found = found;
            CKR_OK
        }
        None => CKR_SESSION_HANDLE_INVALID,
    }
}

unsafe extern "C" fn C_FindObjects(
    session: CK_SESSION_HANDLE,
    objects: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    count: *mut CK_ULONG,
) -> CK_RV {
    let mut state = state();
    let Some(s) = state.sessions.get_mut(&session) else { return CKR_SESSION_HANDLE_INVALID };
    if objects.is_null() || count.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let n = s.found.len().min(max as usize);
    let taken: Vec<_> = s.found.drain(..n).collect();
    unsafe {
        if n > 0 {
            std::ptr::copy_nonoverlapping(taken.as_ptr(), objects, n);
        }
        *count = n as CK_ULONG;
    }
    CKR_OK
}

extern "C" fn C_FindObjectsFinal(session: CK_SESSION_HANDLE) -> CK_RV {
    match state().sessions.get_mut(&session) {
        Some(s) => {
            s.found.clear();
            CKR_OK
        }
        None => CKR_SESSION_HANDLE_INVALID,
    }
}

unsafe extern "C" fn C_GetAttributeValue(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    let state = state();
    if !state.sessions.contains_key(&session) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    if object != CERTIFICATE && !(object == PRIVATE_KEY && state.logged_in) {
        return CKR_OBJECT_HANDLE_INVALID;
    }
    let Some(key) = state.key.as_deref() else { return CKR_CRYPTOKI_NOT_INITIALIZED };
    if template.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let template = unsafe { std::slice::from_raw_parts_mut(template, count as usize) };
    let mut rv = CKR_OK;
    for wanted in template {
        match attribute(key, object, wanted.type_) {
            Some(value) => {
                let given = unsafe { give(&value, wanted.pValue.cast(), &mut wanted.ulValueLen) };
                if given != CKR_OK {
                    rv = given;
                }
            }
            None => {
                wanted.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                rv = CKR_ATTRIBUTE_TYPE_INVALID;
            }
        }
    }
    rv
}

unsafe extern "C" fn C_SignInit(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    let mut state = state();
    if !state.logged_in {
        return CKR_USER_NOT_LOGGED_IN;
    }
    if key != PRIVATE_KEY {
        return CKR_KEY_HANDLE_INVALID;
    }
    if mechanism.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let mechanism = unsafe { (*mechanism).mechanism };
    if !offered().contains(&mechanism) {
        return CKR_MECHANISM_INVALID;
    }
    let size = state.key.as_deref().map_or(0, signature_size);
    // As a TC26 token: CKM_GOSTR3410 signs with 256-bit keys only.
    let fits = match mechanism {
        TC26_256 | GOSTR3410 => size == 64,
        TC26_512 | GOSTR3410_512 => size == 128,
        _ => false,
    };
    if !fits {
        return CKR_KEY_TYPE_INCONSISTENT;
    }
    match state.sessions.get_mut(&session) {
        Some(s) => {
            s.signing = Some(mechanism);
            CKR_OK
        }
        None => CKR_SESSION_HANDLE_INVALID,
    }
}

fn signature_size(key: &dyn SigningKey) -> usize {
    match key.algorithm() {
        qoltanba::keys::KeyAlgorithm::Gost2015_512 => 128,
        _ => 64,
    }
}

unsafe extern "C" fn C_Sign(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    length: CK_ULONG,
    signature: *mut u8,
    signature_length: *mut CK_ULONG,
) -> CK_RV {
    let mut state = state();
    if !present() {
        return CKR_DEVICE_REMOVED;
    }
    let Some(key) = state.key.take() else { return CKR_CRYPTOKI_NOT_INITIALIZED };
    let rv = (|| {
        let Some(s) = state.sessions.get_mut(&session) else { return CKR_SESSION_HANDLE_INVALID };
        let Some(mechanism) = s.signing else { return CKR_OPERATION_NOT_INITIALIZED };
        if signature_length.is_null() {
            return CKR_ARGUMENTS_BAD;
        }
        let size = signature_size(key.as_ref());
        // Asking the size, or a buffer too small: the operation stays active (PKCS#11 §5.2).
        if signature.is_null() || unsafe { (*signature_length as usize) < size } {
            let small = !signature.is_null();
            unsafe { *signature_length = size as CK_ULONG };
            return if small { CKR_BUFFER_TOO_SMALL } else { CKR_OK };
        }
        s.signing = None;
        let data = unsafe { bytes(data, length) };
        let over_hash = matches!(mechanism, GOSTR3410 | GOSTR3410_512);
        let signed = if over_hash { key.sign_digest(data) } else { key.sign(data) };
        let Ok(mut signed) = signed else { return CKR_DATA_LEN_RANGE };
        signed.reverse();
        unsafe { give(&signed, signature, signature_length) }
    })();
    state.key = Some(key);
    rv
}

/// The one symbol a PKCS#11 loader needs: the table of the functions above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    static LIST: OnceLock<CK_FUNCTION_LIST> = OnceLock::new();
    if list.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let table = LIST.get_or_init(|| {
        // SAFETY: every field is a version or an Option of a function pointer, for which
        // all-zero bytes are valid (None: not supported).
        let mut table: CK_FUNCTION_LIST = unsafe { std::mem::zeroed() };
        table.version = CK_VERSION { major: 2, minor: 40 };
        table.C_Initialize = Some(C_Initialize);
        table.C_Finalize = Some(C_Finalize);
        table.C_GetInfo = Some(C_GetInfo);
        table.C_GetFunctionList = Some(C_GetFunctionList);
        table.C_GetSlotList = Some(C_GetSlotList);
        table.C_GetSlotInfo = Some(C_GetSlotInfo);
        table.C_GetTokenInfo = Some(C_GetTokenInfo);
        table.C_GetMechanismList = Some(C_GetMechanismList);
        table.C_GetMechanismInfo = Some(C_GetMechanismInfo);
        table.C_OpenSession = Some(C_OpenSession);
        table.C_CloseSession = Some(C_CloseSession);
        table.C_CloseAllSessions = Some(C_CloseAllSessions);
        table.C_Login = Some(C_Login);
        table.C_Logout = Some(C_Logout);
        table.C_SetPIN = Some(C_SetPIN);
        table.C_FindObjectsInit = Some(C_FindObjectsInit);
        table.C_FindObjects = Some(C_FindObjects);
        table.C_FindObjectsFinal = Some(C_FindObjectsFinal);
        table.C_GetAttributeValue = Some(C_GetAttributeValue);
        table.C_SignInit = Some(C_SignInit);
        table.C_Sign = Some(C_Sign);
        table
    });
    // The caller reads the table only (PKCS#11 declares the pointer non-const).
    unsafe { *list = std::ptr::from_ref(table).cast_mut() };
    CKR_OK
}
