//! Firefox's enterprise policy (`/etc/firefox/policies/policies.json`, key
//! `Certificates.Install`): how an administrator makes every Firefox profile of every
//! user trust the CA, profiles made later included. Linux; administrator rights (part of
//! `trust install --system`). Other policies in the file are kept as they are.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Access, Change, OurCa, Problem, Scope, State, Store, StoreKind, pem_certificates};

/// Where Firefox (also Debian's firefox-esr and the snap) reads system policies.
pub(super) const DIR: &str = "/etc/firefox/policies";
const FILE: &str = "policies.json";
/// Our certificate files next to the policy: `qoltanba-<fingerprint>.pem`.
const FILE_PREFIX: &str = "qoltanba-";
/// A policy file larger than this is not ours to rewrite.
const MAX_POLICY: u64 = 1 << 20;

/// The policy store, when Firefox is installed.
pub(super) fn store() -> Option<Store> {
    let installed =
        ["/usr/lib/firefox", "/usr/lib/firefox-esr", "/usr/bin/firefox", "/usr/bin/firefox-esr", "/snap/bin/firefox"]
            .iter()
            .any(|p| Path::new(p).exists());
    installed.then(|| Store {
        kind: StoreKind::Firefox,
        label: "Firefox (policy for all users)".into(),
        location: Path::new(DIR).join(FILE),
        scope: Scope::System,
        access: Access::FirefoxPolicy(DIR.into()),
    })
}

fn failed(path: &Path, e: impl std::fmt::Display) -> Problem {
    Problem::Failed { message: format!("{}: {e}", path.display()) }
}

/// The policy document (`{}` when there is none yet).
fn read(dir: &Path) -> Result<Value, Problem> {
    let path = dir.join(FILE);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Value::Object(Map::new())),
        Err(e) => return Err(failed(&path, e)),
        Ok(m) if m.len() > MAX_POLICY => return Err(failed(&path, "too large to be a policy file")),
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(&path).map_err(|e| failed(&path, e))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(Value::Object(map)),
        Ok(_) => Err(failed(&path, "not a JSON object")),
        Err(e) => Err(failed(&path, e)),
    }
}

/// `policies.Certificates.Install`, the paths listed there.
fn installs(doc: &Value) -> Vec<String> {
    doc.pointer("/policies/Certificates/Install")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Our entries: paths in `dir` named `qoltanba-…` holding only our certificates; with
/// whether each holds the current CA.
fn ours(dir: &Path, doc: &Value, ca: &OurCa) -> Vec<(String, bool)> {
    installs(doc)
        .into_iter()
        .filter(|p| {
            let p = Path::new(p);
            p.parent() == Some(dir) && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(FILE_PREFIX))
        })
        .filter_map(|p| {
            let bytes = crate::platform::read_small_regular(Path::new(&p), 64 * 1024, None).unwrap_or_default();
            let certs = pem_certificates(&bytes);
            // Shared by every user: only this installation's own CAs, byte for byte.
            let mine = !certs.is_empty() && certs.iter().all(|c| ca.is_exactly_ours(c));
            mine.then(|| (p, certs == [ca.der.clone()]))
        })
        .collect()
}

pub(super) fn state(dir: &Path, ca: &OurCa) -> Result<State, Problem> {
    let doc = read(dir)?;
    let found = ours(dir, &doc, ca);
    let stale = found.iter().filter(|(_, current)| !current).count();
    Ok(if found.iter().any(|(_, c)| *c) { State::Trusted { stale } } else { State::NotTrusted { stale } })
}

pub(super) fn install(dir: &Path, ca: &OurCa) -> Result<Change, Problem> {
    let mut doc = read(dir)?;
    let found = ours(dir, &doc, ca);
    let added = !found.iter().any(|(_, c)| *c);
    let stale: Vec<String> = found.iter().filter(|(_, c)| !c).map(|(p, _)| p.clone()).collect();
    if !added && stale.is_empty() {
        return Ok(Change { added: false, removed: 0 });
    }
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let mut list: Vec<String> = installs(&doc).into_iter().filter(|p| !stale.contains(p)).collect();
    if added {
        let file: PathBuf = dir.join(format!("{FILE_PREFIX}{}.pem", ca.tag()));
        super::system::write_anchor(&file, ca.pem.as_bytes()).map_err(|e| failed(&file, e))?;
        list.push(file.to_string_lossy().into_owned());
    }
    set_installs(&mut doc, list);
    write(dir, &doc)?;
    for path in &stale {
        let _ = std::fs::remove_file(path);
    }
    Ok(Change { added, removed: stale.len() })
}

