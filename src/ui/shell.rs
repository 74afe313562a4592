//! The app around the dialogs: what the tray menu and the main window show and what
//! their commands do. Platform front ends (the Linux tray, the main window) only draw
//! [`menu`] and pass back [`Command`]s; [`Shell::run`] carries them out.

use crate::sites::{Permission, Sites};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::activity::{Activity, Signed};
use crate::i18n::Locale;
use crate::i18n::dialog::Text;
use crate::keys::pkcs11::PinChange;
use crate::ui::TokenSlot;

/// What a person can ask the app to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Open the main window.
    OpenWindow,
    /// Stop signing for now: every request is refused until [`Command::Resume`].
    Pause,
    Resume,
    /// Stop qoltanba.
    Quit,
    /// The language of qoltanba's own windows.
    SetLanguage(Locale),
    /// Never download (`true`) or download again.
    SetOffline(bool),
    /// Use this timestamp authority (checked by [`crate::settings::valid_tsa_url`]).
    SetTsaUrl(String),
    /// Put the local CA into this user's browsers (`qoltanba trust install`).
    TrustBrowsers,
    /// Start qoltanba at login, or not.
    SetAutostart(bool),
    /// Open the window that changes a plugged-in token's PIN.
    ChangeTokenPin,
    /// Allow or deny a site from now on (`qoltanba sites allow|deny`).
    SetSite(String, Permission),
    /// Forget a site's answer: it is asked again (`qoltanba sites forget`).
    ForgetSite(String),
}

/// What the tray and the main window show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    /// Where pages reach us (`wss://127.0.0.1:13579`).
    pub listening: Vec<String>,
    pub paused: bool,
    /// Signatures of this run, newest first.
    pub recent: Vec<Signed>,
    /// Key files used before, by path.
    pub recent_keys: Vec<PathBuf>,
    /// The language of qoltanba's own windows.
    pub language: Locale,
    /// Offline mode in effect.
    pub offline: bool,
    /// The timestamp authority in use.
    pub tsa_url: String,
    /// What the command line fixed for this run (the window cannot change it).
    pub forced: Forced,
    /// Whether every browser store of this user trusts our CA (`None`: not known).
    pub browsers_trusted: Option<bool>,
    /// qoltanba starts at login.
    pub autostart: bool,
    /// Hardware tokens plugged in (as last seen).
    #[serde(default)]
    pub tokens: Vec<TokenSlot>,
    /// The sites the person allowed or denied, by origin.
    #[serde(default)]
    pub sites: Vec<(String, Permission)>,
}

/// Settings the command line fixed for this run: they win over `settings.json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forced {
    /// `--offline`.
    pub offline: bool,
    /// `--tsa-url`.
    pub tsa: bool,
}

/// The timestamp authority as the shell sees it: the one in use, and how to change it.
pub struct Tsa {
    pub current: Box<dyn Fn() -> String + Send + Sync>,
    pub set: Box<dyn Fn(&str) + Send + Sync>,
}

/// Browser trust and start at login, as the shell sees them (`qoltanba trust`,
/// `qoltanba autostart`). The checks run certutil: the shell keeps the last answer.
pub struct Setup {
    /// Whether every browser store of this user trusts our CA (`None`: no store found).
    pub trusted: Box<dyn Fn() -> Option<bool> + Send + Sync>,
    /// Put the CA into every browser store of this user.
    pub trust: Box<dyn Fn() + Send + Sync>,
    pub autostart: Box<dyn Fn() -> bool + Send + Sync>,
    pub set_autostart: Box<dyn Fn(bool) + Send + Sync>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            trusted: Box::new(|| None),
            trust: Box::new(|| {}),
            autostart: Box::new(|| false),
            set_autostart: Box::new(|_| {}),
        }
    }
}

impl Setup {
    /// This user's browser stores (under the home directory) and login entries, for the
    /// CA of `data_dir`.
    pub fn for_this_user(data_dir: PathBuf) -> Self {
        use crate::platform::autostart::{self, Places};
        use crate::platform::trust_store::{self, OurCa, Scope, State};
        let home = dirs::home_dir().unwrap_or_default();
        let user_stores = move || trust_store::discover(&home).into_iter().filter(|s| s.scope == Scope::User);
        // Only browsers that were used: a store not made yet is no browser to worry about.
        let stores = {
            let all = user_stores.clone();
            move || all().filter(|s| s.exists())
        };
        let dir = data_dir.clone();
        let trusted = Box::new(move || {
            let ca = OurCa::read(&dir).ok()?;
            let states: Vec<State> = stores().map(|s| s.state(&ca)).collect();
            let usable: Vec<&State> = states.iter().filter(|s| !matches!(s, State::Unavailable { .. })).collect();
            (!usable.is_empty()).then(|| usable.iter().all(|s| matches!(s, State::Trusted { .. })))
        });
        let trust = Box::new(move || match OurCa::read(&data_dir) {
            Ok(ca) => {
                for store in user_stores() {
                    if let Err(problem) = store.install(&ca) {
                        tracing::warn!(store = %store.label, ?problem, "the local CA was not put in");
                    }
                }
            }
            Err(e) => tracing::warn!("no local CA to trust: {e}"),
        });
        let set_autostart = Box::new(|on: bool| {
            let places = Places::of_this_user();
            let done = if on {
                crate::platform::program_path().and_then(|program| autostart::enable(&places, &program))
            } else {
                autostart::disable(&places)
            };
            if let Err(e) = done {
                tracing::warn!(error = %e, "start at login not changed");
            }
        });
        Self {
            trusted,
            trust,
            autostart: Box::new(|| autostart::status(&Places::of_this_user()).is_on()),
            set_autostart,
        }
    }
}

