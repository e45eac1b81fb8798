//! What the HTTP API does to a document, on the same paths a WebSocket
//! client's messages take: an update goes through the room (applied, sent
//! to live peers, queued to the store) and counts as done once the store
//! has it, exactly as an ack would say.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use weft_core::doc_id::DocId;
use weft_core::protocol;
use weft_core::room::Access;
use weft_core::store::{self, DocMeta, StoreError};
use weft_core::ProtocolError;
use yrs::{Doc, ReadTxn, StateVector, Transact, TransactionMut};

use crate::documents::rooms::RoomError;
use crate::state::Shared;
use crate::ws::control::{next_conn_id, ConnControl};

/// How long a write waits for the store before answering that it is not
/// saved (the change stays in memory and is retried, as for a WebSocket).
pub const SAVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a document operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Nothing was ever stored for this id.
    #[error("no document with this id")]
    NotFound,
    /// The document has no version with this id.
    #[error("this document has no version with this id")]
    NoVersion,
    /// The document is in the trash.
    #[error("the document is in the trash; restore it first")]
    Trashed,
    /// The body is not a Yjs update, or does not apply.
    #[error("not a Yjs v1 update: {0}")]
    BadUpdate(#[from] ProtocolError),
    /// The store did not take the change in time; it is kept in memory and
    /// retried, but not reported as saved.
    #[error("not saved: {0}")]
    NotSaved(String),
    /// The document could not be loaded.
    #[error(transparent)]
    Load(#[from] RoomError),
    /// The index could not be read or written.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// The document's index entry; [`DocError::NotFound`] if there is none.
pub async fn meta(shared: &Shared, doc: &DocId) -> Result<DocMeta, DocError> {
    shared.store.meta(doc).await?.ok_or(DocError::NotFound)
}

/// The entry of a document that exists and is not in the trash.
pub async fn live(shared: &Shared, doc: &DocId) -> Result<DocMeta, DocError> {
    let m = meta(shared, doc).await?;
    match m.trashed_at {
        Some(_) => Err(DocError::Trashed),
        None => Ok(m),
    }
}

/// Runs `f` on the document as it is now.
pub async fn read<R>(
    shared: &Arc<Shared>,
    doc: &DocId,
    f: impl FnOnce(&Doc) -> R,
) -> Result<R, DocError> {
    let lease = shared.rooms.acquire(doc).await?;
    let out = lease.room.read(f);
    shared.rooms.release(lease);
    Ok(out)
}

/// Applies `update` (Yjs v1) as if a WebSocket client had sent it, and
/// returns once it is durable. A bad update changes nothing. `author` (a
/// token's `sub`) is named in the next version.
pub async fn apply(
    shared: &Arc<Shared>,
    doc: &DocId,
    update: &[u8],
    author: Option<&str>,
) -> Result<(), DocError> {
    // Checked whole before anything is applied, as the room does.
    let decoded = protocol::decode_update(update)?;
    if decoded.is_empty() {
        return Ok(());
    }
    let lease = shared.rooms.acquire(doc).await?;
    if let Some(a) = author {
        lease.room.authored(a);
    }
    let ctl = Arc::new(ConnControl::new(&shared.shutdown));
    let frame = protocol::update(update.to_vec());
    let received = lease
        .room
        .receive(next_conn_id(), &frame, &Access::Write, &ctl);
    let result = match received {
        Ok((_, updates)) => wait_durable(&ctl, updates, &lease.room).await,
        Err(e) => Err(DocError::BadUpdate(e)),
    };
    shared.rooms.release(lease);
    result?;
    // The index writes it caused (a title) are queued just after it: once
    // they are in too, a listing right after the answer shows them.
    // The update itself is durable either way, so a failure here is only
    // logged (the index catches up with the next change).
    let flushed = tokio::time::timeout(SAVE_TIMEOUT, store::flush(&*shared.store)).await;
    if !matches!(flushed, Ok(Ok(()))) {
        tracing::debug!(doc = %doc, "the index did not confirm its part of the change");
    }
    Ok(())
}

/// Waits until `updates` of `ctl`'s messages are durable.
async fn wait_durable(
    ctl: &ConnControl,
    updates: u64,
    room: &crate::documents::rooms::RoomHandle,
) -> Result<(), DocError> {
    let deadline = tokio::time::Instant::now() + SAVE_TIMEOUT;
    loop {
        let notified = ctl.acked.notified();
        if ctl.durable.load(Ordering::SeqCst) >= updates {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            let why = match room.unsaved() {
                Some(e) => format!("the server cannot write (disk full?): {e}"),
                None => format!("the store did not confirm it within {SAVE_TIMEOUT:?}"),
            };
            return Err(DocError::NotSaved(why));
        }
    }
}

/// Makes a change with `f` in one transaction on a copy of the document,
/// under a client id of its own, and applies it like a client's update:
/// live editors see exactly that change.
pub async fn edit(
    shared: &Arc<Shared>,
    doc: &DocId,
    author: Option<&str>,
    f: impl FnOnce(&mut TransactionMut),
) -> Result<(), DocError> {
    let state = read(shared, doc, |d| {
        d.transact()
            .encode_state_as_update_v1(&StateVector::default())
    })
    .await?;
    let copy = weft_core::history::load(&state)?;
    let update = {
        let mut txn = copy.transact_mut();
        f(&mut txn);
        txn.encode_update_v1()
    };
    apply(shared, doc, &update, author).await
}
