//! Cluster mode: several nodes on one PostgreSQL behave as one server by
//! exchanging every update and presence message through Redis Streams.
//!
//! - **One stream per doc** (`weft:doc:<id>`). A node appends an update only
//!   after PostgreSQL committed it, so every entry is already durable; the
//!   stream is only the fan-out, trimmed to the last minute on each append
//!   and expired ten minutes after the doc goes quiet.
//! - **Joining** a doc: read the stream's last id *first*, then load from
//!   PostgreSQL, then read the stream after that id. An update committed
//!   before the id was taken is in the load (commit precedes append); one
//!   appended after it is read. Nothing falls in between.
//! - **Redis lost**: entries that could not be appended wait in order and are
//!   retried; when the reader reconnects it re-does the join for every doc it
//!   has open (load, merge what is missing), since the stream may have lost
//!   entries meanwhile.
//! - **Presence**: awareness messages go through the stream too. Each node
//!   renews a heartbeat in a shared set; when another node's goes stale (it
//!   died), the presence its clients had is removed here and the removal is
//!   sent to local clients, so no ghost cursors remain. A node that opens a doc asks
//!   the others (an awareness query on the stream) for their clients' states.
//! - **A node dies**: the others notice its heartbeat stop, clear its
//!   clients' presence and re-join their open docs from PostgreSQL, which
//!   holds whatever it committed but did not live to append.
//!
//! Delivery is at least once (Yjs updates are idempotent), in append order
//! per doc.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadReply};
use redis::AsyncConnectionConfig;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use weft_core::doc_id::DocId;
use weft_core::room::ConnId;

use crate::documents::peers::{Peers, TailFuture};
use crate::documents::rooms::Rooms;
use crate::ops::metrics::Metrics;

/// Entries older than this are trimmed when a doc's stream is appended to.
/// Readers are normally milliseconds behind; a joiner needs only what comes
/// after the id it took.
const RETAIN: Duration = Duration::from_secs(60);
/// A stream nobody appends to disappears after this.
const EXPIRE: Duration = Duration::from_secs(600);
/// The sorted set of nodes, scored by their last heartbeat.
const NODES: &str = "weft:nodes";
/// How often a node renews its heartbeat, and how old one may be.
const HEARTBEAT: Duration = Duration::from_secs(2);
const HEARTBEAT_TTL: Duration = Duration::from_secs(6);
/// A stale presence message is not worth sending after an outage.
const AWARENESS_STALE: Duration = Duration::from_secs(10);
/// How long one XREAD waits for entries.
const BLOCK_MS: u64 = 2000;
/// How long it waits while a re-join is owed (its reload failed, e.g.
/// PostgreSQL was down): the re-join is retried after each read, and until
/// it succeeds this node shows none of that doc's updates from the others.
/// With the full block, a node lagged up to 2 s behind after PostgreSQL
/// came back (found by weft-torture's crash-cluster campaign).
const REJOIN_RETRY_MS: u64 = 100;

/// The XREAD block: short while any doc still needs its re-join.
fn block_ms(rejoin_owed: bool) -> u64 {
    if rejoin_owed {
        REJOIN_RETRY_MS
    } else {
        BLOCK_MS
    }
}

pub use crate::documents::peers::REMOTE;

/// Why cluster mode could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis refused, timed out or answered something unexpected.
    #[error("redis ({url}): {source}")]
    Redis {
        /// The Redis URL, without a password.
        url: String,
        /// What the client said.
        source: redis::RedisError,
    },
}

enum Out {
    Entry {
        doc: DocId,
        frame: Bytes,
        awareness: bool,
        at: Instant,
    },
    /// Unblocks this node's reader so it picks up a new subscription.
    Wake,
    /// Answered once everything queued before it was appended.
    Flush(oneshot::Sender<()>),
}

/// A doc this node reads: the last entry id seen, or `None` when it must
/// re-join (after Redis was unreachable).
type Subs = HashMap<DocId, Option<String>>;

