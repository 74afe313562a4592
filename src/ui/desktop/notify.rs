//! Desktop notifications (freedesktop notifications over D-Bus on Linux, the
//! platform's own elsewhere), shown from a thread of their own: a missing
//! notification service never delays a signature.

use crate::activity::{Notice, Notifier};
use crate::i18n::Locale;
use crate::i18n::dialog::notice;

/// See the module documentation.
pub struct DesktopNotifier {
    /// D-Bus runs on the daemon's runtime.
    runtime: tokio::runtime::Handle,
}

impl DesktopNotifier {
    /// Call from within the daemon's runtime.
    pub fn new() -> Option<Self> {
        tokio::runtime::Handle::try_current().ok().map(|runtime| Self { runtime })
    }
}

impl DesktopNotifier {
    /// Show `what` and wait until it was handed over (the last words of a process
    /// that is about to exit).
    pub async fn tell(&self, what: &Notice, locale: Locale) {
        let (summary, body) = notice(what, locale);
        let _ = self.runtime.spawn_blocking(move || show(&summary, &body)).await;
    }
}

impl Notifier for DesktopNotifier {
    fn notify(&self, what: &Notice, locale: Locale) {
        let (summary, body) = notice(what, locale);
        self.runtime.spawn_blocking(move || show(&summary, &body));
    }
}

fn show(summary: &str, body: &str) {
    let shown = notify_rust::Notification::new().appname("qoltanba").summary(summary).body(body).show();
    if let Err(e) = shown {
        tracing::debug!(error = %e, "no notification shown");
    }
}
