//! Loaded documents: loading them once, sharing them between connections,
//! persisting their updates in order, and unloading them when idle.
//!
//! A doc is loaded at most once at a time: the first connection loads it and
//! the others wait on the same load, so nobody is answered from a half-loaded
//! doc. When the last connection leaves, a timer unloads it after a grace
//! period, but only after every write for it has been committed, so a
//! reload never misses anything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, OnceCell};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use weft_core::doc_id::DocId;
use weft_core::protocol::close;
use weft_core::room::{Access, ConnId, Room};
use weft_core::ProtocolError;

use crate::cluster::Cluster;
use crate::memory::Trimmer;
use crate::metrics::Metrics;
use crate::outbox::{Outbox, SendError};
use crate::store::{self, Store, StoreError};

/// Why a doc could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// The store could not load it.
    #[error("loading the document failed: {0}")]
    Load(#[from] StoreError),
}

/// What one connection shares with the room and its own tasks.
#[derive(Default)]
pub struct ConnControl {
    closed: CancellationToken,
    code: AtomicU16,
    reason: Mutex<String>,
    /// Updates of this connection that are durable.
    pub durable: AtomicU64,
    /// Set when one of this connection's writes failed.
    pub store_failed: AtomicBool,
    /// Woken when `durable` or `store_failed` changes.
    pub acked: Notify,
}

impl ConnControl {
    /// A control block whose `closed` also fires when `parent` is
    /// cancelled (server shutdown): one future to wait on instead of two.
    pub fn new(parent: &CancellationToken) -> Self {
        ConnControl {
            closed: parent.child_token(),
            ..Default::default()
        }
    }

    /// True once [`ConnControl::close`] was called or the parent cancelled.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Asks the connection to close with `code`; the first request wins.
    pub fn close(&self, code: u16, reason: &str) {
        if self
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            *self.reason.lock().unwrap() = reason.to_owned();
        }
        self.closed.cancel();
    }

    /// The close code and reason requested, if any.
    pub fn close_frame(&self) -> Option<(u16, String)> {
        match self.code.load(Ordering::SeqCst) {
            // Closed with no code: only the parent (shutdown) does that. The
            // writer can see it before the reader records why.
            0 if self.is_closed() => Some((close::GOING_AWAY, "server shutting down".to_owned())),
            0 => None,
            code => Some((code, self.reason.lock().unwrap().clone())),
        }
    }

    /// Resolves once [`ConnControl::close`] has been called or the parent
    /// was cancelled.
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }
}

/// A connection as the room sees it: where to send, and how to stop it.
pub struct Peer {
    /// Its bounded outbound queue.
    pub tx: Arc<Outbox>,
    /// Its control block.
    pub ctl: Arc<ConnControl>,
}

struct State {
    room: Room,
    peers: HashMap<ConnId, Peer>,
    /// Log entries since the last snapshot; compaction resets it.
    log_len: usize,
    /// Writes queued so far; unloading checks it did not move.
    writes: u64,
}

/// One loaded document.
pub struct RoomHandle {
    doc: DocId,
    state: Mutex<State>,
    /// A write failed: the log may lack something the doc holds, so a
    /// snapshot must be written before the doc may be dropped.
    dirty: Arc<AtomicBool>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    compact_after: usize,
    /// Other nodes, in cluster mode.
    cluster: Option<Arc<Cluster>>,
    /// The stream tail taken before loading, until the first lease
    /// subscribes with it (once the doc is visible to the stream reader).
    tail: Mutex<Option<Option<String>>>,
}

impl RoomHandle {
    /// Adds a connection. Its first frames are queued before it can receive
    /// any broadcast, so it always sees the handshake first.
    pub fn connect(&self, conn: ConnId, peer: Peer) {
        let mut st = self.state.lock().unwrap();
        for frame in st.room.join(conn) {
            // A fresh queue has room for the handshake; if not, the
            // connection is unusable anyway.
            if peer.tx.try_send(Message::Binary(frame)).is_err() {
                peer.ctl
                    .close(close::TRY_AGAIN_LATER, "send queue too small");
            }
        }
        st.peers.insert(conn, peer);
    }