/// Hardware tokens as the shell sees them: which are plugged in, and changing a PIN.
/// Both block (they ask the PKCS#11 modules' helpers): call them off the UI threads.
pub struct Tokens {
    /// The tokens plugged in now.
    pub present: Box<dyn Fn() -> Vec<TokenSlot> + Send + Sync>,
    /// Change the PIN of a token from the first PIN to the second.
    pub change_pin: PinChanger,
}

/// Changes the PIN of a token from the first PIN to the second.
pub type PinChanger = Box<dyn Fn(&TokenSlot, &str, &str) -> PinChange + Send + Sync>;

impl Default for Tokens {
    fn default() -> Self {
        Self { present: Box::new(Vec::new), change_pin: Box::new(|_, _, _| PinChange::Removed) }
    }
}

impl Tokens {
    /// The tokens of `modules` (the ones the signing core uses, so that a PIN change
    /// and a signing request never log in on a token at the same time).
    pub fn of(modules: Arc<crate::keys::pkcs11::client::Modules>) -> Self {
        let listed = Arc::clone(&modules);
        Self {
            present: Box::new(move || listed.present(None)),
            change_pin: Box::new(move |token, old, new| match modules.module_of(token) {
                Some(module) => PinChange::of(module.change_pin(token.slot, &token.label, old, new)),
                None => PinChange::Removed,
            }),
        }
    }
}

/// One line of the tray menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// Something to click.
    Action {
        label: String,
        command: Command,
    },
    /// A line that only informs.
    Info(String),
    Separator,
    Submenu {
        label: String,
        items: Vec<Item>,
    },
}

/// The tray menu for `status`, in `locale`.
pub fn menu(status: &Status, locale: Locale) -> Vec<Item> {
    let t = |text: Text| text.get(locale).to_owned();
    let state = if status.paused { t(Text::StatePaused) } else { t(Text::StateRunning) };
    let mut items = vec![Item::Info(format!("qoltanba {} — {state}", status.version))];
    items.extend(status.listening.iter().map(|l| Item::Info(l.clone())));
    items.push(Item::Info(t(trust_text(status.browsers_trusted))));
    if status.browsers_trusted == Some(false) {
        items.push(Item::Action { label: t(Text::TrustBrowsers), command: Command::TrustBrowsers });
    }
    items.push(Item::Separator);
    items.push(if status.paused {
        Item::Action { label: t(Text::ResumeSigning), command: Command::Resume }
    } else {
        Item::Action { label: t(Text::StopSigning), command: Command::Pause }
    });
    let recent: Vec<Item> = if status.recent.is_empty() {
        vec![Item::Info(t(Text::NoSignaturesYet))]
    } else {
        status.recent.iter().map(|s| Item::Info(signed_line(s, locale))).collect()
    };
    items.push(Item::Submenu { label: t(Text::RecentSignatures), items: recent });
    let keys: Vec<Item> = if status.recent_keys.is_empty() {
        vec![Item::Info(t(Text::NoKeysYet))]
    } else {
        status.recent_keys.iter().map(|k| Item::Info(crate::ui::sanitize::shown(&k.display().to_string()))).collect()
    };
    items.push(Item::Submenu { label: t(Text::KeysMenu), items: keys });
    items.push(Item::Submenu { label: t(Text::SitesMenu), items: site_items(&status.sites, locale) });
    if !status.tokens.is_empty() {
        items.push(Item::Action { label: t(Text::ChangeTokenPin), command: Command::ChangeTokenPin });
    }
    items.push(Item::Separator);
    let languages = crate::i18n::LANGUAGES
        .into_iter()
        .map(|(l, name)| {
            let label = if l == status.language { format!("✓ {name}") } else { name.to_owned() };
            Item::Action { label, command: Command::SetLanguage(l) }
        })
        .collect();
    items.push(Item::Submenu { label: t(Text::Language), items: languages });
    let offline = if status.offline { t(Text::OfflineOn) } else { t(Text::OfflineOff) };
    items.push(Item::Action { label: offline, command: Command::SetOffline(!status.offline) });
    let login = if status.autostart { format!("✓ {}", t(Text::StartAtLogin)) } else { t(Text::StartAtLogin) };
    items.push(Item::Action { label: login, command: Command::SetAutostart(!status.autostart) });
    items.push(Item::Separator);
    let about = vec![
        Item::Info(format!("qoltanba {}", status.version)),
        Item::Info(t(Text::AboutWhat)),
        Item::Info(HOMEPAGE.to_owned()),
    ];
    items.push(Item::Submenu { label: t(Text::About), items: about });
    items.push(Item::Action { label: t(Text::OpenWindow), command: Command::OpenWindow });
    items.push(Item::Action { label: t(Text::Quit), command: Command::Quit });
    items
}

