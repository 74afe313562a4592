//! `qoltanba doctor`: everything a page needs to reach qoltanba, checked and explained
//! in the user's language. The same report is the daemon's status page.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::i18n::Locale;
use crate::i18n::setup::Doc;
use crate::platform::autostart::{self, Places};
use crate::platform::instance::PortHolder;
use crate::platform::trust_store::{self, OurCa, Scope, State, StoreKind};

/// How a finding weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Info,
    Warning,
    Problem,
}

/// One finding: what was checked, what was found, what to do.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    /// A stable name for scripts: `daemon`, `trust`, `chrome-lna`, `nca-ca`, `clock`, `keys`, `autostart`.
    pub id: &'static str,
    pub level: Level,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Extra lines (a policy snippet, a file list).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Check {
    fn new(id: &'static str, level: Level, text: String) -> Self {
        Self { id, level, text, fix: None, details: Vec::new() }
    }

    fn fix(mut self, fix: &str) -> Self {
        self.fix = Some(fix.to_owned());
        self
    }
}

/// What to check.
pub struct Options {
    pub data_dir: PathBuf,
    pub home: PathBuf,
    pub port: u16,
    /// Ask a time server for the clock check.
    pub online: bool,
    /// List key files by path (the command line does; the status page a browser shows
    /// does not).
    pub key_paths: bool,
    pub locale: Locale,
    /// PKCS#11 modules to look at, and this program (their helpers run it); none for the
    /// status page (the daemon's own helpers are busy with pages).
    pub modules: Vec<crate::keys::pkcs11::ModuleSpec>,
}

/// The findings in order, and the worst of them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub version: &'static str,
    pub worst: Level,
    pub checks: Vec<Check>,
}

/// Sites whose pages sign through NCALayer, for the Local Network Access policy.
pub const KAZAKH_SIGNING_SITES: &[&str] = &[
    "https://[*.]egov.kz",
    "https://[*.]gov.kz",
    "https://[*.]salyk.kz",
    "https://[*.]goszakup.gov.kz",
    "https://[*.]sigex.kz",
    "https://[*.]e-otinish.kz",
    "https://[*.]elicense.kz",
    "https://[*.]enbek.kz",
    "https://[*.]pki.gov.kz",
];

/// Directories a Chrome or Chromium policy is read from on Linux.
const POLICY_DIRS: &[&str] = &["/etc/opt/chrome/policies/managed", "/etc/chromium/policies/managed"];
/// Where NCA RK's public addresses answer with the time (HTTP `Date`).
const TIME_SERVER: &str = "http://pki.gov.kz/";
/// Clocks further apart than this are reported.
const MAX_SKEW_SECS: i64 = 120;
/// Key files listed at most.
const MAX_KEY_FILES: usize = 50;

pub fn run(options: &Options) -> Report {
    let locale = options.locale;
    let running = daemon(options.port, locale);
    let up = running.level == Level::Ok;
    let mut checks = vec![running];
    checks.extend(trust(options, up));
    checks.push(lna(locale));
    checks.push(nca_cache(&options.data_dir, locale));
    checks.push(clock(options.online, locale));
    checks.push(keys(options));
    checks.extend(tokens(options));
    checks.push(login(locale));
    let worst = checks.iter().map(|c| c.level).max().unwrap_or(Level::Ok);
    Report { version: env!("CARGO_PKG_VERSION"), worst, checks }
}

fn daemon(port: u16, locale: Locale) -> Check {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    if TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_err() {
        return Check::new("daemon", Level::Problem, Doc::NotRunning.text(locale).into())
            .fix(Doc::NotRunningFix.text(locale));
    }
    match crate::platform::instance::port_holder(port) {
        PortHolder::Program { pid, name } if name == "qoltanba" => {
            Check::new("daemon", Level::Ok, Doc::Running.fill(locale, &[("port", &port), ("pid", &pid)]))
        }
        PortHolder::Unknown => Check::new("daemon", Level::Warning, Doc::PortUnknown.fill(locale, &[("port", &port)])),
        holder => Check::new("daemon", Level::Problem, crate::i18n::port_taken(port, &holder, locale)),
    }
}