    /// Handles a frame from `conn`; returns the frames for `conn` itself and
    /// how many update messages it carried. Updates are queued to the store
    /// in the order they were applied; each bumps `ctl.durable` when committed.
    pub fn receive(
        &self,
        conn: ConnId,
        frame: &[u8],
        access: Access,
        ctl: &Arc<ConnControl>,
    ) -> Result<(Vec<Bytes>, u64), ProtocolError> {
        let mut st = self.state.lock().unwrap();
        let fx = st.room.handle(conn, frame, access)?;
        // Peers first: queuing to the store wakes its writer thread, which on
        // a busy core could otherwise run before the peers' writers.
        for frame in fx.broadcast {
            // Updates go to other nodes once committed (see `on_commit`).
            if let Some(cluster) = self.cluster.as_ref().filter(|_| frame.first() == Some(&1)) {
                cluster.publish(&self.doc, frame.clone());
            }
            broadcast(&mut st.peers, conn, frame, &self.metrics);
        }
        let updates = fx.updates.len() as u64;
        for update in fx.updates {
            self.metrics.updates_in.inc();
            match update {
                Some(bytes) => {
                    st.log_len += 1;
                    st.writes += 1;
                    let done = self.on_commit(ctl.clone(), Some(bytes.clone()));
                    self.store.append(&self.doc, bytes, done);
                }
                // Nothing to store, but it is acked in order with the rest.
                None => self.store.flush(self.on_commit(ctl.clone(), None)),
            }
        }
        if st.log_len >= self.compact_after {
            self.compact_locked(&mut st);
        }
        Ok((fx.reply, updates))
    }

    /// Handles a frame another node relayed for its clients (`conn` stands
    /// for that node): applied and sent to every local client, not stored,
    /// since the node that received it stored it.
    pub fn receive_remote(&self, conn: ConnId, frame: &[u8]) {
        let mut st = self.state.lock().unwrap();
        match st.room.handle(conn, frame, Access::Write) {
            Ok(fx) => {
                for frame in fx.broadcast {
                    broadcast(&mut st.peers, conn, frame, &self.metrics);
                }
            }
            Err(e) => {
                tracing::warn!(doc = %self.doc, error = %e, "cluster: bad frame from another node")
            }
        }
    }

    /// Removes the presence of another node's clients (that node died).
    pub fn drop_remote(&self, conn: ConnId) {
        let mut st = self.state.lock().unwrap();
        if let Some(frame) = st.room.leave(conn) {
            broadcast(&mut st.peers, conn, frame, &self.metrics);
        }
    }

    /// Presence of this node's own clients, for another node that asked.
    pub fn local_awareness(&self) -> Option<Bytes> {
        let st = self.state.lock().unwrap();
        st.room.awareness_of(|conn| conn < crate::cluster::REMOTE)
    }

    /// Merges stored updates this copy may lack and sends local clients
    /// what was missing (after the cluster stream lost entries).
    pub fn catch_up(&self, stored: &[Bytes]) {
        let (loaded, _) = Room::load(stored);
        let missing = {
            use yrs::{ReadTxn, Transact};
            let sv = self
                .state
                .lock()
                .unwrap()
                .room
                .doc()
                .transact()
                .state_vector();
            loaded.doc().transact().encode_diff_v1(&sv)
        };
        // Nothing new encodes as an empty update; handled, it is a no-op.
        self.receive_remote(CATCH_UP, &weft_core::protocol::update(missing));
    }

    /// Removes a connection and tells the others its cursors are gone.
    pub fn disconnect(&self, conn: ConnId) {
        let mut st = self.state.lock().unwrap();
        st.peers.remove(&conn);
        if let Some(frame) = st.room.leave(conn) {
            if let Some(cluster) = &self.cluster {
                cluster.publish(&self.doc, frame.clone());
            }
            broadcast(&mut st.peers, conn, frame, &self.metrics);
        }
    }

    /// Closes every connection (used when the doc must be reloaded).
    pub fn close_all(&self, code: u16, reason: &str) {
        let st = self.state.lock().unwrap();
        for peer in st.peers.values() {
            peer.ctl.close(code, reason);
        }
    }

    /// True while the document has no content (it does not exist yet).
    pub fn is_empty(&self) -> bool {
        self.state.lock().unwrap().room.is_empty()
    }

    /// True if yrs panicked on this doc and it must be reloaded.
    pub fn is_poisoned(&self) -> bool {
        self.state.lock().unwrap().room.is_poisoned()
    }

