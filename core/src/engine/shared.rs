//! What a session and its network link share: the doc's protocol state,
//! the edit counts and the events the app watches. Its own module so the
//! session (`session.rs`) and the link (`link.rs`) each depend on it, not
//! on each other.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, watch};
use yrs::Doc;

use super::{DocUrl, EngineError, Library};
use crate::client::ClientSession;
use crate::doc_id::DocId;
use crate::protocol;
use crate::store::Store;

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not connected; edits stay local until the next connection.
    Offline,
    /// Opening a connection.
    Connecting,
    /// Connected; exchanging what each side lacks.
    Syncing,
    /// Connected and up to date with the server.
    Synced,
}

/// How many local edits are where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Local edits the server has not acknowledged as durable.
    pub pending: u64,
    /// Local edits the server acknowledged in this session.
    pub saved: u64,
    /// Local edits durable in the local store in this session.
    pub saved_locally: u64,
    /// The server said it cannot save this doc's changes right now (its
    /// disk is full, its database is down): pending edits wait for it.
    pub server_cannot_save: bool,
}

/// Something that happened to the session.
#[derive(Debug, Clone)]
pub enum Event {
    /// The connection status changed.
    Status(Status),
    /// The edit counts changed.
    Counts(Counts),
    /// A remote update was applied to the doc; these are its bytes (Yjs v1).
    Remote(Bytes),
    /// Remote awareness changed; the awareness update (v1) to apply.
    Awareness(Bytes),
    /// Something failed; the session keeps going unless it is fatal.
    Error(EngineError),
}

/// What the session asks the link to send.
pub(super) enum Out {
    /// A local edit (Yjs v1 update).
    Update(Bytes),
    /// The local awareness changed.
    Awareness,
    /// Say goodbye and stop.
    Close,
}

/// What the session and its link share.
pub(super) struct Inner {
    pub(super) url: DocUrl,
    pub(super) key: DocId,
    pub(super) doc: Doc,
    pub(super) proto: Mutex<ClientSession>,
    pub(super) store: Arc<dyn Store>,
    pub(super) library: Option<Arc<Library>>,
    pub(super) status: watch::Sender<Status>,
    pub(super) counts: watch::Sender<Counts>,
    pub(super) events: broadcast::Sender<Event>,
    pub(super) outbound: mpsc::UnboundedSender<Out>,
    /// Local edits the server has not saved (persisted in the library).
    pub(super) pending: AtomicU64,
    pub(super) saved: AtomicU64,
    pub(super) saved_locally: AtomicU64,
    /// The server sends acks (weft-server), so `pending` counts down by them.
    pub(super) acks: AtomicBool,
    /// Why the server cannot save right now, as it said (store notice).
    pub(super) cannot_save: Mutex<Option<String>>,
    /// An awareness update made elsewhere on this device (the editor's own
    /// awareness, under its own client id); re-sent on every connection.
    pub(super) relayed: Mutex<Option<Bytes>>,
    /// A refusal that retrying cannot fix (a bad token): waits fail with it.
    pub(super) fatal: Mutex<Option<EngineError>>,
    pub(super) last_error: Mutex<Option<EngineError>>,
}

impl Inner {
    pub(super) fn set_status(&self, s: Status) {
        if self
            .status
            .send_if_modified(|cur| std::mem::replace(cur, s) != s)
        {
            let _ = self.events.send(Event::Status(s));
        }
    }

    pub(super) fn publish_counts(&self) {
        let c = Counts {
            pending: self.pending.load(Ordering::SeqCst),
            saved: self.saved.load(Ordering::SeqCst),
            saved_locally: self.saved_locally.load(Ordering::SeqCst),
            server_cannot_save: self.cannot_save.lock().unwrap().is_some(),
        };
        self.counts.send_replace(c);
        let _ = self.events.send(Event::Counts(c));
    }

    pub(super) fn error(&self, e: EngineError) {
        tracing::debug!(doc = %self.url, error = %e, "engine");
        *self.last_error.lock().unwrap() = Some(e.clone());
        let _ = self.events.send(Event::Error(e));
    }

    /// Records the server's store notice; `None` also on a new connection.
    pub(super) fn set_cannot_save(&self, reason: Option<String>) {
        let changed = {
            let mut cur = self.cannot_save.lock().unwrap();
            std::mem::replace(&mut *cur, reason.clone()) != reason
        };
        // Shown through the counts (the app's status bar), not as an error:
        // it is a state, and it ends by itself.
        if changed {
            self.publish_counts();
        }
    }

    pub(super) fn mark_saved(&self, edits: u64) {
        if edits == 0 {
            return;
        }
        let prev = self
            .pending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| {
                Some(p.saturating_sub(edits))
            });
        let done = prev.map(|p| p.min(edits)).unwrap_or(0);
        self.saved.fetch_add(done, Ordering::SeqCst);
        if let Some(lib) = &self.library {
            let _ = lib.set_unsaved(self.key.as_str(), self.pending.load(Ordering::SeqCst));
        }
        self.publish_counts();
    }
}

impl Inner {
    /// After a disconnect nobody else is known to be present: drop their
    /// awareness (the server re-sends it on reconnect), so no ghost cursors.
    pub(super) fn forget_others(&self) {
        let mut p = self.proto.lock().unwrap();
        let me = p.awareness().client_id();
        let others: Vec<_> = p
            .awareness()
            .iter()
            .filter(|(id, s)| *id != me && s.data.is_some())
            .map(|(id, _)| id)
            .collect();
        for id in others {
            p.awareness_mut().remove_state(id);
        }
    }

    /// The relayed awareness (the editor's) as a frame, if any.
    pub(super) fn relayed_frame(&self) -> Option<Bytes> {
        let raw = self.relayed.lock().unwrap().clone()?;
        let update = protocol::decode_awareness(&raw).ok()?;
        Some(protocol::encode(&yrs::sync::Message::Awareness(update)))
    }
}
