//! The Debian package: built by `cargo deb` from the binary the tests run (`--no-build
//! --profile dev`: the release build is the same packaging, only slower to make),
//! installed with `dpkg -i`, run from its installed path (`--version`, `doctor --json`),
//! and removed with `dpkg -r`, leaving none of its files.
//!
//! Needs root, dpkg and cargo-deb (`cargo install cargo-deb --locked`; `.ci/run` does).
//! Skipped, saying why, where they are missing or qoltanba is already installed; in CI
//! (`CI=true`) missing tools fail it.

use std::path::Path;
use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}: CI must build and install the package (.ci/run installs cargo-deb)");
    }
    eprintln!("SKIPPED tests/package.rs: {why}");
}

/// Files the package installs (a sample of each kind) and the link postinst makes.
const INSTALLED: &[&str] = &[
    "/usr/bin/qoltanba",
    "/usr/share/applications/qoltanba.desktop",
    "/usr/share/metainfo/kz.qoltanba.metainfo.xml",
    "/usr/share/icons/hicolor/scalable/apps/qoltanba.svg",
    "/usr/share/man/man1/qoltanba.1.gz",
    "/usr/share/qoltanba/qoltanba-autostart.desktop",
    "/etc/xdg/autostart/qoltanba.desktop",
];

#[test]
fn the_debian_package_installs_runs_and_removes_cleanly() {
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    if !root || !Path::new("/usr/bin/dpkg").exists() {
        return skip("needs root and dpkg");
    }
    if Command::new("cargo").args(["deb", "--version"]).output().map(|o| !o.status.success()).unwrap_or(true) {
        return skip("cargo-deb is not installed");
    }
    if installed() {
        eprintln!("SKIPPED tests/package.rs: a qoltanba package is installed on this machine already");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let deb = work.path().join("qoltanba.deb");
    let built = Command::new("cargo")
        .args(["deb", "--no-build", "--profile", "dev", "--output"])
        .arg(&deb)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(built.status.success(), "cargo deb: {}", text(&built));

    let install = run("dpkg", &["-i", deb.to_str().unwrap()]);
    // From here on the package is removed whatever happens.
    struct Remove;
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = Command::new("dpkg").args(["-r", "qoltanba"]).output();
            let _ = Command::new("dpkg").args(["-P", "qoltanba"]).output();
        }
    }
    let guard = Remove;
    assert!(install.status.success(), "dpkg -i: {}", text(&install));
    for file in INSTALLED {
        assert!(Path::new(file).exists(), "{file} is not installed");
    }

    let version = run("/usr/bin/qoltanba", &["--version"]);
    assert!(text(&version).contains(env!("CARGO_PKG_VERSION")), "{}", text(&version));
    let data = work.path().join("data");
    let doctor = Command::new("/usr/bin/qoltanba")
        .args(["doctor", "--json", "--offline", "--port", "9", "--data-dir"])
        .arg(&data)
        .env("HOME", work.path())
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&doctor.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}: {}", text(&doctor)));
    let checks = report["checks"].as_array().expect("checks");
    let daemon = checks.iter().find(|c| c["id"] == "daemon").expect("a daemon check");
    assert_eq!(daemon["level"], "problem", "nothing listens on port 9: {daemon}");
    // The package's autostart entry counts as enabled.
    let autostart = checks.iter().find(|c| c["id"] == "autostart").expect("an autostart check");
    assert_eq!(autostart["level"], "ok", "{autostart}");

    let remove = run("dpkg", &["-r", "qoltanba"]);
    assert!(remove.status.success(), "dpkg -r: {}", text(&remove));
    assert!(!installed(), "still installed");
    for file in INSTALLED {
        assert!(!Path::new(file).exists() && !Path::new(file).is_symlink(), "{file} is left behind");
    }
    drop(guard);
}

/// Installed (not merely known to dpkg with its removal scripts kept until a purge).
fn installed() -> bool {
    let status = run("dpkg-query", &["-W", "-f", "${db:Status-Status}", "qoltanba"]);
    status.status.success() && String::from_utf8_lossy(&status.stdout).trim() == "installed"
}
