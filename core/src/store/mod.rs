//! Where documents are kept: a small trait with an in-memory implementation
//! for tests and an embedded SQLite one for production. The server adds a
//! PostgreSQL one behind the same trait for cluster mode.
//!
//! Writes take a completion callback instead of returning a future because
//! the room must enqueue them while it holds its lock (so the log order is the
//! order updates were applied), and acks must be counted in that same order.
//! Callbacks run on the store's writer, so they must be quick and must not
//! take locks the caller may hold.
//!
//! [`queue`] is the group-commit write queue both durable stores use: a
//! store supplies only its commit.

pub mod blob_collection;
pub mod blobs;
#[doc(hidden)]
pub mod contract;
pub mod index;
mod memory;
pub mod queue;
mod sqlite;
mod sqlite_blobs;
mod sqlite_index;
mod sqlite_schema;
mod sqlite_versions;
pub mod versions;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::doc_id::DocId;
use bytes::Bytes;

pub use blobs::{BlobMeta, NewBlob};
pub use index::{Cursor, DocMeta, ListQuery, Page, Scope};
pub use memory::MemoryStore;
pub use sqlite::{BackupInfo, DirLock, SqliteStore};
pub use versions::{NewVersion, Retention, VersionKind, VersionMeta};

/// The SQLite file's name in a data directory (the server's and the app's).
pub const DB_FILE: &str = "weft.db";

/// The SQLite file in data directory `dir`.
pub fn db_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join(DB_FILE)
}

/// A boxed, sendable future, so the trait stays object-safe.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// Called once a queued write is durable, or has failed.
pub type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send + 'static>;

/// Why the store could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error; shared because one failed batch fails every write in it.
    #[error("sqlite: {0}")]
    Sqlite(Arc<rusqlite::Error>),
    /// The data directory could not be prepared.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What the OS said.
        source: Arc<std::io::Error>,
    },
    /// The store has shut down and takes no more work.
    #[error("the store is closed")]
    Closed,
    /// Another process holds the data directory (a running server).
    #[error("{0} is in use by a running weft-server; stop it first")]
    Locked(String),
    /// A file is not a Weft database.
    #[error("{path} is not a Weft database: {reason}")]
    NotWeft {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A networked backend (PostgreSQL) reported an error.
    #[error("{backend}: {message}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What it said.
        message: String,
    },
    /// A networked backend could not be reached; the message says which and where.
    #[error("{0}")]
    Unreachable(String),
    /// Writes are failing on purpose (the memory store's failure switch, for tests).
    #[error("writes are failing (injected)")]
    Injected,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(Arc::new(e))
    }
}

/// Everything stored for one doc.
#[derive(Debug, Default, Clone)]
pub struct StoredDoc {
    /// The snapshot (if any) first, then the logged updates in order.
    pub updates: Vec<Bytes>,
    /// How many of `updates` are log entries rather than the snapshot.
    pub log_len: usize,
}

/// A document store. Writes for one doc happen in the order they were
/// called: a write queued before another is committed no later than it.
pub trait Store: Send + Sync + 'static {
    /// Reads everything stored for `doc`.
    fn load(&self, doc: &DocId) -> StoreFuture<StoredDoc>;
    /// Queues `update` for `doc`; `done` runs when it is durable.
    fn append(&self, doc: &DocId, update: Bytes, done: Done);
    /// Replaces everything queued for `doc` before this call with
    /// `snapshot`, which must contain all of it.
    fn compact(&self, doc: &DocId, snapshot: Bytes, done: Done);
    /// `done` runs once everything queued before this call is finished.
    fn flush(&self, done: Done);
    /// Succeeds while the store can take writes.
    fn check(&self) -> StoreFuture<()>;

    // The document index (see [`index`]): appends and compactions keep
    // sizes and times; these read it and queue the rest, in order with
    // the document's writes.

    /// `doc`'s entry; `None` if nothing was ever stored for it.
    fn meta(&self, doc: &DocId) -> StoreFuture<Option<DocMeta>>;
    /// A page of documents not in the trash, newest first.
    fn list(&self, query: ListQuery) -> StoreFuture<Page>;
    /// Documents moved to the trash before `before` (unix seconds).
    fn trashed_before(&self, before: i64) -> StoreFuture<Vec<DocId>>;
    /// Queues an index change (a [`queue::Write`] other than an update).
    fn index(&self, write: queue::Write, done: Done);

    // Version history (see [`versions`]); written through [`Store::index`].

    /// `doc`'s versions, newest first.
    fn versions(&self, doc: &DocId) -> StoreFuture<Vec<VersionMeta>>;
    /// One version with its state; `None` if `doc` has no such version.
    fn version(&self, doc: &DocId, id: &str) -> StoreFuture<Option<(VersionMeta, Bytes)>>;
    /// Documents with automatic versions, which thinning visits.
    fn docs_with_auto_versions(&self) -> StoreFuture<Vec<DocId>>;

    // Blobs (see [`blobs`]); written through [`Store::index`].

    /// Blob `hash` as `doc` has it; `None` if `doc` never uploaded it.
    fn blob(&self, doc: &DocId, hash: &str) -> StoreFuture<Option<BlobMeta>>;
    /// Part `n` of blob `hash`; `None` past its end.
    fn blob_part(&self, hash: &str, n: u32) -> StoreFuture<Option<Bytes>>;
    /// Bytes of blobs `doc` has uploaded (its quota's use).
    fn blob_usage(&self, doc: &DocId) -> StoreFuture<u64>;
    /// `(document, blob)` pairs not seen in use since `before`: what
    /// collection looks at.
    fn blobs_unseen_since(&self, before: i64) -> StoreFuture<Vec<(DocId, String)>>;
}