/// This node's link to the others.
pub struct Cluster {
    node: String,
    client: redis::Client,
    url: String,
    out: mpsc::UnboundedSender<Out>,
    out_rx: Mutex<Option<mpsc::UnboundedReceiver<Out>>>,
    subs: Mutex<Subs>,
    /// Other nodes whose clients' presence we hold, and on which docs.
    remote: Mutex<HashMap<String, HashSet<DocId>>>,
    cmd: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
}

/// What rooms call; see [`Peers`]. Behind `Arc` because the tail's future
/// outlives the call.
impl Peers for Arc<Cluster> {
    fn publish(&self, doc: &DocId, frame: Bytes) {
        Cluster::publish(self, doc, frame)
    }

    fn subscribe(&self, doc: &DocId, after: Option<String>) {
        Cluster::subscribe(self, doc, after)
    }

    fn unsubscribe(&self, doc: &DocId) {
        Cluster::unsubscribe(self, doc)
    }

    fn tail(&self, doc: &DocId) -> TailFuture {
        Box::pin(self.clone().tail_or_rejoin(doc.clone()))
    }
}

fn stream_key(doc: &DocId) -> String {
    format!("weft:doc:{doc}")
}

/// The connection id that stands for `node`'s clients in a room.
pub fn node_conn(node: &str) -> ConnId {
    // FNV-1a: stable across processes, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    REMOTE | (h & (REMOTE - 1))
}

use weft_core::backoff::Backoff;
use weft_core::protocol::{is_awareness, is_awareness_query};
use weft_core::time::unix_millis as now_ms;

impl Cluster {
    /// Connects to Redis (failing fast if it is unreachable) and picks a
    /// random node id. Call [`Cluster::start`] once rooms exist.
    pub async fn connect(url: &str, metrics: Arc<Metrics>) -> Result<Arc<Self>, ClusterError> {
        let shown = crate::store::postgres::redact(url);
        let err = |source| ClusterError::Redis {
            url: shown.clone(),
            source,
        };
        let client = redis::Client::open(url).map_err(err)?;
        let (out, out_rx) = mpsc::unbounded_channel();
        let cluster = Arc::new(Cluster {
            node: format!("{:016x}", rand::random::<u64>()),
            client,
            url: shown.clone(),
            out,
            out_rx: Mutex::new(Some(out_rx)),
            subs: Mutex::new(HashMap::new()),
            remote: Mutex::new(HashMap::new()),
            cmd: tokio::sync::Mutex::new(None),
            metrics,
            stop: CancellationToken::new(),
        });
        cluster.check().await?;
        Ok(cluster)
    }

    /// This node's id, as other nodes see it.
    pub fn node(&self) -> &str {
        &self.node
    }

