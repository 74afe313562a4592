//! `qoltanba`: start the daemon (see `qoltanba --help`).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio::sync::watch;
use zeroize::Zeroizing;

use qoltanba::activity::Activity;
use qoltanba::cli::{Cli, Command, KeysCommand, ServeArgs, VerifyCommand};
use qoltanba::cms::tsp::TsaConfig;
use qoltanba::keys::demo::ensure_demo_key;
use qoltanba::keys::recent::RecentFiles;
use qoltanba::platform::instance::Running;
use qoltanba::protocol::Dispatcher;
use qoltanba::server::{Server, ServerConfig, StartError, default_listen};
use qoltanba::signing::SigningCore;
use qoltanba::trust::TrustStore;
use qoltanba::ui::desktop::DesktopPrompter;
use qoltanba::ui::shell::{Forced, Shell};
use qoltanba::ui::{AutoAnswer, HeadlessPrompter, NoPrompter, Prompter, TerminalPrompter, Tty};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("QOLTANBA_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Keys(KeysCommand::Info(args))) => return qoltanba::commands::keys_info(&args),
        Some(Command::Keys(KeysCommand::Reminders(args))) => return qoltanba::commands::keys_reminders(&args),
        Some(Command::Verify(VerifyCommand::Cms(args))) => return qoltanba::commands::verify_cms(&args),
        Some(Command::Verify(VerifyCommand::Xml(args))) => return qoltanba::commands::verify_xml(&args),
        Some(Command::Sign(args)) => return qoltanba::commands::sign(&args),
        Some(Command::Trust(command)) => return qoltanba::commands::trust(&command),
        Some(Command::Autostart(command)) => return qoltanba::commands::autostart(&command),
        Some(Command::Doctor(args)) => return qoltanba::commands::doctor(&args),
        Some(Command::Tokens(command)) => return qoltanba::commands::tokens(&command),
        Some(Command::Journal(args)) => return qoltanba::commands::journal(&args),
        Some(Command::Sites(command)) => return qoltanba::commands::sites(&command),
        Some(Command::Pkcs11Helper { module }) => return qoltanba::keys::pkcs11::helper::run(&module),
        #[cfg(feature = "desktop")]
        Some(Command::Dialog) => return qoltanba::ui::desktop::app::run(),
        #[cfg(not(feature = "desktop"))]
        Some(Command::Dialog) => {
            eprintln!("qoltanba: this build has no desktop dialogs");
            return ExitCode::from(qoltanba::ui::desktop::EXIT_NO_WINDOW as u8);
        }
        None => cli.serve,
    };
    // 8 MiB stacks: XML canonicalization recurses once per level (up to the parser's 256),
    // which must never overflow a thread's stack, whatever the build's frame sizes.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(8 * 1024 * 1024)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("qoltanba: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

