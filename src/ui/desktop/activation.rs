//! Raising a request's window on Wayland. A window opened by a program in the background
//! is not given the focus there (focus-stealing prevention): the compositor wants an
//! xdg-activation token that a click produced. So, beside the window, qoltanba shows a
//! notification ("<site> asks for your signature", action *Show*); a click on it gives
//! a token (the notification specification's `ActivationToken` signal, sent before
//! `ActionInvoked`), and the window is opened again with that token
//! (`XDG_ACTIVATION_TOKEN`, which the toolkit hands to the compositor), on the same page.
//! Without a notification service nothing changes: the window is there, unfocused (GNOME
//! then says "qoltanba is ready" itself).

use std::collections::HashMap;
use std::sync::mpsc;

use futures_util::StreamExt;

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// Whether windows need the nudge: a Wayland session (the toolkit prefers Wayland when
/// `WAYLAND_DISPLAY` is set), or `QOLTANBA_ACTIVATION_NOTICE` (tests, under X11).
pub fn wanted() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("QOLTANBA_ACTIVATION_NOTICE").is_some()
}

/// The notification of one window; taken down when dropped.
pub struct Nudge {
    /// Activation tokens from clicks on the notification.
    pub tokens: mpsc::Receiver<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Nudge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the notification says.
pub struct Words {
    pub summary: String,
    pub body: String,
    pub show: String,
}

/// Show the notification on `runtime` and listen for clicks.
pub fn start(runtime: &tokio::runtime::Handle, words: Words) -> Nudge {
    let (tx, tokens) = mpsc::channel();
    let task = runtime.spawn(async move {
        if let Err(e) = notify_and_listen(words, tx).await {
            tracing::debug!(error = %e, "no activation notification");
        }
    });
    Nudge { tokens, task }
}

/// Closes the notification when the listening ends (also when it is aborted).
struct Shown {
    proxy: zbus::Proxy<'static>,
    id: u32,
}

impl Drop for Shown {
    fn drop(&mut self) {
        let (proxy, id) = (self.proxy.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = proxy.call_method("CloseNotification", &(id,)).await;
            });
        }
    }
}

async fn notify_and_listen(words: Words, tx: mpsc::Sender<String>) -> zbus::Result<()> {
    let connection = zbus::Connection::session().await?;
    let proxy = zbus::Proxy::new(&connection, SERVICE, PATH, SERVICE).await?;
    // Listening before the notification exists: no click can be missed.
    let mut signals = proxy.receive_all_signals().await?;
    let mut hints: HashMap<&str, zbus::Variant<'_>> = HashMap::new();
    hints.insert("urgency", zbus::Variant::U8(2));
    hints.insert("desktop-entry", zbus::Variant::from("qoltanba"));
    let actions = vec!["default", words.show.as_str()];
    let body = (&"qoltanba", 0u32, &"qoltanba", &words.summary, &words.body, actions, hints, 0i32);
    let id: u32 = proxy.call("Notify", &body).await?;
    let _shown = Shown { proxy: proxy.clone(), id };
    let mut token = String::new();
    while let Some(message) = signals.next().await {
        let header = message.header();
        let Some(member) = header.member() else { continue };
        match member.as_str() {
            "ActivationToken" => {
                if let Ok((nid, given)) = message.body().deserialize::<(u32, String)>()
                    && nid == id
                {
                    token = given;
                }
            }
            "ActionInvoked" => {
                if let Ok((nid, _action)) = message.body().deserialize::<(u32, String)>()
                    && nid == id
                    && !token.is_empty()
                    && tx.send(std::mem::take(&mut token)).is_err()
                {
                    break;
                }
            }
            "NotificationClosed" if message.body().deserialize::<(u32, u32)>().is_ok_and(|(nid, _)| nid == id) => {
                break;
            }
            _ => {}
        }
    }
    Ok(())
}
