//! The Windows user's Root store, through the system's `certutil.exe` (Windows asks the
//! user to confirm adding a root). Written for Windows, not built or run in CI here.

use super::{Access, Change, OurCa, Problem, Scope, State, Store, StoreKind, run};
use crate::keys::Certificate;

const TOOL: &str = "certutil";

pub(super) fn store() -> Store {
    Store {
        kind: StoreKind::WindowsUser,
        label: "Windows (Root, current user)".into(),
        location: "Cert:\\CurrentUser\\Root".into(),
        scope: Scope::User,
        access: Access::WindowsUser,
    }
}

fn serial(der: &[u8]) -> Option<String> {
    Certificate::from_der(der).ok().map(|c| c.serial_hex())
}

fn present(der: &[u8]) -> bool {
    serial(der).is_some_and(|s| run(TOOL, "Windows", &["-user", "-store", "Root", &s]).is_ok())
}

pub(super) fn state(ca: &OurCa) -> Result<State, Problem> {
    let stale = ca.retired.iter().filter(|d| present(d)).count();
    Ok(if present(&ca.der) { State::Trusted { stale } } else { State::NotTrusted { stale } })
}

pub(super) fn install(ca: &OurCa) -> Result<Change, Problem> {
    let removed = delete(ca.retired.iter())?;
    if present(&ca.der) {
        return Ok(Change { added: false, removed });
    }
    run(TOOL, "Windows", &["-user", "-addstore", "Root", &ca.path.to_string_lossy()])?;
    Ok(Change { added: true, removed })
}

pub(super) fn remove(ca: &OurCa) -> Result<Change, Problem> {
    let removed = delete(std::iter::once(&ca.der).chain(ca.retired.iter()))?;
    Ok(Change { added: false, removed })
}

fn delete<'a>(certs: impl Iterator<Item = &'a Vec<u8>>) -> Result<usize, Problem> {
    let mut removed = 0;
    for der in certs.filter(|d| present(d)) {
        if let Some(s) = serial(der) {
            run(TOOL, "Windows", &["-user", "-delstore", "Root", &s])?;
            removed += 1;
        }
    }
    Ok(removed)
}