    /// The document, for tests and tools.
    pub fn snapshot(&self) -> Vec<u8> {
        self.state.lock().unwrap().room.snapshot()
    }

    fn writes(&self) -> u64 {
        self.state.lock().unwrap().writes
    }

    fn compact_locked(&self, st: &mut State) {
        let snapshot = Bytes::from(st.room.snapshot());
        st.log_len = 0;
        st.writes += 1;
        let dirty = self.dirty.clone();
        let metrics = self.metrics.clone();
        // Cleared now, set again if this snapshot fails: it covers every
        // earlier failed write.
        dirty.store(false, Ordering::SeqCst);
        self.store.compact(
            &self.doc,
            snapshot,
            Box::new(move |r| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "compaction failed");
                    metrics.store_errors.inc();
                    dirty.store(true, Ordering::SeqCst);
                }
            }),
        );
    }

    fn on_commit(&self, ctl: Arc<ConnControl>, update: Option<Bytes>) -> store::Done {
        let started = Instant::now();
        let metrics = self.metrics.clone();
        let dirty = self.dirty.clone();
        // Committed first, then offered to other nodes: a node joining
        // after the stream's tail finds it in the store (see `cluster`).
        let publish = self
            .cluster
            .clone()
            .zip(update)
            .map(|(c, u)| (c, self.doc.clone(), u));
        Box::new(move |r| {
            if let (Ok(()), Some((cluster, doc, update))) = (&r, publish) {
                cluster.publish(&doc, weft_core::protocol::update(update.to_vec()));
            }
            metrics
                .store_latency
                .observe(started.elapsed().as_secs_f64());
            match r {
                Ok(()) => {
                    ctl.durable.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    tracing::error!(error = %e, "store write failed");
                    metrics.store_errors.inc();
                    dirty.store(true, Ordering::SeqCst);
                    ctl.store_failed.store(true, Ordering::SeqCst);
                }
            }
            ctl.acked.notify_one();
        })
    }

    /// Makes everything this doc holds durable: waits for queued writes, and
    /// writes a snapshot first if an earlier write failed.
    async fn persist(&self) -> Result<(), StoreError> {
        if self.dirty.load(Ordering::SeqCst) {
            let mut st = self.state.lock().unwrap();
            self.compact_locked(&mut st);
        }
        store::flush(&*self.store).await?;
        if self.dirty.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        Ok(())
    }
}

fn broadcast(peers: &mut HashMap<ConnId, Peer>, from: ConnId, frame: Bytes, metrics: &Metrics) {
    peers.retain(|id, peer| {
        if *id == from {
            return true;
        }
        match peer.tx.try_send(Message::Binary(frame.clone())) {
            Ok(()) => {
                metrics.messages_out.inc();
                true
            }
            Err(SendError::Full) => {
                // Never drop a message silently: the client is told to
                // reconnect and resyncs from the doc.
                metrics.slow_consumers.inc();
                peer.ctl
                    .close(close::TRY_AGAIN_LATER, "too slow: reconnect to resync");
                false
            }
            Err(SendError::Closed) => false,
        }
    });
}

/// The connection id catch-up merges are applied under.
const CATCH_UP: ConnId = crate::cluster::REMOTE - 1;

struct Slot {
    cell: OnceCell<Arc<RoomHandle>>,
    /// Connections using or loading this doc. Changed only under the map lock.
    refs: AtomicU64,
    /// Bumped whenever refs drops to zero, so stale unload timers step aside.
    generation: AtomicU64,
}

/// Tuning for [`Rooms`].
#[derive(Debug, Clone)]
pub struct RoomsConfig {
    /// How long an unused doc stays loaded.
    pub unload_after: Duration,
    /// Log entries after which a doc is compacted into a snapshot.
    pub compact_after: usize,
}

/// Every loaded doc.
pub struct Rooms {
    map: Mutex<HashMap<DocId, Arc<Slot>>>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    config: RoomsConfig,
    cluster: Option<Arc<Cluster>>,
    trimmer: Arc<Trimmer>,
}

/// A connection's hold on a doc; give it back with [`Rooms::release`].
pub struct Lease {
    doc: DocId,
    slot: Arc<Slot>,
    /// The loaded doc.
    pub room: Arc<RoomHandle>,
}