/// The same token in the same place: a token offered in a window may be changed only
/// while it is still the one plugged in there (its PIN state may have changed).
fn same_token(a: &TokenSlot, b: &TokenSlot) -> bool {
    (a.module, &a.storage, a.slot, &a.label) == (b.module, &b.storage, b.slot, &b.label)
}

/// Where the project lives.
pub const HOMEPAGE: &str = "https://github.com/qoltanba/qoltanba";

/// The line saying whether browsers trust us.
pub fn trust_text(trusted: Option<bool>) -> Text {
    match trusted {
        Some(true) => Text::BrowsersTrust,
        Some(false) => Text::BrowsersDoNotTrust,
        None => Text::BrowsersTrustUnknown,
    }
}

/// "14:03 https://egov.kz — 3 (ТЕСТОВ ТЕСТ)".
pub fn signed_line(signed: &Signed, locale: Locale) -> String {
    signed_line_at(signed, crate::platform::now_ms(), locale)
}

/// [`signed_line`] as of `now_ms`: the time alone for today's signatures, with the
/// day for earlier ones (the list comes from the journal and survives restarts).
fn signed_line_at(signed: &Signed, now_ms: i64, locale: Locale) -> String {
    use crate::validation::in_astana;
    let site = crate::i18n::dialog::site(signed.origin.as_deref(), locale);
    let today = in_astana(now_ms).map(|t| t.date());
    let when = in_astana(signed.at_ms)
        .map(|t| match today {
            Some(day) if day == t.date() => format!("{:02}:{:02}", t.hour(), t.minute()),
            _ => format!("{:02}.{:02} {:02}:{:02}", t.day(), u8::from(t.month()), t.hour(), t.minute()),
        })
        .unwrap_or_default();
    format!("{when} {site} — {} ({})", signed.documents, crate::ui::sanitize::shown(&signed.signer))
}

/// The tray's sites: each with what it may do and the commands that change it.
fn site_items(sites: &[(String, Permission)], locale: Locale) -> Vec<Item> {
    let t = |text: Text| text.get(locale).to_owned();
    if sites.is_empty() {
        return vec![Item::Info(t(Text::NoSitesYet))];
    }
    sites
        .iter()
        .map(|(origin, permission)| {
            let (mark, other, other_label) = match permission {
                Permission::Allow => ("✓", Permission::Deny, t(Text::DenySiteCommand)),
                Permission::Deny => ("✖", Permission::Allow, t(Text::AllowSiteCommand)),
            };
            let shown = if origin.is_empty() { t(Text::NoOrigin) } else { crate::ui::sanitize::shown(origin) };
            Item::Submenu {
                label: format!("{mark} {shown}"),
                items: vec![
                    Item::Action { label: other_label, command: Command::SetSite(origin.clone(), other) },
                    Item::Action { label: t(Text::ForgetSite), command: Command::ForgetSite(origin.clone()) },
                ],
            }
        })
        .collect()
}

/// Carries out commands. See the module documentation.
pub struct Shell {
    activity: Arc<Activity>,
    listening: Vec<String>,
    recent_keys: Box<dyn Fn() -> Vec<PathBuf> + Send + Sync>,
    quit: Box<dyn Fn() + Send + Sync>,
    open_window: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    settings: Arc<crate::settings::Store>,
    /// Applies offline mode where downloads happen.
    set_online: Box<dyn Fn(bool) + Send + Sync>,
    tsa: Tsa,
    forced: Forced,
    setup: Setup,
    /// The last answer of `setup.trusted`.
    trusted: std::sync::Mutex<Option<bool>>,
    tokens: Tokens,
    /// The last answer of `tokens.present`.
    present: std::sync::Mutex<Vec<TokenSlot>>,
    /// Opens the PIN change window for these tokens (set once, by the front end).
    pin_window: std::sync::OnceLock<PinWindowOpener>,
    /// The person's answers about sites (shared with the signing core).
    sites: Arc<Sites>,
}

/// How [`Command::ChangeTokenPin`] opens its window, offering these tokens.
pub type PinWindowOpener = Box<dyn Fn(Vec<TokenSlot>) + Send + Sync>;

