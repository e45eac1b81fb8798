//! Loaded documents: loading them once, sharing them between connections,
//! persisting their updates in order, and unloading them when idle.
//!
//! A doc is loaded at most once at a time: the first connection loads it and
//! the others wait on the same load, so nobody is answered from a half-loaded
//! doc. When the last connection leaves, a timer unloads it after a grace
//! period, but only after every change it holds has been committed, so a
//! reload never misses anything: a doc whose writes fail stays loaded (and
//! unacked, see `durability`) until the repair task gets a snapshot of it
//! into the store.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{oneshot, OnceCell};
use tokio_tungstenite::tungstenite::Message;
use weft_core::backoff::Backoff;
use weft_core::doc_id::DocId;
use weft_core::protocol::{self, close, NodeNotice};
use weft_core::room::{Access, ConnId, Room};
use weft_core::store::queue::Write;
use weft_core::store::{VersionKind, VersionMeta};
use weft_core::ProtocolError;

use crate::documents::autoversion::{Edits, Policy};
use crate::documents::coalesce::{Coalesce, Push};
use crate::documents::durability::{Completed, Durability};
use crate::documents::memory::Trimmer;
use crate::documents::peers::{Peers, REMOTE};
use crate::ops::metrics::Metrics;
use crate::store::{self, Store, StoreError};
use crate::ws::control::ConnControl;
use crate::ws::outbox::{Outbox, SendError};

/// Why a doc could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// The store could not load it.
    #[error("loading the document failed: {0}")]
    Load(#[from] StoreError),
}

/// A connection as the room sees it: where to send, and how to stop it.
pub struct Peer {
    /// Its bounded outbound queue.
    pub tx: Arc<Outbox>,
    /// Its control block.
    pub ctl: Arc<ConnControl>,
    /// The link generation its token was minted at, if it came by a link:
    /// resetting the doc's links closes it.
    pub link_gen: Option<u64>,
    /// Its token's `sub`, named as an author in version history.
    pub author: Option<Arc<str>>,
}

struct State {
    room: Room,
    peers: HashMap<ConnId, Peer>,
    /// Log entries since the last snapshot; compaction resets it.
    log_len: usize,
    /// `meta.title` as last written to the index (`None`: not known yet).
    title: Option<Option<String>>,
    /// Changes and authors since the last version.
    edits: Edits,
    /// Updates waiting to go out, merged, at the end of this tick.
    pending: Coalesce,
    /// Looks of `rest_loop` in a row that found the doc integrated and
    /// unchanged.
    quiet_looks: u8,
}

