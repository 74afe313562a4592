//! What this run of qoltanba has done and may do, shared by the signing core (which
//! records and obeys it) and the front ends (tray, main window, notifications), which
//! show and change it: "stop signing for now", the signatures of this run, and the
//! events a person should be told about even with no window open.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::platform::lock;

use crate::i18n::Locale;
use crate::signing::Action;

/// Signatures kept for the tray's list (of this run, and of earlier ones from the
/// signing journal).
pub const RECENT: usize = 20;

/// Each kind of warning (refusals while stopped, timestamp failures) is told at most
/// once per this.
pub const REFUSAL_QUIET: std::time::Duration = std::time::Duration::from_secs(30);

/// One request that produced signatures.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signed {
    /// Epoch milliseconds.
    pub at_ms: i64,
    pub origin: Option<String>,
    pub action: Action,
    /// How many signatures the request returned.
    pub documents: usize,
    /// The signer's name (certificate common name).
    pub signer: String,
}

/// Something a person should hear about, with no dialog open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A request was signed.
    Signed(Signed),
    /// The timestamp server did not answer: the signature was not returned.
    TimestampFailed { origin: Option<String> },
    /// A request came while signing is stopped.
    RefusedWhilePaused { origin: Option<String> },
    /// qoltanba could not start: another program (NCALayer, say) holds the port. The
    /// text says which and how to choose.
    PortTaken { text: String },
    /// A token was opened with its factory PIN.
    FactoryPin { token: String },
    /// A key used before expires soon, or has: the reminder, with what to do.
    KeyExpiring(crate::keys::hygiene::Reminder),
    /// A key used before was revoked (the weekly check).
    KeyRevoked(crate::keys::hygiene::Revoked),
}

/// Where notices go (the desktop's notifications).
pub trait Notifier: Send + Sync {
    fn notify(&self, notice: &Notice, locale: Locale);
}

/// See the module documentation.
#[derive(Default)]
pub struct Activity {
    paused: AtomicBool,
    recent: Mutex<VecDeque<Signed>>,
    notifier: OnceLock<Box<dyn Notifier>>,
    /// When each kind of warning was last told (a page must not flood notifications).
    last_told: Mutex<[Option<std::time::Instant>; 2]>,
    /// Called after every change (the tray redraws its menu).
    listeners: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
}

impl Activity {
    /// Send notices to `notifier` from now on (once).
    pub fn set_notifier(&self, notifier: Box<dyn Notifier>) {
        let _ = self.notifier.set(notifier);
    }

    /// Call `listener` after every change.
    pub fn on_change(&self, listener: Box<dyn Fn() + Send + Sync>) {
        lock(&self.listeners).push(listener);
    }

    /// Is signing stopped by the person?
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Stop (`true`) or resume signing.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.touch();
    }

    /// The signatures of this run, newest first.
    pub fn recent(&self) -> Vec<Signed> {
        lock(&self.recent).iter().cloned().collect()
    }

    /// Remember signatures of earlier runs (from the journal), `past` newest first:
    /// the tray lists them until newer ones push them out.
    pub fn remember(&self, past: Vec<Signed>) {
        let mut recent = lock(&self.recent);
        recent.extend(past);
        recent.truncate(RECENT);
        drop(recent);
        self.touch();
    }

    /// Tell the person, and remember signatures.
    pub fn notice(&self, notice: Notice, locale: Locale) {
        if let Notice::Signed(signed) = &notice {
            let mut recent = lock(&self.recent);
            recent.push_front(signed.clone());
            recent.truncate(RECENT);
        }
        let kind = match &notice {
            Notice::Signed(_)
            | Notice::PortTaken { .. }
            | Notice::FactoryPin { .. }
            | Notice::KeyExpiring(_)
            | Notice::KeyRevoked(_) => None,
            Notice::TimestampFailed { .. } => Some(0),
            Notice::RefusedWhilePaused { .. } => Some(1),
        };
        if let Some(kind) = kind {
            let mut last = lock(&self.last_told);
            if last[kind].is_some_and(|t| t.elapsed() < REFUSAL_QUIET) {
                return;
            }
            last[kind] = Some(std::time::Instant::now());
        }
        if let Some(notifier) = self.notifier.get() {
            notifier.notify(&notice, locale);
        }
        self.touch();
    }

    /// Something the front ends show changed (here, or elsewhere: settings): redraw.
    pub fn touch(&self) {
        for listener in lock(&self.listeners).iter() {
            listener();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    struct Count(Arc<AtomicUsize>);
    impl Notifier for Count {
        fn notify(&self, _: &Notice, _: Locale) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn signatures_are_kept_newest_first_and_bounded() {
        let activity = Activity::default();
        let notified = Arc::new(AtomicUsize::new(0));
        activity.set_notifier(Box::new(Count(Arc::clone(&notified))));
        let changes = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&changes);
        activity.on_change(Box::new(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        }));
        for i in 0..RECENT + 5 {
            let signed = Signed {
                at_ms: i as i64,
                origin: Some("https://egov.kz".into()),
                action: Action::SignCms,
                documents: 1,
                signer: "ТЕСТОВ ТЕСТ".into(),
            };
            activity.notice(Notice::Signed(signed), Locale::Ru);
        }
        let recent = activity.recent();
        assert_eq!(recent.len(), RECENT);
        assert_eq!(recent[0].at_ms, (RECENT + 4) as i64);
        assert_eq!(notified.load(Ordering::SeqCst), RECENT + 5);
        activity.set_paused(true);
        assert!(activity.is_paused());
        assert_eq!(changes.load(Ordering::SeqCst), RECENT + 6);
        // A page knocking while stopped is told once, not once per request.
        for _ in 0..50 {
            activity.notice(Notice::RefusedWhilePaused { origin: None }, Locale::En);
        }
        assert_eq!(notified.load(Ordering::SeqCst), RECENT + 6);
    }
}
