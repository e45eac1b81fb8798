//! One open document: the doc, its local copy, and what the app asks of
//! it. The connection itself is the link's (`link.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use yrs::{Doc, Origin, ReadTxn, StateVector, Transact, TransactionMut};

use super::link;
use super::shared::{Counts, Event, Inner, Out, Status};
use super::{DocUrl, EngineError, Library};
use crate::client::{ClientSession, REMOTE_ORIGIN};
use crate::protocol;
use crate::store::{self, Store};

/// Origin of updates replayed from the local store: not stored again, not sent.
const LOAD_ORIGIN: &str = "weft-load";
/// Local log entries after which loading writes a snapshot.
const COMPACT_AFTER: usize = 500;

/// How to open a session.
pub struct SessionOptions {
    /// The document.
    pub url: DocUrl,
    /// Where local updates are kept.
    pub store: Arc<dyn Store>,
    /// Document metadata, if the caller keeps a library.
    pub library: Option<Arc<Library>>,
    /// The local awareness state (JSON), if any.
    pub awareness: Option<String>,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Whether to connect at all (false: local only).
    pub connect: bool,
}

impl SessionOptions {
    /// Defaults: in-memory store, no library, 10 s backoff cap, connecting.
    pub fn new(url: DocUrl) -> Self {
        SessionOptions {
            url,
            store: Arc::new(store::MemoryStore::default()),
            library: None,
            awareness: None,
            max_backoff: Duration::from_secs(10),
            connect: true,
        }
    }
}

/// An open document.
pub struct Session {
    inner: Arc<Inner>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Session {
    /// Opens `opts.url`: loads the local copy first (so it works offline),
    /// then starts connecting in the background.
    pub async fn open(opts: SessionOptions) -> Result<Session, EngineError> {
        let key = opts.url.local_key()?;
        let doc = Doc::new();
        let stored = opts.store.load(&key).await?;
        {
            let mut txn = doc.transact_mut_with(LOAD_ORIGIN);
            for u in &stored.updates {
                match protocol::decode_update(u) {
                    Ok(update) => {
                        if let Err(e) = txn.apply_update(update) {
                            tracing::warn!(error = %e, "skipping a local update that does not apply");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "skipping an undecodable local update"),
                }
            }
        }
        if stored.log_len > COMPACT_AFTER {
            let snapshot = doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            store::compact(&*opts.store, &key, Bytes::from(snapshot)).await?;
        }
        let pending = match &opts.library {
            Some(lib) => lib.touch(&opts.url, None)?.unsaved,
            None => 0,
        };

        let mut proto = ClientSession::new(doc.clone());
        if let Some(state) = &opts.awareness {
            proto.awareness_mut().set_local_state_raw(state.as_str());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            url: opts.url.clone(),
            key,
            doc: doc.clone(),
            proto: Mutex::new(proto),
            store: opts.store.clone(),
            library: opts.library.clone(),
            status: watch::channel(Status::Offline).0,
            counts: watch::channel(Counts {
                pending,
                ..Counts::default()
            })
            .0,
            events: broadcast::channel(1024).0,
            outbound: tx,
            pending: AtomicU64::new(pending),
            saved: AtomicU64::new(0),
            saved_locally: AtomicU64::new(0),
            acks: AtomicBool::new(false),
            cannot_save: Mutex::new(None),
            relayed: Mutex::new(None),
            fatal: Mutex::new(None),
            last_error: Mutex::new(None),
        });
        observe(&inner);
        let task = opts
            .connect
            .then(|| tokio::spawn(link::run(inner.clone(), rx, opts.max_backoff)));
        Ok(Session {
            inner,
            task: Mutex::new(task),
        })
    }

    /// The document. Local transactions on it are stored and sent; use
    /// [`Session::transact`] or [`Session::apply_local_update`].
    pub fn doc(&self) -> &Doc {
        &self.inner.doc
    }

    /// The URL this session syncs.
    pub fn url(&self) -> &DocUrl {
        &self.inner.url
    }

    /// Runs a local edit in one transaction.
    pub fn transact<R>(&self, f: impl FnOnce(&mut TransactionMut) -> R) -> R {
        let mut txn = self.inner.doc.transact_mut();
        f(&mut txn)
    }

    /// Applies an update made elsewhere on this device (the editor's own
    /// Y.Doc): stored and sent like any local edit.
    pub fn apply_local_update(&self, update: &[u8]) -> Result<(), EngineError> {
        let update = protocol::decode_update(update)?;
        self.inner
            .doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| crate::ProtocolError::from(e).into())
    }

    /// Sets the local awareness state (JSON) and sends it.
    pub fn set_awareness(&self, json: &str) {
        self.inner
            .proto
            .lock()
            .unwrap()
            .awareness_mut()
            .set_local_state_raw(json);
        let _ = self.inner.outbound.send(Out::Awareness);
    }

    /// Sends an awareness update made on this device under another client
    /// id (the editor's), and keeps it to re-send after reconnecting.
    pub fn relay_awareness(&self, update: &[u8]) -> Result<(), EngineError> {
        protocol::decode_awareness(update)?;
        *self.inner.relayed.lock().unwrap() = Some(Bytes::copy_from_slice(update));
        let _ = self.inner.outbound.send(Out::Awareness);
        Ok(())
    }

