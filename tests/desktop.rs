//! The desktop dialogs as a person uses them: a real X server (Xvfb, started here), the
//! daemon with `DISPLAY` set, a page's request over the real WebSocket, and the window
//! driven with xdotool's keyboard like a person would. Signatures are checked by
//! `openssl cms -verify`. Screenshots of every page in kk, ru and en are taken on the
//! way; with `QOLTANBA_UPDATE_SCREENSHOTS=1` they replace `packaging/screenshots/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    Daemon, PASSWORD, RSA_KEY, RSA_KEY_VALID_AT, SOFTHSM, b64, cms_pem_to_der, fixture, openssl_attached_content,
    openssl_verify, softhsm_store,
};
use serde_json::{Value, json};

const BASICS: &str = "kz.gov.pki.knca.basics";

/// How long the confirm button stays disabled (src/ui/desktop/app.rs), plus a margin.
const CONFIRM_READY: Duration = Duration::from_millis(1600);

/// An X server and a D-Bus session bus of this test's own, the bus watched for
/// notifications; stopped on drop.
struct Xvfb {
    child: Child,
    name: String,
    trace: PathBuf,
    bus: String,
    bus_pid: u32,
    monitor: Child,
    notifications: PathBuf,
    _dir: tempfile::TempDir,
}

