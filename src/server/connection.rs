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
//! gets its own error reply, in order. So does a large message read aside as it
//! arrived ([`super::stream`]): the reader takes it in its place among the others.

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

use super::budget::{Aside, Charges, Skipped};
use super::registry::Registration;
use crate::protocol::reply::{GREETING, HEARTBEAT};
use crate::protocol::stream::{NotUtf8, Received};
use crate::protocol::{Busy, Dispatcher, Session};
use tokio::task::JoinHandle;

/// Requests with content a connection may queue while one is being handled.
pub const MAX_QUEUED: usize = 32;
/// Refusals (a few bytes each until sent) a connection may owe before it is closed.
const MAX_OWED: usize = 100_000;

enum Job {
    /// A request with the budget it holds.
    Text(Request, Vec<OwnedSemaphorePermit>),
    Binary,
    Refused(Busy),
}

enum Request {
    /// The frame's own buffer, not a copy.
    Frame(Utf8Bytes),
    /// A message read aside, once its last pieces are read.
    Streamed(JoinHandle<Result<Received, NotUtf8>>),
}

/// A request ready to handle.
enum Input {
    Frame(Utf8Bytes),
    Received(Received),
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
    pub asides: mpsc::UnboundedReceiver<Aside>,
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
    let Link { dispatcher, mut shutdown, charges, mut asides, registration, idle_timeout, audit } = link;
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
    let close =
        |code: CloseCode, reason: &str| Message::Close(Some(CloseFrame { code, reason: reason.to_owned().into() }));
    let worker = tokio::spawn(async move {
        // Handle a request on a blocking thread; the budget it holds is freed after.
        let run = async |input: Input, permits: Vec<OwnedSemaphorePermit>| {
            let (dispatcher, session) = (Arc::clone(&dispatcher), Arc::clone(&session));
            tokio::task::spawn_blocking(move || {
                let mut session = session.lock().unwrap_or_else(|p| p.into_inner());
                let reply = match input {
                    Input::Frame(text) => dispatcher.handle_text(&mut session, text),
                    Input::Received(received) => dispatcher.handle_received(&mut session, received),
                };
                drop(permits);
                reply
            })
            .await
        };
        while let Some(job) = job_rx.recv().await {
            let reply = match job {
                Job::Text(request, permits) => {
                    let handled = match request {
                        Request::Frame(text) => run(Input::Frame(text), permits).await,
                        Request::Streamed(received) => match received.await {
                            Ok(Ok(received)) => run(Input::Received(received), permits).await,
                            // A text message that is not UTF-8 ends the connection, as
                            // the codec ends it for one it reads.
                            Ok(Err(NotUtf8)) => {
                                let _ = worker_out.send(close(CloseCode::Invalid, "text frame is not UTF-8")).await;
                                break;
                            }
                            Err(e) => Err(e),
                        },
                    };
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

    let refuse = |why: Busy| {
        owed.fetch_add(1, Ordering::SeqCst);
        audit.refused(&why);
        Job::Refused(why)
    };
    // A request to queue, unless the connection has as many queued as it may.
    let admit = |request: Request, permits: Vec<OwnedSemaphorePermit>| {
        if queued.load(Ordering::SeqCst) >= MAX_QUEUED {
            drop(permits);
            refuse(Busy::Queue)
        } else {
            queued.fetch_add(1, Ordering::SeqCst);
            registration.busy_flag().store(true, Ordering::SeqCst);
            Job::Text(request, permits)
        }
    };
    // A message the codec did not see, as a job.
    let aside_job = |aside: Aside| match aside {
        Aside::Skipped(why) => refuse(refusal(why)),
        Aside::Streamed(streamed) => admit(Request::Streamed(streamed.received), charges.take(streamed.len)),
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
            Some(aside) = asides.recv() => {
                // A message skipped or read aside, with nothing received after it.
                registration.touch();
                let job = aside_job(aside);
                if owed.load(Ordering::SeqCst) > MAX_OWED || job_tx.send(job).is_err() {
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
        // Messages skipped or read aside before this one come first.
        while let Ok(aside) = asides.try_recv() {
            let _ = job_tx.send(aside_job(aside));
        }
        let job = match incoming {
            Some(Ok(Message::Text(text))) if text.as_str() == HEARTBEAT => {
                drop(charges.take(text.len()));
                let _ = out_tx.send(Message::text(HEARTBEAT)).await;
                continue;
            }
            Some(Ok(Message::Text(text))) => {
                let permits = charges.take(text.len());
                admit(Request::Frame(text), permits)
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
                    Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                        Some((CloseCode::Protocol, "protocol error"))
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
