//! The socket loop of one WebSocket connection: a thin adapter between the
//! socket and the room. The reader feeds frames to the room; a writer task
//! drains the bounded outbound queue, so a slow socket never blocks a room.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;
use weft_core::deflate::DeflateError;
use weft_core::doc_id::DocId;
use weft_core::protocol::{self, close};
use weft_core::room::Access;
use weft_core::ProtocolError;

use crate::documents::rooms::Peer;
use crate::net::limits::ConnLimits;
use crate::ops::metrics::Metrics;
use crate::state::Shared;
use crate::ws::control::ConnControl;
use crate::ws::outbox::Outbox;

/// Updates a connection may have waiting for the store before its socket
/// stops being read; this is the backpressure on a writer faster than disk.
const MAX_UNACKED: u64 = 4096;

/// What the upgrade request asked for.
#[derive(Debug, Clone)]
pub struct ConnOptions {
    /// What the token allows (write without auth).
    pub access: Access,
    /// When the token expires (unix seconds); the connection closes then.
    pub expires: Option<u64>,
    /// The token's `sub`, for logs.
    pub user: Option<String>,
    /// Send Weft acks (`?ack=1`).
    pub ack: bool,
    /// Who connected, for logs.
    pub remote: SocketAddr,
    /// Whose budget a new document counts against: the token's user and
    /// scope, or the IP without auth.
    pub creator: String,
    /// The link generation of a token minted as a link.
    pub link_gen: Option<u64>,
}

/// Runs one connection to completion.
///
/// Not `async` itself: the returned future lives as long as the connection,
/// and an async fn would keep its arguments (the whole socket state) inline
/// twice. Split and boxed here, they cost a few words.
pub fn serve<S>(
    shared: Arc<Shared>,
    ws: WebSocketStream<S>,
    doc: DocId,
    opts: ConnOptions,
) -> impl std::future::Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = crate::ws::control::next_conn_id();
    let user = opts.user.as_deref().unwrap_or("-");
    let span = tracing::debug_span!("conn", id = conn, doc = %doc, remote = %opts.remote, user);
    let (sink, stream) = ws.split();
    run(shared, conn, sink, stream, doc, Box::new(opts)).instrument(span)
}

