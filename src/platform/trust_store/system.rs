//! The system's trust store on Linux: an anchors directory and the command that rebuilds
//! the bundle every program reads. Needs administrator rights; the caller elevates.

use std::path::Path;

use super::{Access, Change, OurCa, Problem, Scope, State, Store, StoreKind, pem_certificates, run};

/// One distribution family's layout.
#[derive(Debug)]
pub(super) struct Layout {
    pub name: &'static str,
    pub anchors: &'static str,
    pub update: &'static [&'static str],
    pub package: &'static str,
}

const LAYOUTS: [Layout; 4] = [
    Layout {
        name: "Debian, Ubuntu",
        anchors: "/usr/local/share/ca-certificates",
        update: &["update-ca-certificates"],
        package: "ca-certificates",
    },
    Layout {
        name: "Fedora, RHEL",
        anchors: "/etc/pki/ca-trust/source/anchors",
        update: &["update-ca-trust", "extract"],
        package: "ca-certificates",
    },
    Layout {
        name: "Arch",
        anchors: "/etc/ca-certificates/trust-source/anchors",
        update: &["trust", "extract-compat"],
        package: "p11-kit",
    },
    Layout {
        name: "openSUSE",
        anchors: "/etc/pki/trust/anchors",
        update: &["update-ca-certificates"],
        package: "ca-certificates",
    },
];

/// Our files in an anchors directory are named `qoltanba-<fingerprint>.crt`.
const FILE_PREFIX: &str = "qoltanba-";

/// The system store of this distribution, when its layout is one we know.
pub(super) fn store() -> Option<Store> {
    let layout = LAYOUTS.iter().find(|l| Path::new(l.anchors).is_dir())?;
    Some(Store {
        kind: StoreKind::System,
        label: format!("{} (system)", layout.name),
        location: layout.anchors.into(),
        scope: Scope::System,
        access: Access::System(layout),
    })
}

/// Our files in the anchors directory: (file name, whether it holds the current CA).
fn ours(layout: &Layout, ca: &OurCa) -> Vec<(String, bool)> {
    let Ok(entries) = std::fs::read_dir(layout.anchors) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(FILE_PREFIX) {
            continue;
        }
        let bytes = crate::platform::read_small_regular(&entry.path(), 64 * 1024, None).unwrap_or_default();
        let certs = pem_certificates(&bytes);
        // Shared by every user: only this installation's own CAs, byte for byte.
        if !certs.is_empty() && certs.iter().all(|c| ca.is_exactly_ours(c)) {
            found.push((name, certs.contains(&ca.der)));
        }
    }
    found.sort();
    found
}

pub(super) fn state(layout: &Layout, ca: &OurCa) -> Result<State, Problem> {
    let found = ours(layout, ca);
    let stale = found.iter().filter(|(_, current)| !current).count();
    Ok(if found.iter().any(|(_, current)| *current) { State::Trusted { stale } } else { State::NotTrusted { stale } })
}

pub(super) fn install(layout: &Layout, ca: &OurCa) -> Result<Change, Problem> {
    let found = ours(layout, ca);
    let mut removed = 0;
    for (name, current) in &found {
        if !current {
            remove_file(layout, name)?;
            removed += 1;
        }
    }
    let added = !found.iter().any(|(_, current)| *current);
    if added {
        let path = Path::new(layout.anchors).join(format!("{FILE_PREFIX}{}.crt", ca.tag()));
        write_anchor(&path, ca.pem.as_bytes()).map_err(|e| Problem::failed(format!("{}: {e}", path.display())))?;
    }
    if added || removed > 0 {
        update(layout)?;
    }
    Ok(Change { added, removed })
}

pub(super) fn remove(layout: &Layout, ca: &OurCa) -> Result<Change, Problem> {
    let found = ours(layout, ca);
    for (name, _) in &found {
        remove_file(layout, name)?;
    }
    if !found.is_empty() {
        update(layout)?;
    }
    Ok(Change { added: false, removed: found.len() })
}

fn remove_file(layout: &Layout, name: &str) -> Result<(), Problem> {
    let path = Path::new(layout.anchors).join(name);
    std::fs::remove_file(&path).map_err(|e| Problem::failed(format!("{}: {e}", path.display())))
}

/// Anchors are public and read by every user: mode 0644.
pub(super) fn write_anchor(path: &Path, pem: &[u8]) -> std::io::Result<()> {
    crate::platform::write_public_file(path, pem)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

fn update(layout: &Layout) -> Result<(), Problem> {
    let (tool, args) = layout.update.split_first().expect("every layout names its command");
    run(tool, layout.package, args).map(drop)
}
