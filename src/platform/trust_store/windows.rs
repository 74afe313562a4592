//! The Windows user's Root store, through the system's `certutil.exe` (Windows asks the
//! user to confirm adding a root). Written for Windows, not built or run in CI here.

use super::{Access, Change, OurCa, Problem, Scope, State, Store, StoreKind, run};

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

/// A certificate's SHA-1 thumbprint: certutil's exact CertId (a serial number could
/// also match somebody else's certificate).
fn thumbprint(der: &[u8]) -> String {
    use sha1::Digest;
    crate::keys::certificate::hex(&sha1::Sha1::digest(der))
}

fn present(der: &[u8]) -> bool {
    run(TOOL, "Windows", &["-user", "-store", "Root", &thumbprint(der)]).is_ok()
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
        run(TOOL, "Windows", &["-user", "-delstore", "Root", &thumbprint(der)])?;
        removed += 1;
    }
    Ok(removed)
}
