//! The daemon's side of the PKCS#11 helpers: one helper process per module, started on
//! first use; each request is answered within a time limit or the helper is killed; a
//! module that failed rests a while before it is tried again; the slot list is reused
//! for a moment, so pages asking in a loop cost one question to the module.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::ModuleSpec;
use super::helper::{CertificateView, Envelope, Request, Response, SignMechanism, SlotView};

/// How long a module may take to answer one request.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// A module that failed is not asked again for this long.
const REST_AFTER_FAILURE: Duration = Duration::from_secs(30);
/// How long a slot list is reused.
const SLOTS_FRESH: Duration = Duration::from_secs(2);
/// Longest answer line read from a helper.
const MAX_ANSWER: u64 = 4 << 20;
/// Answers waiting to be read; a helper that says more than it was asked stalls and is
/// killed at its next time-out.
const QUEUED_ANSWERS: usize = 8;

/// Why a module could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// The helper could not be started, or the module not loaded.
    Unavailable(String),
    /// No answer within the time limit (the helper was killed).
    TimedOut,
    /// The module answered with an error.
    Failed(String),
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "the PKCS#11 module cannot be used: {why}"),
            Self::TimedOut => write!(f, "the PKCS#11 module did not answer in time"),
            Self::Failed(why) => write!(f, "the PKCS#11 module failed: {why}"),
        }
    }
}

struct Helper {
    child: Child,
    input: ChildStdin,
    answers: mpsc::Receiver<String>,
    next_id: u64,
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one module's helper is doing.
#[derive(Default)]
struct State {
    helper: Option<Helper>,
    /// Not asked again before this.
    resting_until: Option<Instant>,
    slots: Option<(Instant, Vec<SlotView>)>,
}

/// One module, driven through its helper process.
pub struct Module {
    pub spec: ModuleSpec,
    program: PathBuf,
    state: Mutex<State>,
    /// PINs a token of this module refused in this run (salted hashes): never sent again,
    /// so repeated requests cannot use up the token's tries with one wrong PIN.
    refused: Mutex<HashSet<[u8; 32]>>,
    salt: [u8; 16],
}

/// What a PIN did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in: the login's owner number (for signing and logging out).
    LoggedIn(u64),
    /// Wrong PIN; `locked`: no try is left; `final_try`: one is.
    Refused { locked: bool, final_try: bool },
    /// The same PIN was refused before: not sent again.
    RefusedBefore,
    /// Another request is logged in on this token now.
    Busy,
    /// The token in the slot is no longer the one chosen.
    Changed,
}

impl Module {
    /// `program`: this program, whose `pkcs11-helper` subcommand loads the module.
    pub fn new(spec: ModuleSpec, program: PathBuf) -> Self {
        let mut salt = [0u8; 16];
        let _ = getrandom::fill(&mut salt);
        Self { spec, program, state: Mutex::default(), refused: Mutex::default(), salt }
    }

