//! One memory budget for every message in flight, enforced before a message is read.
//!
//! [`Metered`] sits between TLS and the WebSocket codec and reads the frame headers a
//! page sends. A data frame's payload is let through only when its size could be
//! taken from the daemon-wide [`Budget`] (and from the connection's own share);
//! otherwise the whole message is skipped as it arrives — never buffered — and the
//! connection is told ([`Skipped`]) so it can answer that request with an error, in
//! order. The bytes stay charged until the connection has handled the message
//! ([`Charges::take`]). So the memory that pages can make the daemon hold is bounded
//! by the budget, whatever the number of connections or queued frames.
//!
//! A large text message is not handed to the codec at all: it is read aside as it
//! arrives ([`super::stream`]), and the connection gets it in its place ([`Aside`]).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::stream::{Diversion, STREAM_FROM, Streamed};

/// Data frames up to this size are not charged: heartbeats and ordinary requests are
/// never refused because large documents fill the budget. (A connection queues at most
/// a few dozen of them, so what they can hold is bounded anyway.)
pub const FREE_FRAME: u64 = 64 * 1024;

/// The daemon-wide budget, in bytes of message payload.
#[derive(Clone)]
pub struct Budget(Arc<Semaphore>);

impl Budget {
    pub fn new(bytes: usize) -> Self {
        Self(Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))))
    }

    /// Bytes not in use.
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }

    fn try_take(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let n = u32::try_from(bytes).ok()?;
        Arc::clone(&self.0).try_acquire_many_owned(n).ok()
    }
}

/// A message the connection did not receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// It did not fit the memory budget (or the connection's share) now.
    OverBudget,
    /// It is larger than any message may be.
    TooLarge,
}

/// What the connection gets besides the codec's messages, in order with them.
pub enum Aside {
    /// A message it did not receive.
    Skipped(Skipped),
    /// A message read aside as it arrived.
    Streamed(Streamed),
}

/// One data frame's bytes and the budget they hold.
type Charge = (u64, Option<OwnedSemaphorePermit>);

/// The budget charged for the frames of a connection, oldest first.
#[derive(Clone, Default)]
pub struct Charges(Arc<Mutex<VecDeque<Charge>>>);

impl Charges {
    fn push(&self, len: u64, permit: Option<OwnedSemaphorePermit>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push_back((len, permit));
    }

    fn held(&self) -> u64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|(_, p)| p.is_some()).map(|(len, _)| len).sum()
    }

    /// The charges of the next message received, `len` bytes long (the sum of its
    /// data frames). Dropping the result returns the bytes to the budget.
    pub fn take(&self, len: usize) -> Vec<OwnedSemaphorePermit> {
        let mut queue = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (mut taken, mut permits) = (0u64, Vec::new());
        while taken < len as u64 {
            let Some((n, permit)) = queue.pop_front() else { break };
            taken += n;
            permits.extend(permit);
        }
        permits
    }
}

enum State {
    /// Collecting a frame header.
    Header { buf: [u8; 14], have: usize },
    /// Passing (or skipping, or reading aside) a payload; `fin`: the message's last.
    Payload { left: u64, skip: bool, aside: bool, fin: bool },
}

/// The stream wrapper. See the module documentation.
pub struct Metered<S> {
    inner: S,
    budget: Budget,
    /// Most bytes this connection may hold at once.
    share: u64,
    /// Largest message.
    max_message: u64,
    /// Bytes of the current message so far.
    message_len: u64,
    /// Why the current message is skipped.
    skip_reason: Skipped,
    charges: Charges,
    asides: mpsc::UnboundedSender<Aside>,
    state: State,
    /// Text messages from this size on are read aside.
    stream_from: u64,
    /// The message being read aside.
    diversion: Option<Diversion>,
    /// The current message is being skipped (its continuation frames too).
    skipping_message: bool,
    /// Header bytes ready to be handed on.
    pending: Vec<u8>,
    raw: Box<[u8]>,
    raw_start: usize,
    raw_end: usize,
}