/// Choose the prompter the flags ask for. Without one that can ask, signing requests
/// get a clear error reply.
/// Also says whether the prompter is the desktop's (which then gets notifications too).
fn prompter(
    args: &ServeArgs,
    data_dir: &std::path::Path,
    recent: &Arc<RecentFiles>,
) -> Result<(Arc<dyn Prompter>, bool), String> {
    if args.demo {
        let demo = ensure_demo_key(data_dir)?;
        println!("DEMO MODE: every signing request is approved automatically with a DEMO key.");
        println!("  key:   {}", demo.key_file.display());
        println!("  CA:    {} (verify demo signatures against it)", demo.ca_file.display());
        println!("  These signatures are NOT legal signatures. Do not use demo mode with real sites.");
        let demo = HeadlessPrompter::new(demo.key_file, Zeroizing::new(String::new()), AutoAnswer::Confirm);
        return Ok((Arc::new(demo), false));
    }
    if let Some(key) = &args.auto_key {
        let password = Zeroizing::new(args.auto_password.clone().unwrap_or_default());
        tracing::warn!(
            key = %key.display(),
            answer = ?args.auto_answer,
            "HEADLESS MODE: requests are answered without asking anybody; anything that can reach the port gets signatures. For tests only."
        );
        let prompter = HeadlessPrompter::new(key.clone(), password, args.auto_answer)
            .with_delay(std::time::Duration::from_millis(args.auto_delay_ms))
            .with_document(args.auto_file.clone())
            .with_site_answer(args.auto_site);
        return Ok((Arc::new(prompter), false));
    }
    let in_terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    if cfg!(feature = "desktop") && !args.terminal && qoltanba::ui::desktop::display_available() {
        let program = std::env::current_exe().map_err(|e| format!("cannot find this program's file: {e}"))?;
        return Ok((Arc::new(DesktopPrompter::new(program, Arc::clone(recent))), true));
    }
    if in_terminal {
        println!("Signing requests will be confirmed here, in this terminal: keep it open.");
        let terminal = TerminalPrompter::new(Tty, qoltanba::i18n::Locale::from_environment());
        return Ok((Arc::new(terminal), false));
    }
    tracing::warn!("no display and no terminal to ask in: signing requests will be answered with an error");
    Ok((Arc::new(NoPrompter), false))
}

/// Download NCA RK's CA certificates on a thread of their own: nothing waits for the
/// network (start-up, the tray).
fn refresh_in_background(trust: &Arc<TrustStore>) {
    let trust = Arc::clone(trust);
    std::thread::spawn(move || trust.refresh_ca_certificates());
}

/// What the tray and the main window act on.
struct Parts {
    activity: Arc<Activity>,
    settings: Arc<qoltanba::settings::Store>,
    trust: Arc<TrustStore>,
    core: Arc<SigningCore>,
    /// What the command line fixed for this run.
    forced: Forced,
    recent: Arc<RecentFiles>,
    data_dir: std::path::PathBuf,
    /// The PKCS#11 modules the signing core uses.
    tokens: Arc<qoltanba::keys::pkcs11::client::Modules>,
    /// The person's answers about sites (the signing core obeys them).
    sites: Arc<qoltanba::sites::Sites>,
}

/// How often the tray and the main window look which tokens are plugged in.
const TOKEN_LOOK: std::time::Duration = std::time::Duration::from_secs(3);

/// The tray, the main window and their commands; with `desktop`, shown.
fn app_shell(parts: Parts, listening: Vec<String>, stop: watch::Sender<bool>, desktop: bool) -> Arc<Shell> {
    let Parts { activity, settings, trust, core, forced, recent, data_dir, tokens, sites } = parts;
    let quit = Box::new(move || {
        let _ = stop.send(true);
    });
    let online = Arc::clone(&trust);
    let set_online = Box::new(move |on: bool| {
        online.set_online(on);
        if on {
            // Back online: fetch what offline mode skipped.
            refresh_in_background(&online);
        }
    });
    let shell = Shell::new(activity, listening, Box::new(move || recent.list()), quit);
    let current = Arc::clone(&core);
    let set_tsa = Box::new(move |url: &str| core.set_tsa_url(url.to_owned()));
    let tsa = qoltanba::ui::shell::Tsa { current: Box::new(move || current.tsa_url()), set: set_tsa };
    let setup = qoltanba::ui::shell::Setup::for_this_user(data_dir);
    let first_start = !settings.get().trust_asked;
    let shell = shell.with_settings(Arc::clone(&settings), set_online).with_tsa(tsa).forced(forced);
    let shell = shell.with_setup(setup).with_tokens(qoltanba::ui::shell::Tokens::of(tokens)).with_sites(sites);
    let shell = Arc::new(shell);
    #[cfg(feature = "desktop")]
    if desktop && let Ok(program) = std::env::current_exe() {
        qoltanba::ui::desktop::window::MainWindow::install(program, &shell);
        #[cfg(target_os = "linux")]
        tokio::spawn(qoltanba::ui::desktop::tray::start(Arc::clone(&shell)));
        #[cfg(windows)]
        qoltanba::ui::desktop::tray_windows::start(Arc::clone(&shell));
    }
    #[cfg(not(feature = "desktop"))]
    let _ = desktop;
    // Whether browsers trust us, found off the runtime for the tray and the main window
    // (nothing else shows it: without a desktop, no certutil runs at start); a first
    // start shows the main window, which asks to make them trust us when they do not.
    if desktop {
        // Only a desktop shows tokens (the tray's and the main window's PIN change).
        shell.watch_tokens(TOKEN_LOOK);
        let checking = Arc::clone(&shell);
        tokio::task::spawn_blocking(move || {
            if checking.refresh_trust() == Some(false) && first_start {
                settings.update(|s| s.trust_asked = true);
                checking.open_window();
            }
        });
    }
    shell
}

