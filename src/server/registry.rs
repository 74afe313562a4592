//! Who holds the WebSocket connections, so no page can lock the others out.
//!
//! Each origin may hold at most `per_origin` connections, the daemon `total`. When a
//! new connection would pass either limit, the longest-idle connection that has no
//! request pending is closed to make room — of the same origin when that origin is at
//! its own limit, else of the origin holding the most (never a site's only
//! connection). Idle pages (a tab left open) keep their connection as long as nobody
//! needs the slot; a flood of idle sockets from one site costs that site its oldest
//! ones, never another site its only one. A new connection is refused only when no
//! connection can be given up (all busy, or every site holds just one).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

struct Entry {
    id: u64,
    origin: String,
    shared: Arc<Shared>,
}

struct Shared {
    /// Milliseconds since the registry started, at the last frame received.
    last: AtomicU64,
    /// A request is queued or running.
    busy: Arc<AtomicBool>,
    evict: Notify,
}

/// See the module documentation.
pub struct Registry {
    entries: Mutex<Vec<Entry>>,
    per_origin: usize,
    total: usize,
    started: Instant,
    next_id: AtomicU64,
}

/// One registered connection; unregisters on drop.
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
    shared: Arc<Shared>,
}

impl Registry {
    pub fn new(per_origin: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(Vec::new()),
            per_origin: per_origin.max(1),
            total: total.max(1),
            started: Instant::now(),
            next_id: AtomicU64::new(0),
        })
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Register a connection from `origin` (`""`: none), making room if needed.
    /// `None`: no room (every candidate is busy).
    pub fn register(self: &Arc<Self>, origin: &str) -> Option<Registration> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let of_origin = entries.iter().filter(|e| e.origin == origin).count();
        if of_origin >= self.per_origin {
            Self::evict_idlest(&mut entries, origin)?;
        } else if entries.len() >= self.total {
            let crowded = Self::most_crowded(&entries)?;
            Self::evict_idlest(&mut entries, &crowded)?;
        }
        let shared = Arc::new(Shared {
            last: AtomicU64::new(self.now()),
            busy: Arc::new(AtomicBool::new(false)),
            evict: Notify::new(),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        entries.push(Entry { id, origin: origin.to_owned(), shared: Arc::clone(&shared) });
        Some(Registration { registry: Arc::clone(self), id, shared })
    }

    /// The origin with the most connections that has an idle one to give up and keeps
    /// at least one: a site's only connection is never taken for another's.
    fn most_crowded(entries: &[Entry]) -> Option<String> {
        let all = |o: &str| entries.iter().filter(|e| e.origin == o).count();
        entries
            .iter()
            .filter(|e| !e.shared.busy.load(Ordering::SeqCst) && all(&e.origin) > 1)
            .max_by_key(|e| (all(&e.origin), std::cmp::Reverse(e.shared.last.load(Ordering::SeqCst))))
            .map(|e| e.origin.clone())
    }

    /// Close the longest-idle connection of `origin` that has nothing pending.
    fn evict_idlest(entries: &mut Vec<Entry>, origin: &str) -> Option<()> {
        let (index, _) = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.origin == origin && !e.shared.busy.load(Ordering::SeqCst))
            .min_by_key(|(_, e)| e.shared.last.load(Ordering::SeqCst))?;
        let victim = entries.swap_remove(index);
        tracing::info!(origin = ?victim.origin, "closing an idle connection to make room");
        victim.shared.evict.notify_one();
        Some(())
    }

    /// Connections registered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Registration {
    /// A frame arrived.
    pub fn touch(&self) {
        self.shared.last.store(self.registry.now(), Ordering::SeqCst);
    }

    /// Set while a request is queued or running: such connections are never evicted.
    pub fn busy_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shared.busy)
    }

    /// Resolves when this connection was chosen to make room.
    pub async fn evicted(&self) {
        self.shared.evict.notified().await
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut entries = self.registry.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crowding_origin_loses_its_idlest_connection() {
        let registry = Registry::new(3, 4);
        let a: Vec<_> = (0..3).map(|_| registry.register("https://evil.example").unwrap()).collect();
        // The fourth of the same origin evicts one of that origin's idle ones.
        a[0].busy_flag().store(true, Ordering::SeqCst);
        let a4 = registry.register("https://evil.example").unwrap();
        assert_eq!(registry.len(), 3);
        let b = registry.register("https://egov.kz").unwrap();
        assert_eq!(registry.len(), 4);
        // Full: another site still gets in; the crowded origin pays.
        let c = registry.register("https://sigex.kz").unwrap();
        assert_eq!(registry.len(), 4);
        let origins: Vec<String> =
            registry.entries.lock().unwrap().iter().map(|e| e.origin.clone()).collect::<Vec<_>>();
        assert!(origins.contains(&"https://egov.kz".to_string()));
        assert!(origins.contains(&"https://sigex.kz".to_string()));
        drop((a4, b, c));
    }

    #[test]
    fn a_sites_only_connection_is_never_taken_for_another() {
        let registry = Registry::new(16, 3);
        let _a = registry.register("https://a.evil.example").unwrap();
        let _b = registry.register("https://b.evil.example").unwrap();
        let _victim = registry.register("https://egov.kz").unwrap();
        // Every origin has one connection: the newcomer is refused, nobody evicted.
        assert!(registry.register("https://c.evil.example").is_none());
        assert!(registry.entries.lock().unwrap().iter().any(|e| e.origin == "https://egov.kz"));
    }

    #[test]
    fn busy_connections_are_never_evicted() {
        let registry = Registry::new(1, 1);
        let only = registry.register("a").unwrap();
        only.busy_flag().store(true, Ordering::SeqCst);
        assert!(registry.register("a").is_none());
        only.busy_flag().store(false, Ordering::SeqCst);
        // Its own origin may replace an idle connection; another origin may not take a
        // site's only one.
        assert!(registry.register("b").is_none());
        assert!(registry.register("a").is_some());
    }
}
