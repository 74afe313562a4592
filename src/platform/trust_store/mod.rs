//! Putting the local CA where browsers read trust from, finding it there, and taking
//! it out again: `qoltanba trust install | status | remove`.
//!
//! Stores: the NSS databases of Chromium/Chrome (native, snap, Flatpak) and of every
//! Firefox profile (through NSS's `certutil`), the system store (Debian/Ubuntu, Fedora,
//! Arch, openSUSE layouts) and Firefox's policy for all users (both: administrator
//! rights), the Windows user Root store and the
//! macOS login keychain (for TLS only). Only certificates that are ours are ever
//! touched: the current CA, CAs this installation retired (`ca-old-*.pem`), and
//! anything named `qoltanba local CA…`, the name every qoltanba CA carries.

#[cfg(target_os = "linux")]
mod firefox_policy;
#[cfg(target_os = "macos")]
mod macos;
mod nss;
mod system;
#[cfg(windows)]
mod windows;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::keys::Certificate;
use crate::server::local_ca::{CA_CERT_FILE, LocalCa, RETIRED_CA_PREFIX};

/// Every qoltanba CA's subject common name starts so; the rest is a key fingerprint.
pub const NAME_PREFIX: &str = "qoltanba local CA";

/// Our CA as the stores see it.
pub struct OurCa {
    pub der: Vec<u8>,
    pub pem: String,
    /// Its subject common name, also its nickname in NSS stores.
    pub name: String,
    /// The `ca.pem` of the data directory.
    pub path: PathBuf,
    retired: Vec<Vec<u8>>,
}

impl OurCa {
    /// The data directory's CA, created if there is none yet (so that trusting can come
    /// before the first start), with the CAs it retired.
    pub fn load(data_dir: &Path) -> Result<Self, String> {
        crate::platform::create_private_dir(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
        LocalCa::load_or_create(data_dir).map_err(|e| e.to_string())?;
        Self::read(data_dir)
    }

    /// The data directory's CA as it is, never created or replaced (for checks, and for
    /// the part that runs with administrator rights in the user's directory).
    pub fn read(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join(CA_CERT_FILE);
        let pem = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let der = pem_certificates(pem.as_bytes()).into_iter().next().ok_or("ca.pem holds no certificate")?;
        let name = Certificate::from_der(&der).map(|c| c.subject_cn()).map_err(|e| e.to_string())?;
        let mut retired = Vec::new();
        if let Ok(entries) = std::fs::read_dir(data_dir) {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                if file.starts_with(RETIRED_CA_PREFIX) && file.ends_with(".pem") {
                    let bytes = std::fs::read(entry.path()).unwrap_or_default();
                    retired.extend(pem_certificates(&bytes));
                }
            }
        }
        Ok(Self { der, pem, name, path, retired })
    }

    /// Whether a certificate found in a store is one of ours.
    pub fn is_ours(&self, der: &[u8]) -> bool {
        der == self.der
            || self.retired.iter().any(|r| r == der)
            || Certificate::from_der(der).is_ok_and(|c| c.subject_cn().starts_with(NAME_PREFIX))
    }

    /// A short fingerprint for file names: the tail of the common name.
    fn tag(&self) -> String {
        let tail = self.name.trim_start_matches(NAME_PREFIX).trim();
        if tail.is_empty() || !tail.chars().all(|c| c.is_ascii_alphanumeric()) {
            crate::keys::certificate::hex(&crate::crypto::sha256(&self.der)[..4])
        } else {
            tail.to_owned()
        }
    }
}

/// Every certificate in PEM text (or the bytes themselves when they are DER).
pub fn pem_certificates(bytes: &[u8]) -> Vec<Vec<u8>> {
    use der::Encode;
    crate::keys::certificate::parse_x509_all(bytes).iter().filter_map(|c| c.to_der().ok()).collect()
}

/// Who may change a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// This user's own files.
    User,
    /// The whole computer: needs administrator rights.
    System,
}

/// A kind of store, for the words shown about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    Chromium,
    Firefox,
    System,
    WindowsUser,
    MacosLogin,
}

/// One place trust is read from.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Store {
    pub kind: StoreKind,
    /// The browser or system it serves, e.g. `Chromium, Chrome`, `Firefox (snap) abc.default`.
    pub label: String,
    pub location: PathBuf,
    pub scope: Scope,
    #[serde(skip)]
    access: Access,
}

