//! A load client that speaks each server's framing: y-websocket's (one doc
//! per socket, plain y-protocols) or Hocuspocus' (the doc name before every
//! message, an auth message first). Edits carry a marker,
//! `@@<sender>:<seq>#`, that survives any server's re-encoding (Yjs stores
//! inserted strings verbatim), so receivers time deliveries by scanning
//! bytes instead of decoding every update.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use weft_core::deflate::{self, DeflateStream};
use weft_core::protocol;
use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

/// `WEFT_BENCH_DEFLATE=1`: clients offer permessage-deflate, as browsers do.
fn offers_deflate() -> bool {
    std::env::var("WEFT_BENCH_DEFLATE").is_ok_and(|v| v == "1")
}

/// Opens a WebSocket (plain `ws://`, no size limits), offering
/// permessage-deflate when asked to.
async fn open(
    url: &str,
) -> Result<tokio_tungstenite::WebSocketStream<DeflateStream<tokio::net::TcpStream>>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let mut request = url.into_client_request()?;
    // Every client names an address of its own, as clients spread over many
    // machines would; weft-server trusts it from loopback
    // (`--trusted-proxy 127.0.0.1`), the peers ignore it. Without it, every
    // client shares one IP and weft's per-IP connect limit refuses the crowd.
    request
        .headers_mut()
        .insert("x-forwarded-for", spread_address().parse()?);
    let deflate = offers_deflate();
    if deflate {
        request
            .headers_mut()
            .insert("sec-websocket-extensions", deflate::offer().parse()?);
    }
    let host = request.uri().host().context("no host")?.to_owned();
    let port = request.uri().port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    tcp.set_nodelay(true)?;
    let (mut ws, response) = tokio_tungstenite::client_async_with_config(
        request,
        DeflateStream::client(tcp),
        Some(config),
    )
    .await?;
    let answer = response
        .headers()
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok());
    let agreed = deflate::accept(answer)?;
    ws.get_mut().negotiated(agreed, 1024, usize::MAX)?;
    Ok(ws)
}

/// The next address in 10.0.0.0/8, one per connection.
fn spread_address() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % (1 << 24);
    format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255)
}

/// How a server frames y-protocols messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// y-websocket: the doc is in the URL; messages are bare.
    Plain,
    /// Hocuspocus: every message starts with the doc name.
    Hocus(String),
}

impl Framing {
    fn wrap(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Framing::Plain => msg.to_vec(),
            Framing::Hocus(name) => {
                let mut out = Vec::with_capacity(msg.len() + name.len() + 2);
                out.write_string(name);
                out.extend_from_slice(msg);
                out
            }
        }
    }

    /// The y-protocols message inside a frame.
    fn unwrap<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            Framing::Plain => Some(frame),
            Framing::Hocus(_) => {
                let mut c = Cursor::new(frame);
                c.read_string().ok()?;
                Some(&frame[c.next..])
            }
        }
    }

    /// Hocuspocus' auth message (token type, empty token), sent first.
    fn hello(&self) -> Option<Vec<u8>> {
        let Framing::Hocus(name) = self else {
            return None;
        };
        let mut out = Vec::new();
        out.write_string(name);
        out.write_var(2u32); // MessageType.Auth
        out.write_var(0u32); // AuthMessageType.Token
        out.write_string("");
        Some(out)
    }
}

/// True if the message is a sync step 2 (Hocuspocus also replies with its
/// SyncReply type, 4).
fn is_step2(msg: &[u8]) -> bool {
    let mut c = Cursor::new(msg);
    matches!(c.read_var::<u32>(), Ok(0 | 4)) && matches!(c.read_var::<u32>(), Ok(1))
}

/// Where the run's clock started and when each edit was scheduled (ns).
#[derive(Debug)]
pub struct Clock {
    /// Time zero.
    pub start: Instant,
    /// Scheduled send time of edit `seq`, in ns since `start` (0: unused).
    pub sent: Vec<AtomicU64>,
}

