//! One WebSocket connection, from greeting to close.
//!
//! Three tasks share the socket. The reader answers `--heartbeat--` at once (also
//! while a request waits for the user, which is when pages count missed heartbeats)
//! and queues requests. The worker handles queued requests one at a time on a
//! blocking thread (the protocol and the signing core block: dialogs, hashing), so
//! replies leave in request order, one per request, and the async threads stay free.
//! The writer is the only task that writes. Nothing is ever sent unsolicited except
//! the greeting: a client would take it for the reply to its pending request.
//!
//! A request that cannot be queued (the connection's queue is full, or the message
//! did not fit the memory budget and was skipped unread, see [`super::budget`]) still
//! gets its own error reply, in order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::budget::{Charges, Skipped};
use super::registry::Registration;
use crate::protocol::reply::{GREETING, HEARTBEAT};
use crate::protocol::{Busy, Dispatcher, Session};

/// Requests with content a connection may queue while one is being handled.
pub const MAX_QUEUED: usize = 32;
/// Refusals (a few bytes each until sent) a connection may owe before it is closed.
const MAX_OWED: usize = 100_000;

enum Job {
    /// The frame's own buffer, not a copy, with the budget it holds.
    Text(Utf8Bytes, Vec<OwnedSemaphorePermit>),
    Binary,
    Refused(Busy),
}

fn refusal(why: Skipped) -> Busy {
    match why {
        Skipped::OverBudget => Busy::Memory,
        Skipped::TooLarge => Busy::TooLarge,
    }
}

/// What the reader needs besides the socket.
pub struct Link {
    pub dispatcher: Arc<Dispatcher>,
    pub shutdown: watch::Receiver<bool>,
    pub charges: Charges,
    pub skipped: mpsc::UnboundedReceiver<Skipped>,
    pub registration: Registration,
    /// Close after this long without any frame while nothing is pending.
    pub idle_timeout: Option<Duration>,
    /// The connection's audit records.
    pub audit: crate::audit::Conn,
}