#[derive(Clone, Debug)]
enum Access {
    /// An NSS database: `sql:DIR` or `dbm:DIR`; `create` when it may be made new.
    Nss {
        db: String,
        create: bool,
    },
    System(&'static system::Layout),
    #[cfg(target_os = "linux")]
    FirefoxPolicy(PathBuf),
    #[cfg(windows)]
    WindowsUser,
    #[cfg(target_os = "macos")]
    MacosLogin,
}

/// What a store holds of ours.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum State {
    /// The current CA is there, trusted for websites; `stale` older ones of ours too.
    Trusted { stale: usize },
    /// The current CA is not there (or not trusted for websites).
    NotTrusted { stale: usize },
    /// The store cannot be read or changed.
    Unavailable { problem: Problem },
}

/// Why a store cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// A program is missing; `package` is what provides it on Debian.
    ToolMissing { tool: String, package: String },
    /// The tool ran and failed; its message.
    Failed { message: String },
}

impl Problem {
    fn failed(message: impl Into<String>) -> Self {
        Self::Failed { message: message.into() }
    }
}

/// What an install or a removal did to one store.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub added: bool,
    pub removed: usize,
}

/// The stores of this user's browsers and of the system, found under `home`.
pub fn discover(home: &Path) -> Vec<Store> {
    let mut stores = nss::chromium_stores(home);
    stores.extend(nss::firefox_stores(home));
    #[cfg(target_os = "linux")]
    stores.extend(system::store());
    #[cfg(target_os = "linux")]
    stores.extend(firefox_policy::store());
    #[cfg(windows)]
    stores.push(windows::store());
    #[cfg(target_os = "macos")]
    stores.push(macos::store(home));
    stores
}

impl Store {
    pub fn state(&self, ca: &OurCa) -> State {
        let state = match &self.access {
            Access::Nss { db, create } => nss::state(db, *create, ca),
            Access::System(layout) => system::state(layout, ca),
            #[cfg(target_os = "linux")]
            Access::FirefoxPolicy(dir) => firefox_policy::state(dir, ca),
            #[cfg(windows)]
            Access::WindowsUser => windows::state(ca),
            #[cfg(target_os = "macos")]
            Access::MacosLogin => macos::state(&self.location, ca),
        };
        state.unwrap_or_else(|problem| State::Unavailable { problem })
    }

    /// Put the current CA in, trusted for websites only, and take out older ones of ours.
    /// System stores need administrator rights: see [`system_needs_elevation`].
    pub fn install(&self, ca: &OurCa) -> Result<Change, Problem> {
        match &self.access {
            Access::Nss { db, create } => nss::install(db, *create, ca),
            Access::System(layout) => system::install(layout, ca),
            #[cfg(target_os = "linux")]
            Access::FirefoxPolicy(dir) => firefox_policy::install(dir, ca),
            #[cfg(windows)]
            Access::WindowsUser => windows::install(ca),
            #[cfg(target_os = "macos")]
            Access::MacosLogin => macos::install(&self.location, ca),
        }
    }

    /// Take out every certificate of ours, current or old.
    pub fn remove(&self, ca: &OurCa) -> Result<Change, Problem> {
        match &self.access {
            Access::Nss { db, create } => nss::remove(db, *create, ca),
            Access::System(layout) => system::remove(layout, ca),
            #[cfg(target_os = "linux")]
            Access::FirefoxPolicy(dir) => firefox_policy::remove(dir, ca),
            #[cfg(windows)]
            Access::WindowsUser => windows::remove(ca),
            #[cfg(target_os = "macos")]
            Access::MacosLogin => macos::remove(&self.location, ca),
        }
    }

    /// Whether the store is there already (a browser that was never started has no
    /// database yet; `install` makes Chromium's).
    pub fn exists(&self) -> bool {
        match &self.access {
            Access::Nss { db, .. } => nss::exists(db),
            _ => true,
        }
    }

    /// For NSS stores: the database argument of NSS's tools (`sql:DIR`).
    pub fn nss_db(&self) -> Option<&str> {
        match &self.access {
            Access::Nss { db, .. } => Some(db),
            _ => None,
        }
    }
}

/// Whether changing the system store needs rights this process lacks.
pub fn system_needs_elevation() -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").map(|m| m.uid() != 0).unwrap_or(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// Run a tool; its standard output, or the problem in words.
fn run(tool: &str, package: &str, args: &[&str]) -> Result<String, Problem> {
    let output = Command::new(tool).args(args).stdin(std::process::Stdio::null()).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Problem::ToolMissing { tool: tool.to_owned(), package: package.to_owned() }
        } else {
            Problem::failed(format!("{tool}: {e}"))
        }
    })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let mut message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if message.is_empty() {
            message = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
        Err(Problem::failed(format!("{tool} {}: {message}", args.first().unwrap_or(&""))))
    }
}
