//! The helper process that loads one PKCS#11 module (`qoltanba pkcs11-helper MODULE`)
//! and answers the daemon's requests, one JSON line each way, on stdin and stdout. If
//! the vendor's library crashes or hangs, only this process is lost.

use std::io::{BufRead, Write};
use std::path::Path;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use serde::{Deserialize, Serialize};

/// A request from the daemon.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Every slot, with its token if one is present.
    Slots,
    /// The certificates on the token in `slot` (public objects: no login).
    Certificates { slot: u64 },
    /// Log the user in on `slot` with the PIN the person typed in qoltanba's dialog.
    Login { slot: u64, pin: zeroize::Zeroizing<String> },
    /// Sign `data` (base64) with the private key whose `CKA_ID` is `id` (hex).
    Sign { slot: u64, id: String, mechanism: SignMechanism, data: String },
    /// Log out (the key is usable only within one request).
    Logout { slot: u64 },
    /// Change the user PIN (`C_SetPIN` after logging in with the old one).
    ChangePin { slot: u64, old: zeroize::Zeroizing<String>, new: zeroize::Zeroizing<String> },
}

/// How a token signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignMechanism {
    /// `CKM_SHA256_RSA_PKCS`: the token hashes and pads.
    Sha256RsaPkcs,
}

/// One slot of the module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    pub slot: u64,
    pub description: String,
    pub token: Option<TokenView>,
}

/// A token as the module describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    /// `CKF_USER_PIN_COUNT_LOW`: a wrong PIN was entered since the last right one.
    pub pin_count_low: bool,
    /// `CKF_USER_PIN_FINAL_TRY`: one more wrong PIN locks it.
    pub pin_final_try: bool,
    /// `CKF_USER_PIN_LOCKED`.
    pub pin_locked: bool,
}

/// A certificate object on a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// `CKA_ID`, hex: pairs the certificate with its private key.
    pub id: String,
    pub label: String,
    /// DER, base64.
    pub der: String,
}

/// The answer to one request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Slots(Vec<SlotView>),
    Certificates(Vec<CertificateView>),
    Done,
    /// The PIN was refused; the token's counters after it.
    PinRefused {
        locked: bool,
        final_try: bool,
    },
    /// A signature, base64.
    Signature(String),
    Error(String),
}

/// Longest request line read.
const MAX_LINE: u64 = 64 * 1024;
/// Most certificates listed per token.
const MAX_CERTIFICATES: usize = 64;

/// Load `module` and answer requests until stdin closes. Exit status 0, or 4 when the
/// module cannot be loaded (the reason on stderr).
pub fn run(module: &Path) -> std::process::ExitCode {
    let pkcs11 = match load(module) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("qoltanba pkcs11-helper: {}: {e}", module.display());
            return std::process::ExitCode::from(4);
        }
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut sessions = Sessions::new();
    loop {
        // The line may carry a PIN: wiped after use.
        let mut line = zeroize::Zeroizing::new(String::new());
        match std::io::Read::take(stdin.lock(), MAX_LINE).read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(request) => answer(&pkcs11, &mut sessions, request),
            Err(e) => Response::Error(format!("not a request: {e}")),
        };
        let Ok(text) = serde_json::to_string(&response) else { break };
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}

fn load(module: &Path) -> cryptoki::error::Result<Pkcs11> {
    let pkcs11 = Pkcs11::new(module)?;
    pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))?;
    Ok(pkcs11)
}

/// Sessions kept open while the user is logged in (closing the last one logs out).
type Sessions = std::collections::HashMap<u64, cryptoki::session::Session>;

fn answer(pkcs11: &Pkcs11, sessions: &mut Sessions, request: Request) -> Response {
    let result = match request {
        Request::Slots => slots(pkcs11).map(Response::Slots),
        Request::Certificates { slot } => certificates(pkcs11, slot).map(Response::Certificates),
        Request::Login { slot, pin } => login(pkcs11, sessions, slot, &pin),
        Request::Sign { slot, id, mechanism, data } => sign(sessions, slot, &id, mechanism, &data),
        Request::ChangePin { slot, old, new } => change_pin(pkcs11, slot, &old, &new),
        Request::Logout { slot } => {
            if let Some(session) = sessions.remove(&slot) {
                let _ = session.logout();
            }
            Ok(Response::Done)
        }
    };
    result.unwrap_or_else(|e| Response::Error(e.to_string()))
}

fn find_slot(pkcs11: &Pkcs11, slot: u64) -> cryptoki::error::Result<cryptoki::slot::Slot> {
    pkcs11.get_all_slots()?.into_iter().find(|s| s.id() == slot).ok_or(cryptoki::error::Error::InvalidValue)
}