impl<S> Metered<S> {
    /// Wrap `inner`, whose first bytes were already read as `prefix`; skipped
    /// messages and those read aside are reported on `asides`.
    pub fn new(
        inner: S,
        prefix: &[u8],
        budget: Budget,
        limits: (u64, u64),
        charges: Charges,
        asides: mpsc::UnboundedSender<Aside>,
    ) -> Self {
        let (share, max_message) = limits;
        let mut raw = vec![0; prefix.len().max(64 * 1024)].into_boxed_slice();
        raw[..prefix.len()].copy_from_slice(prefix);
        Self {
            inner,
            budget,
            share,
            max_message,
            message_len: 0,
            skip_reason: Skipped::OverBudget,
            charges,
            asides,
            state: State::Header { buf: [0; 14], have: 0 },
            stream_from: STREAM_FROM,
            diversion: None,
            skipping_message: false,
            pending: Vec::new(),
            raw,
            raw_start: 0,
            raw_end: prefix.len(),
        }
    }

    /// Header length once the first two bytes are known.
    fn header_len(buf: &[u8; 14]) -> usize {
        let ext = match buf[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if buf[1] & 0x80 != 0 { 4 } else { 0 }
    }

    fn payload_len(buf: &[u8; 14]) -> u64 {
        match buf[1] & 0x7f {
            126 => u16::from_be_bytes([buf[2], buf[3]]) as u64,
            127 => u64::from_be_bytes([buf[2], buf[3], buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]]),
            n => n as u64,
        }
    }