    /// Every remote awareness state, as one awareness update (v1), for a
    /// view that starts after they arrived.
    pub fn awareness_update(&self) -> Option<Vec<u8>> {
        let p = self.inner.proto.lock().unwrap();
        let update = p.awareness().update().ok()?;
        (!update.clients.is_empty()).then(|| yrs::updates::encoder::Encode::encode_v1(&update))
    }

    /// The whole document as one update (v1), for a view that starts now.
    pub fn state(&self) -> Vec<u8> {
        self.inner
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// Every awareness state known, as `(client id, JSON)`.
    pub fn awareness_states(&self) -> Vec<(u64, String)> {
        let p = self.inner.proto.lock().unwrap();
        p.awareness()
            .iter()
            .filter_map(|(id, s)| s.data.map(|d| (id.get(), d.to_string())))
            .collect()
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The current status.
    pub fn status(&self) -> Status {
        *self.inner.status.borrow()
    }

    /// A watch on the status.
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.inner.status.subscribe()
    }

    /// The current counts.
    pub fn counts(&self) -> Counts {
        *self.inner.counts.borrow()
    }

    /// The last error seen, if any.
    pub fn last_error(&self) -> Option<EngineError> {
        self.inner.last_error.lock().unwrap().clone()
    }

    /// Waits until the session is [`Status::Synced`]. Fails at once if the
    /// server refused the connection, and after `timeout` otherwise.
    pub async fn wait_synced(&self, timeout: Duration) -> Result<(), EngineError> {
        let mut rx = self.inner.status.subscribe();
        let wait = async {
            loop {
                if let Some(e) = self.inner.fatal.lock().unwrap().clone() {
                    return Err(e);
                }
                if *rx.borrow_and_update() == Status::Synced {
                    return Ok(());
                }
                if rx.changed().await.is_err() {
                    return Err(EngineError::Closed);
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r,
            Err(_) => Err(self
                .last_error()
                .unwrap_or_else(|| EngineError::Timeout(format!("syncing {}", self.inner.url)))),
        }
    }

    /// Waits until the server holds every local edit: by its acks when it
    /// sends them (weft-server), else by comparing its state vector with
    /// ours over a second connection (any y-websocket server).
    pub async fn wait_saved(&self, timeout: Duration) -> Result<(), EngineError> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.wait_synced(timeout).await?;
        let mut counts = self.inner.counts.subscribe();
        loop {
            // Refused outright (permission-denied): no ack will come.
            if let Some(EngineError::Denied(why)) = self.last_error() {
                return Err(EngineError::Denied(why));
            }
            if self.inner.acks.load(Ordering::SeqCst) {
                if counts.borrow_and_update().pending == 0 {
                    return Ok(());
                }
            } else if link::server_has(&self.inner.url, &self.inner.doc).await? {
                let pending = self.inner.pending.load(Ordering::SeqCst);
                self.inner.mark_saved(pending);
                return Ok(());
            }
            let tick = tokio::time::sleep(Duration::from_millis(50));
            tokio::select! {
                _ = counts.changed() => {}
                _ = tick => {}
                _ = tokio::time::sleep_until(deadline) => {
                    let why = match self.inner.cannot_save.lock().unwrap().as_deref() {
                        Some(reason) => cannot_save_message(reason),
                        None => format!("the server did not confirm it stored the change within {timeout:?}"),
                    };
                    return Err(EngineError::NotSaved(why));
                }
            }
        }
    }

    /// Says goodbye (clears our awareness for others), closes the connection
    /// and waits for local writes to finish.
    pub async fn close(&self) {
        let _ = self.inner.outbound.send(Out::Close);
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        let _ = self.inner.doc.unobserve_update_v1("weft-engine");
        let _ = store::flush(&*self.inner.store).await;
        self.inner.set_status(Status::Offline);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
        let _ = self.inner.doc.unobserve_update_v1("weft-engine");
    }
}

/// Stores every change to the doc locally and sends local ones.
fn observe(inner: &Arc<Inner>) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let remote = Origin::from(REMOTE_ORIGIN);
    let load = Origin::from(LOAD_ORIGIN);
    let _ = inner.doc.observe_update_v1("weft-engine", move |txn, e| {
        let Some(inner) = weak.upgrade() else { return };
        let origin = txn.origin();
        if origin == Some(&load) {
            return;
        }
        let local = origin != Some(&remote);
        let bytes = Bytes::from(e.update.clone());
        if !local {
            let _ = inner.events.send(Event::Remote(bytes.clone()));
        }
        let done_inner = Arc::downgrade(&inner);
        inner.store.append(
            &inner.key,
            bytes.clone(),
            Box::new(move |r| {
                let Some(inner) = done_inner.upgrade() else {
                    return;
                };
                match r {
                    Ok(()) if local => {
                        inner.saved_locally.fetch_add(1, Ordering::SeqCst);
                        inner.publish_counts();
                    }
                    Ok(()) => {}
                    Err(e) => inner.error(e.into()),
                }
            }),
        );
        if local {
            inner.pending.fetch_add(1, Ordering::SeqCst);
            inner.publish_counts();
            let _ = inner.outbound.send(Out::Update(bytes));
        }
    });
}

/// What a person reads when the server cannot save: the likely cause
/// first, the server's own words after it.
fn cannot_save_message(reason: &str) -> String {
    format!("the server cannot write (disk full?): {reason}")
}
