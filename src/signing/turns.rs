//! Whose turn it is to talk to the user.
//!
//! One person, one screen: dialogs are shown one flow at a time. Waiting flows are
//! queued per origin and origins take turns round-robin, so a page that queues many
//! requests delays only itself; each origin may have at most [`MAX_WAITING_PER_ORIGIN`]
//! flows waiting. A flow can step aside while it waits for the network
//! ([`Turn::pause`]) and comes back ahead of everybody ([`Paused::resume`]).
//! Flows whose page has gone stop waiting.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Flows one origin may have waiting for the screen.
pub const MAX_WAITING_PER_ORIGIN: usize = 8;

/// How often a waiting flow checks whether its page is still there.
const RECHECK: Duration = Duration::from_millis(100);

/// Why a flow did not get its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTurn {
    /// The origin already has [`MAX_WAITING_PER_ORIGIN`] flows waiting.
    TooManyWaiting,
    /// The page closed its connection while waiting.
    PageGone,
}

#[derive(Default)]
struct State {
    /// The ticket of the flow on screen.
    holder: Option<u64>,
    /// Flows coming back from a pause: served first.
    resuming: VecDeque<u64>,
    /// Waiting flows per origin, origins in turn order.
    origins: VecDeque<(String, VecDeque<u64>)>,
    next_ticket: u64,
}

impl State {
    /// Give the screen to the next flow: a resuming one, else the first flow of the
    /// next origin in turn (which then goes to the back of the rotation).
    fn hand_over(&mut self) {
        self.holder = self.resuming.pop_front().or_else(|| {
            let (origin, mut queue) = self.origins.pop_front()?;
            let ticket = queue.pop_front();
            if !queue.is_empty() {
                self.origins.push_back((origin, queue));
            }
            ticket
        });
    }

    fn forget(&mut self, ticket: u64) {
        self.resuming.retain(|t| *t != ticket);
        for (_, queue) in self.origins.iter_mut() {
            queue.retain(|t| *t != ticket);
        }
        self.origins.retain(|(_, q)| !q.is_empty());
    }
}

/// See the module documentation.
#[derive(Default)]
pub struct Turns {
    state: Mutex<State>,
    changed: Condvar,
}

/// The screen, held by one flow until dropped.
pub struct Turn<'a> {
    turns: &'a Turns,
    ticket: u64,
}

/// A flow that stepped aside; it keeps its place at the front.
pub struct Paused<'a> {
    turns: &'a Turns,
    ticket: u64,
}

impl Turns {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for the screen on behalf of `origin`.
    pub fn enter(&self, origin: &str, page_gone: &AtomicBool) -> Result<Turn<'_>, NoTurn> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        if state.holder.is_none() && state.resuming.is_empty() && state.origins.is_empty() {
            state.holder = Some(ticket);
            return Ok(Turn { turns: self, ticket });
        }
        match state.origins.iter_mut().find(|(o, _)| o == origin) {
            Some((_, queue)) if queue.len() >= MAX_WAITING_PER_ORIGIN => return Err(NoTurn::TooManyWaiting),
            Some((_, queue)) => queue.push_back(ticket),
            None => state.origins.push_back((origin.to_owned(), VecDeque::from([ticket]))),
        }
        self.wait(state, ticket, page_gone)
    }

    fn wait<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        ticket: u64,
        page_gone: &AtomicBool,
    ) -> Result<Turn<'a>, NoTurn> {
        loop {
            if state.holder.is_none() {
                state.hand_over();
                if state.holder != Some(ticket) {
                    self.changed.notify_all();
                }
            }
            if state.holder == Some(ticket) {
                return Ok(Turn { turns: self, ticket });
            }
            if page_gone.load(Ordering::SeqCst) {
                state.forget(ticket);
                return Err(NoTurn::PageGone);
            }
            state = self.changed.wait_timeout(state, RECHECK).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn release(&self, ticket: u64) {
        let mut state = self.lock();
        if state.holder == Some(ticket) {
            state.hand_over();
        }
        drop(state);
        self.changed.notify_all();
    }
}

