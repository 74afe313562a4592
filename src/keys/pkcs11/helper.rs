//! The helper process that loads one PKCS#11 module (`qoltanba pkcs11-helper MODULE`)
//! and answers the daemon's requests, one JSON line each way, on stdin and stdout. If
//! the vendor's library crashes or hangs, only this process is lost.
//!
//! Every request carries an id that its answer repeats: an answer the daemon did not
//! wait for (a late one, after a time-out) is never taken for another request's. A line
//! longer than any request ends the helper. A login belongs to the request that made
//! it (its `owner`): another request cannot sign with it, log it out, or log in over
//! it ("busy") while it lasts.

use std::io::{BufRead, Write};
use std::path::Path;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A request from the daemon.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Every slot, with its token if one is present.
    Slots,
    /// The certificates on the token in `slot` (public objects), and, for the owner's
    /// login, whether each has its private key.
    Certificates { slot: u64, owner: Option<u64> },
    /// Log the user in on `slot`, if the token there is still the one labelled `label`,
    /// with the PIN the person typed in qoltanba's dialog.
    Login { slot: u64, label: String, pin: Zeroizing<String> },
    /// Sign `data` (base64) with the private key whose `CKA_ID` is `id` (hex), in
    /// `owner`'s login.
    Sign { slot: u64, owner: u64, id: String, mechanism: SignMechanism, data: String },
    /// The mechanisms the token in `slot` offers, by number (all of them, GOST's too).
    Mechanisms { slot: u64 },
    /// End `owner`'s login (the key is usable only within one request).
    Logout { slot: u64, owner: u64 },
    /// Change the user PIN of the token labelled `label` (`C_SetPIN`).
    ChangePin { slot: u64, label: String, old: Zeroizing<String>, new: Zeroizing<String> },
}

/// Never a PIN in a log line.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Slots => f.write_str("Slots"),
            Self::Certificates { slot, .. } => write!(f, "Certificates({slot})"),
            Self::Login { slot, .. } => write!(f, "Login({slot}, PIN hidden)"),
            Self::Sign { slot, id, .. } => write!(f, "Sign({slot}, {id})"),
            Self::Mechanisms { slot } => write!(f, "Mechanisms({slot})"),
            Self::Logout { slot, .. } => write!(f, "Logout({slot})"),
            Self::ChangePin { slot, .. } => write!(f, "ChangePin({slot}, PINs hidden)"),
        }
    }
}

/// How a token signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignMechanism {
    /// `CKM_RSA_PKCS` over a DigestInfo the daemon made: a request of fixed size, whatever
    /// the document.
    RsaPkcs,
    /// `CKM_GOSTR3410` over a GOST hash the daemon made (256-bit keys: GOST 34.10-2015
    /// 256 and GOST 34.310-2004).
    GostDigest,
    /// TC26's `CKM_GOSTR3410_512` over a Streebog-512 hash the daemon made.
    GostDigest512,
    /// `CKM_ECDSA` over a SHA-256 hash the daemon made; the answer is `r ‖ s`.
    Ecdsa,
    /// TC26's `CKM_GOSTR3410_WITH_GOSTR3411_12_256`: the token hashes the data itself.
    GostStreebog256,
    /// TC26's `CKM_GOSTR3410_WITH_GOSTR3411_12_512`.
    GostStreebog512,
}

/// `CKM_GOSTR3410`: GOST 34.10 over a hash (PKCS#11 2.30).
pub const CKM_GOSTR3410: u64 = 0x1201;
/// TC26's `CKM_GOSTR3410_512`: GOST 34.10-2012 512-bit over a hash.
pub const CKM_GOSTR3410_512: u64 = 0xD432_1006;
/// TC26's vendor mechanisms: GOST 34.10-2012 with Streebog over the whole data.
pub const CKM_GOSTR3410_WITH_GOSTR3411_12_256: u64 = 0xD432_1008;
pub const CKM_GOSTR3410_WITH_GOSTR3411_12_512: u64 = 0xD432_1009;

impl SignMechanism {
    /// The PKCS#11 mechanism number.
    pub fn number(self) -> u64 {
        match self {
            Self::RsaPkcs => 0x0001, // CKM_RSA_PKCS
            Self::Ecdsa => 0x1041,   // CKM_ECDSA
            Self::GostDigest => CKM_GOSTR3410,
            Self::GostDigest512 => CKM_GOSTR3410_512,
            Self::GostStreebog256 => CKM_GOSTR3410_WITH_GOSTR3411_12_256,
            Self::GostStreebog512 => CKM_GOSTR3410_WITH_GOSTR3411_12_512,
        }
    }
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
    /// Whether a private key with the same `CKA_ID` is on the token (known only in a
    /// login: private keys are private objects).
    pub has_key: Option<bool>,
}