impl Xvfb {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Xvfb picks a free display itself and says which (tests run in parallel).
        let child = Command::new("Xvfb")
            // No reset when the last window closes: a reset refuses the next window's
            // connection for a moment, as no desktop's own server does.
            .args(["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("xvfb.log")).unwrap())
            .spawn()
            .expect("Xvfb is needed for the desktop tests (apt-get install xvfb)");
        // Stopped if anything below fails.
        let mut server = Stopped(Some(child));
        let mut line = String::new();
        let said = server.child().stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(said), &mut line).unwrap();
        let n: u32 = line.trim().parse().unwrap_or_else(|_| panic!("Xvfb did not start: {line:?}"));
        let trace = dir.path().join("pages");
        std::fs::write(&trace, "").unwrap();
        let bus = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .output()
            .expect("dbus-daemon is needed for the desktop tests (apt-get install dbus)");
        let printed = String::from_utf8_lossy(&bus.stdout).to_string();
        let mut lines = printed.lines();
        let (bus, bus_pid) = (lines.next().unwrap().to_owned(), lines.next().unwrap().trim().parse().unwrap());
        let notifications = dir.path().join("notifications");
        let monitor = Command::new("dbus-monitor")
            .args(["--address", &bus, "interface='org.freedesktop.Notifications',member='Notify'"])
            .stdout(std::fs::File::create(&notifications).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let child = server.0.take().unwrap();
        Xvfb { child, name: format!(":{n}"), trace, bus, bus_pid, monitor, notifications, _dir: dir }
    }

    /// The person's home directory (empty unless a test puts a browser profile in it).
    fn home(&self) -> PathBuf {
        let home = self._dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        home
    }

    /// What the notifications said so far (dbus-monitor's text of the Notify calls).
    fn notifications(&self) -> String {
        std::fs::read_to_string(&self.notifications).unwrap()
    }

    /// The daemon, with dialogs on this display and pages traced.
    fn daemon(&self, extra: &[&str]) -> Daemon {
        self.daemon_in_language(extra, "C.UTF-8")
    }

    /// The daemon with `LC_ALL=lc_all` (the language of its own windows).
    fn daemon_in_language(&self, extra: &[&str], lc_all: &str) -> Daemon {
        self.daemon_with(extra, lc_all, &[])
    }

    /// The daemon with `LC_ALL=lc_all` and `more` in its environment.
    fn daemon_with(&self, extra: &[&str], lc_all: &str, more: &[(&str, &str)]) -> Daemon {
        let trace = self.trace.to_str().unwrap().to_owned();
        // A home of its own: which browsers a person has decides what the first start asks.
        let home = self.home().to_str().unwrap().to_owned();
        let env = [
            ("LC_ALL", lc_all),
            ("DISPLAY", self.name.as_str()),
            ("QOLTANBA_DIALOG_TRACE", &trace),
            ("DBUS_SESSION_BUS_ADDRESS", &self.bus),
            ("HOME", &home),
        ];
        let env: Vec<(&str, &str)> = env.iter().chain(more).copied().collect();
        let daemon = Daemon::start_with_env(extra, &env);
        // The sites these tests sign for were allowed before (the site question has a
        // test of its own): the running daemon reads the answers at once.
        let sites = qoltanba::sites::Sites::in_dir(&daemon.data_dir);
        for origin in ["https://egov.kz", "https://cabinet.salyk.kz", "https://sigex.kz"] {
            sites.set(Some(origin), qoltanba::sites::Permission::Allow, 0).unwrap();
        }
        daemon
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .stderr(Stdio::null())
            .output()
            .expect("xdotool is needed for the desktop tests (apt-get install xdotool)");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The dialog windows now on the display.
    fn windows(&self) -> Vec<String> {
        self.xdotool(&["search", "--onlyvisible", "--name", "^qoltanba"]).lines().map(str::to_owned).collect()
    }

    /// Whether the X server still runs, and what it said (for a failure's message).
    fn server_state(&self) -> String {
        // Running: its process is there and not a zombie (state Z: ended, not yet reaped).
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let alive = stat.rsplit(") ").next().is_some_and(|rest| !rest.is_empty() && !rest.starts_with('Z'));
        let said = std::fs::read_to_string(self._dir.path().join("xvfb.log")).unwrap_or_default();
        format!("X server {}; it said: {said}", if alive { "running" } else { "gone" })
    }

    /// Pages shown so far, in order.
    fn pages(&self) -> Vec<String> {
        std::fs::read_to_string(&self.trace).unwrap().lines().map(str::to_owned).collect()
    }

    /// Wait until the `n`th page shown (from 1) is `page`, then a moment for it to be
    /// drawn; put the pointer on the window (no window manager: focus follows it).
    fn wait_page(&self, n: usize, page: &str) {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let pages = self.pages();
            if pages.len() >= n {
                assert_eq!(pages[n - 1], page, "pages so far: {pages:?}");
                break;
            }
            assert!(Instant::now() < until, "page {n} ({page}) never came; pages: {pages:?}; {}", self.server_state());
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(400));
        // No window manager here to give the new window the keyboard, as a desktop's would.
        if let Some(window) = self.windows().first() {
            self.xdotool(&["windowfocus", "--sync", window]);
            // A person's reaction time: the window draws the frame that hands its field
            // the keyboard before anything is typed.
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn type_text(&self, text: &str) {
        self.xdotool(&["type", "--delay", "20", text]);
    }

    fn key(&self, key: &str) {
        self.xdotool(&["key", key]);
    }

    /// A screenshot of the dialog window (the whole screen if none).
    fn screenshot(&self, name: &str) -> PathBuf {
        // In this display's own folder, removed with it.
        let out = self._dir.path().join(format!("{name}.png"));
        // The screen, cut to the window: a GL window's own image reads back blank.
        let mut args = vec!["-display".to_owned(), self.name.clone(), "-window".into(), "root".into()];
        if let Some(window) = self.windows().first() {
            let geometry = self.xdotool(&["getwindowgeometry", "--shell", window]);
            let get =
                |k: &str| geometry.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap_or("0").to_owned();
            args.extend(["-crop".into(), format!("{}x{}+{}+{}", get("WIDTH"), get("HEIGHT"), get("X"), get("Y"))]);
        }
        args.push(out.to_str().unwrap().to_owned());
        let status =
            Command::new("import").args(&args).status().expect("ImageMagick's import is needed for the desktop tests");
        assert!(status.success());
        // A page drawn is many colours; a black or blank window is one or two.
        let colours = Command::new("identify").args(["-format", "%k", out.to_str().unwrap()]).output().unwrap();
        let colours: u32 = String::from_utf8_lossy(&colours.stdout).trim().parse().unwrap_or(0);
        if colours <= 16 {
            // Kept for a look: the display's folder goes with the failing test.
            let kept = std::env::temp_dir().join(format!("qoltanba-blank-{name}.png"));
            let _ = std::fs::copy(&out, &kept);
            panic!("{name}: the window looks blank ({colours} colours): {}", kept.display());
        }
        if std::env::var_os("QOLTANBA_UPDATE_SCREENSHOTS").is_some() {
            let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/screenshots").join(format!("{name}.png"));
            std::fs::copy(&out, keep).unwrap();
        }
        out
    }

    fn wait_no_window(&self, within: Duration) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.windows().is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

/// Run `steps` on the display off the async runtime (they wait and sleep, as a person
/// would), then give the display back.
async fn drive(x: Xvfb, steps: impl FnOnce(&Xvfb) + Send + 'static) -> Xvfb {
    tokio::task::spawn_blocking(move || {
        steps(&x);
        x
    })
    .await
    .unwrap()
}

/// A helper process of a test's own, killed and reaped when dropped.
struct Stopped(Option<Child>);

impl Stopped {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        for child in [&mut self.child, &mut self.monitor] {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("kill").arg(self.bus_pid.to_string()).status();
    }
}

/// A contract in Russian with long lines: Cyrillic and long text in the confirmation.
const CONTRACT: &str = "ДОГОВОР № 17/2026 поставки товаров для государственных нужд Республики Казахстан\n\
Поставщик: ТОО «Қолтаңба Сервис», БИН 123456789012, в лице директора Әбілқасымова Нұрлана Серікұлы, действующего на основании Устава\n\
Сумма договора: 1 250 000,00 тенге (один миллион двести пятьдесят тысяч тенге 00 тиын), включая НДС\n\
Срок поставки: до 31.12.2026\n";

fn sign_request(locale: &str, signer: Value) -> Value {
    json!({"module":BASICS,"method":"sign","args":{
        "format":"cms","data":b64(CONTRACT.as_bytes()),"locale":locale,
        "signingParams":{"decode":true,"encapsulate":true,"allowExpired":true},
        "signerParams":signer}})
}

/// A page's `logo`: a 240×60 PNG (ImageMagick), base64.
fn logo() -> String {
    let png = Command::new("convert")
        .args(["-size", "240x60", "gradient:#1f6f3f-#e0c040", "png:-"])
        .output()
        .expect("ImageMagick's convert");
    assert!(png.status.success());
    b64(&png.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_signs_in_the_window_in_kazakh_russian_and_english() {
    let logo = logo();
    for locale in ["kk", "ru", "en"] {
        let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
        let daemon = x.daemon(&[]);
        // egov.kz asks for the first time: the site question comes first.
        assert!(qoltanba::sites::Sites::in_dir(&daemon.data_dir).forget(Some("https://egov.kz")).unwrap());
        let mut ws = daemon.connect(Some("https://egov.kz")).await;
        // The page sends its own picture: shown beside the site's name, as the site's.
        let mut request = sign_request(locale, json!({"extKeyUsageOids":[],"chain":[]}));
        request["args"]["logo"] = json!(logo);
        ws.send_text(&request.to_string()).await;
        let key = fixture(RSA_KEY);
        let x = drive(x, move |x| {
            x.wait_page(1, "site");
            // Enter at once answers nothing: the buttons wait, as the Sign button does.
            x.key("Return");
            std::thread::sleep(CONFIRM_READY);
            assert_eq!(x.pages().len(), 1, "an early Enter answered the site question");
            x.screenshot(&format!("{locale}-0-site"));
            // The keyboard is on "once".
            x.key("Return");
            x.wait_page(2, "key");
            x.type_text(key.to_str().unwrap());
            x.screenshot(&format!("{locale}-1-key"));
            x.key("Return");
            x.wait_page(3, "password");
            x.type_text("wrong password");
            x.key("Return");
            x.wait_page(4, "password-again");
            x.type_text("Qwerty");
            x.screenshot(&format!("{locale}-2-password-again"));
            x.key("ctrl+a"); // no select-all in a password field: erase by hand
            for _ in 0.."Qwerty".len() {
                x.key("BackSpace");
            }
            x.type_text(PASSWORD);
            x.key("Return");
            x.wait_page(6, "confirm");
            // Enter at once does not sign: the button is not ready and not focused.
            x.key("Return");
        })
        .await;
        assert!(ws.silent_for(300).await, "{locale}: an early Enter must not confirm");
        let x = drive(x, move |x| {
            std::thread::sleep(CONFIRM_READY);
            x.screenshot(&format!("{locale}-3-confirm"));
            x.key("Return");
        })
        .await;
        let reply: Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
        assert_eq!(reply["status"], true, "{locale}: {reply}");
        let cms = cms_pem_to_der(reply["body"]["result"][0].as_str().unwrap());
        let chain = fixture("nca-test/ca/nca_rsa_test.crt");
        let verdict = openssl_verify(&cms, None, Some((&chain, RSA_KEY_VALID_AT)));
        assert!(verdict.ok, "{locale}: openssl cms -verify: {}", verdict.output);
        assert_eq!(openssl_attached_content(&cms), CONTRACT.as_bytes());
        assert_eq!(x.pages(), ["site", "key", "password", "password-again", "checking", "confirm"]);
        // "Once" is not remembered.
        assert_eq!(qoltanba::sites::Sites::in_dir(&daemon.data_dir).get(Some("https://egov.kz")), None);
        // A notification names the site and how many signatures were made.
        let told = tokio::task::spawn_blocking(move || {
            let until = Instant::now() + Duration::from_secs(5);
            while !x.notifications().contains("egov.kz") && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
            (x.notifications(), x)
        });
        let (told, x) = told.await.unwrap();
        let expected = match locale {
            "kk" => ["https://egov.kz — қол қойылды", "Қолтаңбалар: 1"],
            "ru" => ["https://egov.kz — подписано", "Подписей: 1"],
            _ => ["https://egov.kz — signed", "Signatures: 1"],
        };
        for text in expected {
            assert!(told.contains(text), "{locale}: notification {text:?} not in {told}");
        }
        assert!(tokio::task::spawn_blocking(move || x.wait_no_window(Duration::from_secs(5))).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn escape_cancels_and_keys_the_site_cannot_use_are_shown_with_the_reason() {
    let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
    let daemon = x.daemon(&[]);
    let mut ws = daemon.connect(Some("https://cabinet.salyk.kz")).await;
    // Escape at the first page.
    ws.send_text(&sign_request("ru", json!({"extKeyUsageOids":[],"chain":[]})).to_string()).await;
    let x = drive(x, move |x| {
        x.wait_page(1, "key");
        x.key("Escape");
    })
    .await;
    // basics answers a cancel as NCALayer does: success with an empty body.
    let canceled = json!({"status":true,"body":{}});
    let reply: Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply, canceled);
    // A site asking for another person's IIN: the key is listed, greyed, with the reason.
    let mut x = x;
    for locale in ["kk", "ru", "en"] {
        let signer = json!({"extKeyUsageOids":[],"chain":[],"iin":"000000000000"});
        ws.send_text(&sign_request(locale, signer).to_string()).await;
        let key = fixture(RSA_KEY);
        x = drive(x, move |x| {
            let seen = x.pages().len();
            x.wait_page(seen + 1, "key");
            x.key("ctrl+a"); // the field offers the last key file: type over it
            x.type_text(key.to_str().unwrap());
            x.key("Return");
            x.wait_page(seen + 2, "password");
            x.type_text(PASSWORD);
            x.key("Return");
            x.wait_page(seen + 4, "pick-key");
            x.screenshot(&format!("{locale}-4-key-not-usable"));
            x.key("Escape");
        })
        .await;
        let reply: Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
        assert_eq!(reply, canceled);
    }
    // Three wrong passwords: the page gets the error, and the window keeps saying so
    // until the person closes it.
    ws.send_text(&sign_request("en", json!({"extKeyUsageOids":[],"chain":[]})).to_string()).await;
    let key = fixture(RSA_KEY);
    let x = drive(x, move |x| {
        let seen = x.pages().len();
        x.wait_page(seen + 1, "key");
        x.key("ctrl+a");
        x.type_text(key.to_str().unwrap());
        x.key("Return");
        for (n, page) in [(2, "password"), (3, "password-again"), (4, "password-again")] {
            x.wait_page(seen + n, page);
            x.type_text("wrong");
            x.key("Return");
        }
        x.wait_page(seen + 5, "failed");
    })
    .await;
    let reply: Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["status"], false, "{reply}");
    let x = drive(x, move |x| {
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(x.windows().len(), 1, "the error stays on screen after the reply");
        x.screenshot("en-6-failed");
        x.key("Escape");
        assert!(x.wait_no_window(Duration::from_secs(3)));
    })
    .await;
    drop(x);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_closes_when_the_page_leaves() {
    let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
    let daemon = x.daemon(&[]);
    let mut ws = daemon.connect(Some("https://sigex.kz")).await;
    ws.send_text(&sign_request("en", json!({"extKeyUsageOids":[],"chain":[]})).to_string()).await;
    let x = drive(x, move |x| {
        x.wait_page(1, "key");
        assert_eq!(x.windows().len(), 1);
    })
    .await;
    drop(ws);
    let gone = tokio::task::spawn_blocking(move || x.wait_no_window(Duration::from_secs(3))).await.unwrap();
    assert!(gone, "the dialog must close when the page goes away");
    // The daemon is fine and answers the next page.
    let mut ws = daemon.connect(Some("https://sigex.kz")).await;
    ws.send_text("--heartbeat--").await;
    assert_eq!(ws.recv_text().await.unwrap(), "--heartbeat--");
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_qoltanba_again_opens_the_main_window_in_the_persons_language() {
    for (lc_all, name, words) in [
        ("kk_KZ.UTF-8", "kk-5-main-window", "жұмыс істеп тұр"),
        ("ru_RU.UTF-8", "ru-5-main-window", "работает"),
        ("en_US.UTF-8", "en-5-main-window", "running"),
    ] {
        let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
        let daemon = x.daemon_in_language(&[], lc_all);
        let again = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["--listen", &daemon.addr.to_string(), "--data-dir"])
            .arg(&daemon.data_dir)
            .env("DISPLAY", &x.name)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(0), "{again:?}");
        assert!(String::from_utf8_lossy(&again.stdout).contains("already running"));
        let x = drive(x, move |x| {
            x.wait_page(1, "status");
            x.screenshot(name);
            assert_eq!(x.windows().len(), 1, "one main window");
            x.key("Escape");
            assert!(x.wait_no_window(Duration::from_secs(3)), "Escape closes the main window");
        })
        .await;
        // The main window is drawn from the shell's state: the same words as the tray.
        let status = qoltanba::ui::shell::menu(
            &qoltanba::ui::shell::Status { version: "v".into(), ..Default::default() },
            qoltanba::i18n::Locale::parse(lc_all).unwrap(),
        );
        assert!(format!("{status:?}").contains(words));
        drop(x);
    }
}

/// Started from the menu while NCALayer holds the port: nobody reads stderr, so the
/// desktop is told, in the person's language, which program holds it and what to do.
#[test]
fn a_port_held_by_ncalayer_is_told_as_a_notification() {
    let x = Xvfb::start();
    let script = "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)";
    let mut holder = Command::new("python3")
        .args(["-c", script, "/opt/NCALayer/ncalayer.jar"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.take().unwrap()), &mut line).unwrap();
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
        .args(["--listen", &format!("127.0.0.1:{}", line.trim()), "--offline", "--data-dir"])
        .arg(data.path())
        .env("LC_ALL", "ru_RU.UTF-8")
        .env("DISPLAY", &x.name)
        .env("DBUS_SESSION_BUS_ADDRESS", &x.bus)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let until = Instant::now() + Duration::from_secs(5);
    while !x.notifications().contains("NCALayer") && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let told = x.notifications();
    assert!(told.contains("qoltanba не запущен") && told.contains("занят программой NCALayer"), "{told}");
}

/// The first start on a desktop where a browser does not trust qoltanba yet opens the
/// main window by itself, with the button that makes browsers trust it focused; Space
/// puts the CA into the browser's store. Asked once: the next start does not ask.
#[tokio::test]
async fn the_first_start_offers_to_make_browsers_trust_qoltanba() {
    for (lc_all, tag) in [("kk_KZ.UTF-8", "kk"), ("ru_RU.UTF-8", "ru"), ("en_US.UTF-8", "en")] {
        let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
        let profile = x.home().join(".mozilla/firefox/p1.default-release");
        std::fs::create_dir_all(&profile).unwrap();
        let db = format!("sql:{}", profile.display());
        let made = Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]).output().expect("certutil");
        assert!(made.status.success());
        let daemon = x.daemon_in_language(&[], lc_all);
        let listed = move || {
            let out = Command::new("certutil").args(["-L", "-d", &db]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let check = listed.clone();
        let x = drive(x, move |x| {
            x.wait_page(1, "status");
            x.screenshot(&format!("{tag}-7-trust-browsers"));
            x.key("space");
            let until = Instant::now() + Duration::from_secs(10);
            while !check().contains("qoltanba local CA") && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_millis(500));
            x.screenshot(&format!("{tag}-8-browsers-trust"));
            x.key("Escape");
            assert!(x.wait_no_window(Duration::from_secs(3)), "Escape closes the main window");
        })
        .await;
        assert!(listed().contains("qoltanba local CA"), "{tag}: the Firefox profile trusts the CA now");
        let settings = std::fs::read_to_string(daemon.data_dir.join("settings.json")).unwrap();
        assert!(settings.contains("\"trust_asked\": true"), "{settings}");
        drop(x);
    }
}

/// The dialog processes running now on `display`, with their environment.
fn dialog_processes(display: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if cmdline.ends_with(b"\0dialog\0") && cmdline.starts_with(env!("CARGO_BIN_EXE_qoltanba").as_bytes()) {
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
            if environ.lines().any(|l| l == format!("DISPLAY={display}")) {
                found.push((pid, environ));
            }
        }
    }
    found
}

/// Wayland's focus-stealing prevention: next to the window, a notification whose click
/// gives an xdg-activation token, with which the window is opened again on the same
/// page. Driven under X11 (`QOLTANBA_ACTIVATION_NOTICE`), with a notification service
/// (`tests/py/fake_notifications.py`) that clicks it as a person would.
#[tokio::test(flavor = "multi_thread")]
async fn a_click_on_the_notification_reopens_the_window_with_its_activation_token() {
    let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
    let log = x._dir.path().join("fake-notifications.log");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/fake_notifications.py");
    let service = Command::new("python3")
        .arg(&script)
        .args([log.to_str().unwrap(), "qoltanba-test-token", "1.0"])
        .env("DBUS_SESSION_BUS_ADDRESS", &x.bus)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped however the test ends.
    let mut service = Stopped(Some(service));
    let until = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("ready") {
        if Instant::now() > until || service.child().try_wait().unwrap().is_some() {
            let mut service = service.0.take().unwrap();
            let _ = service.kill();
            let out = service.wait_with_output().unwrap();
            panic!(
                "the notification service did not start (pip install dbus-next): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let daemon = x.daemon_with(&[], "ru_RU.UTF-8", &[("QOLTANBA_ACTIVATION_NOTICE", "1")]);
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    ws.send_text(&sign_request("ru", json!({"extKeyUsageOids":[],"chain":[]})).to_string()).await;
    let x = drive(x, move |x| {
        x.wait_page(1, "key");
        // The click comes a second later: the same page, in a window opened with the token.
        x.wait_page(2, "key");
        let until = Instant::now() + Duration::from_secs(5);
        while dialog_processes(&x.name).len() != 1 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        let processes = dialog_processes(&x.name);
        assert_eq!(processes.len(), 1, "the old window closed");
        assert!(processes[0].1.contains("XDG_ACTIVATION_TOKEN=qoltanba-test-token"), "{}", processes[0].1);
        assert_eq!(x.windows().len(), 1);
        x.key("Escape");
    })
    .await;
    let reply: Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply, json!({"status":true,"body":{}}), "Escape in the new window cancels");
    let told = std::fs::read_to_string(&log).unwrap();
    assert!(told.contains("notify 1 https://egov.kz | запрашивает вашу подпись"), "{told}");
    assert!(told.contains("click 1"), "{told}");
    let until = Instant::now() + Duration::from_secs(3);
    while !std::fs::read_to_string(&log).unwrap().contains("close 1") && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        std::fs::read_to_string(&log).unwrap().contains("close 1"),
        "the notification is taken down with the window"
    );
    drop((service, x));
}

/// A SoftHSM token store of its own (its own `SOFTHSM2_CONF`), with one token still
/// holding the factory PIN NCA RK publishes for KAZTOKEN. `None` where softhsm2 or
/// opensc is missing (never in CI).
fn factory_pin_token(label: &str) -> Option<tempfile::TempDir> {
    let dir = softhsm_store("the PIN change window")?;
    let made = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label, "--pin", "12345678", "--so-pin", "87654321"])
        .env("SOFTHSM2_CONF", dir.path().join("softhsm2.conf"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    Some(dir)
}

/// Whether `pin` opens the token labelled `label` (OpenSC's pkcs11-tool, not qoltanba).
fn pin_opens(conf: &Path, label: &str, pin: &str) -> bool {
    Command::new("pkcs11-tool")
        .args(["--module", SOFTHSM, "--token-label", label, "--login", "--pin", pin, "--list-objects"])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap()
        .status
        .success()
}

/// A person whose token still has its factory PIN changes it without a terminal: the
/// main window lists the token with a "Change token PIN…" button (the tray's item of
/// the same name opens the same page); the page takes the current PIN and the new one
/// twice, says a wrong current PIN, then changes it. pkcs11-tool then logs in with the
/// new PIN and no longer with the factory one.
#[tokio::test(flavor = "multi_thread")]
async fn a_person_changes_the_tokens_pin_in_the_window() {
    const LABEL: &str = "KAZTOKEN";
    for (lc_all, tag) in [("kk_KZ.UTF-8", "kk"), ("ru_RU.UTF-8", "ru"), ("en_US.UTF-8", "en")] {
        let Some(hsm) = factory_pin_token(LABEL) else { return };
        let conf = hsm.path().join("softhsm2.conf");
        let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
        let module = format!("{SOFTHSM}=AKKaztokenStore");
        let env = [("SOFTHSM2_CONF", conf.to_str().unwrap()), ("QOLTANBA_PKCS11_MODULES", module.as_str())];
        let daemon = x.daemon_with(&[], lc_all, &env);
        let again = Command::new(env!("CARGO_BIN_EXE_qoltanba"))
            .args(["--listen", &daemon.addr.to_string(), "--data-dir"])
            .arg(&daemon.data_dir)
            .env("DISPLAY", &x.name)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(0), "{again:?}");
        let x = drive(x, move |x| {
            x.wait_page(1, "status");
            // The token is looked for every 3 s: the window is redrawn with it.
            std::thread::sleep(Duration::from_millis(3500));
            x.screenshot(&format!("{tag}-9-main-window-token"));
            // Tab: Close, Quit, Stop signing (the bottom row), then the PIN button.
            for _ in 0..4 {
                x.key("Tab");
            }
            x.key("space");
            x.wait_page(2, "change-pin");
            x.type_text("00000000");
            x.key("Return");
            x.type_text("24681357");
            x.key("Return");
            x.type_text("24681357");
            x.key("Return");
            x.wait_page(3, "pin-wrong");
            x.screenshot(&format!("{tag}-10-change-pin"));
            // The new PIN stays typed: only the current one again.
            x.type_text("12345678");
            x.key("Return");
            x.wait_page(4, "pin-changed");
            x.screenshot(&format!("{tag}-11-pin-changed"));
            // Closing the page goes back to the main window; Escape there closes it.
            x.key("Escape");
            x.wait_page(5, "status");
            x.key("Escape");
            assert!(x.wait_no_window(Duration::from_secs(3)), "Escape closes the main window");
        })
        .await;
        assert!(pin_opens(&conf, LABEL, "24681357"), "{tag}: the new PIN opens the token");
        assert!(!pin_opens(&conf, LABEL, "12345678"), "{tag}: the factory PIN no longer does");
        drop((x, daemon));
    }
}

/// A desktop panel, as far as the tray is concerned (`tests/py/fake_tray_host.py`):
/// it owns the StatusNotifierWatcher and reads the tray's menu and icon over D-Bus.
struct Panel {
    process: Stopped,
    input: std::process::ChildStdin,
    output: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Panel {
    fn start(x: &Xvfb) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/fake_tray_host.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .env("DBUS_SESSION_BUS_ADDRESS", &x.bus)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        let mut panel = Panel { process: Stopped(Some(child)), input, output };
        assert_eq!(panel.line(), "ready", "the panel did not start (pip install dbus-next)");
        panel
    }

    fn line(&mut self) -> String {
        self.output.next().and_then(Result::ok).unwrap_or_else(|| panic!("the panel ended: {:?}", self.process.0))
    }

    fn send(&mut self, command: &str) {
        use std::io::Write;
        writeln!(self.input, "{command}").unwrap();
    }

    /// Wait for the tray to appear in the panel.
    fn registered(&mut self) {
        let line = self.line();
        assert!(line.starts_with("registered org.kde.StatusNotifierItem-"), "{line}");
    }

    /// The menu's labels, a submenu's entries after it.
    fn menu(&mut self) -> Vec<String> {
        self.send("menu");
        assert_eq!(self.line(), "menu");
        let mut labels = Vec::new();
        loop {
            let line = self.line();
            if line == "end" {
                return labels;
            }
            labels.push(line.rsplit('\t').next().unwrap().to_owned());
        }
    }

    /// Wait until the menu offers `label`.
    fn wait_for(&mut self, label: &str) {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let menu = self.menu();
            if menu.iter().any(|l| l == label) {
                return;
            }
            assert!(Instant::now() < until, "the menu never offered {label:?}: {menu:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn click(&mut self, label: &str) {
        self.send(&format!("click {label}"));
        let line = self.line();
        assert!(line.starts_with("clicked "), "{line}");
    }

    /// The middle pixel of the icon, RGB.
    fn icon(&mut self) -> [u8; 3] {
        self.send("icon");
        let line = self.line();
        let rgb: Vec<u8> = line.strip_prefix("icon ").unwrap().split(' ').map(|v| v.parse().unwrap()).collect();
        [rgb[0], rgb[1], rgb[2]]
    }
}

/// The tray as a desktop panel shows it (the panel reads it over D-Bus as KDE's does):
/// the menu says qoltanba runs and lists the sites answered, one of which is denied
/// from it (its requests are then refused without a window); *Stop signing for now* stops signing (a page's request
/// gets the error that says so and how to undo it, and the icon turns grey); *Resume
/// signing* turns it back on; *Quit* ends the daemon.
#[tokio::test(flavor = "multi_thread")]
async fn the_tray_menu_stops_and_resumes_signing_and_quits() {
    let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
    let mut panel = Panel::start(&x);
    let mut daemon = x.daemon_in_language(&[], "en_US.UTF-8");
    panel.registered();
    let menu = panel.menu();
    assert!(menu.iter().any(|l| l.starts_with("qoltanba ") && l.ends_with("running")), "{menu:?}");
    for label in ["Stop signing for now", "Recent signatures", "Sites", "✓ English", "Open qoltanba's window", "Quit"]
    {
        assert!(menu.iter().any(|l| l == label), "{label:?} in {menu:?}");
    }
    const GREEN: [u8; 3] = [0x1f, 0x8f, 0x4f];
    assert_eq!(panel.icon(), GREEN);
    // The sites answered after the daemon started (here by the test, as a second
    // qoltanba would) are in the menu when it opens; one is denied from it.
    for site in ["✓ https://egov.kz", "✓ https://sigex.kz", "✓ https://cabinet.salyk.kz"] {
        assert!(menu.iter().any(|l| l == site), "{site:?} in {menu:?}");
    }
    panel.click("✓ https://sigex.kz > Deny");
    panel.wait_for("✖ https://sigex.kz");
    let sites = qoltanba::sites::Sites::in_dir(&daemon.data_dir);
    assert_eq!(sites.get(Some("https://sigex.kz")), Some(qoltanba::sites::Permission::Deny));
    let mut denied = daemon.connect(Some("https://sigex.kz")).await;
    denied.send_text(&sign_request("en", json!({"extKeyUsageOids":[],"chain":[]})).to_string()).await;
    let reply: Value = serde_json::from_str(&denied.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply, json!({"status":true,"body":{}}), "a denied site is answered as cancelled");
    assert!(x.windows().is_empty() && x.pages().is_empty(), "and no window asks");

    panel.click("Stop signing for now");
    panel.wait_for("Resume signing");
    assert_eq!(panel.icon(), [0x80; 3], "grey while stopped");
    let mut ws = daemon.connect(Some("https://egov.kz")).await;
    ws.send_text(&sign_request("en", json!({"extKeyUsageOids":[],"chain":[]})).to_string()).await;
    let reply: Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["status"], false, "{reply}");
    assert!(reply.to_string().contains("Signing is stopped for now by the user"), "{reply}");
    assert!(x.windows().is_empty(), "no window asks while signing is stopped");

    panel.click("Resume signing");
    panel.wait_for("Stop signing for now");
    assert_eq!(panel.icon(), GREEN);
    panel.click("Quit");
    let status = daemon.wait_for_exit(Duration::from_secs(10)).expect("Quit in the tray ends qoltanba");
    assert!(status.success(), "{status:?}");
    drop((panel, x));
}

/// A token plugged in shows in the tray as *Change token PIN…* (tokens are looked for
/// every 3 s); a click opens the PIN page alone, with no main window under it, and
/// Escape closes it.
#[tokio::test(flavor = "multi_thread")]
async fn the_tray_offers_to_change_a_plugged_in_tokens_pin() {
    const LABEL: &str = "KAZTOKEN";
    let Some(hsm) = factory_pin_token(LABEL) else { return };
    let conf = hsm.path().join("softhsm2.conf");
    let x = tokio::task::spawn_blocking(Xvfb::start).await.unwrap();
    let mut panel = Panel::start(&x);
    let module = format!("{SOFTHSM}=AKKaztokenStore");
    let env = [("SOFTHSM2_CONF", conf.to_str().unwrap()), ("QOLTANBA_PKCS11_MODULES", module.as_str())];
    let daemon = x.daemon_with(&[], "en_US.UTF-8", &env);
    panel.registered();
    panel.wait_for("Change token PIN…");
    panel.click("Change token PIN…");
    let x = drive(x, move |x| {
        x.wait_page(1, "change-pin");
        x.key("Escape");
        assert!(x.wait_no_window(Duration::from_secs(3)), "Escape closes the PIN page");
        assert_eq!(x.pages(), ["change-pin"], "no main window under it");
    })
    .await;
    drop((panel, daemon, x));
}
