//! Large text messages read aside from the WebSocket codec, as they arrive.
//!
//! [`super::budget::Metered`] sees each frame header. A text message whose first frame
//! is large ([`STREAM_FROM`]) is not handed to the codec: its payload, unmasked, goes
//! in pieces to a [`Diversion`], whose blocking thread feeds a
//! [`crate::protocol::stream::Intake`] (which decodes and hashes a request's document
//! while the rest is still arriving). When the message ends, the connection gets a
//! [`Streamed`] in its place, in order. The codec never holds the message, and the
//! reading thread never does the decoding.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::sync::mpsc::{self, OwnedPermit, error::SendError};
use tokio::task::JoinHandle;

use crate::protocol::stream::{Intake, NotUtf8, Received};

/// Text messages whose first frame has at least this many bytes are read aside.
pub const STREAM_FROM: u64 = 1024 * 1024;

/// Bytes handed to the decoding thread at a time, and how many such pieces may wait
/// for it: the reader stops reading while they do. Large pieces: few hand-overs
/// between the two threads (each may cost a time slice on a busy machine).
const PIECE: usize = 1024 * 1024;
const PIECES_WAITING: usize = 8;

/// A message read aside, once it has all arrived.
pub struct Streamed {
    /// Bytes of the message (its frames' payloads).
    pub len: usize,
    /// The message as the intake read it (ready once its last pieces are decoded).
    pub received: JoinHandle<Result<Received, NotUtf8>>,
}

type Reserving = Pin<Box<dyn Future<Output = Result<OwnedPermit<Vec<u8>>, SendError<()>>> + Send>>;

/// One message being read aside.
pub struct Diversion {
    tx: mpsc::Sender<Vec<u8>>,
    /// Pieces the decoding thread is done with, to be filled again: a message of
    /// many megabytes reuses a few buffers rather than mapping fresh memory for each.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    reserving: Option<Reserving>,
    piece: Vec<u8>,
    /// The current frame's masking key, turned to where its payload is.
    mask: [u8; 4],
    len: u64,
    received: JoinHandle<Result<Received, NotUtf8>>,
    /// Set by [`Self::finish`]: without it the message was abandoned (the connection
    /// ended inside it) and the intake is dropped, not finished.
    finished: Arc<AtomicBool>,
    /// The message's last frame was read: send the rest and hand it on.
    pub ending: bool,
}

impl Diversion {
    /// Start reading a message whose first frame has `hint` bytes.
    pub fn start(hint: u64) -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(PIECES_WAITING);
        let (give_back, spare) = std::sync::mpsc::channel();
        let finished = Arc::new(AtomicBool::new(false));
        let complete = Arc::clone(&finished);
        let received = tokio::task::spawn_blocking(move || {
            let mut intake = Intake::new(usize::try_from(hint).unwrap_or(usize::MAX));
            while let Some(mut piece) = rx.blocking_recv() {
                crate::compute::run_for(piece.len(), || intake.push(&piece));
                piece.clear();
                // The reader may be gone (the message ended); the piece is then freed.
                let _ = give_back.send(piece);
            }
            // An abandoned message is not put back together (finishing may re-encode
            // what was decoded, memory its connection no longer pays for): nobody
            // awaits this answer.
            if !complete.load(Ordering::Acquire) {
                return Err(NotUtf8);
            }
            intake.finish()
        });
        Self {
            tx,
            spare,
            reserving: None,
            piece: Vec::with_capacity(PIECE),
            mask: [0; 4],
            len: 0,
            received,
            finished,
            ending: false,
        }
    }

    /// A frame of the message begins, `len` bytes masked with `mask`.
    pub fn frame(&mut self, mask: [u8; 4], len: u64) {
        self.mask = mask;
        self.len = self.len.saturating_add(len);
    }

    /// Room left in the current piece.
    pub fn room(&self) -> usize {
        PIECE - self.piece.len()
    }

    /// Unmask `bytes` into the current piece (at most [`Self::room`] of them).
    pub fn put(&mut self, bytes: &[u8]) {
        let start = self.piece.len();
        self.piece.extend_from_slice(bytes);
        let m = self.mask;
        let wide = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
        let mut words = self.piece[start..].chunks_exact_mut(8);
        for word in &mut words {
            let mut w = [0; 8];
            w.copy_from_slice(word);
            word.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
        }
        for (i, b) in words.into_remainder().iter_mut().enumerate() {
            *b ^= m[i % 4];
        }
        self.mask.rotate_left(bytes.len() % 4);
    }

    /// Hand the current piece to the decoding thread when it is full (or, with
    /// `all`, when it holds anything). Pending while the thread is behind.
    pub fn poll_send(&mut self, cx: &mut Context<'_>, all: bool) -> Poll<()> {
        if self.piece.is_empty() || (!all && self.room() > 0) {
            return Poll::Ready(());
        }
        let reserving = self.reserving.get_or_insert_with(|| Box::pin(self.tx.clone().reserve_owned()));
        let Poll::Ready(permit) = reserving.as_mut().poll(cx) else { return Poll::Pending };
        self.reserving = None;
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(PIECE));
        let piece = std::mem::replace(&mut self.piece, next);
        // A thread that is gone failed; the connection hears it from `received`.
        if let Ok(permit) = permit {
            permit.send(piece);
        }
        Poll::Ready(())
    }

    /// All of the message was sent.
    pub fn finish(self) -> Streamed {
        let Self { tx, received, len, finished, .. } = self;
        finished.store(true, Ordering::Release);
        drop(tx);
        Streamed { len: usize::try_from(len).unwrap_or(usize::MAX), received }
    }
}
