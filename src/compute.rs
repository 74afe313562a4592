//! The bounded pool for heavy work: parsing large messages, base64, hashing, XML
//! checks, canonicalization, signing and verification.
//!
//! Everything of that kind runs on blocking threads (never on the async threads that
//! answer heartbeats) and only inside [`run_for`], which lets as many jobs run at once as
//! there are cores but one. So two pages sending the heaviest legal requests use the CPU, not
//! the daemon's attention: other connections stay responsive, and a dialog that waits
//! for a person holds no place here.
//!
//! A job's own helper threads count as its slot: the threads of one approved batch
//! ([`par_map`]) and the thread that hashes a big document while the job decodes it
//! (`signing::DocumentWriter`; it cannot wait for a slot of its own, as the job it feeds
//! holds one and waits for it). Every such document is paid for in full from the
//! connections' memory budget first, which bounds how many there are at once.

use std::sync::{Condvar, Mutex, OnceLock};

struct Pool {
    free: Mutex<usize>,
    released: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        // One core is left to the async threads, so heartbeats and small requests are
        // answered at once even while every slot hashes a large document.
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Pool { free: Mutex::new(cores.saturating_sub(1).max(1)), released: Condvar::new() }
    })
}

struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        INSIDE.with(|i| i.set(false));
        let pool = pool();
        *pool.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        pool.released.notify_one();
    }
}

thread_local! {
    /// This thread holds a slot already (nested `run` calls run at once).
    static INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Work on fewer bytes than this runs at once on the caller's (blocking) thread: it
/// takes microseconds, and queueing it behind two big documents would make a small
/// request from another page wait for them.
pub const SMALL: usize = 256 * 1024;

/// Run `job`, work proportional to `bytes`, in the pool (small work runs at once).
pub fn run_for<T>(bytes: usize, job: impl FnOnce() -> T) -> T {
    if bytes < SMALL { job() } else { run(job) }
}

/// Run `job` when a core is free. Call from a blocking thread only; nested calls on
/// the same thread run at once in the slot they already hold.
fn run<T>(job: impl FnOnce() -> T) -> T {
    if INSIDE.with(|i| i.get()) {
        return job();
    }
    let pool = pool();
    let mut free = pool.free.lock().unwrap_or_else(|p| p.into_inner());
    while *free == 0 {
        free = pool.released.wait(free).unwrap_or_else(|p| p.into_inner());
    }
    *free -= 1;
    drop(free);
    INSIDE.with(|i| i.set(true));
    let _slot = Slot;
    job()
}

/// Map `items` with `f` on every core, in order: the documents of one approved batch
/// (a page may send 1 000 small ones) are signed as fast as the machine allows. Call
/// inside [`run_for`]'s job or on a blocking thread; the helper threads count as the
/// caller's slot (a nested [`run_for`] in `f` runs at once instead of waiting for a slot
/// its own caller holds).
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = cores.min(items.len());
    if threads < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    INSIDE.with(|i| i.set(true));
                    part.iter().map(f).collect::<Vec<R>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn par_map_keeps_order_and_nested_work_runs_at_once() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::par_map(&items, |x| super::run_for(usize::MAX, || x * 2));
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(super::par_map(&[7u8], |x| *x), vec![7]);
        assert!(super::par_map(&[] as &[u8], |x| *x).is_empty());
    }
}