/// The answer to one request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Slots(Vec<SlotView>),
    Certificates(Vec<CertificateView>),
    Mechanisms(Vec<u64>),
    Done,
    /// Logged in; the login's owner number.
    LoggedIn(u64),
    /// The PIN was refused; the token's counters after it.
    PinRefused {
        locked: bool,
        final_try: bool,
    },
    /// Another request is logged in on that token now.
    Busy,
    /// The token in the slot is not the one the person chose (taken out, swapped).
    Changed,
    /// A signature, base64.
    Signature(String),
    Error(String),
}

/// A request with its id, as sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub id: u64,
    pub body: T,
}

/// Longest request line read: far more than any request (no document is ever sent).
const MAX_LINE: u64 = 64 * 1024;
/// Most certificates listed per token.
const MAX_CERTIFICATES: usize = 64;

/// Logins by slot: the owner's number and the session that holds the login (closing
/// the last session logs out).
type Sessions = std::collections::HashMap<u64, (u64, cryptoki::session::Session)>;

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
    // Only GOST needs the raw calls: a module that refuses them still signs RSA.
    let raw = super::raw::Functions::load(module)
        .inspect_err(|e| eprintln!("qoltanba pkcs11-helper: {}: no raw calls: {e}", module.display()))
        .ok();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut sessions = Sessions::new();
    let mut next_owner = 1u64;
    loop {
        // The line may carry a PIN: wiped after use.
        let mut line = Zeroizing::new(String::new());
        match std::io::Read::take(stdin.lock(), MAX_LINE).read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if !line.ends_with('\n') => {
                // Longer than any request: whatever follows would be read as requests.
                eprintln!("qoltanba pkcs11-helper: a request line over {MAX_LINE} bytes");
                break;
            }
            Ok(_) => {}
        }
        let (id, response) = match serde_json::from_str::<Envelope<Request>>(&line) {
            Ok(Envelope { id, body }) => (id, answer(&pkcs11, raw.as_ref(), &mut sessions, &mut next_owner, body)),
            Err(e) => (0, Response::Error(format!("not a request: {e}"))),
        };
        let Ok(text) = serde_json::to_string(&Envelope { id, body: response }) else { break };
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

fn answer(
    pkcs11: &Pkcs11,
    raw: Option<&super::raw::Functions>,
    sessions: &mut Sessions,
    next_owner: &mut u64,
    request: Request,
) -> Response {
    let result = match request {
        Request::Slots => slots(pkcs11).map(Response::Slots),
        Request::Certificates { slot, owner } => {
            let session = owner.and_then(|o| sessions.get(&slot).filter(|(held, _)| *held == o)).map(|(_, s)| s);
            certificates(pkcs11, session, slot).map(Response::Certificates)
        }
        Request::Login { slot, label, pin } => {
            if sessions.contains_key(&slot) {
                return Response::Busy;
            }
            login(pkcs11, slot, &label, &pin).or_else(|e| removed(e).map(Err)).map(|outcome| match outcome {
                Ok(session) => {
                    let owner = *next_owner;
                    *next_owner += 1;
                    sessions.insert(slot, (owner, session));
                    Response::LoggedIn(owner)
                }
                Err(refused) => refused,
            })
        }
        Request::Sign { slot, owner, id, mechanism, data } => match sessions.get(&slot) {
            Some((held, session)) if *held == owner => sign(session, raw, &id, mechanism, &data),
            _ => Ok(Response::Error("not logged in".into())),
        },
        Request::Mechanisms { slot } => match raw {
            Some(raw) => {
                return raw.mechanisms(slot).map_or_else(|e| Response::Error(e.to_string()), Response::Mechanisms);
            }
            None => Ok(Response::Error("the module's function list cannot be read".into())),
        },
        Request::Logout { slot, owner } => {
            if sessions.get(&slot).is_some_and(|(held, _)| *held == owner)
                && let Some((_, session)) = sessions.remove(&slot)
            {
                let _ = session.logout();
            }
            Ok(Response::Done)
        }
        Request::ChangePin { slot, label, old, new } => {
            if sessions.contains_key(&slot) {
                return Response::Busy;
            }
            change_pin(pkcs11, slot, &label, &old, &new).or_else(removed)
        }
    };
    result.unwrap_or_else(|e| Response::Error(e.to_string()))
}

