//! `qoltanba trust install | status | remove` and `qoltanba autostart …`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{AutostartCommand, TrustArgs, TrustCommand};
use crate::i18n::Locale;
use crate::i18n::setup::{self as words, Say};
use crate::platform::autostart::{self, Places};
use crate::platform::trust_store::{self, Change, OurCa, Problem, Scope, State, Store};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Install,
    Status,
    Remove,
}

impl Op {
    fn word(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Status => "status",
            Self::Remove => "remove",
        }
    }
}

/// One store's line of the report.
#[derive(serde::Serialize)]
struct Row {
    #[serde(flatten)]
    store: Store,
    #[serde(flatten)]
    state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Problem>,
}

/// The language of this user's messages: the one chosen in qoltanba, else the desktop's.
pub(crate) fn locale(data_dir: &Path) -> Locale {
    crate::settings::Store::load(data_dir).get().locale()
}

pub fn trust(command: &TrustCommand) -> ExitCode {
    let (args, op) = match command {
        TrustCommand::Install(a) => (a, Op::Install),
        TrustCommand::Status(a) => (a, Op::Status),
        TrustCommand::Remove(a) => (a, Op::Remove),
    };
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::platform::default_data_dir);
    // Stores and the elevated run get an absolute path, whatever the working directory.
    let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);
    let locale = locale(&data_dir);
    let ca = match op {
        // With administrator rights, in the user's directory: only the user's own file.
        _ if args.system_only => OurCa::read_for_user(&data_dir, invoking_user()),
        Op::Install => OurCa::load(&data_dir),
        _ => OurCa::read(&data_dir),
    };
    let ca = match ca {
        Ok(ca) => ca,
        Err(e) => return super::fail(&e),
    };
    let home = dirs::home_dir().unwrap_or_default();
    let stores: Vec<Store> =
        trust_store::discover(&home).into_iter().filter(|s| !args.system_only || s.scope == Scope::System).collect();
    // The system stores are done in one run with administrator rights (one password).
    let system_wanted = (args.system || args.system_only) && op != Op::Status;
    let elevation = (system_wanted
        && !args.system_only
        && trust_store::system_needs_elevation()
        && stores.iter().any(|s| s.scope == Scope::System))
    .then(|| elevate(op, &data_dir, locale));
    let rows: Vec<Row> =
        stores.into_iter().map(|store| act(store, op, system_wanted, elevation.as_ref(), &ca)).collect();
    if args.json {
        let report = serde_json::json!({ "ca": { "name": ca.name, "path": ca.path }, "stores": rows });
        println!("{report}");
    } else {
        print_rows(&rows, &ca, args, op, locale);
    }
    let failed = rows.iter().any(|r| r.error.is_some());
    let untrusted = rows.iter().any(|r| r.store.scope == Scope::User && !matches!(r.state, State::Trusted { .. }));
    match op {
        Op::Status if untrusted || rows.is_empty() => ExitCode::FAILURE,
        _ if failed => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

/// Do `op` to one store; a system store only when wanted, and not here when the
/// elevated run did it (`elevation`: how that went).
fn act(store: Store, op: Op, system_wanted: bool, elevation: Option<&Result<(), String>>, ca: &OurCa) -> Row {
    let (change, error) = match (op, store.scope, elevation) {
        (Op::Status, _, _) => (None, None),
        (_, Scope::System, _) if !system_wanted => (None, None),
        (_, Scope::System, Some(Ok(()))) => (None, None),
        (_, Scope::System, Some(Err(message))) => (None, Some(Problem::Failed { message: message.clone() })),
        (Op::Install, _, _) => split(store.install(ca)),
        (Op::Remove, _, _) => split(store.remove(ca)),
    };
    let state = store.state(ca);
    Row { store, state, change, error }
}

/// The user who asked for administrator rights (`sudo`, `pkexec` say who).
fn invoking_user() -> Option<u32> {
    ["SUDO_UID", "PKEXEC_UID"].iter().find_map(|v| std::env::var(v).ok()?.parse().ok())
}

fn split(result: Result<Change, Problem>) -> (Option<Change>, Option<Problem>) {
    match result {
        Ok(change) => (Some(change), None),
        Err(problem) => (None, Some(problem)),
    }
}

/// Run the system part again with administrator rights: `sudo` in a terminal,
/// `pkexec` (a desktop password dialog) otherwise.
fn elevate(op: Op, data_dir: &Path, locale: Locale) -> Result<(), String> {
    let program = crate::platform::program_path().map_err(|e| e.to_string())?;
    let tool = if std::io::stdin().is_terminal() && which("sudo").is_some() {
        "sudo"
    } else if which("pkexec").is_some() {
        "pkexec"
    } else {
        "sudo"
    };
    eprintln!("{}", Say::AskingForAdmin.text(locale));
    let status = std::process::Command::new(tool)
        .arg(&program)
        .args(["trust", op.word(), "--system-only", "--data-dir"])
        .arg(data_dir)
        // What it did is read back from the stores and reported here, once.
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{tool}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{tool} {}: {status}", program.display())) }
}

/// A program on `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

fn print_rows(rows: &[Row], ca: &OurCa, args: &TrustArgs, op: Op, locale: Locale) {
    println!("{}: {}", Say::LocalCa.text(locale), ca.name);
    println!("  {}", ca.path.display());
    if rows.is_empty() {
        println!("{}", Say::NoStores.text(locale));
    }
    for row in rows {
        let mark = match (&row.state, &row.error) {
            (_, Some(_)) | (State::Unavailable { .. }, _) => Say::Problem,
            (State::Trusted { .. }, _) => Say::Ok,
            (State::NotTrusted { .. }, _) if op == Op::Remove => Say::Ok,
            (State::NotTrusted { .. }, _) => Say::Warning,
        };
        let mut line = format!(
            "{} {} — {}: {}",
            mark.text(locale),
            row.store.label,
            row.store.location.display(),
            words::state(&row.state, locale)
        );
        if let Some(change) = &row.change {
            line.push_str(&format!(" ({})", words::change(change, locale)));
        }
        if let Some(problem) = &row.error {
            line.push_str(&format!("; {}", words::problem(problem, locale)));
        }
        println!("{line}");
    }
    let system_left = rows.iter().any(|r| r.store.scope == Scope::System && !matches!(r.state, State::Trusted { .. }));
    if op == Op::Install && system_left && !args.system && !args.system_only {
        println!("{}", Say::SystemNeedsAdmin.text(locale));
    }
    if op != Op::Status && rows.iter().any(|r| r.change.as_ref().is_some_and(|c| c.added || c.removed > 0)) {
        println!("{}", Say::RestartBrowsers.text(locale));
    }
}

pub fn autostart(command: &AutostartCommand) -> ExitCode {
    let locale = locale(&crate::platform::default_data_dir());
    let places = Places::of_this_user();
    let result = match command {
        AutostartCommand::Status => Ok(autostart::status(&places)),
        AutostartCommand::Enable => {
            crate::platform::program_path().and_then(|program| autostart::enable(&places, &program))
        }
        AutostartCommand::Disable => autostart::disable(&places),
    };
    match result {
        Ok(state) => {
            println!("{}", words::autostart(&state, locale));
            ExitCode::SUCCESS
        }
        Err(e) => super::fail(&e.to_string()),
    }
}

/// `qoltanba doctor`: exit 0 when nothing is a problem, 1 otherwise.
pub fn doctor(args: &crate::cli::DoctorArgs) -> ExitCode {
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::platform::default_data_dir);
    let locale = locale(&data_dir);
    let options = crate::doctor::Options {
        home: dirs::home_dir().unwrap_or_default(),
        data_dir,
        port: args.port,
        online: !args.offline,
        key_paths: true,
        locale,
        modules: crate::keys::pkcs11::modules(&args.modules.configured()),
    };
    let report = crate::doctor::run(&options);
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print!("{}", crate::doctor::text(&report, locale));
    }
    if report.worst == crate::doctor::Level::Problem { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
