//! Starting qoltanba at login: `qoltanba autostart enable | disable | status`.
//!
//! Linux: an XDG autostart entry in `~/.config/autostart/` (systemd's
//! xdg-autostart-generator runs it as a unit where systemd manages the session). The
//! Debian package installs a system-wide entry in `/etc/xdg/autostart/`; a user turns it
//! off with an entry of the same name saying `Hidden=true`, as the XDG specification
//! says. A systemd user unit enabled by hand counts as enabled, and no entry is added
//! beside it: never two copies started at login. Windows: `HKCU\…\Run`. macOS: a
//! LaunchAgent. The Windows and macOS parts are written but not run in CI here.

use std::path::{Path, PathBuf};

/// How qoltanba starts at login, if it does.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum Autostart {
    /// Not started at login.
    Off,
    /// The user's own entry (autostart file, registry value, LaunchAgent).
    UserEntry { path: PathBuf },
    /// The system-wide entry the package installed.
    SystemEntry { path: PathBuf },
    /// A systemd user unit the user enabled.
    SystemdUnit { path: PathBuf },
}

impl Autostart {
    pub fn is_on(&self) -> bool {
        *self != Self::Off
    }
}

/// The file name of our entries.
pub const ENTRY: &str = "qoltanba.desktop";
/// Where the Debian package puts its entry.
pub const SYSTEM_ENTRY_DIR: &str = "/etc/xdg/autostart";

/// The places that decide, for one user: `config` is `~/.config` (or `$XDG_CONFIG_HOME`).
#[derive(Clone, Debug)]
pub struct Places {
    pub config: PathBuf,
    pub system_entry: PathBuf,
    pub home: PathBuf,
}

impl Places {
    pub fn of_this_user() -> Self {
        let home = dirs::home_dir().unwrap_or_default();
        Self {
            config: dirs::config_dir().unwrap_or_else(|| home.join(".config")),
            system_entry: Path::new(SYSTEM_ENTRY_DIR).join(ENTRY),
            home,
        }
    }

    #[cfg(not(any(windows, target_os = "macos")))]
    fn user_entry(&self) -> PathBuf {
        self.config.join("autostart").join(ENTRY)
    }

