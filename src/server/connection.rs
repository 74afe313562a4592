//! One WebSocket connection, from greeting to close.
//!
//! Three tasks share the socket. The reader answers `--heartbeat--` at once (also
//! while a request waits for the user, which is when pages count missed heartbeats)
//! and queues requests. The worker handles queued requests one at a time, so replies
//! leave in request order, one per request. The writer is the only task that writes.
//! Nothing is ever sent unsolicited except the greeting: a client would take it for
//! the reply to its pending request.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::protocol::reply::{GREETING, HEARTBEAT};
use crate::protocol::{Dispatcher, Session};

/// Requests a connection may queue while one is being handled.
const MAX_QUEUED: usize = 32;

enum Job {
    /// The frame's own buffer, not a copy.
    Text(tokio_tungstenite::tungstenite::Utf8Bytes),
    Binary,
}

/// Serve one upgraded connection until either side closes or the server shuts down.
pub async fn serve<S>(
    ws: WebSocketStream<S>,
    origin: Option<String>,
    dispatcher: Arc<Dispatcher>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(MAX_QUEUED + 8);
    let (job_tx, mut job_rx) = mpsc::channel::<Job>(MAX_QUEUED);

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

    let page_gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let worker_out = out_tx.clone();
    let session_flag = Arc::clone(&page_gone);
    let worker = tokio::spawn(async move {
        let mut session = Session::new(origin, session_flag);
        while let Some(job) = job_rx.recv().await {
            let reply = match job {
                Job::Text(text) => dispatcher.handle_text(&mut session, text).await,
                Job::Binary => Some(Dispatcher::binary_frame_reply()),
            };
            if let Some(reply) = reply
                && worker_out.send(Message::text(reply)).await.is_err()
            {
                break;
            }
        }
    });

    let close =
        |code: CloseCode, reason: &str| Message::Close(Some(CloseFrame { code, reason: reason.to_owned().into() }));
    loop {
        let incoming = tokio::select! {
            incoming = stream.next() => incoming,
            _ = shutdown.changed() => {
                let _ = out_tx.send(close(CloseCode::Away, "qoltanba is shutting down")).await;
                break;
            }
        };
        let job = match incoming {
            Some(Ok(Message::Text(text))) if text.as_str() == HEARTBEAT => {
                let _ = out_tx.send(Message::text(HEARTBEAT)).await;
                continue;
            }
            Some(Ok(Message::Text(text))) => Job::Text(text),
            Some(Ok(Message::Binary(_))) => Job::Binary,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue, // ping/pong are answered by tungstenite
            Some(Err(e)) => {
                tracing::debug!("connection error: {e}");
                let reason = match e {
                    tokio_tungstenite::tungstenite::Error::Capacity(_) => Some((CloseCode::Size, "message too big")),
                    tokio_tungstenite::tungstenite::Error::Protocol(_) => Some((CloseCode::Protocol, "protocol error")),
                    _ => None,
                };
                if let Some((code, text)) = reason {
                    let _ = out_tx.send(close(code, text)).await;
                }
                break;
            }
        };
        if job_tx.try_send(job).is_err() {
            let _ = out_tx.send(close(CloseCode::Policy, "too many requests queued")).await;
            break;
        }
    }
    // The page is gone: its pending requests have nobody to answer to, and a dialog
    // not yet shown for it will not be.
    page_gone.store(true, std::sync::atomic::Ordering::SeqCst);
    worker.abort();
    drop(job_tx);
    drop(out_tx);
    let _ = writer.await;
}