impl Rooms {
    /// An empty set over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        config: RoomsConfig,
        cluster: Option<Arc<Cluster>>,
    ) -> Arc<Self> {
        Arc::new(Rooms {
            map: Mutex::new(HashMap::new()),
            store,
            metrics,
            config,
            cluster,
            trimmer: Arc::default(),
        })
    }

    /// The doc if it is loaded (not while it loads).
    pub fn loaded_room(&self, doc: &DocId) -> Option<Arc<RoomHandle>> {
        self.map.lock().unwrap().get(doc)?.cell.get().cloned()
    }

    /// The store docs are loaded from.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Number of docs in memory.
    pub fn loaded(&self) -> usize {
        self.map
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.cell.initialized())
            .count()
    }

    /// Opens `doc`, loading it if no one has; concurrent callers share one load.
    pub async fn acquire(self: &Arc<Self>, doc: &DocId) -> Result<Lease, RoomError> {
        let slot = {
            let mut map = self.map.lock().unwrap();
            let slot = map
                .entry(doc.clone())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        cell: OnceCell::new(),
                        refs: AtomicU64::new(0),
                        generation: AtomicU64::new(0),
                    })
                })
                .clone();
            slot.refs.fetch_add(1, Ordering::SeqCst);
            slot
        };
        let loaded = slot.cell.get_or_try_init(|| self.load(doc)).await.cloned();
        match loaded {
            Ok(room) => {
                if let Some(cluster) = &self.cluster {
                    if let Some(tail) = room.tail.lock().unwrap().take() {
                        cluster.subscribe(doc, tail);
                    }
                }
                Ok(Lease {
                    doc: doc.clone(),
                    slot,
                    room,
                })
            }
            Err(e) => {
                self.release_slot(doc, &slot);
                Err(e)
            }
        }
    }

    /// Gives a lease back; the doc unloads after the grace period if unused.
    pub fn release(self: &Arc<Self>, lease: Lease) {
        if lease.room.is_poisoned() {
            self.evict(&lease.doc);
        }
        self.release_slot(&lease.doc, &lease.slot);
    }

    /// Drops a doc from memory at once and closes its connections, so the
    /// next connection reloads it from the store.
    pub fn evict(&self, doc: &DocId) {
        let mut map = self.map.lock().unwrap();
        let slot = map.remove(doc);
        // Under the map lock, so a reload's subscription comes after.
        if let Some(cluster) = self.cluster.as_ref().filter(|_| slot.is_some()) {
            cluster.unsubscribe(doc);
        }
        drop(map);
        if let Some(room) = slot.as_ref().and_then(|s| s.cell.get()) {
            tracing::error!(doc = %doc, "document evicted after an internal error; clients will reload it");
            room.close_all(close::INTERNAL, "document reloading");
            self.metrics.docs_loaded.dec();
        }
    }

    fn release_slot(self: &Arc<Self>, doc: &DocId, slot: &Arc<Slot>) {
        let map = self.map.lock().unwrap();
        if slot.refs.fetch_sub(1, Ordering::SeqCst) == 1 {
            let generation = slot.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let (this, doc, slot) = (self.clone(), doc.clone(), slot.clone());
            drop(map);
            tokio::spawn(async move {
                tokio::time::sleep(this.config.unload_after).await;
                this.unload(doc, slot, generation).await;
            });
        }
    }

    fn still_idle(&self, doc: &DocId, slot: &Arc<Slot>, generation: u64) -> bool {
        let map = self.map.lock().unwrap();
        let ours = map.get(doc).is_some_and(|s| Arc::ptr_eq(s, slot));
        ours && slot.refs.load(Ordering::SeqCst) == 0
            && slot.generation.load(Ordering::SeqCst) == generation
    }

    /// Unloads an idle doc once everything it holds is durable. A failing
    /// store delays this with backoff but never keeps the doc forever.
    async fn unload(self: Arc<Self>, doc: DocId, slot: Arc<Slot>, generation: u64) {
        const ATTEMPTS: u32 = 6;
        // Backoff scales with the grace period so short test settings stay short.
        let mut delay = self
            .config
            .unload_after
            .clamp(Duration::from_millis(10), Duration::from_millis(500));
        for attempt in 1..=ATTEMPTS {
            if !self.still_idle(&doc, &slot, generation) {
                return;
            }
            let Some(room) = slot.cell.get().cloned() else {
                break;
            };
            let writes = room.writes();
            match room.persist().await {
                Ok(()) => {
                    // Only if nobody joined (or wrote) while we flushed.
                    if room.writes() == writes {
                        self.remove_if_idle(&doc, &slot, Some(generation));
                    }
                    return;
                }
                Err(e) if attempt < ATTEMPTS => {
                    tracing::warn!(doc = %doc, attempt, error = %e, "unload: store not writable, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    tracing::error!(doc = %doc, error = %e, "unload: giving up; changes since the last successful write are lost");
                    self.metrics.unload_data_loss.inc();
                }
            }
        }
        self.remove_if_idle(&doc, &slot, None);
    }

    /// Removes `doc` if `slot` is still its slot, unused, and (when given)
    /// still at `generation`. Checked and done under the map lock, which is
    /// also what joins take.
    fn remove_if_idle(&self, doc: &DocId, slot: &Arc<Slot>, generation: Option<u64>) {
        let mut map = self.map.lock().unwrap();
        let ours = map.get(doc).is_some_and(|s| Arc::ptr_eq(s, slot));
        let unused = slot.refs.load(Ordering::SeqCst) == 0;
        let same = generation.is_none_or(|g| slot.generation.load(Ordering::SeqCst) == g);
        if ours && unused && same {
            map.remove(doc);
            if slot.cell.initialized() {
                self.metrics.docs_loaded.dec();
                if let Some(cluster) = &self.cluster {
                    cluster.unsubscribe(doc);
                }
            }
            tracing::debug!(doc = %doc, "unloaded");
            self.trimmer.request();
        }
    }

    /// Persists every loaded doc; used at shutdown.
    pub async fn persist_all(&self) -> Result<(), StoreError> {
        let rooms: Vec<_> = self
            .map
            .lock()
            .unwrap()
            .values()
            .filter_map(|s| s.cell.get().cloned())
            .collect();
        let mut result = Ok(());
        for room in rooms {
            if let Err(e) = room.persist().await {
                tracing::error!(doc = %room.doc, error = %e, "could not persist at shutdown");
                result = Err(e);
            }
        }
        result
    }

    async fn load(&self, doc: &DocId) -> Result<Arc<RoomHandle>, RoomError> {
        let started = Instant::now();
        // The stream's tail before the load: see `cluster` for why.
        let tail = match &self.cluster {
            Some(cluster) => Some(cluster.tail(doc).await.inspect_err(|e| {
                tracing::warn!(doc = %doc, error = %e, "cluster: no stream tail; will re-join");
            })),
            None => None,
        };
        let stored = self.store.load(doc).await.inspect_err(|_| {
            self.metrics.store_errors.inc();
        })?;
        let bytes: usize = stored.updates.iter().map(|u| u.len()).sum();
        let entries = stored.updates.len();
        let read = started.elapsed();
        let (room, skipped) = Room::load_lazy(stored.updates);
        if skipped > 0 {
            tracing::error!(doc = %doc, skipped, "stored updates could not be decoded and were skipped");
        }
        tracing::debug!(doc = %doc, entries, bytes, ?read, elapsed = ?started.elapsed(), "loaded");
        self.metrics.docs_loaded.inc();
        Ok(Arc::new(RoomHandle {
            doc: doc.clone(),
            state: Mutex::new(State {
                room,
                peers: HashMap::new(),
                log_len: stored.log_len,
                writes: 0,
            }),
            dirty: Arc::new(AtomicBool::new(false)),
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            compact_after: self.config.compact_after.max(1),
            cluster: self.cluster.clone(),
            tail: Mutex::new(tail.map(Result::ok)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_code_first_wins_and_shutdown_means_going_away() {
        let parent = CancellationToken::new();
        let fresh = ConnControl::new(&parent);
        assert_eq!(fresh.close_frame(), None);
        let closed = ConnControl::new(&parent);
        closed.close(close::POLICY, "rate limit exceeded");
        closed.close(close::NORMAL, "");
        parent.cancel();
        assert!(fresh.is_closed());
        assert_eq!(
            fresh.close_frame(),
            Some((close::GOING_AWAY, "server shutting down".into()))
        );
        assert_eq!(
            closed.close_frame(),
            Some((close::POLICY, "rate limit exceeded".into())),
            "an earlier reason survives shutdown"
        );
    }
}