pub(super) fn remove(dir: &Path, ca: &OurCa) -> Result<Change, Problem> {
    let mut doc = read(dir)?;
    let found: Vec<String> = ours(dir, &doc, ca).into_iter().map(|(p, _)| p).collect();
    if found.is_empty() {
        return Ok(Change { added: false, removed: 0 });
    }
    let list = installs(&doc).into_iter().filter(|p| !found.contains(p)).collect();
    set_installs(&mut doc, list);
    if doc.pointer("/policies").and_then(Value::as_object).is_some_and(Map::is_empty)
        && doc.as_object().is_some_and(|m| m.len() == 1)
    {
        // Only our policy was in it: the file goes.
        let path = dir.join(FILE);
        std::fs::remove_file(&path).map_err(|e| failed(&path, e))?;
    } else {
        write(dir, &doc)?;
    }
    for path in &found {
        let _ = std::fs::remove_file(path);
    }
    Ok(Change { added: false, removed: found.len() })
}

/// Set `policies.Certificates.Install`, dropping the keys it leaves empty.
fn set_installs(doc: &mut Value, list: Vec<String>) {
    let Some(root) = doc.as_object_mut() else { return };
    let policies = root.entry("policies").or_insert_with(|| Value::Object(Map::new()));
    if !policies.is_object() {
        *policies = Value::Object(Map::new());
    }
    let Some(policies) = policies.as_object_mut() else { return };
    let certificates = policies.entry("Certificates").or_insert_with(|| Value::Object(Map::new()));
    if !certificates.is_object() {
        *certificates = Value::Object(Map::new());
    }
    if let Some(certificates) = certificates.as_object_mut() {
        if list.is_empty() {
            certificates.remove("Install");
        } else {
            certificates.insert("Install".into(), Value::Array(list.into_iter().map(Value::String).collect()));
        }
    }
    if policies.get("Certificates").and_then(Value::as_object).is_some_and(Map::is_empty) {
        policies.remove("Certificates");
    }
}

fn write(dir: &Path, doc: &Value) -> Result<(), Problem> {
    let path = dir.join(FILE);
    let text = serde_json::to_string_pretty(doc).map_err(|e| failed(&path, e))?;
    super::system::write_anchor(&path, format!("{text}\n").as_bytes()).map_err(|e| failed(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(dir: &Path) -> OurCa {
        OurCa::load(&dir.join("data")).unwrap()
    }

    #[test]
    fn the_policy_gets_our_certificate_and_keeps_every_other_policy() {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        let others = r#"{"policies":{"DisableTelemetry":true,"Certificates":{"Install":["/etc/ssl/company.pem"]}}}"#;
        std::fs::write(policies.join(FILE), others).unwrap();
        let ca = ca(dir.path());
        assert_eq!(state(&policies, &ca).unwrap(), State::NotTrusted { stale: 0 });
        assert_eq!(install(&policies, &ca).unwrap(), Change { added: true, removed: 0 });
        assert_eq!(state(&policies, &ca).unwrap(), State::Trusted { stale: 0 });
        let doc = read(&policies).unwrap();
        assert_eq!(doc["policies"]["DisableTelemetry"], true);
        let listed = installs(&doc);
        assert_eq!(listed[0], "/etc/ssl/company.pem");
        assert_eq!(pem_certificates(&std::fs::read(&listed[1]).unwrap()), std::slice::from_ref(&ca.der));
        assert_eq!(install(&policies, &ca).unwrap(), Change { added: false, removed: 0 }, "twice: no change");
        assert_eq!(remove(&policies, &ca).unwrap(), Change { added: false, removed: 1 });
        let doc = read(&policies).unwrap();
        assert_eq!(installs(&doc), ["/etc/ssl/company.pem"]);
        assert_eq!(doc["policies"]["DisableTelemetry"], true);
        assert!(!Path::new(&listed[1]).exists());
    }

    #[test]
    fn a_policy_file_made_only_for_us_goes_away_and_a_broken_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        let ca = ca(dir.path());
        install(&policies, &ca).unwrap();
        assert!(policies.join(FILE).exists());
        remove(&policies, &ca).unwrap();
        assert!(!policies.join(FILE).exists(), "nothing of ours is left");
        std::fs::write(policies.join(FILE), "{ not json").unwrap();
        assert!(install(&policies, &ca).is_err());
        assert_eq!(std::fs::read_to_string(policies.join(FILE)).unwrap(), "{ not json");
    }
}