impl Clock {
    /// Room for `edits` edits.
    pub fn new(edits: usize) -> Arc<Self> {
        Arc::new(Clock {
            start: Instant::now(),
            sent: (0..edits).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// Nanoseconds since time zero.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// What a client's reader reports.
#[derive(Debug, Default)]
pub struct Received {
    /// Latencies of edits from other clients, in microseconds.
    pub latency: Option<Histogram<u64>>,
    /// Edits received from others.
    pub count: u64,
}

/// One connected client.
pub struct LoadClient {
    /// Its index (the marker's sender field).
    pub index: u32,
    doc: Doc,
    framing: Framing,
    out: mpsc::UnboundedSender<Message>,
    /// Becomes the size of the server's sync step 2 once it arrived.
    pub synced: watch::Receiver<usize>,
    reader: tokio::task::JoinHandle<Received>,
}

impl LoadClient {
    /// Connects and sends the handshake. `clock`, if given, makes the
    /// reader time marked edits from other clients.
    pub async fn connect(
        url: &str,
        framing: Framing,
        index: u32,
        clock: Option<Arc<Clock>>,
    ) -> Result<Self> {
        let ws = open(url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let (sink, stream) = ws.split();
        let (out, rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(write_loop(sink, rx));
        let (synced_tx, synced) = watch::channel(0usize);
        let reader_framing = framing.clone();
        let reader = tokio::spawn(read_loop(stream, reader_framing, synced_tx, clock, index));
        let doc = Doc::with_client_id(u64::from(index) + 1000);
        let client = LoadClient {
            index,
            doc,
            framing,
            out,
            synced,
            reader,
        };
        if let Some(hello) = client.framing.hello() {
            client.send_raw(hello)?;
        }
        let step1 = protocol::step1(StateVector::default());
        client.send_raw(client.framing.wrap(&step1))?;
        Ok(client)
    }

    fn send_raw(&self, frame: Vec<u8>) -> Result<()> {
        self.out
            .send(Message::Binary(Bytes::from(frame)))
            .map_err(|_| anyhow::anyhow!("connection closed"))
    }

    /// For servers that never answer step 1 (the baseline).
    pub fn assume_synced(&mut self) {
        let (tx, rx) = watch::channel(1usize);
        drop(tx);
        self.synced = rx;
    }

    /// Waits for the server's sync step 2; returns its size in bytes.
    pub async fn wait_synced(&mut self, timeout: Duration) -> Result<usize> {
        let len = tokio::time::timeout(timeout, self.synced.wait_for(|s| *s > 0))
            .await
            .context("no sync step 2")??;
        Ok(*len)
    }

    /// Inserts a marked edit (`seq` in the run's clock) and sends it.
    pub fn edit(&self, seq: u64) -> Result<()> {
        let update = self.local_edit(&format!("@@{}:{}#", self.index, seq));
        self.send_raw(self.framing.wrap(&protocol::update(update)))
    }

    /// Appends `text` (typing at the end of what this client wrote) and
    /// returns the update, without sending it.
    fn local_edit(&self, text: &str) -> Vec<u8> {
        let t = self.doc.get_or_insert_text("t");
        let mut txn = self.doc.transact_mut();
        let end = t.len(&txn);
        t.insert(&mut txn, end, text);
        txn.encode_update_v1()
    }

    /// Sends a whole document state as one update.
    pub fn send_update(&self, update: Vec<u8>) -> Result<()> {
        self.send_raw(self.framing.wrap(&protocol::update(update)))
    }

    /// Inserts and sends plain text (no marker).
    pub fn write(&self, text: &str) -> Result<()> {
        let update = self.local_edit(text);
        self.send_update(update)
    }

    /// Closes the socket and returns what the reader saw.
    pub async fn close(self) -> Result<Received> {
        let _ = self.out.send(Message::Close(None));
        drop(self.out);
        match tokio::time::timeout(Duration::from_secs(5), self.reader).await {
            Ok(r) => Ok(r?),
            Err(_) => bail!("reader did not finish"),
        }
    }

    /// The local doc's state (what this client wrote).
    pub fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }
}

/// `<sender>:<seq>#` after the `@@`.
fn parse_marker(b: &[u8]) -> Option<(u32, u64)> {
    let colon = b.iter().take(11).position(|&c| c == b':')?;
    let hash = b[colon + 1..].iter().take(21).position(|&c| c == b'#')?;
    let sender = std::str::from_utf8(&b[..colon]).ok()?.parse().ok()?;
    let seq = std::str::from_utf8(&b[colon + 1..colon + 1 + hash])
        .ok()?
        .parse()
        .ok()?;
    Some((sender, seq))
}

/// Sends what is queued, flushing once per burst.
async fn write_loop<S>(mut sink: S, mut rx: mpsc::UnboundedReceiver<Message>)
where
    S: futures_util::Sink<Message> + Unpin,
{
    while let Some(m) = rx.recv().await {
        let mut batch = vec![m];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        for m in batch {
            if sink.feed(m).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// Reads until the connection ends: notes the first step 2 (synced) and,
/// with a clock, the latency of every other client's marked edit.
async fn read_loop<St>(
    mut stream: St,
    reader_framing: Framing,
    synced_tx: watch::Sender<usize>,
    clock: Option<Arc<Clock>>,
    index: u32,
) -> Received
where
    St: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut got = Received {
        latency: clock
            .as_ref()
            .map(|_| Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()),
        count: 0,
    };
    let finder = memchr::memmem::Finder::new(b"@@");
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Binary(frame) = msg else {
            continue;
        };
        let Some(inner) = reader_framing.unwrap(&frame) else {
            continue;
        };
        if *synced_tx.borrow() == 0 && is_step2(inner) {
            let _ = synced_tx.send(inner.len());
        }
        let Some(clock) = &clock else { continue };
        let now = clock.now();
        for at in finder.find_iter(inner) {
            let Some((sender, seq)) = parse_marker(&inner[at + 2..]) else {
                continue;
            };
            if sender == index {
                continue;
            }
            let sent = clock
                .sent
                .get(seq as usize)
                .map(|s| s.load(Ordering::Relaxed));
            if let (Some(sent), Some(h)) = (sent, got.latency.as_mut()) {
                if sent > 0 {
                    let us = now.saturating_sub(sent) / 1000;
                    let _ = h.record(us.max(1));
                    got.count += 1;
                }
            }
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_survive_in_encoded_updates_and_parse() {
        let doc = Doc::with_client_id(7);
        let t = doc.get_or_insert_text("t");
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, 0, "@@12:345#");
        let update = txn.encode_update_v1();
        let at = memchr::memmem::find(&update, b"@@").unwrap();
        assert_eq!(parse_marker(&update[at + 2..]), Some((12, 345)));
        assert_eq!(parse_marker(b"x:1#"), None);
    }

    #[test]
    fn hocuspocus_framing_round_trips() {
        let f = Framing::Hocus("doc-1".into());
        let step2 = protocol::step2(vec![0, 0]);
        let framed = f.wrap(&step2);
        assert!(is_step2(f.unwrap(&framed).unwrap()));
        assert!(!is_step2(&protocol::step1(StateVector::default())));
    }
}
