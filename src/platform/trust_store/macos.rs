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

/// The SHA-1 hashes (as `security` prints them) of the certificates in the keychain
/// that are ours: `find-certificate -c` matches names by substring, so each one found is
/// checked against [`OurCa::is_ours`] by its own bytes.
fn ours(keychain: &Path, ca: &OurCa) -> Result<Vec<String>, Problem> {
    let out =
        run(TOOL, "macOS", &["find-certificate", "-a", "-Z", "-p", "-c", NAME_PREFIX, &keychain.to_string_lossy()])
            .unwrap_or_default();
    let mut found = Vec::new();
    let mut hash = None;
    let mut pem = String::new();
    for line in out.lines() {
        if let Some(h) = line.strip_prefix("SHA-1 hash: ") {
            hash = Some(h.trim().to_owned());
        } else if line.starts_with("-----BEGIN CERTIFICATE-----") {
            pem = format!("{line}\n");
        } else if line.starts_with("-----END CERTIFICATE-----") {
            pem.push_str(line);
            let ours = pem_certificates(pem.as_bytes()).first().is_some_and(|der| ca.is_ours(der));
            if let (true, Some(h)) = (ours, hash.take()) {
                found.push(h);
            }
            pem.clear();
        } else if !pem.is_empty() {
            pem.push_str(line);
            pem.push('\n');
        }
    }
    Ok(found)
}

fn sha1_hex(der: &[u8]) -> String {
    use sha1::Digest;
    crate::keys::certificate::hex(&sha1::Sha1::digest(der)).to_uppercase()
}

pub(super) fn state(keychain: &Path, ca: &OurCa) -> Result<State, Problem> {
    let found = ours(keychain, ca)?;
    let current = sha1_hex(&ca.der);
    let stale = found.iter().filter(|h| **h != current).count();
    Ok(if found.contains(&current) { State::Trusted { stale } } else { State::NotTrusted { stale } })
}

pub(super) fn install(keychain: &Path, ca: &OurCa) -> Result<Change, Problem> {
    let current = sha1_hex(&ca.der);
    let found = ours(keychain, ca)?;
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
    let found = ours(keychain, ca)?;
    for hash in &found {
        run(TOOL, "macOS", &["delete-certificate", "-Z", hash, &keychain.to_string_lossy()])?;
    }
    Ok(Change { added: false, removed: found.len() })
}