/// One loaded document.
pub struct RoomHandle {
    /// Itself, for the task that sends merged updates.
    me: Weak<RoomHandle>,
    doc: DocId,
    state: Mutex<State>,
    /// Which writes are durable, and so which updates may be acked.
    durability: Arc<Durability>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    compact_after: usize,
    /// Other nodes, in cluster mode.
    peers: Option<Arc<dyn Peers>>,
    /// The stream tail taken before loading, until the first lease
    /// subscribes with it (once the doc is visible to the stream reader).
    tail: Mutex<Option<Option<String>>>,
    /// What notices said while loaded: in the trash, and the link
    /// generation links must have. What connecting falls back on when the
    /// index cannot be read (the store is down).
    trashed: std::sync::atomic::AtomicBool,
    link_gen: AtomicU64,
    /// When to make automatic versions.
    versions: Policy,
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
    /// in the order they were applied; each bumps `ctl.durable` once it is
    /// durable (see `durability`).
    pub fn receive(
        &self,
        conn: ConnId,
        frame: &[u8],
        access: &Access,
        ctl: &Arc<ConnControl>,
    ) -> Result<(Vec<Bytes>, u64), ProtocolError> {
        let mut st = self.state.lock().unwrap();
        let fx = st.room.handle(conn, frame, access)?;
        // Peers first: queuing to the store wakes its writer thread, which on
        // a busy core could otherwise run before the peers' writers.
        // Each applied update has a broadcast frame and, in the same order,
        // its raw bytes in `fx.updates`.
        let mut raw = fx.updates.iter().flatten();
        for frame in fx.broadcast {
            if protocol::is_sync(&frame) {
                if let Some(update) = raw.next() {
                    if st.pending.push(conn, update.clone()) == Push::Queued {
                        continue;
                    }
                    self.flush_soon();
                }
            }
            // Updates go to other nodes once committed (see `on_commit`).
            if let Some(peers) = self
                .peers
                .as_ref()
                .filter(|_| protocol::is_awareness(&frame))
            {
                peers.publish(&self.doc, frame.clone());
            }
            broadcast(&mut st.peers, conn, frame, &self.metrics);
        }
        let updates = fx.updates.len() as u64;
        if fx.updates.iter().any(Option::is_some) {
            st.quiet_looks = 0;
            let author = st.peers.get(&conn).and_then(|p| p.author.clone());
            st.edits.record(author.as_deref());
        }
        for update in fx.updates {
            self.metrics.updates_in.inc();
            match update {
                Some(bytes) => {
                    st.log_len += 1;
                    // Waiting before the store can answer (the memory
                    // store answers inside `append`).
                    let seq = self.durability.issue_for(ctl);
                    let done = self.on_commit(seq, bytes.clone());
                    self.store.append(&self.doc, bytes, done);
                }
                // Nothing new to store, but what it carried may be in a
                // write still queued, or one that failed.
                None => self.durability.wait_for_all(ctl),
            }
        }
        if updates > 0 {
            self.index_title(&mut st);
        }
        if st
            .edits
            .due(self.versions.clock.now_millis(), self.versions.interval)
        {
            // Its outcome is logged; a lost automatic version loses no edit.
            drop(self.version_locked(&mut st, VersionKind::Auto, None));
        }
        if st.log_len >= self.compact_after {
            // Its outcome reaches the acks through `durability`.
            drop(self.compact_locked(&mut st));
        }
        Ok((fx.reply, updates))
    }

