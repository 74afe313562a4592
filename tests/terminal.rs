//! The terminal dialogs, for real: qoltanba runs on a pseudo-terminal (`script`), a page
//! asks for a signature over the WebSocket, and the "user" answers in the terminal:
//! key file, password (read from the TTY without echo), confirmation, in the language of
//! the user's environment (Russian here).

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// qoltanba under `script`, its terminal output collected.
struct OnTerminal {
    child: std::process::Child,
    output: Arc<Mutex<String>>,
    _data: tempfile::TempDir,
}

impl OnTerminal {
    fn start(port: u16) -> Self {
        let data = tempfile::tempdir().unwrap();
        let cmd = format!(
            "{} serve --listen 127.0.0.1:{port} --insecure-ws --offline --data-dir {}",
            env!("CARGO_BIN_EXE_qoltanba"),
            data.path().display()
        );
        let mut child = Command::new("script")
            .args(["-qfec", &cmd, "/dev/null"])
            .env("QOLTANBA_LOG", "warn")
            .env("LC_ALL", "ru_RU.UTF-8")
            .env_remove("QOLTANBA_AUTO_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script (util-linux)");
        let output = Arc::new(Mutex::new(String::new()));
        let (mut out, sink) = (child.stdout.take().unwrap(), Arc::clone(&output));
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        OnTerminal { child, output, _data: data }
    }

    fn wait_for(&self, text: &str) {
        self.wait_for_count(text, 1);
    }

    /// Wait until `text` has appeared `n` times (prompts repeat across requests).
    fn wait_for_count(&self, text: &str, n: usize) {
        let start = Instant::now();
        while self.output.lock().unwrap().matches(text).count() < n {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {text:?} on the terminal:\n{}",
                self.output.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for OnTerminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(port: u16) -> Ws {
    let url = format!("ws://127.0.0.1:{port}/");
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    request.headers_mut().insert("Origin", "https://esf.gov.kz".parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(request, Box::new(tcp) as Box<dyn Io>).await.unwrap();
    let mut ws = Ws { inner: ws };
    assert_eq!(ws.recv_text().await.unwrap(), GREETING);
    ws
}

#[tokio::test]
async fn a_person_signs_in_the_terminal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut term = OnTerminal::start(port);
    term.wait_for("confirmed here, in this terminal");
    term.wait_for("listening on");
    let mut ws = connect(port).await;
    let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromBase64",
        "args":["PKCS12","SIGNATURE","MTEK",false]});
    ws.send_text(&request.to_string()).await;

    // A site not met before: asked first; "2" is always.
    term.wait_for("https://esf.gov.kz впервые просит доступ к qoltanba.");
    term.wait_for("Разрешить этому сайту? 1) один раз 2) всегда 3) никогда");
    term.type_line("2");
    term.wait_for("https://esf.gov.kz запрашивает ключ");
    term.type_line(fixture(RSA_KEY).to_str().unwrap());
    term.wait_for("Пароль для");
    term.type_line(PASSWORD);
    term.wait_for("Подписать? [д/Н]");
    {
        let shown = term.output.lock().unwrap().clone();
        assert!(shown.contains("Сайт:      https://esf.gov.kz"), "{shown}");
        assert!(shown.contains("Подписант: CN=ТЕСТОВ ТЕСТ"), "{shown}");
        assert!(!shown.contains(PASSWORD), "the password is not echoed");
    }
    term.type_line("д");
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    let cms = unb64(reply["responseObject"].as_str().unwrap_or_else(|| panic!("{reply}")));
    assert!(openssl_verify(&cms, Some(b"11\n"), Some((&fixture("nca-test/ca/nca_rsa_test.crt"), RSA_KEY_VALID_AT))).ok);

    // Refusing at the confirmation gives the page action.canceled.
    ws.send_text(&request.to_string()).await;
    term.wait_for_count("Файл ключа (.p12), пусто — отмена: ", 2);
    term.type_line(fixture(RSA_KEY).to_str().unwrap());
    term.wait_for_count("Пароль для", 2);
    term.type_line(PASSWORD);
    term.wait_for_count("Подписать? [д/Н]", 2);
    term.type_line("n");
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply, json!({"code":"500","message":"action.canceled"}));
    // The site was asked once: "always" was kept.
    assert_eq!(term.output.lock().unwrap().matches("впервые просит доступ").count(), 1);
}

/// What a person sees: the terminal's bytes rendered by a terminal emulator.
fn screen(raw: &str) -> String {
    let mut parser = vt100::Parser::new(400, 200, 0);
    parser.process(raw.as_bytes());
    parser.screen().contents()
}

#[tokio::test]
async fn nothing_a_page_writes_reaches_the_terminal_raw() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut term = OnTerminal::start(port);
    term.wait_for("listening on");
    let mut ws = connect(port).await;

    // A file filter that would write the clipboard (OSC 52) and clear the screen.
    let chooser = json!({"module":"kz.gov.pki.knca.commonUtils","method":"showFileChooser",
        "args":["ALL\u{1b}]52;c;aGVsbG8=\u{7}\u{1b}[2J", ""]});
    ws.send_text(&chooser.to_string()).await;
    term.wait_for("впервые просит доступ к qoltanba");
    term.type_line("1");
    term.wait_for("просит выбрать файл");
    term.type_line("");
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["message"], "action.canceled");

    // A file path that moves the cursor up and writes a fake "Site:" line over the
    // real one, with a right-to-left override hiding an .exe.
    let fake = "/tmp/report\u{1b}[2A\rСайт:      https://egov.kz\u{202e}fdp.exe";
    let request = json!({"module":"kz.gov.pki.knca.commonUtils","method":"createCAdESFromFile",
        "args":["PKCS12","SIGNATURE",fake,false]})
    .to_string();
    ws.send_text(&request).await;
    term.wait_for("запрашивает ключ");
    term.type_line(fixture(RSA_KEY).to_str().unwrap());
    term.wait_for("Пароль для");
    term.type_line(PASSWORD);
    term.wait_for("Подписать? [д/Н]");
    term.type_line("н");
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await.unwrap()).unwrap();
    assert_eq!(reply["message"], "action.canceled");

    let raw = term.output.lock().unwrap().clone();
    for sequence in ["\u{1b}]52", "\u{1b}[2J", "\u{1b}[2A", "\u{202e}"] {
        assert!(!raw.contains(sequence), "{sequence:?} reached the terminal");
    }
    let seen = screen(&raw);
    let sites: Vec<&str> = seen.lines().filter(|l| l.starts_with("Сайт:")).collect();
    assert_eq!(sites, ["Сайт:      https://esf.gov.kz"], "only the real site is shown as the site:\n{seen}");
    assert!(seen.contains("ALL\\u{1b}]52;c;aGVsbG8=\\u{7}\\u{1b}[2J"), "{seen}");
    assert!(seen.contains("report\\u{1b}[2A\\u{d}Сайт: https://egov.kz\\u{202e}fdp.exe"), "{seen}");
    assert!(seen.contains("НАЗВАННЫЙ САЙТОМ"), "{seen}");
}