/// Serve one upgraded connection until either side closes or the server shuts down.
pub async fn serve<S>(ws: WebSocketStream<S>, origin: Option<String>, link: Link)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Link { dispatcher, mut shutdown, charges, mut skipped, registration, idle_timeout, audit } = link;
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(MAX_QUEUED + 8);
    let (job_tx, mut job_rx) = mpsc::unbounded_channel::<Job>();
    // Jobs with content waiting or running: bounded by MAX_QUEUED.
    let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Refusals queued and not yet sent: bounded by MAX_OWED.
    let owed = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    if out_tx.send(Message::text(GREETING)).await.is_err() {
        return;
    }

    let page_gone = Arc::new(AtomicBool::new(false));
    let session = Session { audit: audit.clone(), ..Session::new(origin, Arc::clone(&page_gone)) };
    let session = Arc::new(Mutex::new(session));
    let worker_out = out_tx.clone();
    let worker_queued = Arc::clone(&queued);
    let worker_owed = Arc::clone(&owed);
    let worker_busy = registration.busy_flag();
    let worker = tokio::spawn(async move {
        while let Some(job) = job_rx.recv().await {
            let reply = match job {
                Job::Text(text, permits) => {
                    let (dispatcher, session) = (Arc::clone(&dispatcher), Arc::clone(&session));
                    let handled = tokio::task::spawn_blocking(move || {
                        let mut session = session.lock().unwrap_or_else(|p| p.into_inner());
                        let reply = dispatcher.handle_text(&mut session, text);
                        drop(permits);
                        reply
                    })
                    .await;
                    worker_queued.fetch_sub(1, Ordering::SeqCst);
                    match handled {
                        Ok(reply) => reply,
                        Err(e) => {
                            tracing::error!("request handler failed: {e}");
                            Some(crate::protocol::reply::common_error(Some("internal error")).to_string())
                        }
                    }
                }
                Job::Binary => Some(Dispatcher::binary_frame_reply()),
                Job::Refused(why) => {
                    worker_owed.fetch_sub(1, Ordering::SeqCst);
                    let locale = session.lock().unwrap_or_else(|p| p.into_inner()).context.locale;
                    Some(Dispatcher::busy_reply(why, locale))
                }
            };
            if worker_queued.load(Ordering::SeqCst) == 0 {
                worker_busy.store(false, Ordering::SeqCst);
            }
            if let Some(reply) = reply
                && worker_out.send(Message::text(reply)).await.is_err()
            {
                break;
            }
        }
    });

    let close =
        |code: CloseCode, reason: &str| Message::Close(Some(CloseFrame { code, reason: reason.to_owned().into() }));
    let refuse = |why: Busy| {
        owed.fetch_add(1, Ordering::SeqCst);
        audit.refused(&why);
        Job::Refused(why)
    };
    loop {
        let idle = async {
            match idle_timeout {
                Some(t) if queued.load(Ordering::SeqCst) == 0 => tokio::time::sleep(t).await,
                _ => std::future::pending().await,
            }
        };
        let incoming = tokio::select! {
            biased;
            _ = shutdown.changed() => {
                let _ = out_tx.send(close(CloseCode::Away, "qoltanba is shutting down")).await;
                break;
            }
            _ = registration.evicted() => {
                let _ = out_tx.send(close(CloseCode::Policy, "too many connections: closed the longest idle one")).await;
                break;
            }
            incoming = stream.next() => incoming,
            Some(why) = skipped.recv() => {
                // A message skipped with nothing received after it.
                if owed.load(Ordering::SeqCst) >= MAX_OWED || job_tx.send(refuse(refusal(why))).is_err() {
                    let _ = out_tx.send(close(CloseCode::Policy, "too many requests")).await;
                    break;
                }
                continue;
            }
            _ = idle => {
                let _ = out_tx.send(close(CloseCode::Normal, "idle")).await;
                break;
            }
        };
        registration.touch();
        // Messages skipped before this one come first.
        while let Ok(why) = skipped.try_recv() {
            let _ = job_tx.send(refuse(refusal(why)));
        }
        let job = match incoming {
            Some(Ok(Message::Text(text))) if text.as_str() == HEARTBEAT => {
                drop(charges.take(text.len()));
                let _ = out_tx.send(Message::text(HEARTBEAT)).await;
                continue;
            }
            Some(Ok(Message::Text(text))) => {
                let permits = charges.take(text.len());
                if queued.load(Ordering::SeqCst) >= MAX_QUEUED {
                    drop(permits);
                    refuse(Busy::Queue)
                } else {
                    queued.fetch_add(1, Ordering::SeqCst);
                    registration.busy_flag().store(true, Ordering::SeqCst);
                    Job::Text(text, permits)
                }
            }
            Some(Ok(Message::Binary(bytes))) => {
                drop(charges.take(bytes.len()));
                audit.refused(&"binary frame");
                Job::Binary
            }
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue, // ping/pong are answered by tungstenite
            Some(Err(e)) => {
                tracing::debug!("connection error: {e}");
                audit.error(&e);
                use tokio_tungstenite::tungstenite::Error;
                let reason = match e {
                    Error::Capacity(_) => Some((CloseCode::Size, "message too big")),
                    Error::Utf8(_) => Some((CloseCode::Invalid, "text frame is not UTF-8")),
                    Error::Protocol(_) => Some((CloseCode::Protocol, "protocol error")),
                    Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        Some((CloseCode::Size, "message too big"))
                    }
                    Error::Io(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
                        Some((CloseCode::Again, "over the memory budget: try again"))
                    }
                    _ => None,
                };
                if let Some((code, text)) = reason {
                    let _ = out_tx.send(close(code, text)).await;
                }
                break;
            }
        };
        if owed.load(Ordering::SeqCst) > MAX_OWED || job_tx.send(job).is_err() {
            let _ = out_tx.send(close(CloseCode::Policy, "too many requests")).await;
            break;
        }
    }
    // The page is gone: its pending requests have nobody to answer to, and a dialog
    // not yet shown for it will not be.
    page_gone.store(true, Ordering::SeqCst);
    worker.abort();
    drop(job_tx);
    drop(out_tx);
    let _ = writer.await;
}