/// Runs a callback-style store call and waits for its result.
async fn wait(call: impl FnOnce(Done)) -> Result<(), StoreError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    call(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.await.unwrap_or(Err(StoreError::Closed))
}

/// [`Store::flush`] as a future.
pub async fn flush(store: &dyn Store) -> Result<(), StoreError> {
    wait(|done| store.flush(done)).await
}

/// [`Store::compact`] as a future.
pub async fn compact(store: &dyn Store, doc: &DocId, snapshot: Bytes) -> Result<(), StoreError> {
    wait(|done| store.compact(doc, snapshot, done)).await
}

/// [`Store::index`] as a future.
pub async fn index(store: &dyn Store, write: queue::Write) -> Result<(), StoreError> {
    wait(|done| store.index(write, done)).await
}

/// [`Store::append`] as a future.
pub async fn append(store: &dyn Store, doc: &DocId, update: Bytes) -> Result<(), StoreError> {
    wait(|done| store.append(doc, update, done)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    async fn contract(store: &dyn Store) {
        let d = id("doc");
        append(store, &d, Bytes::from_static(b"a")).await.unwrap();
        append(store, &d, Bytes::from_static(b"b")).await.unwrap();
        append(store, &id("other"), Bytes::from_static(b"x"))
            .await
            .unwrap();
        let got = store.load(&d).await.unwrap();
        assert_eq!(
            got.updates,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );
        assert_eq!(got.log_len, 2);

        // A compaction replaces what came before it, not what comes after.
        store.compact(&d, Bytes::from_static(b"S"), Box::new(|r| r.unwrap()));
        append(store, &d, Bytes::from_static(b"c")).await.unwrap();
        let got = store.load(&d).await.unwrap();
        assert_eq!(
            got.updates,
            vec![Bytes::from_static(b"S"), Bytes::from_static(b"c")]
        );
        assert_eq!(got.log_len, 1);
        assert_eq!(store.load(&id("other")).await.unwrap().updates.len(), 1);
        assert!(store.load(&id("none")).await.unwrap().updates.is_empty());
        store.check().await.unwrap();
    }

    #[tokio::test]
    async fn memory_store_keeps_the_contract() {
        contract(&MemoryStore::default()).await;
    }

    #[tokio::test]
    async fn sqlite_store_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        contract(&SqliteStore::open(dir.path()).unwrap()).await;
    }

    #[tokio::test]
    async fn sqlite_store_answers_a_burst_of_loads_each_with_its_own_doc() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        for i in 0..100u8 {
            append(&store, &id(&format!("d{i}")), Bytes::from(vec![i]))
                .await
                .unwrap();
        }
        // All asked before any is awaited: they queue on the reader thread.
        let loads: Vec<_> = (0..100u8)
            .map(|i| store.load(&id(&format!("d{i}"))))
            .collect();
        for (i, load) in loads.into_iter().enumerate() {
            assert_eq!(
                load.await.unwrap().updates,
                vec![Bytes::from(vec![i as u8])]
            );
        }
    }

    #[tokio::test]
    async fn sqlite_store_survives_reopen_and_group_commits() {
        let dir = tempfile::tempdir().unwrap();
        let d = id("doc");
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for i in 0..500u32 {
                let tx = tx.clone();
                store.append(
                    &d,
                    Bytes::from(i.to_le_bytes().to_vec()),
                    Box::new(move |r| tx.send((i, r.is_ok())).unwrap()),
                );
            }
            // Completions arrive in the order the writes were queued.
            for i in 0..500u32 {
                assert_eq!(rx.recv().await.unwrap(), (i, true));
            }
            assert!(
                store.batches() < 500,
                "writes were not grouped: {} batches",
                store.batches()
            );
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let got = store.load(&d).await.unwrap();
        assert_eq!(got.updates.len(), 500);
        assert_eq!(got.updates[499], Bytes::from(499u32.to_le_bytes().to_vec()));
    }
}