    async fn open(&self, timeout: Duration) -> Result<MultiplexedConnection, ClusterError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(timeout));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|source| self.error(source))
    }

    fn error(&self, source: redis::RedisError) -> ClusterError {
        self.metrics.stream_errors.inc();
        ClusterError::Redis {
            url: self.url.clone(),
            source,
        }
    }

    /// Runs `f` on the shared command connection; a broken connection is
    /// dropped, and the next call opens a new one.
    async fn with_conn<T>(
        &self,
        f: impl AsyncFnOnce(&mut MultiplexedConnection) -> redis::RedisResult<T>,
    ) -> Result<T, ClusterError> {
        let mut slot = self.cmd.lock().await;
        let mut conn = match slot.take() {
            Some(c) => c,
            None => self.open(Duration::from_secs(5)).await?,
        };
        match f(&mut conn).await {
            Ok(v) => {
                *slot = Some(conn);
                Ok(v)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// One command on the shared command connection.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, ClusterError> {
        self.with_conn(async |c| cmd.query_async(c).await).await
    }

    /// A pipeline on the shared command connection.
    async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, ClusterError> {
        self.with_conn(async |c| pipe.query_async(c).await).await
    }

    /// Succeeds while Redis answers.
    pub async fn check(&self) -> Result<(), ClusterError> {
        self.query::<String>(&redis::cmd("PING")).await.map(|_| ())
    }

    /// The id of the last entry in `doc`'s stream ("0-0" if none): what a
    /// joiner reads after, taken before it loads from the store.
    pub async fn tail(&self, doc: &DocId) -> Result<String, ClusterError> {
        let reply: StreamRangeReply = self
            .query(
                redis::cmd("XREVRANGE")
                    .arg(stream_key(doc))
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1),
            )
            .await?;
        Ok(reply
            .ids
            .first()
            .map(|e| e.id.clone())
            .unwrap_or_else(|| "0-0".into()))
    }

    /// Starts reading `doc`'s stream after `after`; `None` means the tail
    /// could not be taken, so the reader re-joins it (reload and merge).
    pub fn subscribe(&self, doc: &DocId, after: Option<String>) {
        let mut subs = self.subs.lock().unwrap();
        if subs.insert(doc.clone(), after).is_none() {
            self.metrics.stream_subscriptions.inc();
        }
        drop(subs);
        let _ = self.out.send(Out::Wake);
        // Ask the other nodes who is there.
        self.publish(doc, protocol_query());
    }

    /// Stops reading `doc`'s stream (it was unloaded).
    pub fn unsubscribe(&self, doc: &DocId) {
        if self.subs.lock().unwrap().remove(doc).is_some() {
            self.metrics.stream_subscriptions.dec();
        }
    }

    /// Queues `frame` (an update already committed, or a presence message)
    /// for the other nodes.
    pub fn publish(&self, doc: &DocId, frame: Bytes) {
        self.metrics.stream_backlog.inc();
        let _ = self.out.send(Out::Entry {
            doc: doc.clone(),
            awareness: is_awareness(&frame),
            frame,
            at: Instant::now(),
        });
    }

    /// The stream's tail, or `None` (logged) if Redis did not answer.
    async fn tail_or_rejoin(self: Arc<Self>, doc: DocId) -> Option<String> {
        Cluster::tail(&self, &doc)
            .await
            .inspect_err(|e| {
                tracing::warn!(doc = %doc, error = %e, "cluster: no stream tail; will re-join");
            })
            .ok()
    }

    /// Starts the publisher, the reader and the heartbeat.
    pub fn start(self: &Arc<Self>, rooms: Arc<Rooms>) {
        if let Some(rx) = self.out_rx.lock().unwrap().take() {
            tokio::spawn(self.clone().publisher(rx));
            tokio::spawn(self.clone().reader(rooms.clone()));
            tokio::spawn(self.clone().heartbeat(rooms));
        }
    }

    /// Appends what is queued (for at most `timeout`), then stops every task
    /// and removes this node's heartbeat, so its presence is not waited on.
    pub async fn close(&self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.out.send(Out::Flush(tx)).is_ok() && tokio::time::timeout(timeout, rx).await.is_err()
        {
            tracing::warn!("cluster: some entries were not appended before shutdown");
        }
        self.stop.cancel();
        let _ = self
            .query::<i64>(redis::cmd("ZREM").arg(NODES).arg(&self.node))
            .await;
    }

    async fn publisher(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Out>) {
        let mut conn: Option<MultiplexedConnection> = None;
        let mut batch = Vec::new();
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        loop {
            tokio::select! {
                n = rx.recv_many(&mut batch, 1024) => if n == 0 { return },
                _ = self.stop.cancelled() => return,
            }
            let mut flushed = Vec::new();
            loop {
                // After an outage, presence that old only confuses.
                let before = batch.len();
                batch.retain(|o| match o {
                    Out::Entry { awareness, at, .. } => {
                        !*awareness || at.elapsed() < AWARENESS_STALE
                    }
                    _ => true,
                });
                self.metrics
                    .stream_backlog
                    .dec_by((before - batch.len()) as i64);
                for o in batch.iter_mut() {
                    if let Out::Flush(tx) = o {
                        flushed.push(std::mem::replace(tx, oneshot::channel().0));
                    }
                }
                if conn.is_none() {
                    conn = self.open(Duration::from_secs(10)).await.ok();
                }
                let Some(c) = conn.as_mut() else {
                    if self.stop.is_cancelled() {
                        return;
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                };
                match self.append(c, &batch).await {
                    Ok(n) => {
                        self.metrics.stream_published.inc_by(n);
                        self.metrics.stream_backlog.dec_by(n as i64);
                        backoff.reset();
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster: appending to Redis failed; retrying");
                        conn = None;
                        tokio::time::sleep(backoff.next_delay()).await;
                    }
                }
            }
            batch.clear();
            for tx in flushed {
                let _ = tx.send(());
            }
        }
    }

    /// Appends a batch in one pipeline; returns how many entries it held.
    async fn append(
        &self,
        conn: &mut MultiplexedConnection,
        batch: &[Out],
    ) -> Result<u64, ClusterError> {
        let mut pipe = redis::pipe();
        let minid = now_ms().saturating_sub(RETAIN.as_millis() as u64);
        let mut keys = HashSet::new();
        let mut n = 0;
        for o in batch {
            match o {
                Out::Entry { doc, frame, .. } => {
                    let key = stream_key(doc);
                    pipe.cmd("XADD")
                        .arg(&key)
                        .arg("MINID")
                        .arg("~")
                        .arg(minid)
                        .arg("*")
                        .arg("n")
                        .arg(&self.node)
                        .arg("m")
                        .arg(&frame[..])
                        .ignore();
                    keys.insert(key);
                    n += 1;
                }
                Out::Wake => {
                    pipe.cmd("XADD")
                        .arg(format!("weft:wake:{}", self.node))
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(16)
                        .arg("*")
                        .arg("w")
                        .arg(1)
                        .ignore();
                }
                Out::Flush(_) => {}
            }
        }
        for key in keys {
            pipe.cmd("PEXPIRE")
                .arg(key)
                .arg(EXPIRE.as_millis() as u64)
                .ignore();
        }
        pipe.query_async::<()>(conn)
            .await
            .map_err(|e| self.error(e))?;
        Ok(n)
    }

    async fn reader(self: Arc<Self>, rooms: Arc<Rooms>) {
        let wake_key = format!("weft:wake:{}", self.node);
        let mut wake_id = "$".to_owned();
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        let mut first = true;
        loop {
            if self.stop.is_cancelled() {
                return;
            }
            let mut conn = match self
                .open(Duration::from_millis(BLOCK_MS) + Duration::from_secs(5))
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: reader cannot reach Redis; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            if !first {
                // The stream may have lost entries while we were away.
                for after in self.subs.lock().unwrap().values_mut() {
                    *after = None;
                }
                tracing::info!("cluster: reader reconnected; re-joining open documents");
            }
            first = false;
            backoff.reset();
            loop {
                if let Err(e) = self.rejoin(&rooms).await {
                    tracing::warn!(error = %e, "cluster: re-joining failed");
                    break;
                }
                let cmd = self.read_command(&wake_key, &wake_id);
                let reply: Option<StreamReadReply> = tokio::select! {
                    r = cmd.query_async(&mut conn) => match r {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(error = %e, "cluster: reading streams failed; reconnecting");
                            self.metrics.stream_errors.inc();
                            break;
                        }
                    },
                    _ = self.stop.cancelled() => return,
                };
                self.dispatch(&rooms, reply, &wake_key, &mut wake_id);
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    /// One blocking XREAD over this node's wake-up stream and every doc
    /// stream it reads (those it knows where to read from).
    fn read_command(&self, wake_key: &str, wake_id: &str) -> redis::Cmd {
        let (keys, ids, owed): (Vec<_>, Vec<_>, bool) = {
            let subs = self.subs.lock().unwrap();
            let (keys, ids) = subs
                .iter()
                .filter_map(|(doc, after)| Some((doc.clone(), after.clone()?)))
                .unzip();
            (keys, ids, subs.values().any(Option::is_none))
        };
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1000)
            .arg("BLOCK")
            .arg(block_ms(owed))
            .arg("STREAMS")
            .arg(wake_key);
        for doc in &keys {
            cmd.arg(stream_key(doc));
        }
        cmd.arg(wake_id);
        for id in &ids {
            cmd.arg(id);
        }
        cmd
    }

    /// Hands what one XREAD returned to the rooms; a wake-up only moves
    /// its cursor.
    fn dispatch(
        &self,
        rooms: &Rooms,
        reply: Option<StreamReadReply>,
        wake_key: &str,
        wake_id: &mut String,
    ) {
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            if key.key == wake_key {
                if let Some(last) = key.ids.last() {
                    *wake_id = last.id.clone();
                }
                continue;
            }
            let Some(doc) = key
                .key
                .strip_prefix("weft:doc:")
                .and_then(|d| DocId::new(d).ok())
            else {
                continue;
            };
            self.deliver(rooms, &doc, &key.ids);
        }
    }

    /// Applies entries read from `doc`'s stream and advances its cursor.
    fn deliver(&self, rooms: &Rooms, doc: &DocId, entries: &[redis::streams::StreamId]) {
        let Some(last) = entries.last() else { return };
        let Some(room) = rooms.loaded_room(doc) else {
            return;
        };
        {
            let mut subs = self.subs.lock().unwrap();
            match subs.get_mut(doc) {
                // Unsubscribed meanwhile, or waiting to re-join: drop these.
                Some(after @ Some(_)) => *after = Some(last.id.clone()),
                _ => return,
            }
        }
        if let Some(ms) = last
            .id
            .split('-')
            .next()
            .and_then(|m| m.parse::<u64>().ok())
        {
            let lag = now_ms().saturating_sub(ms) as f64 / 1000.0;
            self.metrics.stream_lag.set(lag);
        }
        for entry in entries {
            let (Some(node), Some(frame)) = (entry.get::<String>("n"), entry.get::<Vec<u8>>("m"))
            else {
                continue;
            };
            if node == self.node {
                continue;
            }
            self.metrics.stream_read.inc();
            if is_awareness_query(&frame) {
                if let Some(states) = room.local_awareness() {
                    self.publish(doc, states);
                }
                continue;
            }
            if is_awareness(&frame) {
                self.remote
                    .lock()
                    .unwrap()
                    .entry(node.clone())
                    .or_default()
                    .insert(doc.clone());
            }
            room.receive_remote(node_conn(&node), &frame);
        }
    }

    /// Re-joins docs whose cursor was reset: take the tail, reload from the
    /// store, and merge in whatever this node's copy lacks.
    async fn rejoin(&self, rooms: &Rooms) -> Result<(), ClusterError> {
        let pending: Vec<DocId> = self
            .subs
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, after)| after.is_none())
            .map(|(doc, _)| doc.clone())
            .collect();
        for doc in pending {
            let tail = self.tail(&doc).await?;
            if let Some(room) = rooms.loaded_room(&doc) {
                match rooms.store().load(&doc).await {
                    Ok(stored) => room.catch_up(&stored.updates),
                    Err(e) => {
                        tracing::warn!(doc = %doc, error = %e, "cluster: reload for re-join failed");
                        continue;
                    }
                }
                self.publish(&doc, protocol_query());
            }
            if let Some(after) = self.subs.lock().unwrap().get_mut(&doc) {
                *after = Some(tail);
            }
        }
        Ok(())
    }

    /// Renews this node's entry in the `weft:nodes` set (scored by Redis'
    /// own clock, so node clocks need not agree) and watches the others.
    /// A node whose entry went stale in two checks in a row is dead: its
    /// clients' presence is cleared, and every open doc is re-joined, since
    /// it may have committed updates it never got to append.
    async fn heartbeat(self: Arc<Self>, rooms: Arc<Rooms>) {
        let mut live: HashSet<String> = HashSet::new();
        let mut missed: HashMap<String, u32> = HashMap::new();
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.stop.cancelled() => return,
            }
            let Ok(now) = self.redis_now_ms().await else {
                continue;
            };
            let ttl = HEARTBEAT_TTL.as_millis() as u64;
            let renewed: Result<Vec<String>, _> = self
                .query_pipe(
                    redis::pipe()
                        .cmd("ZADD")
                        .arg(NODES)
                        .arg(now)
                        .arg(&self.node)
                        .ignore()
                        .cmd("ZREMRANGEBYSCORE")
                        .arg(NODES)
                        .arg("-inf")
                        .arg(now.saturating_sub(600_000))
                        .ignore()
                        .cmd("ZRANGE")
                        .arg(NODES)
                        .arg(now.saturating_sub(ttl))
                        .arg("+inf")
                        .arg("BYSCORE"),
                )
                .await
                .map(|(nodes,): (Vec<String>,)| nodes);
            let Ok(now_live) = renewed else { continue };
            let now_live: HashSet<String> = now_live.into_iter().collect();
            let mut dead = Vec::new();
            for node in live.iter().chain(self.remote.lock().unwrap().keys()) {
                if node == &self.node || now_live.contains(node) {
                    missed.remove(node);
                    continue;
                }
                let n = missed.entry(node.clone()).or_default();
                *n += 1;
                if *n == 2 {
                    dead.push(node.clone());
                }
            }
            dead.sort();
            dead.dedup();
            for node in &dead {
                missed.remove(node);
                self.forget(&rooms, node);
            }
            if !dead.is_empty() {
                for after in self.subs.lock().unwrap().values_mut() {
                    *after = None;
                }
                let _ = self.out.send(Out::Wake);
            }
            live = now_live;
            live.extend(missed.keys().cloned());
        }
    }

    async fn redis_now_ms(&self) -> Result<u64, ClusterError> {
        let (secs, micros): (u64, u64) = self.query(&redis::cmd("TIME")).await?;
        Ok(secs * 1000 + micros / 1000)
    }

    /// Removes every presence state `node`'s clients had.
    fn forget(&self, rooms: &Rooms, node: &str) {
        let docs = self.remote.lock().unwrap().remove(node).unwrap_or_default();
        tracing::info!(
            node,
            docs = docs.len(),
            "cluster: node gone; clearing its clients' presence"
        );
        for doc in docs {
            if let Some(room) = rooms.loaded_room(&doc) {
                room.drop_remote(node_conn(node));
            }
        }
    }
}

fn protocol_query() -> Bytes {
    weft_core::protocol::encode(&yrs::sync::Message::AwarenessQuery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_conns_are_remote_and_stable() {
        let a = node_conn("00000000000000aa");
        assert!(a >= REMOTE);
        assert_eq!(a, node_conn("00000000000000aa"));
        assert_ne!(a, node_conn("00000000000000ab"));
        assert!(is_awareness_query(&protocol_query()));
    }

    /// While a re-join is owed the reader comes back for it within 100 ms
    /// rather than after a full 2 s block.
    #[test]
    fn an_owed_rejoin_shortens_the_read_block() {
        assert_eq!(block_ms(false), BLOCK_MS);
        assert_eq!(block_ms(true), REJOIN_RETRY_MS);
        const { assert!(REJOIN_RETRY_MS * 10 <= BLOCK_MS) };
    }
}