impl<'a> Turn<'a> {
    /// Step aside (e.g. for a network call) without losing the place.
    pub fn pause(self) -> Paused<'a> {
        let (turns, ticket) = (self.turns, self.ticket);
        std::mem::forget(self);
        let mut state = turns.lock();
        // Others may use the screen until this flow asks for it back.
        state.hand_over();
        drop(state);
        turns.changed.notify_all();
        Paused { turns, ticket }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.turns.release(self.ticket);
    }
}

impl<'a> Paused<'a> {
    /// Take the screen again, before any flow that has not started.
    pub fn resume(self, page_gone: &AtomicBool) -> Result<Turn<'a>, NoTurn> {
        let (turns, ticket) = (self.turns, self.ticket);
        std::mem::forget(self);
        let mut state = turns.lock();
        if state.holder.is_none() && state.resuming.is_empty() {
            state.holder = Some(ticket);
        } else {
            state.resuming.push_back(ticket);
        }
        turns.wait(state, ticket, page_gone)
    }
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        let mut state = self.turns.lock();
        state.forget(self.ticket);
        if state.holder == Some(self.ticket) {
            state.hand_over();
        }
        drop(state);
        self.turns.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn origins_take_turns() {
        let turns = Arc::new(Turns::default());
        let gone = Arc::new(AtomicBool::new(false));
        let first = turns.enter("a", &gone).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        // Origin a queues three flows, then b one: b must come second, not fourth.
        for (i, origin) in ["a", "a", "a", "b"].into_iter().enumerate() {
            let (t, gone, order) = (Arc::clone(&turns), Arc::clone(&gone), Arc::clone(&order));
            threads.push(std::thread::spawn(move || {
                let _turn = t.enter(origin, &gone).unwrap();
                order.lock().unwrap().push(origin);
                std::thread::sleep(Duration::from_millis(5));
            }));
            // Queue in this order.
            while turns.lock().origins.iter().map(|(_, q)| q.len()).sum::<usize>() < i + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["a", "b", "a", "a"]);
    }

    #[test]
    fn one_origin_cannot_queue_without_bound() {
        let turns = Arc::new(Turns::default());
        let gone = Arc::new(AtomicBool::new(false));
        let _held = turns.enter("x", &gone).unwrap();
        let waiters: Vec<_> = (0..MAX_WAITING_PER_ORIGIN)
            .map(|_| {
                let (turns, gone) = (Arc::clone(&turns), Arc::clone(&gone));
                std::thread::spawn(move || turns.enter("a", &gone).map(|_| ()))
            })
            .collect();
        while turns.lock().origins.iter().map(|(_, q)| q.len()).sum::<usize>() < MAX_WAITING_PER_ORIGIN {
            std::thread::yield_now();
        }
        assert_eq!(turns.enter("a", &gone).err(), Some(NoTurn::TooManyWaiting));
        gone.store(true, Ordering::SeqCst);
        for w in waiters {
            assert_eq!(w.join().unwrap(), Err(NoTurn::PageGone));
        }
    }

    #[test]
    fn a_paused_flow_comes_back_first() {
        let turns = Turns::default();
        let gone = AtomicBool::new(false);
        let turn = turns.enter("a", &gone).unwrap();
        let paused = turn.pause();
        // Someone else uses the screen meanwhile…
        let other = turns.enter("b", &gone).unwrap();
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| turns.enter("c", &gone).map(|_| ()));
            while turns.lock().origins.is_empty() {
                std::thread::yield_now();
            }
            let back = scope.spawn(|| {
                let turn = paused.resume(&gone).unwrap();
                std::thread::sleep(Duration::from_millis(50));
                drop(turn);
            });
            while turns.lock().resuming.is_empty() {
                std::thread::yield_now();
            }
            drop(other);
            // …and the flow coming back is served before c, which queued earlier.
            std::thread::sleep(Duration::from_millis(20));
            assert!(!waiter.is_finished());
            back.join().unwrap();
            assert_eq!(waiter.join().unwrap(), Ok(()));
        });
    }
}