    fn start(&self) -> Result<Helper, ModuleError> {
        let mut child = Command::new(&self.program)
            .arg("pkcs11-helper")
            .arg(&self.spec.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ModuleError::Unavailable(e.to_string()))?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ModuleError::Unavailable("no pipes to the helper".into()));
        };
        let (tx, answers) = mpsc::sync_channel(QUEUED_ANSWERS);
        std::thread::spawn(move || {
            let mut output = BufReader::new(output);
            loop {
                let mut line = String::new();
                match std::io::Read::take(&mut output, MAX_ANSWER).read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if tx.send(line).is_err() => break,
                    Ok(_) => {}
                }
            }
        });
        Ok(Helper { child, input, answers, next_id: 1 })
    }

    /// Ask the module; the helper is started if needed, and killed (the module then
    /// rests) when it does not answer.
    fn ask(&self, request: &Request) -> Result<Response, ModuleError> {
        let mut state = crate::platform::lock(&self.state);
        self.ask_in(&mut state, request)
    }

    fn ask_in(&self, state: &mut State, request: &Request) -> Result<Response, ModuleError> {
        if state.resting_until.is_some_and(|until| Instant::now() < until) {
            return Err(ModuleError::Unavailable("it failed a moment ago".into()));
        }
        if state.helper.is_none() {
            state.helper = Some(self.start().inspect_err(|_| rest(state))?);
        }
        let Some(helper) = state.helper.as_mut() else { return Err(ModuleError::Unavailable("no helper".into())) };
        let id = helper.next_id;
        helper.next_id += 1;
        let line = Zeroizing::new(
            serde_json::to_string(&Envelope { id, body: request }).map_err(|e| ModuleError::Failed(e.to_string()))?,
        );
        let sent = helper.input.write_all(line.as_bytes()).and_then(|()| helper.input.write_all(b"\n"));
        let deadline = Instant::now() + ANSWER_WITHIN;
        let answer = match sent.and_then(|()| helper.input.flush()) {
            Err(_) => Err(ModuleError::Unavailable("the module could not be loaded, or it crashed".into())),
            // Answers to earlier requests (late ones) are passed over.
            Ok(()) => loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match helper.answers.recv_timeout(left) {
                    Ok(line) => match serde_json::from_str::<Envelope<Response>>(&line) {
                        Ok(envelope) if envelope.id == id => break Ok(envelope.body),
                        Ok(_) => continue,
                        Err(e) => break Err(ModuleError::Failed(format!("unreadable answer: {e}"))),
                    },
                    Err(mpsc::RecvTimeoutError::Timeout) => break Err(ModuleError::TimedOut),
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        break Err(ModuleError::Unavailable("the module could not be loaded, or it crashed".into()));
                    }
                }
            },
        };
        match answer {
            Ok(Response::Error(why)) => Err(ModuleError::Failed(why)),
            Ok(response) => Ok(response),
            Err(e) => {
                rest(state);
                Err(e)
            }
        }
    }

    /// The slots, reused for [`SLOTS_FRESH`].
    pub fn slots(&self) -> Result<Vec<SlotView>, ModuleError> {
        let mut state = crate::platform::lock(&self.state);
        if let Some((at, slots)) = &state.slots
            && at.elapsed() < SLOTS_FRESH
        {
            return Ok(slots.clone());
        }
        match self.ask_in(&mut state, &Request::Slots)? {
            Response::Slots(slots) => {
                state.slots = Some((Instant::now(), slots.clone()));
                Ok(slots)
            }
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    /// The certificates on the token in `slot`; with `owner`'s login, whether each has
    /// its private key.
    pub fn certificates(&self, slot: u64, owner: Option<u64>) -> Result<Vec<CertificateView>, ModuleError> {
        match self.ask(&Request::Certificates { slot, owner })? {
            Response::Certificates(certificates) => Ok(certificates),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    fn pin_hash(&self, label: &str, pin: &str) -> [u8; 32] {
        let mut input = Zeroizing::new(Vec::new());
        input.extend_from_slice(&self.salt);
        input.extend_from_slice(label.as_bytes());
        input.push(0);
        input.extend_from_slice(pin.as_bytes());
        let digest = crate::crypto::sha256(&input);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&digest[..32]);
        hash
    }

    /// Log in on the token labelled `label` with the PIN the person typed.
    pub fn login(&self, slot: u64, label: &str, pin: &str) -> Result<LoginOutcome, ModuleError> {
        let hash = self.pin_hash(label, pin);
        if crate::platform::lock(&self.refused).contains(&hash) {
            return Ok(LoginOutcome::RefusedBefore);
        }
        let request = Request::Login { slot, label: label.to_owned(), pin: Zeroizing::new(pin.to_owned()) };
        let outcome = outcome(self.ask(&request)?)?;
        if matches!(outcome, LoginOutcome::Refused { .. }) {
            crate::platform::lock(&self.refused).insert(hash);
        }
        Ok(outcome)
    }

    /// Sign `data` with the key `id` (hex) on `slot`, in `owner`'s login.
    pub fn sign(
        &self,
        slot: u64,
        owner: u64,
        id: &str,
        mechanism: SignMechanism,
        data: &[u8],
    ) -> Result<Vec<u8>, ModuleError> {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(data);
        match self.ask(&Request::Sign { slot, owner, id: id.to_owned(), mechanism, data })? {
            Response::Signature(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| ModuleError::Failed(format!("unreadable signature: {e}"))),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    /// The mechanisms the token in `slot` offers, by number.
    pub fn mechanisms(&self, slot: u64) -> Result<Vec<u64>, ModuleError> {
        match self.ask(&Request::Mechanisms { slot })? {
            Response::Mechanisms(mechanisms) => Ok(mechanisms),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    /// End `owner`'s login.
    pub fn logout(&self, slot: u64, owner: u64) {
        let _ = self.ask(&Request::Logout { slot, owner });
    }

    /// Change the user PIN of the token labelled `label`.
    pub fn change_pin(&self, slot: u64, label: &str, old: &str, new: &str) -> Result<LoginOutcome, ModuleError> {
        let (old, new) = (Zeroizing::new(old.to_owned()), Zeroizing::new(new.to_owned()));
        let hash = self.pin_hash(label, &new);
        let answer = self.ask(&Request::ChangePin { slot, label: label.to_owned(), old, new });
        // The token's PIN flags changed either way: the next slot list asks afresh.
        crate::platform::lock(&self.state).slots = None;
        match answer? {
            Response::Done => {
                // The new PIN may have been refused before this run (mistyped at a
                // prompt, or an earlier PIN): it is the right one now.
                crate::platform::lock(&self.refused).remove(&hash);
                Ok(LoginOutcome::LoggedIn(0))
            }
            other => outcome(other),
        }
    }
}

/// A failed module rests; its helper goes.
fn rest(state: &mut State) {
    state.helper = None;
    state.slots = None;
    state.resting_until = Some(Instant::now() + REST_AFTER_FAILURE);
}

fn outcome(response: Response) -> Result<LoginOutcome, ModuleError> {
    match response {
        Response::LoggedIn(owner) => Ok(LoginOutcome::LoggedIn(owner)),
        Response::PinRefused { locked, final_try } => Ok(LoginOutcome::Refused { locked, final_try }),
        Response::Busy => Ok(LoginOutcome::Busy),
        Response::Changed => Ok(LoginOutcome::Changed),
        _ => Err(ModuleError::Failed("an answer to another question".into())),
    }
}

/// Every module in use, in order.
pub struct Modules {
    pub modules: Vec<std::sync::Arc<Module>>,
}

impl Modules {
    pub fn new(specs: Vec<ModuleSpec>, program: PathBuf) -> Self {
        Self { modules: specs.into_iter().map(|s| std::sync::Arc::new(Module::new(s, program.clone()))).collect() }
    }

    /// Tokens present now, as the key chooser offers them, of the storages `allowed`
    /// (`None`: any); modules of other storages are not asked.
    pub fn present(&self, allowed: Option<&[String]>) -> Vec<super::TokenSlot> {
        let mut present = Vec::new();
        for (index, module) in self.modules.iter().enumerate() {
            if allowed.is_some_and(|a| !a.contains(&module.spec.storage)) {
                continue;
            }
            for slot in module.slots().unwrap_or_default() {
                if let Some(token) = slot.token {
                    present.push(super::TokenSlot {
                        storage: module.spec.storage.clone(),
                        slot: slot.slot,
                        label: token.label,
                        module: index,
                        pin_final_try: token.pin_final_try,
                        pin_locked: token.pin_locked,
                    });
                }
            }
        }
        present
    }

    /// The module serving `token` (by its place in the list, checked against its storage).
    pub fn module_of(&self, token: &super::TokenSlot) -> Option<std::sync::Arc<Module>> {
        self.modules.get(token.module).filter(|m| m.spec.storage == token.storage).cloned()
    }

    /// Storage names with a token present now (`getActiveTokens`), each once, in order;
    /// a module that fails counts as having none.
    pub fn active_storages(&self) -> Vec<String> {
        let mut storages: Vec<String> = Vec::new();
        for token in self.present(None) {
            if !storages.contains(&token.storage) {
                storages.push(token.storage);
            }
        }
        storages
    }
}
