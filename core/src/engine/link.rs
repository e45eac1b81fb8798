//! A session's network link: connects, reconnects with capped, fully
//! jittered backoff, and runs each connection: the server's frames go
//! through the [`ClientSession`](crate::client::ClientSession), local edits
//! and awareness go out. The session's API is in `session.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use yrs::{Doc, ReadTxn, Transact};

use super::dial::{self, Ws};
use super::shared::{Event, Inner, Out, Status};
use super::{DocUrl, EngineError};
use crate::backoff::Backoff;
use crate::client::ClientEvent;
use crate::protocol::{self, ACK_HEADER};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The server pings every 30 s; this much silence means the link is dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);

type Sink = SplitSink<Ws, Message>;

/// A connection timed out, or the server fell silent: an
/// [`EngineError::Unreachable`] with these words as its cause.
fn unreachable(why: &str) -> EngineError {
    EngineError::unreachable(std::io::Error::new(std::io::ErrorKind::TimedOut, why))
}

/// Full jitter: uniform in `[0, ceiling]`, so clients dropped by one server
/// restart spread their returns out.
fn jittered(ceiling: Duration) -> Duration {
    Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64))
}

/// Drains local messages while not connected; true once asked to close.
/// Updates need no resending: the next handshake carries them.
async fn closed_while(
    rx: &mut mpsc::UnboundedReceiver<Out>,
    wait: impl std::future::Future<Output = ()>,
) -> bool {
    tokio::pin!(wait);
    loop {
        tokio::select! {
            _ = &mut wait => return false,
            m = rx.recv() => match m {
                None | Some(Out::Close) => return true,
                Some(_) => {}
            },
        }
    }
}

/// Connects and reconnects until the session closes.
pub(super) async fn run(
    inner: Arc<Inner>,
    mut rx: mpsc::UnboundedReceiver<Out>,
    max_backoff: Duration,
) {
    let mut backoff = Backoff::new(Duration::from_millis(250), max_backoff);
    loop {
        inner.set_status(Status::Connecting);
        let url = inner.url.connect_url();
        let mut connected = None;
        let attempt = async {
            connected =
                Some(tokio::time::timeout(CONNECT_TIMEOUT, dial::websocket(url.as_str())).await);
        };
        if closed_while(&mut rx, attempt).await {
            break;
        }
        match connected {
            Some(Ok(Ok((ws, response)))) => {
                let acks = response.headers().contains_key(ACK_HEADER);
                inner.acks.store(acks, Ordering::SeqCst);
                let (closing, synced) = connection(&inner, ws, &mut rx).await;
                if closing {
                    break;
                }
                if synced {
                    backoff.reset();
                }
            }
            Some(Ok(Err(WsError::Http(response)))) if refused(&inner, &response) => {
                // Retrying cannot help: wait to be closed.
                let _ = closed_while(&mut rx, std::future::pending()).await;
                break;
            }
            Some(Ok(Err(WsError::Http(_)))) => {}
            Some(Ok(Err(e))) => inner.error(EngineError::unreachable(e)),
            Some(Err(_)) => inner.error(unreachable("connection timed out")),
            None => {}
        }
        inner.forget_others();
        inner.set_status(Status::Offline);
        if closed_while(&mut rx, tokio::time::sleep(jittered(backoff.next_delay()))).await {
            break;
        }
    }
    inner.set_status(Status::Offline);
}

/// Reports a refused upgrade; true if retrying cannot help (a 4xx but 429).
fn refused(
    inner: &Inner,
    response: &tokio_tungstenite::tungstenite::http::Response<Option<Vec<u8>>>,
) -> bool {
    let status = response.status().as_u16();
    let message = response
        .body()
        .as_ref()
        .map(|b| String::from_utf8_lossy(b).trim().to_owned())
        .unwrap_or_default();
    let e = EngineError::Rejected { status, message };
    inner.error(e.clone());
    let fatal = (400..500).contains(&status) && status != 429;
    if fatal {
        *inner.fatal.lock().unwrap() = Some(e);
        inner.set_status(Status::Offline);
    }
    fatal
}

/// How a connection goes on after one event.
enum Flow {
    Continue,
    /// The connection is lost; reconnect.
    Lost,
    /// The session is closing.
    Closing,
}

/// One connection's state beside the protocol's.
struct Conn<'a> {
    inner: &'a Arc<Inner>,
    sink: Sink,
    synced: bool,
}

/// Runs one connection. Returns (asked to close, reached Synced).
async fn connection(
    inner: &Arc<Inner>,
    ws: Ws,
    rx: &mut mpsc::UnboundedReceiver<Out>,
) -> (bool, bool) {
    let (sink, mut stream) = ws.split();
    let mut conn = Conn {
        inner,
        sink,
        synced: false,
    };
    let mut first = inner.proto.lock().unwrap().open();
    first.extend(inner.relayed_frame());
    if conn.send_all(first).await.is_err() {
        return (false, false);
    }
    inner.set_status(Status::Syncing);
    // A new connection: the server says again if it still cannot save.
    inner.set_cannot_save(None);
    let mut last_heard = tokio::time::Instant::now();
    let mut watchdog = tokio::time::interval(Duration::from_secs(15));
    loop {
        let flow = tokio::select! {
            msg = stream.next() => {
                last_heard = tokio::time::Instant::now();
                conn.on_message(msg).await
            }
            out = rx.recv() => conn.on_local(out).await,
            _ = watchdog.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    inner.error(unreachable("the server went silent"));
                    Flow::Lost
                } else {
                    Flow::Continue
                }
            }
        };
        match flow {
            Flow::Continue => {}
            Flow::Lost => return (false, conn.synced),
            Flow::Closing => return (true, conn.synced),
        }
    }
}