async fn serve(args: ServeArgs) -> ExitCode {
    let data_dir = args.data_dir.clone().unwrap_or_else(qoltanba::platform::default_data_dir);
    // After an upgrade, the older qoltanba still running gives way to this one.
    let replacing = replace_older(&data_dir);
    // A second start: the running qoltanba opens its window instead.
    match qoltanba::platform::instance::ask_running_to_show(&data_dir) {
        Running::WindowOpened => {
            println!("qoltanba is already running for this user: its window is open now.");
            return ExitCode::SUCCESS;
        }
        Running::WithoutWindow => {
            println!("qoltanba is already running for this user (without a display, so without a window).");
            return ExitCode::SUCCESS;
        }
        Running::No => {}
    }
    if let Err(e) = qoltanba::audit::start(&args.audit) {
        eprintln!("qoltanba: {e}");
        return ExitCode::FAILURE;
    }
    // One list of recent key files: the dialogs add to it, the tray shows it.
    let recent = Arc::new(RecentFiles::new(&data_dir));
    let (prompter, desktop) = match prompter(&args, &data_dir, &recent) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("qoltanba: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ca_urls = qoltanba::trust::ca_urls(&args.nca_ca_url);
    let settings = Arc::new(qoltanba::settings::Store::load(&data_dir));
    let offline = args.offline || settings.get().offline;
    let trust = Arc::new(TrustStore::new(Some(data_dir.join("trust")), ca_urls, !offline));
    if !offline {
        refresh_in_background(&trust);
    }
    // The person's timestamp authority, unless the command line names one.
    let chosen_tsa = settings.get().tsa_url.filter(|u| qoltanba::settings::valid_tsa_url(u));
    let tsa_url = args.tsa_url.clone().or(chosen_tsa).unwrap_or_else(|| qoltanba::cms::tsp::DEFAULT_TSA_URL.into());
    let tsa = TsaConfig { url: tsa_url, ..TsaConfig::default() };
    let activity = Arc::new(Activity::default());
    // The tray's recent signatures survive a restart: the journal has them.
    let journal = Arc::new(qoltanba::journal::Journal::new(&data_dir));
    activity.remember(qoltanba::journal::recent_signatures(&data_dir, qoltanba::activity::RECENT));
    // The person's answers about sites: shared with the tray, changed by `qoltanba sites`.
    let sites = Arc::new(qoltanba::sites::Sites::in_dir(&data_dir));
    #[cfg(feature = "desktop")]
    if desktop && let Some(notifier) = qoltanba::ui::desktop::notify::DesktopNotifier::new() {
        activity.set_notifier(Box::new(notifier));
    }
    let program = qoltanba::platform::program_path().unwrap_or_default();
    let modules = qoltanba::keys::pkcs11::modules(&args.modules.configured());
    let tokens = Arc::new(qoltanba::keys::pkcs11::client::Modules::new(modules, program));
    let core = SigningCore::new(qoltanba::audit::watch(prompter), Arc::clone(&trust), tsa)
        .with_tokens(Arc::clone(&tokens))
        .with_check_time(args.check_time.map(|s| s * 1000))
        .with_activity(Arc::clone(&activity))
        .with_journal(journal)
        .with_sites(Arc::clone(&sites))
        .with_recent(Arc::clone(&recent));
    let core = Arc::new(core);
    remind_in_background(&data_dir, &activity, &trust, args.check_time);
    let dispatcher = Arc::new(Dispatcher::new(Arc::clone(&core)));
    let listen = if args.listen.is_empty() { default_listen() } else { args.listen.clone() };
    let config = ServerConfig {
        tls: !args.insecure_ws,
        max_message_size: args.max_message_size,
        max_connections: args.max_connections.max(1),
        max_connections_per_origin: args.max_connections_per_origin.max(1),
        memory_budget: args.memory_budget.max(args.max_message_size),
        handshake_timeout: std::time::Duration::from_millis(args.handshake_timeout_ms.max(100)),
        idle_timeout: (args.idle_timeout_secs > 0).then(|| std::time::Duration::from_secs(args.idle_timeout_secs)),
        ..ServerConfig::new(listen, data_dir.clone())
    };
    let mut bound = Server::bind(config.clone(), Arc::clone(&dispatcher)).await;
    // The replaced one may still be letting go of the port.
    for _ in 0..50 {
        if !replacing || !matches!(bound, Err(StartError::AddressInUse(_))) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        bound = Server::bind(config.clone(), Arc::clone(&dispatcher)).await;
    }
    let server = match bound {
        Ok(server) => server,
        Err(StartError::AddressInUse(addr)) => {
            let holder = qoltanba::platform::instance::port_holder(addr.port());
            let locale = settings.get().locale();
            let text = qoltanba::i18n::port_taken(addr.port(), &holder, locale);
            eprintln!("qoltanba: {text}");
            // Started from the menu or at login, nobody reads stderr: tell the desktop.
            #[cfg(feature = "desktop")]
            if desktop && let Some(notifier) = qoltanba::ui::desktop::notify::DesktopNotifier::new() {
                notifier.tell(&qoltanba::activity::Notice::PortTaken { text }, locale).await;
            }
            return ExitCode::from(3);
        }
        Err(e) => {
            eprintln!("qoltanba: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The one-time set-up of RSA signing (seeding AWS-LC's generator) now, while no
    // page is waiting for it.
    tokio::task::spawn_blocking(qoltanba::keys::warm_up);
    let server = {
        let (data_dir, settings) = (data_dir.clone(), Arc::clone(&settings));
        let port = server.local_addrs().first().map_or(13579, |a| a.port());
        let forced_offline = args.offline;
        let options = move || qoltanba::doctor::Options {
            data_dir: data_dir.clone(),
            home: dirs::home_dir().unwrap_or_default(),
            port,
            // Offline mode as it is now (it can be turned on after the start).
            online: !forced_offline && !settings.get().offline,
            key_paths: false,
            locale: settings.get().locale(),
            modules: Vec::new(),
        };
        server.with_status(Arc::new(qoltanba::doctor::cached_html(options)))
    };
    // Signal handlers before anybody learns we listen: a SIGTERM right after start
    // must still shut down cleanly.
    let signals = Signals::install();
    let scheme = if args.insecure_ws { "ws" } else { "wss" };
    // The shell and the door for a second start, before anybody learns we listen.
    let (stop_tx, stop_rx) = watch::channel(false);
    let listening: Vec<String> = server.local_addrs().iter().map(|a| format!("{scheme}://{a}")).collect();
    qoltanba::audit::listening(&listening);
    let forced = Forced { offline: args.offline, tsa: args.tsa_url.is_some() };
    let parts = Parts {
        activity,
        settings,
        trust: Arc::clone(&trust),
        core,
        forced,
        recent,
        data_dir: data_dir.clone(),
        tokens,
        sites,
    };
    let shell = app_shell(parts, listening, stop_tx.clone(), desktop);
    let show = Arc::clone(&shell);
    let quit = stop_tx.clone();
    let door = qoltanba::platform::instance::Door {
        show: Arc::new(move || show.open_window()),
        quit: Arc::new(move || {
            let _ = quit.send(true);
        }),
    };
    if let Err(e) = qoltanba::platform::instance::listen(&data_dir, door) {
        tracing::warn!(error = %e, "a second start cannot reach this one");
    }
    for addr in server.local_addrs() {
        println!("qoltanba {} listening on {scheme}://{addr}", env!("CARGO_PKG_VERSION"));
    }
    if let Some(ca) = server.ca_path() {
        println!("local CA certificate: {} (trust it once, see README)", ca.display());
    }
    if args.insecure_ws {
        tracing::warn!("serving plain ws:// (--insecure-ws): for tests only");
    }
    tokio::spawn(async move {
        signals.wait().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    server.run(stop_rx).await;
    qoltanba::audit::stopped();
    ExitCode::SUCCESS
}

/// Ask an older qoltanba of this user that still runs (an upgrade replaced its program)
/// to quit, and wait until it is gone; whether one was replaced.
fn replace_older(data_dir: &std::path::Path) -> bool {
    use qoltanba::platform::instance;
    let ours = env!("CARGO_PKG_VERSION");
    let Some(running) = instance::running_version(data_dir) else { return false };
    if !instance::is_older(&running, ours) || !instance::ask_running_to_quit(data_dir) {
        return false;
    }
    println!("qoltanba {ours} replaces the running qoltanba {running}");
    for _ in 0..100 {
        if instance::running_version(data_dir).is_none() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    true
}

/// SIGTERM and SIGINT (Ctrl-C), registered at once.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self { term: signal(SignalKind::terminate()).ok(), int: signal(SignalKind::interrupt()).ok() }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            let (mut term, mut int) = (self.term, self.int);
            let term = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(i) => {
                        i.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            tokio::select! {
                _ = term => {}
                _ = int => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Key expiry reminders (30, 7, 1 days before, and after): at start, then twice a day,
/// each told once, as notifications (and in the log); and the weekly revocation check
/// of the keys used.
fn remind_in_background(
    data_dir: &std::path::Path,
    activity: &Arc<Activity>,
    trust: &Arc<TrustStore>,
    check_time: Option<i64>,
) {
    let (data_dir, activity, trust) = (data_dir.to_owned(), Arc::clone(activity), Arc::clone(trust));
    tokio::spawn(async move {
        loop {
            let (dir, activity, trust) = (data_dir.clone(), Arc::clone(&activity), Arc::clone(&trust));
            let _ = tokio::task::spawn_blocking(move || {
                let now = check_time.unwrap_or_else(|| qoltanba::platform::now_ms() / 1000);
                // Weekly: were the certificates of the keys used revoked since?
                if qoltanba::keys::hygiene::revocation_due(&dir, now * 1000) {
                    for revoked in qoltanba::keys::hygiene::check_revocation(&trust, &dir, now * 1000) {
                        tracing::warn!(owner = %revoked.owner, date = %revoked.date, "a key used before was revoked");
                        let locale = qoltanba::i18n::Locale::from_environment();
                        activity.notice(qoltanba::activity::Notice::KeyRevoked(revoked), locale);
                    }
                }
                let seen = qoltanba::keys::recent::RecentFiles::new(&dir).certificates();
                let due = qoltanba::keys::hygiene::due(&seen, now);
                for reminder in qoltanba::keys::hygiene::not_told(&dir, due) {
                    tracing::warn!(owner = %reminder.owner, days_left = reminder.days_left, "a key expires soon or has expired");
                    let locale = qoltanba::i18n::Locale::from_environment();
                    activity.notice(qoltanba::activity::Notice::KeyExpiring(reminder), locale);
                }
            })
            .await;
            tokio::time::sleep(std::time::Duration::from_secs(12 * 3600)).await;
        }
    });
}