/// Each store: whether our current CA is in it, and, when the daemon runs, a real TLS
/// handshake with it through NSS using only that store.
fn trust(options: &Options, up: bool) -> Vec<Check> {
    let locale = options.locale;
    let ca = match OurCa::read(&options.data_dir) {
        Ok(ca) => ca,
        Err(e) => {
            let text = Doc::StoreUnavailable.fill(locale, &[("store", &"ca.pem"), ("reason", &e)]);
            return vec![Check::new("trust", Level::Problem, text).fix(Doc::StoreFix.text(locale))];
        }
    };
    let mut checks = Vec::new();
    for store in trust_store::discover(&options.home) {
        let label = format!("{} ({})", store.label, store.location.display());
        let check = match (store.state(&ca), store.scope) {
            (State::Trusted { .. }, _) => {
                let mut check = Check::new("trust", Level::Ok, Doc::StoreTrusted.fill(locale, &[("store", &label)]));
                if let (true, Some(db)) = (up, store.nss_db()) {
                    match nss_handshake(db, options.port) {
                        Ok(()) => check.details.push(Doc::Handshake.text(locale).into()),
                        Err(reason) => {
                            check.level = Level::Problem;
                            check.details.push(Doc::HandshakeFailed.fill(locale, &[("reason", &reason)]));
                            check.fix = Some(Doc::HandshakeFailedFix.text(locale).into());
                        }
                    }
                }
                check
            }
            (State::NotTrusted { .. }, Scope::System) => {
                Check::new("trust", Level::Info, Doc::SystemOptional.fill(locale, &[("store", &label)]))
                    .fix(Doc::SystemFix.text(locale))
            }
            (State::NotTrusted { .. }, Scope::User) => {
                Check::new("trust", Level::Problem, Doc::StoreNotTrusted.fill(locale, &[("store", &label)]))
                    .fix(Doc::StoreFix.text(locale))
            }
            (State::Unavailable { problem }, _) => {
                let reason = crate::i18n::setup::problem(&problem, locale);
                let level = if store.kind == StoreKind::System { Level::Info } else { Level::Warning };
                Check::new(
                    "trust",
                    level,
                    Doc::StoreUnavailable.fill(locale, &[("store", &label), ("reason", &reason)]),
                )
            }
        };
        checks.push(check);
    }
    checks
}

/// Connect to the daemon with NSS's `tstclnt`, trusting only what the database holds.
fn nss_handshake(db: &str, port: u16) -> Result<(), String> {
    let port = port.to_string();
    let mut command = std::process::Command::new("tstclnt");
    command.args(["-h", "127.0.0.1", "-p", &port, "-d", db, "-Q"]).current_dir("/");
    let (status, _, stderr) = trust_store::output_within(&mut command, Duration::from_secs(10))
        .map_err(|e| format!("tstclnt (libnss3-tools): {e}"))?;
    if status.success() {
        return Ok(());
    }
    let text = stderr;
    let reason = text.lines().find(|l| l.contains("SEC_ERROR") || l.contains("SSL_ERROR")).unwrap_or(text.trim());
    Err(reason.trim().chars().take(200).collect())
}

fn lna(locale: Locale) -> Check {
    let set = POLICY_DIRS.iter().filter_map(|dir| std::fs::read_dir(dir).ok()).flatten().flatten().find(|entry| {
        std::fs::read_to_string(entry.path()).is_ok_and(|t| t.contains("LocalNetworkAccessAllowedForUrls"))
    });
    if let Some(entry) = set {
        let path = entry.path();
        return Check::new("chrome-lna", Level::Ok, Doc::LnaPolicySet.fill(locale, &[("path", &path.display())]));
    }
    let mut check = Check::new(
        "chrome-lna",
        Level::Info,
        format!("{}: {}", Doc::LnaTitle.text(locale), Doc::LnaExplain.text(locale)),
    );
    check.details.extend(POLICY_DIRS.iter().map(|dir| format!("{dir}/qoltanba-local-network.json:")));
    check.details.push(lna_policy());
    check
}