/// A token or reader gone in the middle of a call is [`Response::Changed`], told as
/// such to the person; other errors stay errors.
fn removed<T>(e: cryptoki::error::Error) -> cryptoki::error::Result<T>
where
    Response: Into<T>,
{
    use cryptoki::error::{Error, RvError};
    match e {
        Error::Pkcs11(
            RvError::TokenNotPresent
            | RvError::DeviceRemoved
            | RvError::SlotIdInvalid
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::TokenNotRecognized,
            _,
        )
        // `find_slot`: the slot itself is gone (a USB reader pulled out).
        | Error::InvalidValue => Ok(Response::Changed.into()),
        other => Err(other),
    }
}

fn find_slot(pkcs11: &Pkcs11, slot: u64) -> cryptoki::error::Result<cryptoki::slot::Slot> {
    pkcs11.get_all_slots()?.into_iter().find(|s| s.id() == slot).ok_or(cryptoki::error::Error::InvalidValue)
}

/// The slot, if it still holds the token labelled `label`.
fn same_token(pkcs11: &Pkcs11, slot: u64, label: &str) -> cryptoki::error::Result<Option<cryptoki::slot::Slot>> {
    let found = find_slot(pkcs11, slot)?;
    let present = pkcs11.get_slot_info(found)?.token_present()
        && pkcs11.get_token_info(found).is_ok_and(|t| t.token_initialized() && t.label().trim() == label);
    Ok(present.then_some(found))
}

/// A session logged in with `pin`, or the refusal to answer.
fn login(
    pkcs11: &Pkcs11,
    slot: u64,
    label: &str,
    pin: &str,
) -> cryptoki::error::Result<Result<cryptoki::session::Session, Response>> {
    let Some(found) = same_token(pkcs11, slot, label)? else { return Ok(Err(Response::Changed)) };
    let session = pkcs11.open_ro_session(found)?;
    let pin = cryptoki::types::AuthPin::from(pin.to_owned());
    Ok(match log_in(pkcs11, &session, found, &pin)? {
        Some(refused) => Err(refused),
        None => Ok(session),
    })
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
        Ok(()) => Ok(None),
        Err(Error::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid, _)) => {
            let info = pkcs11.get_token_info(slot)?;
            Ok(Some(Response::PinRefused { locked: info.user_pin_locked(), final_try: info.user_pin_final_try() }))
        }
        Err(Error::Pkcs11(RvError::PinLocked, _)) => Ok(Some(Response::PinRefused { locked: true, final_try: false })),
        // Logged in by something else of ours: not this request's login.
        Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(Some(Response::Busy)),
        Err(e) => Err(e),
    }
}

fn change_pin(pkcs11: &Pkcs11, slot: u64, label: &str, old: &str, new: &str) -> cryptoki::error::Result<Response> {
    use cryptoki::types::AuthPin;
    let Some(found) = same_token(pkcs11, slot, label)? else { return Ok(Response::Changed) };
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
    session: &cryptoki::session::Session,
    raw: Option<&super::raw::Functions>,
    id: &str,
    mechanism: SignMechanism,
    data: &str,
) -> cryptoki::error::Result<Response> {
    use base64::Engine;
    use cryptoki::mechanism::Mechanism;
    let id = unhex(id).ok_or(cryptoki::error::Error::InvalidValue)?;
    let data =
        base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| cryptoki::error::Error::InvalidValue)?;
    let keys = session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id)])?;
    let key = *keys.first().ok_or(cryptoki::error::Error::InvalidValue)?;
    let signature = match (mechanism, raw) {
        (SignMechanism::RsaPkcs, _) => session.sign(&Mechanism::RsaPkcs, key, &data)?,
        (SignMechanism::Ecdsa, _) => session.sign(&Mechanism::Ecdsa, key, &data)?,
        // cryptoki has no GOST: by number, on the same session and key.
        (gost, Some(raw)) => match raw.sign(session.handle(), key.handle(), gost.number(), &data) {
            Ok(signature) => signature,
            Err(e) => return Ok(Response::Error(e.to_string())),
        },
        (_, None) => return Ok(Response::Error("the module's function list cannot be read".into())),
    };
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

fn certificates(
    pkcs11: &Pkcs11,
    login: Option<&cryptoki::session::Session>,
    slot: u64,
) -> cryptoki::error::Result<Vec<CertificateView>> {
    use base64::Engine;
    let own;
    let session = match login {
        Some(session) => session,
        None => {
            own = pkcs11.open_ro_session(find_slot(pkcs11, slot)?)?;
            &own
        }
    };
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
        let has_key = match login {
            Some(session) if !id.is_empty() => Some(
                !session
                    .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id.clone())])?
                    .is_empty(),
            ),
            Some(_) => Some(false),
            None => None,
        };
        views.push(CertificateView {
            id: crate::keys::certificate::hex(&id),
            label: String::from_utf8_lossy(&label).into_owned(),
            der: base64::engine::general_purpose::STANDARD.encode(der),
            has_key,
        });
    }
    Ok(views)
}