impl Shell {
    /// `quit` stops the daemon; `recent_keys` lists key files used before.
    pub fn new(
        activity: Arc<Activity>,
        listening: Vec<String>,
        recent_keys: Box<dyn Fn() -> Vec<PathBuf> + Send + Sync>,
        quit: Box<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            activity,
            listening,
            recent_keys,
            quit,
            open_window: std::sync::OnceLock::new(),
            settings: Arc::new(crate::settings::Store::in_memory(Default::default())),
            set_online: Box::new(|_| {}),
            tsa: Tsa { current: Box::new(|| crate::cms::tsp::DEFAULT_TSA_URL.to_owned()), set: Box::new(|_| {}) },
            forced: Forced::default(),
            setup: Setup::default(),
            trusted: std::sync::Mutex::new(None),
            tokens: Tokens::default(),
            present: std::sync::Mutex::new(Vec::new()),
            pin_window: std::sync::OnceLock::new(),
            sites: Arc::new(Sites::in_memory()),
        }
    }

    /// The answers about sites the tray shows and changes.
    pub fn with_sites(mut self, sites: Arc<Sites>) -> Self {
        self.sites = sites;
        self
    }

    /// Where browser trust and start at login are checked and changed.
    pub fn with_setup(mut self, setup: Setup) -> Self {
        self.setup = setup;
        self
    }

    /// Check again whether browsers trust us (blocking: runs certutil).
    pub fn refresh_trust(&self) -> Option<bool> {
        let trusted = (self.setup.trusted)();
        *crate::platform::lock(&self.trusted) = trusted;
        self.activity.touch();
        trusted
    }

    /// Where hardware tokens are found and their PINs changed.
    pub fn with_tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// Look again which tokens are plugged in (blocking: asks the modules); the front
    /// ends redraw when that changed.
    pub fn refresh_tokens(&self) -> Vec<TokenSlot> {
        let now = (self.tokens.present)();
        let changed = {
            let mut present = crate::platform::lock(&self.present);
            let changed = *present != now;
            *present = now.clone();
            changed
        };
        if changed {
            self.activity.touch();
        }
        now
    }

    /// Look which tokens are plugged in now and again later, on a thread of its own, for
    /// as long as the shell is there: every `every` after a change, then less and less
    /// often (up to 4 × `every`) while nothing changes, so that a vendor's module is not
    /// asked for its cards every few seconds all day.
    pub fn watch_tokens(self: &Arc<Self>, every: std::time::Duration) {
        let shell = Arc::downgrade(self);
        std::thread::spawn(move || {
            let mut wait = every;
            let mut last = None;
            while let Some(shell) = shell.upgrade() {
                let now = shell.refresh_tokens();
                drop(shell);
                wait = if last.as_ref() == Some(&now) { (wait * 2).min(every * 4) } else { every };
                last = Some(now);
                std::thread::sleep(wait);
            }
        });
    }

    /// How [`Command::ChangeTokenPin`] opens its window (set once, by the front end).
    pub fn set_pin_window_opener(&self, open: PinWindowOpener) {
        let _ = self.pin_window.set(open);
    }

    /// Change the PIN of `token` from `old` to `new` (blocking: asks the token). The new
    /// PIN is checked first ([`crate::keys::pkcs11::check_new_pin`]); the token must be
    /// one of those plugged in. PINs are never logged.
    pub fn change_pin(&self, token: &TokenSlot, old: &str, new: &str) -> PinChange {
        if let Err(problem) = crate::keys::pkcs11::check_new_pin(new, new) {
            return PinChange::Rejected { problem };
        }
        let known = crate::platform::lock(&self.present).iter().any(|t| same_token(t, token));
        let outcome = if known { (self.tokens.change_pin)(token, old, new) } else { PinChange::Removed };
        tracing::info!(token = %crate::ui::sanitize::shown(&token.label), ?outcome, "PIN change");
        // The token's PIN state (tries left, locked) may have changed.
        self.refresh_tokens();
        outcome
    }

    /// Where the timestamp authority is read and changed.
    pub fn with_tsa(mut self, tsa: Tsa) -> Self {
        self.tsa = tsa;
        self
    }

    /// What the command line fixed for this run.
    pub fn forced(mut self, forced: Forced) -> Self {
        self.forced = forced;
        self
    }

    /// Keep the person's settings in `settings`; `set_online` applies offline mode.
    pub fn with_settings(
        mut self,
        settings: Arc<crate::settings::Store>,
        set_online: Box<dyn Fn(bool) + Send + Sync>,
    ) -> Self {
        self.settings = settings;
        self.set_online = set_online;
        self
    }

    /// The language of qoltanba's own windows.
    pub fn locale(&self) -> Locale {
        self.settings.get().locale()
    }

    /// How [`Command::OpenWindow`] opens the main window (set once, by the front end).
    pub fn set_window_opener(&self, open: Box<dyn Fn() + Send + Sync>) {
        let _ = self.open_window.set(open);
    }

    /// Open the main window; `false` when there is none to open (no display).
    pub fn open_window(&self) -> bool {
        self.open_window.get().map(|open| open()).is_some()
    }

    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    pub fn status(&self) -> Status {
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            listening: self.listening.clone(),
            paused: self.activity.is_paused(),
            recent: self.activity.recent(),
            recent_keys: (self.recent_keys)(),
            language: self.locale(),
            offline: self.forced.offline || self.settings.get().offline,
            tsa_url: (self.tsa.current)(),
            forced: self.forced,
            browsers_trusted: *crate::platform::lock(&self.trusted),
            autostart: (self.setup.autostart)(),
            tokens: crate::platform::lock(&self.present).clone(),
            sites: self.sites.list().into_iter().map(|(origin, site)| (origin, site.permission)).collect(),
        }
    }

    fn forced_by_flag(&self, command: &Command) -> bool {
        match command {
            Command::SetOffline(_) => self.forced.offline,
            Command::SetTsaUrl(_) => self.forced.tsa,
            _ => false,
        }
    }

    /// A sender whose commands are run here in the order sent, on a thread of their
    /// own: a tray's clicks, some of which take seconds (making browsers trust qoltanba
    /// runs `certutil`; a site's answer waits for the sites file's lock) while the
    /// tray's own loop must not wait. A command that panics is logged; the ones after
    /// it still run.
    pub fn in_order(self: &Arc<Self>) -> std::io::Result<std::sync::mpsc::Sender<Command>> {
        let (clicks, received) = std::sync::mpsc::channel::<Command>();
        let shell = Arc::clone(self);
        std::thread::Builder::new().name("tray-clicks".into()).spawn(move || {
            for command in received {
                let run = std::panic::AssertUnwindSafe(|| shell.run(command));
                if std::panic::catch_unwind(run).is_err() {
                    tracing::error!("a tray command failed");
                }
            }
        })?;
        Ok(clicks)
    }

    pub fn run(&self, command: Command) {
        tracing::info!(?command, "command from the tray or the main window");
        match command {
            Command::OpenWindow => {
                self.open_window();
            }
            Command::Pause => self.activity.set_paused(true),
            Command::Resume => self.activity.set_paused(false),
            Command::Quit => (self.quit)(),
            Command::SetLanguage(locale) => {
                self.settings.update(|s| s.language = Some(locale));
                self.activity.touch();
            }
            Command::SetTsaUrl(_) | Command::SetOffline(_) if self.forced_by_flag(&command) => {
                tracing::warn!(?command, "fixed by the command line for this run");
            }
            Command::SetTsaUrl(url) if crate::settings::valid_tsa_url(url.trim()) => {
                let url = url.trim().to_owned();
                (self.tsa.set)(&url);
                self.settings.update(|s| s.tsa_url = Some(url));
                self.activity.touch();
            }
            Command::SetTsaUrl(url) => {
                tracing::warn!(url = %crate::ui::sanitize::shown(&url), "not a timestamp authority address")
            }
            Command::SetOffline(offline) => {
                self.settings.update(|s| s.offline = offline);
                (self.set_online)(!offline);
                self.activity.touch();
            }
            Command::TrustBrowsers => {
                (self.setup.trust)();
                self.refresh_trust();
            }
            Command::SetAutostart(on) => {
                (self.setup.set_autostart)(on);
                self.activity.touch();
            }
            Command::SetSite(origin, permission) => {
                let origin = Some(origin.as_str()).filter(|o| !o.is_empty());
                if let Err(e) = self.sites.set(origin, permission, crate::platform::now_ms()) {
                    tracing::warn!(error = %e, "the site's answer could not be kept");
                }
                self.activity.touch();
            }
            Command::ForgetSite(origin) => {
                let forgotten = self.sites.forget(Some(origin.as_str()).filter(|o| !o.is_empty()));
                if let Err(e) = forgotten {
                    tracing::warn!(error = %e, "the site's answer could not be forgotten");
                }
                self.activity.touch();
            }
            Command::ChangeTokenPin => {
                let tokens = crate::platform::lock(&self.present).clone();
                match self.pin_window.get() {
                    Some(open) if !tokens.is_empty() => open(tokens),
                    Some(_) => tracing::warn!("no token is plugged in: no PIN to change"),
                    None => tracing::warn!("no window to change a PIN in (no display)"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Action;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn shell(quit: Arc<AtomicBool>) -> Shell {
        Shell::new(
            Arc::new(Activity::default()),
            vec!["wss://127.0.0.1:13579".into()],
            Box::new(|| vec![PathBuf::from("/home/a/AUTH_RSA.p12")]),
            Box::new(move || quit.store(true, Ordering::SeqCst)),
        )
    }

    #[test]
    fn the_tray_lists_the_sites_and_changes_their_answers() {
        let dir = tempfile::tempdir().unwrap();
        let sites = Arc::new(Sites::in_dir(dir.path()));
        let shell = shell(Arc::default()).with_sites(Arc::clone(&sites));
        let submenu = |status: &Status| {
            menu(status, Locale::En)
                .into_iter()
                .find_map(|i| match i {
                    Item::Submenu { label, items } if label == "Sites" => Some(items),
                    _ => None,
                })
                .expect("a Sites submenu")
        };
        assert_eq!(
            submenu(&shell.status()),
            vec![Item::Info("No answers yet: each site is asked at its first request".into())]
        );
        // `qoltanba sites allow` in a terminal: the tray shows it.
        Sites::in_dir(dir.path()).set(Some("https://sigex.kz"), Permission::Allow, 1).unwrap();
        let items = submenu(&shell.status());
        let Item::Submenu { label, items: commands } = &items[0] else { panic!("{items:?}") };
        assert_eq!(label, "✓ https://sigex.kz");
        assert_eq!(
            actions(commands)[0],
            ("Deny".into(), Command::SetSite("https://sigex.kz".into(), Permission::Deny))
        );
        shell.run(actions(commands)[0].1.clone());
        assert_eq!(Sites::in_dir(dir.path()).get(Some("https://sigex.kz")), Some(Permission::Deny), "kept in the file");
        shell.run(Command::ForgetSite("https://sigex.kz".into()));
        assert_eq!(Sites::in_dir(dir.path()).get(Some("https://sigex.kz")), None);
        assert_eq!(shell.status().sites, vec![]);
    }

    fn actions(items: &[Item]) -> Vec<(String, Command)> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Action { label, command } => Some((label.clone(), command.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_menu_stops_and_resumes_signing_and_quits() {
        let quit = Arc::new(AtomicBool::new(false));
        let shell = shell(Arc::clone(&quit));
        let opened = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&opened);
        shell.set_window_opener(Box::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
        }));
        let menu_now = || menu(&shell.status(), Locale::En);
        let items = menu_now();
        assert_eq!(items[0], Item::Info(format!("qoltanba {} — running", env!("CARGO_PKG_VERSION"))));
        assert_eq!(items[1], Item::Info("wss://127.0.0.1:13579".into()));
        let acts = actions(&items);
        assert_eq!(acts[0], ("Stop signing for now".into(), Command::Pause));
        // What the menu offers is what it does.
        for (_, command) in
            acts.into_iter().filter(|(_, c)| !matches!(c, Command::SetLanguage(_) | Command::SetOffline(_)))
        {
            shell.run(command);
        }
        assert!(shell.activity().is_paused());
        assert!(quit.load(Ordering::SeqCst));
        assert_eq!(opened.load(Ordering::SeqCst), 1);
        let acts = actions(&menu_now());
        assert_eq!(acts[0], ("Resume signing".into(), Command::Resume));
        shell.run(Command::Resume);
        assert!(!shell.activity().is_paused());
    }

    /// A tray's clicks run in the order made, and one that fails stops none after it.
    #[test]
    fn clicks_run_in_order_and_survive_a_failing_one() {
        let quit = Arc::new(AtomicBool::new(false));
        let shell = Arc::new(shell(Arc::clone(&quit)));
        shell.set_window_opener(Box::new(|| panic!("the window cannot open")));
        let clicks = shell.in_order().unwrap();
        for command in [Command::OpenWindow, Command::Pause, Command::Resume, Command::Pause, Command::Quit] {
            clicks.send(command).unwrap();
        }
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !quit.load(Ordering::SeqCst) {
            assert!(std::time::Instant::now() < until, "Quit never ran");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(shell.activity().is_paused(), "stop, resume, stop: stopped");
    }

    #[test]
    fn language_and_offline_mode_are_set_from_the_menu_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Arc::new(crate::settings::Store::load(dir.path()));
        let online = Arc::new(AtomicBool::new(true));
        let seen = Arc::clone(&online);
        let shell = shell(Arc::default())
            .with_settings(Arc::clone(&settings), Box::new(move |on| seen.store(on, Ordering::SeqCst)));
        let items = menu(&shell.status(), shell.locale());
        let languages = items
            .iter()
            .find_map(|i| match i {
                Item::Submenu { items, .. } if items.len() == 3 => Some(actions(items)),
                _ => None,
            })
            .expect("a language submenu");
        let kazakh = languages.iter().find(|(label, _)| label.ends_with("Қазақша")).unwrap().1.clone();
        shell.run(kazakh);
        assert_eq!(shell.locale(), Locale::Kk);
        let items = menu(&shell.status(), shell.locale());
        let offline = actions(&items).into_iter().find(|(_, c)| matches!(c, Command::SetOffline(_))).unwrap();
        assert_eq!(offline, ("Желісіз режим: өшірулі".into(), Command::SetOffline(true)));
        shell.run(offline.1);
        assert!(!online.load(Ordering::SeqCst), "downloads stop");
        // The timestamp authority: applied and kept when it is an http(s) address.
        let applied = Arc::new(std::sync::Mutex::new(String::new()));
        let (sink, shown) = (Arc::clone(&applied), Arc::clone(&applied));
        let shell = shell.with_tsa(Tsa {
            current: Box::new(move || {
                let now = shown.lock().unwrap().clone();
                if now.is_empty() { "http://tsp.pki.gov.kz".into() } else { now }
            }),
            set: Box::new(move |url| *sink.lock().unwrap() = url.to_owned()),
        });
        assert_eq!(shell.status().tsa_url, "http://tsp.pki.gov.kz");
        shell.run(Command::SetTsaUrl("file:///etc/passwd".into()));
        assert_eq!(applied.lock().unwrap().as_str(), "", "not an address: ignored");
        shell.run(Command::SetTsaUrl(" https://tsa.example.kz/tsp ".into()));
        assert_eq!(applied.lock().unwrap().as_str(), "https://tsa.example.kz/tsp");
        assert_eq!(shell.status().tsa_url, "https://tsa.example.kz/tsp");
        // Kept for the next start.
        let again = crate::settings::Store::load(dir.path()).get();
        assert_eq!((again.language, again.offline), (Some(Locale::Kk), true));
        assert_eq!(again.tsa_url.as_deref(), Some("https://tsa.example.kz/tsp"));
        // What the command line fixed cannot be changed from the window.
        let fixed = super::tests::shell(Arc::default()).forced(Forced { offline: true, tsa: true });
        assert!(fixed.status().offline);
        fixed.run(Command::SetOffline(false));
        fixed.run(Command::SetTsaUrl("https://other.example.kz".into()));
        assert!(fixed.status().offline);
        assert_eq!(fixed.status().tsa_url, "http://tsp.pki.gov.kz");
    }

    #[test]
    fn browser_trust_start_at_login_and_about_are_in_the_menu_and_do_what_they_say() {
        let trusted = Arc::new(AtomicBool::new(false));
        let login = Arc::new(AtomicBool::new(false));
        let (t1, t2, l1, l2) = (Arc::clone(&trusted), Arc::clone(&trusted), Arc::clone(&login), Arc::clone(&login));
        let setup = Setup {
            trusted: Box::new(move || Some(t1.load(Ordering::SeqCst))),
            trust: Box::new(move || t2.store(true, Ordering::SeqCst)),
            autostart: Box::new(move || l1.load(Ordering::SeqCst)),
            set_autostart: Box::new(move |on| l2.store(on, Ordering::SeqCst)),
        };
        let shell = shell(Arc::default()).with_setup(setup);
        assert_eq!(shell.status().browsers_trusted, None, "not known before the first check");
        assert_eq!(shell.refresh_trust(), Some(false));
        let items = menu(&shell.status(), Locale::En);
        assert!(items.contains(&Item::Info("Browsers do not trust qoltanba yet: sites cannot connect to it".into())));
        let acts = actions(&items);
        let trust = acts.iter().find(|(_, c)| *c == Command::TrustBrowsers).expect("a trust action");
        assert_eq!(trust.0, "Make browsers trust qoltanba");
        shell.run(Command::TrustBrowsers);
        assert_eq!(shell.status().browsers_trusted, Some(true), "checked again after trusting");
        let items = menu(&shell.status(), Locale::En);
        assert!(items.contains(&Item::Info("Browsers trust qoltanba".into())));
        assert!(!actions(&items).iter().any(|(_, c)| *c == Command::TrustBrowsers), "nothing left to do");
        let login_item = actions(&items).into_iter().find(|(_, c)| matches!(c, Command::SetAutostart(_))).unwrap();
        assert_eq!(login_item, ("Start at login".into(), Command::SetAutostart(true)));
        shell.run(login_item.1);
        assert!(login.load(Ordering::SeqCst));
        let login_item = actions(&menu(&shell.status(), Locale::En))
            .into_iter()
            .find(|(_, c)| matches!(c, Command::SetAutostart(_)))
            .unwrap();
        assert_eq!(login_item, ("✓ Start at login".into(), Command::SetAutostart(false)));
        let about = items
            .iter()
            .find_map(|i| match i {
                Item::Submenu { label, items } if label == "About" => Some(items.clone()),
                _ => None,
            })
            .expect("an About submenu");
        assert!(about.contains(&Item::Info(HOMEPAGE.into())), "{about:?}");
    }

    /// A token of the test's own: its PIN, the wrong PINs it still takes, whether it is
    /// plugged in or in use, and how often it was asked to change its PIN.
    struct FakeToken {
        pin: std::sync::Mutex<String>,
        tries: AtomicUsize,
        plugged: AtomicBool,
        busy: AtomicBool,
        asked: AtomicUsize,
    }

    fn slot() -> TokenSlot {
        TokenSlot {
            storage: "AKKaztokenStore".into(),
            slot: 3,
            label: "NCA test".into(),
            module: 0,
            pin_final_try: false,
            pin_locked: false,
        }
    }

    fn fake_tokens(token: &Arc<FakeToken>) -> Tokens {
        let (listed, changed) = (Arc::clone(token), Arc::clone(token));
        Tokens {
            present: Box::new(move || if listed.plugged.load(Ordering::SeqCst) { vec![slot()] } else { vec![] }),
            change_pin: Box::new(move |_, old, new| {
                changed.asked.fetch_add(1, Ordering::SeqCst);
                let mut pin = changed.pin.lock().unwrap();
                if changed.busy.load(Ordering::SeqCst) {
                    return PinChange::Busy;
                }
                if changed.tries.load(Ordering::SeqCst) == 0 {
                    return PinChange::Locked;
                }
                if *pin != old {
                    let left = changed.tries.fetch_sub(1, Ordering::SeqCst) - 1;
                    return if left == 0 { PinChange::Locked } else { PinChange::WrongPin { final_try: left == 1 } };
                }
                changed.tries.store(3, Ordering::SeqCst);
                *pin = new.to_owned();
                PinChange::Changed
            }),
        }
    }

    #[test]
    fn the_pin_change_is_offered_only_with_a_token_plugged_in() {
        let token = Arc::new(FakeToken {
            pin: std::sync::Mutex::new("12345678".into()),
            tries: AtomicUsize::new(3),
            plugged: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            asked: AtomicUsize::new(0),
        });
        let shell = shell(Arc::default()).with_tokens(fake_tokens(&token));
        let offered = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&offered);
        shell.set_pin_window_opener(Box::new(move |tokens| seen.lock().unwrap().push(tokens)));
        let offers = |shell: &Shell| {
            actions(&menu(&shell.status(), Locale::En))
                .into_iter()
                .filter(|(_, c)| *c == Command::ChangeTokenPin)
                .count()
        };
        assert!(shell.refresh_tokens().is_empty());
        assert_eq!(offers(&shell), 0, "no token, no PIN to change");
        shell.run(Command::ChangeTokenPin);
        assert!(offered.lock().unwrap().is_empty(), "nothing opens without a token");
        token.plugged.store(true, Ordering::SeqCst);
        let redraws = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&redraws);
        shell.activity().on_change(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(shell.refresh_tokens(), [slot()]);
        shell.refresh_tokens();
        assert_eq!(redraws.load(Ordering::SeqCst), 1, "redrawn when the tokens change, not at every look");
        assert_eq!(shell.status().tokens, [slot()]);
        let items = menu(&shell.status(), Locale::Ru);
        assert!(actions(&items).contains(&("Сменить PIN-код токена…".into(), Command::ChangeTokenPin)), "{items:?}");
        assert_eq!(offers(&shell), 1);
        shell.run(Command::ChangeTokenPin);
        assert_eq!(*offered.lock().unwrap(), [vec![slot()]], "the window offers the token plugged in");
        // Pulled out: the item goes at the next look.
        token.plugged.store(false, Ordering::SeqCst);
        shell.refresh_tokens();
        assert_eq!(offers(&shell), 0);
    }

    #[test]
    fn a_pin_change_checks_the_new_pin_asks_the_token_and_says_how_it_went() {
        let token = Arc::new(FakeToken {
            pin: std::sync::Mutex::new("12345678".into()),
            tries: AtomicUsize::new(3),
            plugged: AtomicBool::new(true),
            busy: AtomicBool::new(false),
            asked: AtomicUsize::new(0),
        });
        let shell = shell(Arc::default()).with_tokens(fake_tokens(&token));
        shell.refresh_tokens();
        let asked = || token.asked.load(Ordering::SeqCst);
        use crate::keys::pkcs11::NewPinProblem;
        // New PINs the token is never asked about.
        for (new, problem) in [("1234567890", NewPinProblem::Factory), ("12345", NewPinProblem::TooShort)] {
            assert_eq!(shell.change_pin(&slot(), "12345678", new), PinChange::Rejected { problem });
        }
        assert_eq!(asked(), 0);
        assert_eq!(shell.change_pin(&slot(), "00000000", "246813"), PinChange::WrongPin { final_try: false });
        assert_eq!(shell.change_pin(&slot(), "00000001", "246813"), PinChange::WrongPin { final_try: true });
        token.busy.store(true, Ordering::SeqCst);
        assert_eq!(shell.change_pin(&slot(), "12345678", "246813"), PinChange::Busy);
        token.busy.store(false, Ordering::SeqCst);
        assert_eq!(shell.change_pin(&slot(), "12345678", "246813"), PinChange::Changed);
        assert_eq!(*token.pin.lock().unwrap(), "246813");
        // Another token in the slot now, or none: the token is not asked.
        let before = asked();
        let other = TokenSlot { label: "other".into(), ..slot() };
        assert_eq!(shell.change_pin(&other, "246813", "135792"), PinChange::Removed);
        token.plugged.store(false, Ordering::SeqCst);
        shell.refresh_tokens();
        assert_eq!(shell.change_pin(&slot(), "246813", "135792"), PinChange::Removed);
        assert_eq!(asked(), before);
        // Three wrong PINs lock it.
        token.plugged.store(true, Ordering::SeqCst);
        shell.refresh_tokens();
        for _ in 0..2 {
            shell.change_pin(&slot(), "00000000", "135792");
        }
        assert_eq!(shell.change_pin(&slot(), "00000000", "135792"), PinChange::Locked);
        assert_eq!(shell.change_pin(&slot(), "246813", "135792"), PinChange::Locked);
    }

    #[test]
    fn the_menu_lists_recent_signatures_and_the_keys_in_the_persons_language() {
        let shell = shell(Arc::default());
        let signed = Signed {
            at_ms: 1_796_000_000_000,
            origin: Some("https://egov.kz".into()),
            action: Action::SignCms,
            documents: 3,
            signer: "ТЕСТОВ ТЕСТ".into(),
        };
        shell.activity().notice(crate::activity::Notice::Signed(signed), Locale::Ru);
        let items = menu(&shell.status(), Locale::Ru);
        let submenu = |name: &str| {
            items.iter().find_map(|i| match i {
                Item::Submenu { label, items } if label == name => Some(items.clone()),
                _ => None,
            })
        };
        let recent = submenu("Последние подписи").expect("a submenu of recent signatures");
        let line = |now_ms| signed_line_at(&shell.status().recent[0], now_ms, Locale::Ru);
        assert_eq!(recent, [Item::Info(line(crate::platform::now_ms()))]);
        assert_eq!(line(1_796_000_000_000), "05:53 https://egov.kz — 3 (ТЕСТОВ ТЕСТ)");
        // Signatures of earlier days (from the journal, after a restart) say the day.
        assert_eq!(line(1_796_100_000_000), "30.11 05:53 https://egov.kz — 3 (ТЕСТОВ ТЕСТ)");
        let keys = submenu("Ключи").expect("a submenu of keys");
        assert_eq!(keys, [Item::Info("/home/a/AUTH_RSA.p12".into())]);
        assert!(actions(&items).contains(&("Выход".into(), Command::Quit)));
    }
}
