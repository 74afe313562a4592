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
#[cfg(target_os = "linux")]
mod system;
#[cfg(windows)]
mod windows;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::keys::Certificate;
use crate::server::local_ca::{CA_CERT_FILE, LocalCa, RETIRED_CA_PREFIX, local_ca_problem};

/// Every qoltanba CA's subject common name starts so; the rest is a key fingerprint.
pub const NAME_PREFIX: &str = "qoltanba local CA";
/// A `ca.pem` is one certificate: a few KiB.
const MAX_CA_FILE: u64 = 16 * 1024;

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

    /// The data directory's CA as it is, never created or replaced, with the CAs it
    /// retired. Only a certificate shaped as qoltanba's CA is accepted (see
    /// [`local_ca_problem`]): whatever is in the directory, nothing else gets trusted.
    pub fn read(data_dir: &Path) -> Result<Self, String> {
        let mut ca = Self::read_current(data_dir, None)?;
        if let Ok(entries) = std::fs::read_dir(data_dir) {
            for entry in entries.flatten().take(64) {
                let file = entry.file_name().to_string_lossy().into_owned();
                if file.starts_with(RETIRED_CA_PREFIX) && file.ends_with(".pem") {
                    let bytes =
                        crate::platform::read_small_regular(&entry.path(), MAX_CA_FILE, None).unwrap_or_default();
                    let certs = pem_certificates(&bytes);
                    // Older versions' CAs lack some of today's extensions; their name says
                    // whose they are (and these only ever leave stores).
                    let named = |der: &Vec<u8>| {
                        Certificate::from_der(der).is_ok_and(|c| c.subject_cn().starts_with(NAME_PREFIX))
                    };
                    ca.retired.extend(certs.into_iter().filter(named));
                }
            }
        }
        Ok(ca)
    }

    /// The CA of the user `owner`'s data directory, read with administrator rights: the
    /// file must be that user's, and the CAs it retired are not looked at.
    pub fn read_for_user(data_dir: &Path, owner: Option<u32>) -> Result<Self, String> {
        Self::read_current(data_dir, owner)
    }

    fn read_current(data_dir: &Path, owner: Option<u32>) -> Result<Self, String> {
        let path = data_dir.join(CA_CERT_FILE);
        let bytes = crate::platform::read_small_regular(&path, MAX_CA_FILE, owner).map_err(|e| e.to_string())?;
        let [der] = <[Vec<u8>; 1]>::try_from(pem_certificates(&bytes))
            .map_err(|_| format!("{}: not exactly one certificate", path.display()))?;
        local_ca_problem(&der).map_err(|e| format!("{}: not a qoltanba local CA: {e}", path.display()))?;
        let name = Certificate::from_der(&der).map(|c| c.subject_cn()).map_err(|e| e.to_string())?;
        // What stores get is the certificate re-encoded, never the file's other text.
        let pem = crate::keys::certificate::pem_armor("CERTIFICATE", &der);
        Ok(Self { der, pem, name, path, retired: Vec::new() })
    }

    /// Exactly one of our certificates: the current CA or one this installation retired
    /// (stores shared by every user of the computer are judged so).
    pub fn is_exactly_ours(&self, der: &[u8]) -> bool {
        der == self.der || self.retired.iter().any(|r| r == der)
    }

    /// Whether a certificate found in a store is one of ours.
    pub fn is_ours(&self, der: &[u8]) -> bool {
        der == self.der
            || self.retired.iter().any(|r| r == der)
            || Certificate::from_der(der).is_ok_and(|c| c.subject_cn().starts_with(NAME_PREFIX))
    }

    /// A short fingerprint for file names: the tail of the common name.
    #[cfg(target_os = "linux")]
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
    Nss { db: String, create: bool },
    #[cfg(target_os = "linux")]
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
            #[cfg(target_os = "linux")]
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
            #[cfg(target_os = "linux")]
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
            #[cfg(target_os = "linux")]
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

/// How long a tool may take: a hung one (a locked database, a PKCS#11 module listed in
/// a profile that never answers) must not hang us.
const TOOL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Run a tool (in `/`, so that a name it cannot find is never read as a file of the
/// working directory), at most [`TOOL_TIMEOUT`]; its standard output, or the problem in
/// words.
fn run(tool: &str, package: &str, args: &[&str]) -> Result<String, Problem> {
    let (status, stdout, stderr) = output_within(Command::new(tool).args(args).current_dir("/"), TOOL_TIMEOUT)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Problem::ToolMissing { tool: tool.to_owned(), package: package.to_owned() }
            } else {
                Problem::failed(format!("{tool}: {e}"))
            }
        })?;
    if status.success() {
        Ok(stdout)
    } else {
        let message = if stderr.trim().is_empty() { stdout.trim().to_owned() } else { stderr.trim().to_owned() };
        Err(Problem::failed(format!("{tool} {}: {message}", args.first().unwrap_or(&""))))
    }
}

/// Run `command` with no input, killing it after `limit`: (status, stdout, stderr).
pub fn output_within(
    command: &mut Command,
    limit: std::time::Duration,
) -> std::io::Result<(std::process::ExitStatus, String, String)> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.by_ref().take(4 << 20).read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let until = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if std::time::Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s", limit.as_secs()),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Ok((status, out.join().unwrap_or_default(), err.join().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_qoltanba_shaped_ca_alone_in_its_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let ca = OurCa::load(dir.path()).unwrap();
        assert!(local_ca_problem(&ca.der).is_ok());
        assert!(ca.pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let path = dir.path().join(CA_CERT_FILE);
        // Text around the certificate is never passed on.
        std::fs::write(&path, format!("secret=hunter2\n{}", ca.pem)).unwrap();
        assert!(!OurCa::read(dir.path()).unwrap().pem.contains("hunter2"));
        // Two certificates, or another CA: refused.
        std::fs::write(&path, format!("{}{}", ca.pem, ca.pem)).unwrap();
        assert!(OurCa::read(dir.path()).is_err());
        let other = rcgen::CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&path, other.self_signed(&key).unwrap().pem()).unwrap();
        let refused = OurCa::read(dir.path()).err().unwrap();
        assert!(refused.contains("not a qoltanba local CA"), "{refused}");
        // A link in its place is not followed.
        #[cfg(unix)]
        {
            std::fs::remove_file(&path).unwrap();
            std::fs::write(dir.path().join("elsewhere.pem"), &ca.pem).unwrap();
            std::os::unix::fs::symlink(dir.path().join("elsewhere.pem"), &path).unwrap();
            assert!(OurCa::read(dir.path()).is_err(), "a symbolic link is refused");
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, &ca.pem).unwrap();
            let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&path).unwrap());
            assert!(OurCa::read_for_user(dir.path(), Some(me)).is_ok());
            assert!(OurCa::read_for_user(dir.path(), Some(me.wrapping_add(1))).is_err(), "another user's file");
        }
    }
}