impl Conn<'_> {
    async fn send_all(&mut self, frames: impl IntoIterator<Item = Bytes>) -> Result<(), WsError> {
        for f in frames {
            self.sink.send(Message::Binary(f)).await?;
        }
        Ok(())
    }

    /// A message from the server (or the end of the stream).
    async fn on_message(&mut self, msg: Option<Result<Message, WsError>>) -> Flow {
        let bytes = match msg {
            Some(Ok(Message::Binary(b))) => b,
            Some(Ok(Message::Close(frame))) => {
                if let Some(f) = frame {
                    tracing::debug!(code = u16::from(f.code), reason = %f.reason, "server closed the connection");
                }
                return Flow::Lost;
            }
            Some(Ok(_)) => return Flow::Continue,
            Some(Err(e)) => {
                self.inner.error(EngineError::unreachable(e));
                return Flow::Lost;
            }
            None => return Flow::Lost,
        };
        let unsaved = self.inner.pending.load(Ordering::SeqCst);
        let result = self.inner.proto.lock().unwrap().receive(&bytes, unsaved);
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                self.inner.error(e.into());
                return Flow::Lost;
            }
        };
        if self.send_all(out.reply).await.is_err() {
            return Flow::Lost;
        }
        for ev in out.events {
            self.on_event(ev);
        }
        Flow::Continue
    }

    fn on_event(&mut self, ev: ClientEvent) {
        let inner = self.inner;
        match ev {
            ClientEvent::Synced => {
                self.synced = true;
                inner.set_status(Status::Synced);
            }
            // Remote updates are announced by the doc observer.
            ClientEvent::Updated | ClientEvent::Acked(_) => {}
            ClientEvent::Awareness(update) => {
                let _ = inner.events.send(Event::Awareness(Bytes::from(update)));
            }
            ClientEvent::Saved(edits) => inner.mark_saved(edits),
            ClientEvent::Uncounted(edits) => {
                inner.pending.fetch_add(edits, Ordering::SeqCst);
                inner.publish_counts();
            }
            ClientEvent::Denied(reason) => inner.error(EngineError::Denied(reason)),
            ClientEvent::StoreNotice(reason) => inner.set_cannot_save(reason),
        }
    }

    /// Something the session asked to send.
    async fn on_local(&mut self, out: Option<Out>) -> Flow {
        let inner = self.inner;
        let frames: Vec<Bytes> = match out {
            Some(Out::Update(update)) => {
                let mut p = inner.proto.lock().unwrap();
                if !p.step2_sent() {
                    return Flow::Continue; // the step 2 will carry it
                }
                vec![p.local_update(update.to_vec())]
            }
            Some(Out::Awareness) => {
                let own = inner.proto.lock().unwrap().local_awareness();
                own.into_iter().chain(inner.relayed_frame()).collect()
            }
            Some(Out::Close) | None => {
                let bye = inner.proto.lock().unwrap().leave_awareness();
                let _ = self.send_all(bye).await;
                let _ = tokio::time::timeout(Duration::from_secs(1), self.sink.close()).await;
                return Flow::Closing;
            }
        };
        match self.send_all(frames).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Lost,
        }
    }
}

/// Asks the server for its state vector over a fresh connection (it sends
/// its step 1 first) and checks it holds everything `doc` has.
pub(super) async fn server_has(url: &DocUrl, doc: &Doc) -> Result<bool, EngineError> {
    let plain = format!("{}://{}/{}", url.scheme, url.authority, url.doc)
        + &url
            .token
            .as_ref()
            .map(|t| format!("?token={t}"))
            .unwrap_or_default();
    let (mut ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, dial::websocket(plain.as_str()))
        .await
        .map_err(|_| unreachable("connection timed out"))?
        .map_err(EngineError::unreachable)?;
    let local = doc.transact().state_vector();
    let result = async {
        while let Some(msg) = ws.next().await {
            let Message::Binary(b) = msg.map_err(EngineError::unreachable)? else {
                continue;
            };
            for m in protocol::decode_frame(&b)? {
                if let protocol::Incoming::Known(yrs::sync::Message::Sync(
                    yrs::sync::SyncMessage::SyncStep1(sv),
                )) = m
                {
                    return Ok(local.iter().all(|(client, clock)| sv.get(client) >= *clock));
                }
            }
        }
        Err(unreachable("connection closed before the handshake"))
    };
    let r = tokio::time::timeout(CONNECT_TIMEOUT, result)
        .await
        .unwrap_or_else(|_| {
            Err(EngineError::Timeout(
                "waiting for the server's state".into(),
            ))
        });
    let _ = ws.close(None).await;
    r
}