/// The administrator's policy letting the Kazakh signing sites reach qoltanba.
pub fn lna_policy() -> String {
    serde_json::json!({ "LocalNetworkAccessAllowedForUrls": KAZAKH_SIGNING_SITES }).to_string()
}

fn nca_cache(data_dir: &Path, locale: Locale) -> Check {
    let dir = data_dir.join("trust").join("ca");
    let total = crate::trust::NCA_CA_URLS.len();
    let ages: Vec<u64> = crate::trust::NCA_CA_URLS
        .iter()
        .filter_map(|url| std::fs::metadata(crate::trust::fetch::cache_path(&dir, url)).ok())
        .filter_map(|m| m.modified().ok())
        .map(|t| SystemTime::now().duration_since(t).map(|d| d.as_secs() / 86_400).unwrap_or(0))
        .collect();
    let count = ages.len();
    let days = ages.iter().copied().max().unwrap_or(0);
    let values: [(&str, &dyn std::fmt::Display); 3] = [("count", &count), ("total", &total), ("days", &days)];
    if count == total && days <= 30 {
        Check::new("nca-ca", Level::Ok, Doc::NcaCached.fill(locale, &values))
    } else {
        Check::new("nca-ca", Level::Warning, Doc::NcaMissing.fill(locale, &values)).fix(Doc::NcaMissingFix.text(locale))
    }
}

fn clock(online: bool, locale: Locale) -> Check {
    if !online {
        return Check::new("clock", Level::Info, Doc::ClockUnchecked.fill(locale, &[("reason", &"--offline")]));
    }
    match server_time(TIME_SERVER) {
        Ok(server) => {
            let skew = server - time::OffsetDateTime::now_utc().unix_timestamp();
            let host = "pki.gov.kz";
            if skew.abs() <= MAX_SKEW_SECS {
                Check::new(
                    "clock",
                    Level::Ok,
                    Doc::ClockOk.fill(locale, &[("seconds", &skew.abs()), ("server", &host)]),
                )
            } else {
                let minutes = (skew.abs() + 30) / 60;
                Check::new(
                    "clock",
                    Level::Problem,
                    Doc::ClockSkewed.fill(locale, &[("minutes", &minutes), ("server", &host)]),
                )
                .fix(Doc::ClockFix.text(locale))
            }
        }
        Err(reason) => Check::new("clock", Level::Info, Doc::ClockUnchecked.fill(locale, &[("reason", &reason)])),
    }
}

/// The time a web server says it is (its `Date` header), in Unix seconds.
fn server_time(url: &str) -> Result<i64, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let response = agent.head(url).call().map_err(|e| e.to_string())?;
    let date = response.headers().get("date").and_then(|d| d.to_str().ok()).ok_or("no Date header")?;
    parse_http_date(date).ok_or_else(|| format!("unreadable Date header: {date}"))
}

/// An HTTP date (`Thu, 03 Dec 2026 00:46:45 GMT`).
fn parse_http_date(date: &str) -> Option<i64> {
    let date = date.trim().strip_suffix("GMT").map(|d| format!("{d}+0000")).unwrap_or_else(|| date.to_owned());
    time::OffsetDateTime::parse(&date, &time::format_description::well_known::Rfc2822).ok().map(|t| t.unix_timestamp())
}