    #[cfg(not(any(windows, target_os = "macos")))]
    /// A systemd user unit enabled for the session, if any.
    fn systemd_unit(&self) -> Option<PathBuf> {
        ["graphical-session.target.wants", "default.target.wants"]
            .iter()
            .map(|t| self.config.join("systemd/user").join(t).join("qoltanba.service"))
            .find(|p| p.exists() || p.is_symlink())
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
/// An XDG entry turned off (`Hidden=true`, or `X-GNOME-Autostart-enabled=false`).
fn entry_hidden(text: &str) -> bool {
    text.lines()
        .map(|l| l.replace(' ', ""))
        .any(|l| l.eq_ignore_ascii_case("Hidden=true") || l.eq_ignore_ascii_case("X-GNOME-Autostart-enabled=false"))
}

#[cfg(not(any(windows, target_os = "macos")))]
pub fn status(places: &Places) -> Autostart {
    if let Some(path) = places.systemd_unit() {
        return Autostart::SystemdUnit { path };
    }
    let user = places.user_entry();
    match std::fs::read_to_string(&user) {
        // The user's entry overrides the system's, either way.
        Ok(text) if entry_hidden(&text) => Autostart::Off,
        Ok(_) => Autostart::UserEntry { path: user },
        Err(_) if places.system_entry.is_file() => {
            let text = std::fs::read_to_string(&places.system_entry).unwrap_or_default();
            if entry_hidden(&text) {
                Autostart::Off
            } else {
                Autostart::SystemEntry { path: places.system_entry.clone() }
            }
        }
        Err(_) => Autostart::Off,
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
/// The command line that starts the daemon: this program's path, quoted for a
/// `.desktop` `Exec` key.
fn desktop_exec(program: &Path) -> String {
    let path = program.to_string_lossy();
    let plain = path.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c));
    if plain {
        format!("{path} serve")
    } else {
        let escaped: String = path
            .chars()
            .flat_map(|c| match c {
                '"' | '`' | '$' | '\\' => vec!['\\', c],
                '%' => vec!['%', '%'],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\" serve")
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
pub fn enable(places: &Places, program: &Path) -> std::io::Result<Autostart> {
    if program.to_string_lossy().chars().any(char::is_control) {
        // A line break in the path would add keys to the entry.
        return Err(std::io::Error::other("the program's path holds control characters"));
    }
    match status(places) {
        Autostart::Off => {}
        on => return Ok(on),
    }
    let user = places.user_entry();
    let system_on = places.system_entry.is_file()
        && !entry_hidden(&std::fs::read_to_string(&places.system_entry).unwrap_or_default());
    if system_on {
        // Our override hid the package's entry: taking it away turns that back on.
        std::fs::remove_file(&user)?;
        return Ok(status(places));
    }
    std::fs::create_dir_all(user.parent().unwrap_or(&places.config))?;
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=qoltanba\n\
         Comment=NCALayer-compatible electronic signature (wss://127.0.0.1:13579)\n\
         Exec={}\nIcon=qoltanba\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n",
        desktop_exec(program)
    );
    crate::platform::write_public_file(&user, entry.as_bytes())?;
    Ok(status(places))
}

#[cfg(not(any(windows, target_os = "macos")))]
pub fn disable(places: &Places) -> std::io::Result<Autostart> {
    if let Some(unit) = places.systemd_unit() {
        let done = std::process::Command::new("systemctl")
            .args(["--user", "disable", "qoltanba.service"])
            .stdin(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !done {
            // Without systemctl (or without a user manager) the link itself is the switch.
            std::fs::remove_file(&unit)?;
        }
    }
    let user = places.user_entry();
    if places.system_entry.is_file() {
        std::fs::create_dir_all(user.parent().unwrap_or(&places.config))?;
        let entry = "[Desktop Entry]\nType=Application\nName=qoltanba\nHidden=true\n";
        crate::platform::write_public_file(&user, entry.as_bytes())?;
    } else if user.exists() {
        std::fs::remove_file(&user)?;
    }
    Ok(status(places))
}

#[cfg(windows)]
mod os {
    use super::*;
    const KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

    fn reg(args: &[&str]) -> std::io::Result<bool> {
        Ok(std::process::Command::new("reg").args(args).stdout(std::process::Stdio::null()).status()?.success())
    }

    pub fn status(_places: &Places) -> Autostart {
        if reg(&["query", KEY, "/v", "qoltanba"]).unwrap_or(false) {
            Autostart::UserEntry { path: PathBuf::from(KEY) }
        } else {
            Autostart::Off
        }
    }

    pub fn enable(places: &Places, program: &Path) -> std::io::Result<Autostart> {
        let value = format!("\"{}\" serve", program.display());
        reg(&["add", KEY, "/v", "qoltanba", "/t", "REG_SZ", "/d", &value, "/f"])?;
        Ok(status(places))
    }

    pub fn disable(places: &Places) -> std::io::Result<Autostart> {
        let _ = reg(&["delete", KEY, "/v", "qoltanba", "/f"]);
        Ok(status(places))
    }
}

#[cfg(target_os = "macos")]
mod os {
    use super::*;

    fn agent(places: &Places) -> PathBuf {
        places.home.join("Library/LaunchAgents/kz.qoltanba.plist")
    }

    pub fn status(places: &Places) -> Autostart {
        let path = agent(places);
        if path.is_file() { Autostart::UserEntry { path } } else { Autostart::Off }
    }

    pub fn enable(places: &Places, program: &Path) -> std::io::Result<Autostart> {
        let path = agent(places);
        std::fs::create_dir_all(path.parent().unwrap_or(&places.home))?;
        let program = program.to_string_lossy().replace('&', "&amp;").replace('<', "&lt;");
        let plist = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
             <plist version=\"1.0\"><dict>\n<key>Label</key><string>kz.qoltanba</string>\n\
             <key>ProgramArguments</key><array><string>{program}</string><string>serve</string></array>\n\
             <key>RunAtLoad</key><true/>\n<key>KeepAlive</key><false/>\n</dict></plist>\n"
        );
        crate::platform::write_public_file(&path, plist.as_bytes())?;
        Ok(status(places))
    }

    pub fn disable(places: &Places) -> std::io::Result<Autostart> {
        let path = agent(places);
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
        Ok(status(places))
    }
}

#[cfg(any(windows, target_os = "macos"))]
pub use os::{disable, enable, status};

#[cfg(all(test, not(any(windows, target_os = "macos"))))]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_quote_what_the_desktop_spec_asks() {
        assert_eq!(desktop_exec(Path::new("/usr/bin/qoltanba")), "/usr/bin/qoltanba serve");
        assert_eq!(desktop_exec(Path::new("/home/a b/100%/q$")), "\"/home/a b/100%%/q\\$\" serve");
    }

    #[test]
    fn hidden_entries_are_recognised() {
        assert!(entry_hidden("[Desktop Entry]\nHidden = true\n"));
        assert!(entry_hidden("[Desktop Entry]\nX-GNOME-Autostart-enabled=false\n"));
        assert!(!entry_hidden("[Desktop Entry]\nExec=qoltanba serve\n"));
    }
}

#[cfg(all(test, not(any(windows, target_os = "macos"))))]
mod linux_tests {
    use super::*;

    fn places(dir: &Path) -> Places {
        Places { config: dir.join("config"), system_entry: dir.join("etc/qoltanba.desktop"), home: dir.into() }
    }

    #[test]
    fn the_package_entry_is_hidden_by_the_users_and_shown_again() {
        let dir = tempfile::tempdir().unwrap();
        let places = places(dir.path());
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(&places.system_entry, "[Desktop Entry]\nExec=/usr/bin/qoltanba serve\n").unwrap();
        assert!(matches!(status(&places), Autostart::SystemEntry { .. }));
        assert_eq!(disable(&places).unwrap(), Autostart::Off);
        let override_entry = std::fs::read_to_string(places.user_entry()).unwrap();
        assert!(override_entry.contains("Hidden=true"), "{override_entry}");
        assert!(matches!(enable(&places, Path::new("/usr/bin/qoltanba")).unwrap(), Autostart::SystemEntry { .. }));
        assert!(!places.user_entry().exists(), "the override is taken away, no second entry");
    }

    #[test]
    fn an_enabled_systemd_unit_counts_and_gets_no_second_entry() {
        let dir = tempfile::tempdir().unwrap();
        let places = places(dir.path());
        let wants = places.config.join("systemd/user/graphical-session.target.wants");
        std::fs::create_dir_all(&wants).unwrap();
        std::fs::write(wants.join("qoltanba.service"), "").unwrap();
        assert!(matches!(enable(&places, Path::new("/usr/bin/qoltanba")).unwrap(), Autostart::SystemdUnit { .. }));
        assert!(!places.user_entry().exists());
    }
}