fn login(pkcs11: &Pkcs11, sessions: &mut Sessions, slot: u64, pin: &str) -> cryptoki::error::Result<Response> {
    let found = find_slot(pkcs11, slot)?;
    let session = pkcs11.open_ro_session(found)?;
    let pin = cryptoki::types::AuthPin::from(pin.to_owned());
    if let Some(refused) = log_in(pkcs11, &session, found, &pin)? {
        return Ok(refused);
    }
    sessions.insert(slot, session);
    Ok(Response::Done)
}

/// Log the user in on `session`: `Some` with the refusal when the PIN is not accepted.
fn log_in(
    pkcs11: &Pkcs11,
    session: &cryptoki::session::Session,
    slot: cryptoki::slot::Slot,
    pin: &cryptoki::types::AuthPin,
) -> cryptoki::error::Result<Option<Response>> {
    use cryptoki::error::{Error, RvError};
    match session.login(cryptoki::session::UserType::User, Some(pin)) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(None),
        Err(Error::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid, _)) => {
            let info = pkcs11.get_token_info(slot)?;
            Ok(Some(Response::PinRefused { locked: info.user_pin_locked(), final_try: info.user_pin_final_try() }))
        }
        Err(Error::Pkcs11(RvError::PinLocked, _)) => Ok(Some(Response::PinRefused { locked: true, final_try: false })),
        Err(e) => Err(e),
    }
}

fn change_pin(pkcs11: &Pkcs11, slot: u64, old: &str, new: &str) -> cryptoki::error::Result<Response> {
    use cryptoki::types::AuthPin;
    let found = find_slot(pkcs11, slot)?;
    let session = pkcs11.open_rw_session(found)?;
    let (old, new) = (AuthPin::from(old.to_owned()), AuthPin::from(new.to_owned()));
    if let Some(refused) = log_in(pkcs11, &session, found, &old)? {
        return Ok(refused);
    }
    let changed = session.set_pin(&old, &new);
    let _ = session.logout();
    changed.map(|()| Response::Done)
}

fn sign(
    sessions: &Sessions,
    slot: u64,
    id: &str,
    mechanism: SignMechanism,
    data: &str,
) -> cryptoki::error::Result<Response> {
    use base64::Engine;
    use cryptoki::mechanism::Mechanism;
    let session = sessions.get(&slot).ok_or(cryptoki::error::Error::InvalidValue)?;
    let id = unhex(id).ok_or(cryptoki::error::Error::InvalidValue)?;
    let data =
        base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| cryptoki::error::Error::InvalidValue)?;
    let keys = session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id)])?;
    let key = *keys.first().ok_or(cryptoki::error::Error::InvalidValue)?;
    let mechanism = match mechanism {
        SignMechanism::Sha256RsaPkcs => Mechanism::Sha256RsaPkcs,
    };
    let signature = session.sign(&mechanism, key, &data)?;
    Ok(Response::Signature(base64::engine::general_purpose::STANDARD.encode(signature)))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn slots(pkcs11: &Pkcs11) -> cryptoki::error::Result<Vec<SlotView>> {
    let mut views = Vec::new();
    for slot in pkcs11.get_all_slots()? {
        let info = pkcs11.get_slot_info(slot)?;
        // A token never initialized (SoftHSM's free slot, a blank card) holds no key.
        let token = if info.token_present() {
            pkcs11.get_token_info(slot).ok().filter(|t| t.token_initialized()).map(|t| TokenView {
                label: t.label().trim().to_owned(),
                manufacturer: t.manufacturer_id().trim().to_owned(),
                model: t.model().trim().to_owned(),
                serial: t.serial_number().trim().to_owned(),
                pin_count_low: t.user_pin_count_low(),
                pin_final_try: t.user_pin_final_try(),
                pin_locked: t.user_pin_locked(),
            })
        } else {
            None
        };
        views.push(SlotView { slot: slot.id(), description: info.slot_description().trim().to_owned(), token });
    }
    Ok(views)
}

fn certificates(pkcs11: &Pkcs11, slot: u64) -> cryptoki::error::Result<Vec<CertificateView>> {
    use base64::Engine;
    let slot =
        pkcs11.get_all_slots()?.into_iter().find(|s| s.id() == slot).ok_or(cryptoki::error::Error::InvalidValue)?;
    let session = pkcs11.open_ro_session(slot)?;
    let handles = session.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])?;
    let mut views = Vec::new();
    for handle in handles.into_iter().take(MAX_CERTIFICATES) {
        let attributes =
            session.get_attributes(handle, &[AttributeType::Id, AttributeType::Label, AttributeType::Value])?;
        let (mut id, mut label, mut der) = (Vec::new(), Vec::new(), Vec::new());
        for attribute in attributes {
            match attribute {
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                Attribute::Value(v) => der = v,
                _ => {}
            }
        }
        views.push(CertificateView {
            id: crate::keys::certificate::hex(&id),
            label: String::from_utf8_lossy(&label).into_owned(),
            der: base64::engine::general_purpose::STANDARD.encode(der),
        });
    }
    Ok(views)
}
