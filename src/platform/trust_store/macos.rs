//! The macOS login keychain, through `security`: the CA is trusted for SSL only.
//! Written for macOS, not built or run in CI here.

use std::path::Path;

use super::{Access, Change, NAME_PREFIX, OurCa, Problem, Scope, State, Store, StoreKind, run};

const TOOL: &str = "security";

pub(super) fn store(home: &Path) -> Store {
    Store {
        kind: StoreKind::MacosLogin,
        label: "macOS (login keychain)".into(),
        location: home.join("Library/Keychains/login.keychain-db"),
        scope: Scope::User,
        access: Access::MacosLogin,
    }
}

/// The SHA-1 hashes (as `security` prints them) of the certificates named like ours.
fn ours(keychain: &Path) -> Result<Vec<String>, Problem> {
    let out = run(TOOL, "macOS", &["find-certificate", "-a", "-Z", "-c", NAME_PREFIX, &keychain.to_string_lossy()])
        .unwrap_or_default();
    Ok(out.lines().filter_map(|l| l.strip_prefix("SHA-1 hash: ")).map(|h| h.trim().to_owned()).collect())
}

fn sha1_hex(der: &[u8]) -> String {
    use sha1::Digest;
    crate::keys::certificate::hex(&sha1::Sha1::digest(der)).to_uppercase()
}

pub(super) fn state(keychain: &Path, ca: &OurCa) -> Result<State, Problem> {
    let found = ours(keychain)?;
    let current = sha1_hex(&ca.der);
    let stale = found.iter().filter(|h| **h != current).count();
    Ok(if found.contains(&current) { State::Trusted { stale } } else { State::NotTrusted { stale } })
}

pub(super) fn install(keychain: &Path, ca: &OurCa) -> Result<Change, Problem> {
    let current = sha1_hex(&ca.der);
    let found = ours(keychain)?;
    let mut removed = 0;
    for hash in found.iter().filter(|h| **h != current) {
        run(TOOL, "macOS", &["delete-certificate", "-Z", hash, &keychain.to_string_lossy()])?;
        removed += 1;
    }
    if found.contains(&current) {
        return Ok(Change { added: false, removed });
    }
    let path = ca.path.to_string_lossy();
    run(
        TOOL,
        "macOS",
        &["add-trusted-cert", "-r", "trustRoot", "-p", "ssl", "-k", &keychain.to_string_lossy(), &path],
    )?;
    Ok(Change { added: true, removed })
}

pub(super) fn remove(keychain: &Path, ca: &OurCa) -> Result<Change, Problem> {
    let _ = run(TOOL, "macOS", &["remove-trusted-cert", &ca.path.to_string_lossy()]);
    let found = ours(keychain)?;
    for hash in &found {
        run(TOOL, "macOS", &["delete-certificate", "-Z", hash, &keychain.to_string_lossy()])?;
    }
    Ok(Change { added: false, removed: found.len() })
}