/// Key files: the ones used recently (with the expiry seen then) and `.p12` files in
/// the usual folders.
fn keys(options: &Options) -> Check {
    let locale = options.locale;
    let recent = crate::keys::recent::RecentFiles::new(&options.data_dir);
    let mut found: Vec<PathBuf> = recent.list();
    for dir in key_folders(&options.home) {
        collect_key_files(&dir, 2, &mut found);
    }
    found.truncate(MAX_KEY_FILES);
    if found.is_empty() {
        return Check::new("keys", Level::Info, Doc::KeysNone.text(locale).into());
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let seen_all = recent.certificates();
    let mut level = Level::Ok;
    let mut details = Vec::new();
    for path in &found {
        let shown = if options.key_paths { path.display().to_string() } else { file_name(path) };
        match seen_all.iter().find(|(p, _)| p == path).map(|(_, seen)| seen) {
            Some(seen) => {
                let date = crate::validation::in_astana(seen.not_after.saturating_mul(1000))
                    .map(|t| t.date().to_string())
                    .unwrap_or_default();
                let days = seen.not_after.saturating_sub(now) / 86_400;
                if seen.not_after <= now {
                    level = Level::Warning;
                    let values: [(&str, &dyn std::fmt::Display); 3] =
                        [("path", &shown), ("owner", &seen.owner), ("date", &date)];
                    details.push(Doc::KeysExpired.fill(locale, &values));
                } else {
                    if days < 30 {
                        level = level.max(Level::Warning);
                    }
                    let values: [(&str, &dyn std::fmt::Display); 4] =
                        [("path", &shown), ("owner", &seen.owner), ("date", &date), ("days", &days)];
                    details.push(Doc::KeysExpires.fill(locale, &values));
                }
            }
            None => {
                details.push(format!(
                    "{} {}",
                    Doc::KeysFound.fill(locale, &[("path", &shown)]),
                    Doc::KeysExpiryUnknown.text(locale)
                ));
            }
        }
    }
    let mut check = Check::new("keys", level, Doc::KeysTitle.text(locale).into());
    check.details = details;
    check
}

/// Each PKCS#11 module: whether it loads, and its tokens with their PIN state.
fn tokens(options: &Options) -> Vec<Check> {
    let locale = options.locale;
    let Ok(program) = crate::platform::program_path() else { return Vec::new() };
    let modules = crate::keys::pkcs11::client::Modules::new(options.modules.clone(), program);
    let mut checks = Vec::new();
    for module in &modules.modules {
        let name = format!("{} ({})", module.spec.path.display(), module.spec.storage);
        let check = match module.slots() {
            Err(e) => Check::new(
                "tokens",
                Level::Warning,
                Doc::TokenModuleFailed.fill(locale, &[("module", &name), ("reason", &e)]),
            ),
            Ok(slots) => {
                let tokens: Vec<_> = slots.into_iter().filter_map(|s| s.token).collect();
                let mut check = Check::new(
                    "tokens",
                    Level::Ok,
                    Doc::TokenModule.fill(locale, &[("module", &name), ("count", &tokens.len())]),
                );
                for token in tokens {
                    let label = crate::ui::sanitize::shown(&token.label);
                    let (level, text) = if token.pin_locked {
                        (Level::Problem, Doc::TokenPinLocked)
                    } else if token.pin_final_try {
                        (Level::Warning, Doc::TokenPinFinalTry)
                    } else {
                        (Level::Ok, Doc::TokenReady)
                    };
                    check.level = check.level.max(level);
                    check.details.push(text.fill(locale, &[("token", &label)]));
                }
                check
            }
        };
        checks.push(check);
    }
    checks
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Where people keep key files: home, Documents, Desktop, Downloads (and their
/// Russian and Kazakh names), and the `.p12` folder NCA's instructions suggest.
fn key_folders(home: &Path) -> Vec<PathBuf> {
    let names = [
        "",
        "Documents",
        "Desktop",
        "Downloads",
        "Документы",
        "Рабочий стол",
        "Загрузки",
        "Құжаттар",
        "Жұмыс үстелі",
        "Жүктеулер",
        "keys",
        "ЭЦП",
        "ecp",
        "EDS",
    ];
    names.iter().map(|n| home.join(n)).filter(|d| d.is_dir()).collect()
}

fn collect_key_files(dir: &Path, depth: u32, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten().take(2000) {
        if found.len() >= MAX_KEY_FILES {
            return;
        }
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() && depth > 0 && !hidden {
            collect_key_files(&path, depth - 1, found);
        } else if kind.is_file() {
            let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
            if matches!(ext.as_deref(), Some("p12" | "pfx")) && !found.contains(&path) {
                found.push(path);
            }
        }
    }
}

fn login(locale: Locale) -> Check {
    let state = autostart::status(&Places::of_this_user());
    let text = format!("{}: {}", Doc::AutostartTitle.text(locale), crate::i18n::setup::autostart(&state, locale));
    if state.is_on() {
        Check::new("autostart", Level::Ok, text)
    } else {
        Check::new("autostart", Level::Info, text).fix(Doc::AutostartFix.text(locale))
    }
}

/// The report as text for a terminal.
pub fn text(report: &Report, locale: Locale) -> String {
    use crate::i18n::setup::Say;
    let mut out = format!("{} {}\n\n", Say::DoctorTitle.text(locale), report.version);
    for check in &report.checks {
        let mark = match check.level {
            Level::Ok => "✓",
            Level::Info => "·",
            Level::Warning => "!",
            Level::Problem => "✗",
        };
        out.push_str(&format!("{mark} {}\n", check.text));
        for line in &check.details {
            out.push_str(&format!("    {line}\n"));
        }
        if let Some(fix) = &check.fix {
            out.push_str(&format!("    → {fix}\n"));
        }
    }
    out
}

/// The status page's report, made at most every [`STATUS_EVERY`] (any page may load the
/// status page: it must not make us run the checks in a loop); `options` is asked each
/// time, so a new language shows at once.
pub fn cached_html(options: impl Fn() -> Options + Send + Sync + 'static) -> impl Fn() -> String + Send + Sync {
    let cache: std::sync::Mutex<Option<(std::time::Instant, String)>> = std::sync::Mutex::new(None);
    move || {
        // Held while the checks run: a request meanwhile does not wait, nor run them again.
        let mut cached = match cache.try_lock() {
            Ok(cached) => cached,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return String::new(),
        };
        if let Some((made, html)) = cached.as_ref()
            && made.elapsed() < STATUS_EVERY
        {
            return html.clone();
        }
        // Counted from the start: a run that fails still waits its turn.
        *cached = Some((std::time::Instant::now(), String::new()));
        let made = html(&run(&options()));
        *cached = Some((std::time::Instant::now(), made.clone()));
        made
    }
}

/// How long the status page's report is reused.
pub const STATUS_EVERY: Duration = Duration::from_secs(10);

/// The report as HTML for the status page (escaped; no script).
pub fn html(report: &Report) -> String {
    let escape = crate::server::escape_html;
    let mut out = String::from("<ul class=\"checks\">\n");
    for check in &report.checks {
        let level = match check.level {
            Level::Ok => "ok",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Problem => "problem",
        };
        out.push_str(&format!("<li class=\"{level}\">{}", escape(&check.text)));
        for line in &check.details {
            out.push_str(&format!("<br><small><code>{}</code></small>", escape(line)));
        }
        if let Some(fix) = &check.fix {
            out.push_str(&format!("<br>→ {}", escape(fix)));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_seen_opened_say_their_owner_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let (old, soon) = (dir.path().join("old.p12"), dir.path().join("soon.p12"));
        let recent = crate::keys::recent::RecentFiles::new(dir.path());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        for (path, not_after) in [(&old, now - 86_400), (&soon, now + 10 * 86_400 + 3600)] {
            std::fs::write(path, b"x").unwrap();
            recent.remember(path);
            recent.seen(path, "ТЕСТОВ ТЕСТ", not_after);
        }
        let options = Options {
            data_dir: dir.path().into(),
            home: dir.path().join("nobody"),
            port: 9,
            online: false,
            key_paths: false,
            locale: Locale::En,
            modules: Vec::new(),
        };
        let check = keys(&options);
        assert_eq!(check.level, Level::Warning);
        assert!(check.details[0].starts_with("Key file: soon.p12 — ТЕСТОВ ТЕСТ, valid until "), "{:?}", check.details);
        assert!(check.details[0].ends_with("(10 day(s) left)."), "{:?}", check.details);
        assert!(check.details[1].starts_with("Key file: old.p12 — ТЕСТОВ ТЕСТ, expired on "), "{:?}", check.details);
    }

    #[test]
    fn http_dates_are_read() {
        assert_eq!(parse_http_date("Thu, 03 Dec 2026 00:46:45 GMT"), Some(1_796_258_805));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn the_policy_is_chrome_json_with_url_patterns() {
        let policy: serde_json::Value = serde_json::from_str(&lna_policy()).unwrap();
        let urls = policy["LocalNetworkAccessAllowedForUrls"].as_array().unwrap();
        assert!(urls.iter().any(|u| u == "https://[*.]egov.kz"));
    }
}