    /// A complete header: decide whether its payload passes. `Err` when a message
    /// already partly handed on grows past the limit (the connection must close).
    fn on_header(&mut self, buf: [u8; 14], len: usize) -> io::Result<()> {
        let fin = buf[0] & 0x80 != 0;
        let opcode = buf[0] & 0x0f;
        let payload = Self::payload_len(&buf);
        let skip = match opcode {
            // Control frames are at most 125 bytes and never fragmented (RFC 6455 5.5);
            // refuse others here, before the codec would reserve room for them.
            0x8..=0xf if payload > 125 || !fin => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "control frame too big"));
            }
            0x8..=0xf => false,
            // A new message, or a continuation of one.
            _ => {
                if opcode != 0 {
                    self.skipping_message = false;
                    self.message_len = 0;
                }
                let first = opcode != 0;
                // No honest client announces a frame many times the limit (2^63 bytes…):
                // close rather than skip it for ever.
                if payload > self.max_message.saturating_mul(16) {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "message too big"));
                }
                self.message_len = self.message_len.saturating_add(payload);
                if !self.skipping_message && self.message_len > self.max_message {
                    if !first {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "message too big"));
                    }
                    self.skipping_message = true;
                    self.skip_reason = Skipped::TooLarge;
                }
                if !self.skipping_message && payload > FREE_FRAME {
                    let fits_share = self.charges.held().saturating_add(payload) <= self.share;
                    match fits_share.then(|| self.budget.try_take(payload)).flatten() {
                        Some(permit) => self.charges.push(payload, Some(permit)),
                        None if first => {
                            self.skipping_message = true;
                            self.skip_reason = Skipped::OverBudget;
                        }
                        // Part of this message was handed on already: it cannot be
                        // skipped cleanly any more.
                        None => return Err(io::Error::new(io::ErrorKind::OutOfMemory, "over the memory budget")),
                    }
                }
                if !self.skipping_message && payload > 0 && payload <= FREE_FRAME {
                    self.charges.push(payload, None);
                }
                let skip = self.skipping_message;
                if skip && fin {
                    let _ = self.asides.send(Aside::Skipped(self.skip_reason));
                    self.skipping_message = false;
                }
                skip
            }
        };
        let aside = !skip && self.read_aside(buf, len, payload)?;
        if !skip && !aside {
            self.pending.extend_from_slice(&buf[..len]);
        }
        self.state = if payload > 0 {
            State::Payload { left: payload, skip, aside, fin }
        } else {
            if let Some(diversion) = self.diversion.as_mut().filter(|_| aside) {
                diversion.ending = fin;
            }
            State::Header { buf: [0; 14], have: 0 }
        };
        Ok(())
    }

    /// Whether a data frame's payload is read aside (a large text message, plain: no
    /// extension bits, masked as a client's must be); starts or continues a diversion.
    /// `Err` for a frame the codec would refuse in the middle of one.
    fn read_aside(&mut self, buf: [u8; 14], len: usize, payload: u64) -> io::Result<bool> {
        let opcode = buf[0] & 0x0f;
        let plain = buf[0] & 0x70 == 0 && buf[1] & 0x80 != 0;
        let mask = [buf[len - 4], buf[len - 3], buf[len - 2], buf[len - 1]];
        match (&mut self.diversion, opcode) {
            (_, 0x8..=0xf) => Ok(false),
            (Some(diversion), 0) if plain => {
                diversion.frame(mask, payload);
                Ok(true)
            }
            (Some(_), _) => Err(io::Error::new(io::ErrorKind::InvalidInput, "expected a continuation frame")),
            (None, 1) if plain && payload >= self.stream_from => {
                let mut diversion = Diversion::start(payload);
                diversion.frame(mask, payload);
                self.diversion = Some(diversion);
                Ok(true)
            }
            (None, _) => Ok(false),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            // A message read aside is complete: its last piece to the intake, and the
            // message to the connection before anything after it.
            if let Some(diversion) = this.diversion.as_mut().filter(|d| d.ending) {
                if diversion.poll_send(cx, true).is_pending() {
                    return Poll::Pending;
                }
                if let Some(diversion) = this.diversion.take() {
                    let _ = this.asides.send(Aside::Streamed(diversion.finish()));
                }
            }
            // Hand on a finished header first.
            if !this.pending.is_empty() {
                let n = this.pending.len().min(out.remaining());
                out.put_slice(&this.pending[..n]);
                this.pending.drain(..n);
                return Poll::Ready(Ok(()));
            }
            if this.raw_start == this.raw_end {
                let mut buf = ReadBuf::new(&mut this.raw);
                match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) => {
                        let n = buf.filled().len();
                        if n == 0 {
                            return Poll::Ready(Ok(())); // end of stream
                        }
                        (this.raw_start, this.raw_end) = (0, n);
                    }
                    other => return other,
                }
            }
            match &mut this.state {
                State::Header { buf, have } => {
                    let need = if *have < 2 { 2 } else { Self::header_len(buf) };
                    let n = (need - *have).min(this.raw_end - this.raw_start);
                    buf[*have..*have + n].copy_from_slice(&this.raw[this.raw_start..this.raw_start + n]);
                    *have += n;
                    this.raw_start += n;
                    if *have >= 2 && *have == Self::header_len(buf) {
                        let (buf, have) = (*buf, *have);
                        if let Err(e) = this.on_header(buf, have) {
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                State::Payload { left, aside: true, fin, .. } => {
                    let Some(diversion) = this.diversion.as_mut() else {
                        return Poll::Ready(Err(io::Error::other("lost the message read aside")));
                    };
                    if diversion.poll_send(cx, false).is_pending() {
                        return Poll::Pending;
                    }
                    let n = (*left).min((this.raw_end - this.raw_start) as u64).min(diversion.room() as u64) as usize;
                    diversion.put(&this.raw[this.raw_start..this.raw_start + n]);
                    this.raw_start += n;
                    *left -= n as u64;
                    if *left == 0 {
                        diversion.ending = *fin;
                        this.state = State::Header { buf: [0; 14], have: 0 };
                    }
                }
                State::Payload { left, skip, .. } => {
                    let available = (this.raw_end - this.raw_start) as u64;
                    let n = (*left).min(available) as usize;
                    let n = if *skip { n } else { n.min(out.remaining()) };
                    let done = n as u64 == *left;
                    if !*skip {
                        out.put_slice(&this.raw[this.raw_start..this.raw_start + n]);
                    }
                    this.raw_start += n;
                    *left -= n as u64;
                    let passed = !*skip && n > 0;
                    if done {
                        this.state = State::Header { buf: [0; 14], have: 0 };
                    }
                    // Stop at the end of a frame the codec receives, so it sees each
                    // message before we look at the next header (keeps the order of
                    // skipped-message notices right).
                    if passed {
                        return Poll::Ready(Ok(()));
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A masked client frame.
    fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
        let mask = [1u8, 2, 3, 4];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn skipped(rx: &mut mpsc::UnboundedReceiver<Aside>) -> Option<Skipped> {
        match rx.try_recv() {
            Ok(Aside::Skipped(why)) => Some(why),
            _ => None,
        }
    }

    #[tokio::test]
    async fn large_text_messages_are_read_aside_in_order_and_unmasked() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let charges = Charges::default();
        let mut metered = Metered::new(server, &[], Budget::new(1 << 24), (1 << 24, 1 << 24), charges.clone(), tx);
        metered.stream_from = 1000;
        let text = format!(r#"{{"args":{{"data":"{}"}}}}"#, "QUJD".repeat(100_000));
        let (a, b) = text.as_bytes().split_at(333_333);
        let mut all = frame(1, true, b"small");
        all.extend(frame(1, false, a));
        all.extend(frame(9, true, b"p"));
        all.extend(frame(0, false, &[]));
        all.extend(frame(0, true, b));
        all.extend(frame(1, true, b"after"));
        let writer = tokio::spawn(async move {
            client.write_all(&all).await.unwrap();
        });
        let mut seen = Vec::new();
        metered.read_to_end(&mut seen).await.unwrap();
        writer.await.unwrap();
        let mut expected = frame(1, true, b"small");
        expected.extend(frame(9, true, b"p"));
        expected.extend(frame(1, true, b"after"));
        assert_eq!(seen, expected, "the codec sees the rest only");
        let Ok(Aside::Streamed(streamed)) = rx.try_recv() else { panic!("no message read aside") };
        assert_eq!(streamed.len, text.len());
        assert!(charges.take(5).is_empty(), "the small message was free");
        assert_eq!(charges.take(streamed.len).len(), 2, "the big frames were charged");
        match streamed.received.await.unwrap().unwrap() {
            crate::protocol::stream::Received::Spliced(spliced) => assert_eq!(spliced.into_text(), text),
            other => panic!("not spliced: {other:?}"),
        }
    }

    #[tokio::test]
    async fn frames_over_budget_are_skipped_and_reported() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let k = FREE_FRAME as usize + 1; // every data frame below is charged
        let budget = Budget::new(10 * k);
        let charges = Charges::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut metered =
            Metered::new(server, &[], budget.clone(), (100 * k as u64, 100 * k as u64), charges.clone(), tx);
        let small = frame(1, true, &vec![b'a'; 6 * k]);
        let big = frame(1, true, &vec![b'b'; 8 * k]); // 6 + 8 > 10: skipped
        let frag1 = frame(1, false, &vec![b'c'; 3 * k]);
        let ping = frame(9, true, b"p");
        let frag2 = frame(0, true, &vec![b'c'; k]);
        let tiny = frame(1, true, b"--heartbeat--"); // free, even with the budget spent
        let mut all = small.clone();
        all.extend(&big);
        all.extend(&frag1);
        all.extend(&ping);
        all.extend(&frag2);
        all.extend(&tiny);
        let writer = tokio::spawn(async move {
            client.write_all(&all).await.unwrap();
        });
        let mut seen = Vec::new();
        metered.read_to_end(&mut seen).await.unwrap();
        writer.await.unwrap();
        let mut expected = small;
        expected.extend(&frag1);
        expected.extend(&ping);
        expected.extend(&frag2);
        expected.extend(&tiny);
        assert_eq!(seen, expected, "the big frame is skipped, nothing else");
        assert_eq!(skipped(&mut rx), Some(Skipped::OverBudget));
        assert!(rx.try_recv().is_err());
        assert_eq!(budget.available(), 0, "6 + 3 + 1 charged");
        drop(charges.take(6 * k));
        assert_eq!(budget.available(), 6 * k);
        drop(charges.take(4 * k));
        assert_eq!(budget.available(), 10 * k);
        assert!(charges.take(13).is_empty(), "the heartbeat was free");
    }

    #[tokio::test]
    async fn a_connection_cannot_take_more_than_its_share() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let k = FREE_FRAME as usize + 1;
        let mut metered =
            Metered::new(server, &[], Budget::new(100 * k), (5 * k as u64, 10 * k as u64), Charges::default(), tx);
        let mut all = frame(1, true, &vec![b'a'; 4 * k]);
        all.extend(frame(1, true, &vec![b'b'; 4 * k]));
        let writer = tokio::spawn(async move {
            client.write_all(&all).await.unwrap();
        });
        let mut seen = Vec::new();
        metered.read_to_end(&mut seen).await.unwrap();
        writer.await.unwrap();
        assert_eq!(seen.len(), 2 + 8 + 4 + 4 * k);
        assert_eq!(skipped(&mut rx), Some(Skipped::OverBudget));
    }
}

#[cfg(test)]
mod control_frames {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn big_or_fragmented_control_frames_are_refused_before_they_are_read() {
        for header in [[0x89u8, 0x80 | 126, 0x7f, 0xff], [0x09, 0x80 | 5, 0, 0]] {
            let (mut client, server) = tokio::io::duplex(1 << 16);
            let (tx, _rx) = mpsc::unbounded_channel();
            let mut metered =
                Metered::new(server, &[], Budget::new(1 << 20), (1 << 20, 1 << 20), Charges::default(), tx);
            client.write_all(&header).await.unwrap();
            client.write_all(&[0; 4]).await.unwrap();
            let mut seen = Vec::new();
            assert!(metered.read_to_end(&mut seen).await.is_err(), "{header:?}");
        }
    }
}