    /// Sends the updates that waited once the tasks already runnable have
    /// run, and closes the window (see `coalesce`).
    fn flush_soon(&self) {
        let me = self.me.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            if let Some(room) = me.upgrade() {
                let mut st = room.state.lock().unwrap();
                for out in st.pending.take() {
                    let from = out.from.unwrap_or(NOBODY);
                    broadcast(&mut st.peers, from, out.frame, &room.metrics);
                }
            }
        });
    }

    /// One look of `rest_loop`: rests the doc (see `Room::rest`) once it
    /// stayed integrated and unchanged for `REST_AFTER_LOOKS` looks.
    fn look(&self) -> Look {
        let mut st = self.state.lock().unwrap();
        if st.room.is_resting() {
            st.quiet_looks = 0;
            return Look::Resting;
        }
        st.quiet_looks += 1;
        if st.quiet_looks < REST_AFTER_LOOKS {
            return Look::Awake;
        }
        st.quiet_looks = 0;
        if st.room.rest() {
            Look::Rested
        } else {
            Look::Awake
        }
    }

    /// Records `meta.title` in the index when an update changed it; queued
    /// after that update, so the index never names a title not stored.
    fn index_title(&self, st: &mut State) {
        use yrs::Transact;
        let title = weft_core::title::read(&st.room.doc().transact());
        if st.title.as_ref() == Some(&title) {
            return;
        }
        st.title = Some(title.clone());
        let doc = self.doc.clone();
        self.store.index(
            Write::Title(self.doc.clone(), title),
            Box::new(move |r| {
                if let Err(e) = r {
                    // The update's own write failed with it: the repair
                    // path reports that; the title follows the next change.
                    tracing::debug!(doc = %doc, error = %e, "indexing the title failed");
                }
            }),
        );
    }

    /// Makes a version of the document as it is now, queued in order with
    /// its updates; the receiver gets the write's result.
    pub fn make_version(
        &self,
        kind: VersionKind,
        name: Option<String>,
    ) -> (VersionMeta, oneshot::Receiver<Result<(), StoreError>>) {
        self.version_locked(&mut self.state.lock().unwrap(), kind, name)
    }

    /// An automatic version if anything changed since the last one (the
    /// doc is about to unload).
    pub fn version_if_edited(&self) -> Option<oneshot::Receiver<Result<(), StoreError>>> {
        let mut st = self.state.lock().unwrap();
        st.edits
            .dirty()
            .then(|| self.version_locked(&mut st, VersionKind::Auto, None).1)
    }

    /// Names `author` among those who changed the doc since its last
    /// version (a change that did not come over a WebSocket).
    pub fn authored(&self, author: &str) {
        self.state.lock().unwrap().edits.record(Some(author));
    }

    fn version_locked(
        &self,
        st: &mut State,
        kind: VersionKind,
        name: Option<String>,
    ) -> (VersionMeta, oneshot::Receiver<Result<(), StoreError>>) {
        let now = self.versions.clock.now_millis();
        let state = Bytes::from(st.room.snapshot());
        let version = st.edits.take(&self.doc, state, kind, name, now);
        let meta = version.meta.clone();
        let (tx, rx) = oneshot::channel();
        let doc = self.doc.clone();
        self.store.index(
            Write::Version(Box::new(version)),
            Box::new(move |r| {
                if let Err(e) = &r {
                    tracing::warn!(doc = %doc, error = %e, "history: storing a version failed");
                }
                let _ = tx.send(r);
            }),
        );
        (meta, rx)
    }

    /// Runs `f` on the document as it is now (for reading: changes go
    /// through [`RoomHandle::receive`]).
    pub fn read<R>(&self, f: impl FnOnce(&yrs::Doc) -> R) -> R {
        f(self.state.lock().unwrap().room.doc())
    }

    /// Acts on a notice about this document (from this node or another).
    pub fn notice(&self, notice: NodeNotice) {
        match notice {
            NodeNotice::Deleted => {
                self.trashed.store(true, Ordering::SeqCst);
                self.close_all(close::DELETED, "the document was moved to the trash")
            }
            NodeNotice::LinksReset(gen) => {
                self.link_gen.fetch_max(gen, Ordering::SeqCst);
                self.close_links_before(gen)
            }
        }
    }

    /// Restored from the trash (by this node's API).
    pub fn restored(&self) {
        self.trashed.store(false, Ordering::SeqCst);
    }

    /// What this node last heard: whether the doc is in the trash, and the
    /// lowest link generation still valid.
    pub fn heard(&self) -> (bool, u64) {
        (
            self.trashed.load(Ordering::SeqCst),
            self.link_gen.load(Ordering::SeqCst),
        )
    }

    /// Closes the connections that came by a link minted before `gen`.
    pub fn close_links_before(&self, gen: u64) {
        let st = self.state.lock().unwrap();
        for peer in st.peers.values() {
            if peer.link_gen.is_some_and(|g| g < gen) {
                peer.ctl.close(
                    close::TOKEN_EXPIRED,
                    "this link was reset by the document's owner",
                );
            }
        }
    }

    /// Handles a frame another node relayed for its clients (`conn` stands
    /// for that node): applied and sent to every local client, not stored,
    /// since the node that received it stored it.
    pub fn receive_remote(&self, conn: ConnId, frame: &[u8]) {
        if let Some(notice) = protocol::parse_node_notice(frame) {
            return self.notice(notice);
        }
        let mut st = self.state.lock().unwrap();
        match st.room.handle(conn, frame, &Access::Write) {
            Ok(fx) => {
                // Only a change keeps the doc awake: remote cursors alone
                // must not stop it resting, as with local clients.
                if fx.updates.iter().any(Option::is_some) {
                    st.quiet_looks = 0;
                }
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
        st.room.awareness_of(|conn| conn < REMOTE)
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
        self.receive_remote(CATCH_UP, &protocol::update(missing));
    }

    /// Removes a connection and tells the others its cursors are gone.
    pub fn disconnect(&self, conn: ConnId) {
        let mut st = self.state.lock().unwrap();
        st.peers.remove(&conn);
        if let Some(frame) = st.room.leave(conn) {
            if let Some(peers) = &self.peers {
                peers.publish(&self.doc, frame.clone());
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

    /// Writes queued so far; unloading checks it did not move.
    fn writes(&self) -> u64 {
        self.durability.issued()
    }

    /// Why this doc holds changes the store does not have, if it does.
    pub fn unsaved(&self) -> Option<StoreError> {
        self.durability.failing()
    }

    /// Queues a snapshot of everything the doc holds; it replaces what
    /// was queued before it. The receiver gets its result.
    fn compact_locked(&self, st: &mut State) -> oneshot::Receiver<Result<(), StoreError>> {
        let snapshot = Bytes::from(st.room.snapshot());
        st.log_len = 0;
        let seq = self.durability.issue();
        let (tx, rx) = oneshot::channel();
        let durability = self.durability.clone();
        let publish = self
            .peers
            .clone()
            .map(|c| (c, self.doc.clone(), snapshot.clone()));
        self.store.compact(
            &self.doc,
            snapshot,
            Box::new(move |r| {
                let repaired = durability.completed(seq, true, r.clone()) == Completed::Repaired;
                if let Some((peers, doc, snapshot)) = publish.filter(|_| repaired) {
                    // Updates whose write failed never went to other nodes.
                    peers.publish(&doc, protocol::update(snapshot.to_vec()));
                }
                let _ = tx.send(r);
            }),
        );
        rx
    }

    fn on_commit(&self, seq: u64, update: Bytes) -> store::Done {
        let started = Instant::now();
        let metrics = self.metrics.clone();
        let durability = self.durability.clone();
        // Committed first, then offered to other nodes: a node joining
        // after the stream's tail finds it in the store (see `cluster`).
        let publish = self.peers.clone().map(|c| (c, self.doc.clone()));
        Box::new(move |r| {
            if let (Ok(()), Some((peers, doc))) = (&r, publish) {
                peers.publish(&doc, protocol::update(update.to_vec()));
            }
            metrics
                .store_latency
                .observe(started.elapsed().as_secs_f64());
            durability.completed(seq, false, r);
        })
    }

    /// After a failed write: queues a snapshot of everything the doc holds
    /// and waits for it. Ok once the doc has nothing unsaved.
    pub async fn repair(&self) -> Result<(), StoreError> {
        if self.durability.failing().is_none() {
            return Ok(());
        }
        let written = {
            let mut st = self.state.lock().unwrap();
            self.compact_locked(&mut st)
        };
        written.await.unwrap_or(Err(StoreError::Closed))?;
        // A write queued after the snapshot may have failed meanwhile.
        self.durability.failing().map_or(Ok(()), Err)
    }

    /// Makes everything this doc holds durable: repairs an earlier failure,
    /// then waits for the writes queued so far.
    async fn persist(&self) -> Result<(), StoreError> {
        self.repair().await?;
        store::flush(&*self.store).await?;
        self.durability.failing().map_or(Ok(()), Err)
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

/// No connection: a merged update goes to every peer.
const NOBODY: ConnId = ConnId::MAX;

/// The connection id catch-up merges are applied under.
const CATCH_UP: ConnId = REMOTE - 1;

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
    /// How often `rest_loop` looks for docs to rest.
    pub rest_after: Duration,
    /// Log entries after which a doc is compacted into a snapshot.
    pub compact_after: usize,
    /// When rooms make automatic versions.
    pub versions: Policy,
}

/// Every loaded doc.
pub struct Rooms {
    map: Mutex<HashMap<DocId, Arc<Slot>>>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    config: RoomsConfig,
    peers: Option<Arc<dyn Peers>>,
    trimmer: Arc<Trimmer>,
    /// Docs whose writes failed, for the repair task.
    repairs: UnboundedSender<DocId>,
}

/// First wait before a failed doc's snapshot is retried, and the longest.
const REPAIR_FIRST: Duration = Duration::from_millis(250);
const REPAIR_MAX: Duration = Duration::from_secs(5);

/// What one look of `rest_loop` found.
#[derive(PartialEq, Eq)]
enum Look {
    /// Rested now.
    Rested,
    /// Already resting.
    Resting,
    /// Integrated, and not quiet long enough (or nothing to rest).
    Awake,
}

/// After how many looks of `rest_loop` in a row without a change a doc
/// rests: one to two times `--rest-after` after its last change or read.
const REST_AFTER_LOOKS: u8 = 2;

/// Rests open docs nobody changed for a while: they are kept as encoded
/// bytes until the next change (`Room::rest`), and the freed memory is
/// handed back. Ends with the rooms.
async fn rest_loop(rooms: Weak<Rooms>, every: Duration) {
    let mut every = tokio::time::interval(every.max(Duration::from_millis(10)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(rooms) = rooms.upgrade() else {
            return;
        };
        let loaded: Vec<Arc<RoomHandle>> = rooms
            .map
            .lock()
            .unwrap()
            .values()
            .filter_map(|slot| slot.cell.get().cloned())
            .collect();
        let looks: Vec<Look> = loaded.iter().map(|room| room.look()).collect();
        let rested = looks.iter().filter(|l| **l == Look::Rested).count();
        let resting = rested + looks.iter().filter(|l| **l == Look::Resting).count();
        rooms.metrics.docs_resting.set(resting as i64);
        if rested > 0 {
            tracing::debug!(rested, "quiet documents rest as encoded bytes");
            rooms.trimmer.request();
        }
    }
}

/// Retries a snapshot of every doc whose writes failed, with backoff,
/// until the store takes it: then its acks resume. Ends with the rooms.
async fn repair_loop(rooms: Weak<Rooms>, mut failed: UnboundedReceiver<DocId>) {
    let mut docs: HashSet<DocId> = HashSet::new();
    let mut backoff = Backoff::new(REPAIR_FIRST, REPAIR_MAX);
    loop {
        if docs.is_empty() {
            match failed.recv().await {
                Some(doc) => docs.insert(doc),
                None => return,
            };
            backoff.reset();
        }
        let wait = tokio::time::sleep(backoff.next_delay());
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                doc = failed.recv() => match doc {
                    Some(doc) => docs.insert(doc),
                    None => return,
                },
            };
        }
        let Some(rooms) = rooms.upgrade() else { return };
        let mut still = HashSet::new();
        for doc in docs.drain() {
            // An unloaded doc was persisted first; an evicted one is gone.
            let Some(room) = rooms.loaded_room(&doc) else {
                continue;
            };
            if let Err(e) = room.repair().await {
                tracing::debug!(doc = %doc, error = %e, "repair: the store still cannot take the snapshot");
                still.insert(doc);
            }
        }
        drop(rooms);
        docs = still;
    }
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
        peers: Option<Arc<dyn Peers>>,
    ) -> Arc<Self> {
        let (repairs, failed) = mpsc::unbounded_channel();
        let rooms = Arc::new(Rooms {
            map: Mutex::new(HashMap::new()),
            store,
            metrics,
            config,
            peers,
            trimmer: Arc::default(),
            repairs,
        });
        tokio::spawn(repair_loop(Arc::downgrade(&rooms), failed));
        tokio::spawn(rest_loop(Arc::downgrade(&rooms), rooms.config.rest_after));
        rooms
    }

    /// Loaded docs holding changes the store could not write yet, and why.
    pub fn unsaved(&self) -> Vec<(DocId, StoreError)> {
        let rooms: Vec<_> = self
            .map
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(doc, s)| Some((doc.clone(), s.cell.get()?.clone())))
            .collect();
        let mut out: Vec<_> = rooms
            .into_iter()
            .filter_map(|(doc, room)| Some((doc, room.unsaved()?)))
            .collect();
        out.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        out
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
                if let Some(cluster) = &self.peers {
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

    /// Tells this node's and every other node's connections to `doc` what
    /// happened to it.
    pub fn announce(&self, doc: &DocId, notice: NodeNotice) {
        if let Some(room) = self.loaded_room(doc) {
            room.notice(notice);
        }
        if let Some(peers) = &self.peers {
            peers.publish(doc, protocol::node_notice(notice));
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
        if self.unload_now(doc, close::INTERNAL, "document reloading") {
            tracing::error!(doc = %doc, "document evicted after an internal error; clients will reload it");
        }
    }

    /// Drops `doc` from memory at once, closing its connections with
    /// `code`; true if it was loaded. Nothing is written.
    pub fn unload_now(&self, doc: &DocId, code: u16, reason: &str) -> bool {
        let mut map = self.map.lock().unwrap();
        let slot = map.remove(doc);
        // Under the map lock, so a reload's subscription comes after.
        if let Some(peers) = self.peers.as_ref().filter(|_| slot.is_some()) {
            peers.unsubscribe(doc);
        }
        drop(map);
        match slot.as_ref().and_then(|s| s.cell.get()) {
            Some(room) => {
                room.close_all(code, reason);
                self.metrics.docs_loaded.dec();
                true
            }
            None => false,
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

    /// Unloads an idle doc once everything it holds is durable. While the
    /// store cannot take it, the doc stays loaded (memory is the only copy
    /// of its unsaved changes) and this retries with backoff.
    async fn unload(self: Arc<Self>, doc: DocId, slot: Arc<Slot>, generation: u64) {
        // Backoff scales with the grace period so short test settings stay short.
        let first = self
            .config
            .unload_after
            .clamp(Duration::from_millis(10), Duration::from_millis(500));
        let mut backoff = Backoff::new(first, REPAIR_MAX);
        loop {
            if !self.still_idle(&doc, &slot, generation) {
                return;
            }
            let Some(room) = slot.cell.get().cloned() else {
                break;
            };
            // Changes since the last version get one before the doc goes;
            // `persist` flushes it with the rest.
            drop(room.version_if_edited());
            let writes = room.writes();
            match room.persist().await {
                // Only if nothing was queued meanwhile (a repair snapshot,
                // say); joins are caught by the generation.
                Ok(()) if room.writes() == writes => {
                    self.remove_if_idle(&doc, &slot, Some(generation));
                    return;
                }
                Ok(()) => {}
                Err(e) => {
                    tracing::debug!(doc = %doc, error = %e, "unload: waiting for the store to take the doc's changes");
                    tokio::time::sleep(backoff.next_delay()).await;
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
                if let Some(peers) = &self.peers {
                    peers.unsubscribe(doc);
                }
            }
            tracing::debug!(doc = %doc, "unloaded");
            self.trimmer.request();
        }
    }

    /// Persists every loaded doc, at shutdown, within `time`. Returns the
    /// docs whose latest changes could not be saved, and why.
    pub async fn persist_all(&self, time: Duration) -> Vec<(DocId, String)> {
        let rooms: Vec<_> = self
            .map
            .lock()
            .unwrap()
            .values()
            .filter_map(|s| s.cell.get().cloned())
            .collect();
        let until = tokio::time::Instant::now() + time;
        let mut unsaved = Vec::new();
        for room in rooms {
            // Stopping unloads every doc: changes since the last version
            // get one, as at any unload.
            drop(room.version_if_edited());
            match tokio::time::timeout_at(until, room.persist()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => unsaved.push((room.doc.clone(), e.to_string())),
                Err(_) => {
                    unsaved.push((room.doc.clone(), "the store did not answer in time".into()))
                }
            }
        }
        unsaved
    }

    async fn load(&self, doc: &DocId) -> Result<Arc<RoomHandle>, RoomError> {
        let started = Instant::now();
        // The stream's tail before the load: see `peers` for why.
        let tail = match &self.peers {
            Some(peers) => Some(peers.tail(doc).await),
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
        Ok(Arc::new_cyclic(|me| RoomHandle {
            me: me.clone(),
            doc: doc.clone(),
            state: Mutex::new(State {
                room,
                peers: HashMap::new(),
                log_len: stored.log_len,
                title: None,
                edits: Edits::new(self.config.versions.clock.now_millis()),
                pending: Coalesce::default(),
                quiet_looks: 0,
            }),
            durability: Arc::new(Durability::new(
                doc.clone(),
                self.metrics.clone(),
                self.repairs.clone(),
            )),
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            compact_after: self.config.compact_after.max(1),
            peers: self.peers.clone(),
            tail: Mutex::new(tail),
            trashed: Default::default(),
            link_gen: Default::default(),
            versions: self.config.versions.clone(),
        }))
    }
}
