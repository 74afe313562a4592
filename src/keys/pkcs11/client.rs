//! The daemon's side of the PKCS#11 helpers: one helper process per module, started on
//! first use, each request answered within a time limit or the helper is killed.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use super::ModuleSpec;
use super::helper::{CertificateView, Request, Response, SignMechanism, SlotView};

/// How long a module may take to answer one request.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// Longest answer line read from a helper.
const MAX_ANSWER: u64 = 4 << 20;

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
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One module, driven through its helper process.
pub struct Module {
    pub spec: ModuleSpec,
    program: PathBuf,
    helper: Mutex<Option<Helper>>,
}

impl Module {
    /// `program`: this program, whose `pkcs11-helper` subcommand loads the module.
    pub fn new(spec: ModuleSpec, program: PathBuf) -> Self {
        Self { spec, program, helper: Mutex::new(None) }
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
        let (tx, answers) = mpsc::channel();
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
        Ok(Helper { child, input, answers })
    }

    /// Ask the module; the helper is started if needed and killed when it fails.
    fn ask(&self, request: &Request) -> Result<Response, ModuleError> {
        let mut held = crate::platform::lock(&self.helper);
        if held.is_none() {
            *held = Some(self.start()?);
        }
        let Some(helper) = held.as_mut() else { return Err(ModuleError::Unavailable("no helper".into())) };
        let line = serde_json::to_string(request).map_err(|e| ModuleError::Failed(e.to_string()))?;
        let sent = writeln!(helper.input, "{line}").and_then(|()| helper.input.flush());
        let answer = match sent {
            Ok(()) => helper.answers.recv_timeout(ANSWER_WITHIN),
            Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
        };
        match answer {
            Ok(line) => match serde_json::from_str::<Response>(&line) {
                Ok(Response::Error(why)) => Err(ModuleError::Failed(why)),
                Ok(response) => Ok(response),
                Err(e) => {
                    *held = None;
                    Err(ModuleError::Failed(format!("unreadable answer: {e}")))
                }
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {
                *held = None;
                Err(ModuleError::TimedOut)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // It ended: the module could not be loaded, or it crashed.
                *held = None;
                Err(ModuleError::Unavailable("the module could not be loaded, or it crashed".into()))
            }
        }
    }

    pub fn slots(&self) -> Result<Vec<SlotView>, ModuleError> {
        match self.ask(&Request::Slots)? {
            Response::Slots(slots) => Ok(slots),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    pub fn certificates(&self, slot: u64) -> Result<Vec<CertificateView>, ModuleError> {
        match self.ask(&Request::Certificates { slot })? {
            Response::Certificates(certificates) => Ok(certificates),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    /// Log in with the PIN the person typed.
    pub fn login(&self, slot: u64, pin: &str) -> Result<LoginOutcome, ModuleError> {
        let pin = zeroize::Zeroizing::new(pin.to_owned());
        match self.ask(&Request::Login { slot, pin })? {
            Response::Done => Ok(LoginOutcome::LoggedIn),
            Response::PinRefused { locked, final_try } => Ok(LoginOutcome::Refused { locked, final_try }),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    /// Sign `data` with the key `id` (hex) on `slot`, logged in before.
    pub fn sign(&self, slot: u64, id: &str, mechanism: SignMechanism, data: &[u8]) -> Result<Vec<u8>, ModuleError> {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(data);
        match self.ask(&Request::Sign { slot, id: id.to_owned(), mechanism, data })? {
            Response::Signature(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| ModuleError::Failed(format!("unreadable signature: {e}"))),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    /// Change the user PIN.
    pub fn change_pin(&self, slot: u64, old: &str, new: &str) -> Result<LoginOutcome, ModuleError> {
        let (old, new) = (zeroize::Zeroizing::new(old.to_owned()), zeroize::Zeroizing::new(new.to_owned()));
        match self.ask(&Request::ChangePin { slot, old, new })? {
            Response::Done => Ok(LoginOutcome::LoggedIn),
            Response::PinRefused { locked, final_try } => Ok(LoginOutcome::Refused { locked, final_try }),
            _ => Err(ModuleError::Failed("an answer to another question".into())),
        }
    }

    pub fn logout(&self, slot: u64) {
        let _ = self.ask(&Request::Logout { slot });
    }
}

/// What a PIN did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    LoggedIn,
    /// Wrong PIN; `locked`: no try is left; `final_try`: one is.
    Refused {
        locked: bool,
        final_try: bool,
    },
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
    /// (`None`: any).
    pub fn present(&self, allowed: Option<&[String]>) -> Vec<crate::ui::TokenSlot> {
        let mut present = Vec::new();
        for module in &self.modules {
            if allowed.is_some_and(|a| !a.contains(&module.spec.storage)) {
                continue;
            }
            for slot in module.slots().unwrap_or_default() {
                if let Some(token) = slot.token {
                    present.push(crate::ui::TokenSlot {
                        storage: module.spec.storage.clone(),
                        slot: slot.slot,
                        label: token.label,
                    });
                }
            }
        }
        present
    }

    /// The module serving `token`.
    pub fn module_of(&self, token: &crate::ui::TokenSlot) -> Option<std::sync::Arc<Module>> {
        self.modules
            .iter()
            .find(|m| {
                m.spec.storage == token.storage && m.slots().is_ok_and(|s| s.iter().any(|s| s.slot == token.slot))
            })
            .cloned()
    }

    /// Storage names with a token present now (`getActiveTokens`), each once, in order;
    /// a module that fails counts as having none.
    pub fn active_storages(&self) -> Vec<String> {
        let mut storages: Vec<String> = Vec::new();
        for module in &self.modules {
            match module.slots() {
                Ok(slots) if slots.iter().any(|s| s.token.is_some()) => {
                    if !storages.contains(&module.spec.storage) {
                        storages.push(module.spec.storage.clone());
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(module = %module.spec.path.display(), "{e}"),
            }
        }
        storages
    }
}