// One function on purpose, though long: its future is what every idle
// connection holds. Split into a struct with one handler per event (sync
// or async, nested or not), the idle workload measured 4.7-4.9 KiB per
// connection against 4.2-4.3 KiB for this shape (issue 16's note), so the
// loop stays inline and its branches stay short.
async fn run<S>(
    shared: Arc<Shared>,
    conn: u64,
    mut sink: SplitSink<WebSocketStream<S>, Message>,
    mut stream: SplitStream<WebSocketStream<S>>,
    doc: DocId,
    opts: Box<ConnOptions>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Boxed: this future lives as long as the connection, and an inline
    // load would make every idle connection carry its 2.5 KiB.
    let lease = match Box::pin(shared.rooms.acquire(&doc)).await {
        Ok(lease) => lease,
        Err(e) => {
            tracing::error!(error = %e, "cannot open document");
            let frame = close_frame(close::INTERNAL, "document unavailable");
            let _ = sink.send(Message::Close(Some(frame))).await;
            return;
        }
    };
    shared.metrics.connections.inc();
    shared.metrics.connections_total.inc();
    tracing::debug!("connected");

    let tx = Arc::new(Outbox::new(shared.config.send_queue.max(4)));
    let ctl = Arc::new(ConnControl::new(&shared.shutdown));
    let writer = tokio::spawn(write_loop(
        sink,
        tx.clone(),
        ctl.clone(),
        shared.metrics.clone(),
    ));
    lease.room.connect(
        conn,
        Peer {
            tx: tx.clone(),
            ctl: ctl.clone(),
            link_gen: opts.link_gen,
            author: opts.user.as_deref().map(Arc::from),
        },
    );

    let ping_every = shared.config.ping_interval;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut last_seen = Instant::now();
    let mut queued: u64 = 0;
    let mut limits = ConnLimits::new(
        shared.config.rate_messages,
        shared.config.rate_bytes,
        shared.config.max_message_size,
        Instant::now(),
    );
    // Access never outlives its token. Boxed, and only with a token: every
    // byte inline here is paid by each idle connection.
    let mut token_expired = opts.expires.map(|exp| {
        let left = exp.saturating_sub(weft_core::time::unix_secs());
        Box::pin(tokio::time::sleep(Duration::from_secs(left)))
    });
    let mut acked: u64 = 0;
    let mut told_failing = false;
    let mut created = false;
    loop {
        let unacked = queued - ctl.durable.load(Ordering::SeqCst).min(queued);
        tokio::select! {
            biased;
            _ = ctl.closed() => {
                // Shutdown cancels the token without a code; the first
                // close wins, so an earlier reason is kept.
                if shared.shutdown.is_cancelled() {
                    ctl.close(close::GOING_AWAY, "server shutting down");
                }
                break;
            }
            _ = async { token_expired.as_mut().expect("guarded").await }, if token_expired.is_some() => {
                tracing::info!("token expired; closing");
                ctl.close(close::TOKEN_EXPIRED, "token expired");
                break;
            }
            _ = ctl.acked.notified() => {
                if !opts.ack {
                    continue;
                }
                let durable = ctl.durable.load(Ordering::SeqCst);
                if durable > acked {
                    acked = durable;
                    if tx.send(Message::Binary(protocol::ack(durable))).await.is_err() {
                        break;
                    }
                }
                // Tell the client why its updates wait, and when they stop.
                let failing = lease.room.unsaved();
                if failing.is_some() != told_failing {
                    told_failing = failing.is_some();
                    let reason = failing.map(|e| e.to_string());
                    if tx.send(Message::Binary(protocol::store_notice(reason.as_deref()))).await.is_err() {
                        break;
                    }
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > ping_every * 2 {
                    tracing::debug!("keepalive timeout");
                    ctl.close(close::NORMAL, "keepalive timeout");
                    break;
                }
                if tx.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            frame = stream.next(), if unacked < MAX_UNACKED => {
                let frame = match frame {
                    None => break,
                    Some(Ok(frame)) => frame,
                    Some(Err(WsError::Capacity(e))) => {
                        tracing::warn!(error = %e, "message too big");
                        shared.metrics.protocol_errors.inc();
                        ctl.close(close::TOO_BIG, "message too big");
                        break;
                    }
                    Some(Err(WsError::Io(e))) if deflate_error(&e).is_some() => {
                        let e = deflate_error(&e).expect("guarded");
                        tracing::warn!(error = %e, "bad compressed frame");
                        shared.metrics.protocol_errors.inc();
                        ctl.close(e.close_code(), &e.to_string());
                        break;
                    }
                    Some(Err(WsError::Protocol(e))) => {
                        tracing::debug!(error = %e, "protocol violation");
                        shared.metrics.protocol_errors.inc();
                        ctl.close(close::PROTOCOL_ERROR, "protocol error");
                        break;
                    }
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "socket error");
                        break;
                    }
                };
                last_seen = Instant::now();
                if !limits.allow(frame.len(), last_seen) {
                    tracing::warn!("rate limit exceeded");
                    shared.metrics.protocol_errors.inc();
                    ctl.close(close::POLICY, "rate limit exceeded");
                    break;
                }
                match frame {
                    Message::Binary(bytes) => {
                        shared.metrics.bytes_in.inc_by(bytes.len() as u64);
                        // Checked before applying, so a refused frame leaves nothing behind.
                        if !created
                            && opts.access == Access::Write
                            && lease.room.is_empty()
                            && protocol::carries_content(&bytes)
                        {
                            if !shared.creations.allow(&opts.creator) {
                                tracing::warn!(creator = %opts.creator, "new-document limit reached");
                                shared.metrics.reject("new_docs");
                                ctl.close(close::POLICY, "too many new documents; try again later");
                                break;
                            }
                            created = true;
                        }
                        match lease.room.receive(conn, &bytes, &opts.access, &ctl) {
                            Ok((replies, updates)) => {
                                queued += updates;
                                for reply in replies {
                                    if tx.send(Message::Binary(reply)).await.is_err() {
                                        break;
                                    }
                                }
                            }
                            Err(e) => {
                                refuse(&shared.metrics, &ctl, &e);
                                break;
                            }
                        }
                    }
                    Message::Text(_) => {
                        shared.metrics.protocol_errors.inc();
                        ctl.close(close::UNSUPPORTED_DATA, "binary y-protocols messages only");
                        break;
                    }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
            }
        }
    }

    lease.room.disconnect(conn);
    shared.rooms.release(lease);
    // Stops the writer if nothing else did; it sends the close frame.
    ctl.close(close::NORMAL, "");
    tx.close();
    if tokio::time::timeout(Duration::from_secs(2), writer)
        .await
        .is_err()
    {
        tracing::debug!("writer did not finish; dropping the socket");
    }
    shared.metrics.connections.dec();
    tracing::debug!("disconnected");
}

/// The permessage-deflate error behind a read error, if that is what it is.
fn deflate_error(e: &std::io::Error) -> Option<&DeflateError> {
    e.get_ref()?.downcast_ref::<DeflateError>()
}

fn refuse(metrics: &Metrics, ctl: &ConnControl, e: &ProtocolError) {
    tracing::warn!(error = %e, "refusing frame");
    metrics.protocol_errors.inc();
    ctl.close(e.close_code(), &e.to_string());
}

fn close_frame(code: u16, reason: &str) -> CloseFrame {
    // Close reasons are capped at 123 bytes by the WebSocket spec.
    let mut reason = reason.to_owned();
    while reason.len() > 123 {
        reason.pop();
    }
    CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }
}

/// Drains the queue into the socket. Every idle connection carries this
/// task, so it waits on one thing (the queue) and holds no message across a
/// wait; whoever closes the connection also closes the queue, which wakes it.
/// Not an `async fn`: that would keep its arguments inline twice.
#[allow(clippy::manual_async_fn)]
fn write_loop<Si>(
    mut sink: Si,
    rx: Arc<Outbox>,
    ctl: Arc<ConnControl>,
    metrics: Arc<Metrics>,
) -> impl std::future::Future<Output = ()> + Send
where
    Si: futures_util::Sink<Message, Error = WsError> + Unpin + Send,
{
    async move {
        'outer: while rx.ready().await {
            // Closing drops what is queued: the client resyncs on reconnect.
            if ctl.is_closed() {
                break;
            }
            // Write everything already queued, then flush once.
            loop {
                if std::future::poll_fn(|cx| sink.poll_ready_unpin(cx))
                    .await
                    .is_err()
                {
                    break 'outer;
                }
                let Some(msg) = rx.try_recv() else { break };
                metrics.bytes_out.inc_by(msg.len() as u64);
                if sink.start_send_unpin(msg).is_err() {
                    break 'outer;
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
            rx.trim();
        }
        // Senders see the writer is gone (the room drops this peer).
        rx.close();
        // Boxed: only needed at the end, and it would otherwise make every
        // idle connection's writer larger.
        Box::pin(say_goodbye(sink, &ctl)).await;
    }
}

async fn say_goodbye<Si>(mut sink: Si, ctl: &ConnControl)
where
    Si: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    if let Some((code, reason)) = ctl.close_frame() {
        let frame = close_frame(code, &reason);
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}
