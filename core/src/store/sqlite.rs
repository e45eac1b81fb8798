//! The embedded store: one SQLite file in WAL mode, `synchronous=FULL`.
//!
//! One writer thread owns the write connection. It takes every write that
//! is waiting, commits them in one transaction (group commit), then runs
//! their callbacks in order. Reads use a second connection, which WAL lets
//! run beside the writer.
//!
//! Layout of `weft.db`:
//! - `updates(id INTEGER PRIMARY KEY, doc TEXT, data BLOB)`: the log, in id order;
//! - `snapshots(doc TEXT PRIMARY KEY, data BLOB, updated_at INTEGER)`: one
//!   merged state per doc, which replaces the log entries before it;
//! - `meta(key TEXT PRIMARY KEY, value TEXT)`: the health probe's row.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::doc_id::DocId;
use bytes::Bytes;
use rusqlite::{params, Connection, OpenFlags};

use super::{Done, Store, StoreError, StoreFuture, StoredDoc};

/// Most writes committed in one transaction; bounds how long one commit takes.
const MAX_BATCH: usize = 4096;

enum Op {
    Append(DocId, Bytes, Done),
    Compact(DocId, Bytes, Done),
    Flush(Done),
    Check(Done),
}

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    tx: Mutex<mpsc::Sender<Op>>,
    read: Arc<Mutex<Connection>>,
    batches: Arc<AtomicU64>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/weft.db`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::DataDir {
            path: dir.display().to_string(),
            source: Arc::new(e),
        })?;
        let path = dir.join("weft.db");
        let write = Connection::open(&path)?;
        write.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, data BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS updates_by_doc ON updates(doc, id);
             CREATE TABLE IF NOT EXISTS snapshots (doc TEXT PRIMARY KEY, data BLOB NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
             PRAGMA user_version=1;",
        )?;
        let read = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        read.busy_timeout(std::time::Duration::from_secs(5))?;
        let (tx, rx) = mpsc::channel();
        let batches = Arc::new(AtomicU64::new(0));
        let counter = batches.clone();
        thread::Builder::new()
            .name("weft-sqlite-writer".into())
            .spawn(move || writer(write, rx, counter))
            .map_err(|e| StoreError::DataDir {
                path: dir.display().to_string(),
                source: Arc::new(e),
            })?;
        Ok(SqliteStore {
            tx: Mutex::new(tx),
            read: Arc::new(Mutex::new(read)),
            batches,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many transactions the writer has committed; shows grouping works.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    fn send(&self, op: Op) {
        if let Err(mpsc::SendError(op)) = self.tx.lock().unwrap().send(op) {
            let done = match op {
                Op::Append(_, _, d) | Op::Compact(_, _, d) | Op::Flush(d) | Op::Check(d) => d,
            };
            done(Err(StoreError::Closed));
        }
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<Op>, batches: Arc<AtomicU64>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let result = commit(&mut conn, &batch).map_err(StoreError::from);
        if let Err(e) = &result {
            tracing::error!(error = %e, writes = batch.len(), "store commit failed");
        }
        batches.fetch_add(1, Ordering::Relaxed);
        for op in batch {
            let done = match op {
                Op::Append(_, _, d) | Op::Compact(_, _, d) | Op::Flush(d) | Op::Check(d) => d,
            };
            done(result.clone());
        }
    }
}

fn commit(conn: &mut Connection, batch: &[Op]) -> rusqlite::Result<()> {
    if batch.iter().all(|op| matches!(op, Op::Flush(_))) {
        return Ok(());
    }
    let txn = conn.transaction()?;
    {
        let mut append = txn.prepare_cached("INSERT INTO updates (doc, data) VALUES (?1, ?2)")?;
        for op in batch {
            match op {
                Op::Append(doc, data, _) => {
                    append.execute(params![doc.as_str(), &data[..]])?;
                }
                Op::Compact(doc, data, _) => {
                    txn.execute("DELETE FROM updates WHERE doc = ?1", params![doc.as_str()])?;
                    txn.execute(
                        "INSERT OR REPLACE INTO snapshots (doc, data, updated_at) VALUES (?1, ?2, ?3)",
                        params![doc.as_str(), &data[..], unix_now()],
                    )?;
                }
                Op::Check(_) => {
                    txn.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('health', ?1)",
                        params![unix_now().to_string()],
                    )?;
                }
                Op::Flush(_) => {}
            }
        }
    }
    txn.commit()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn load(conn: &Connection, doc: &str) -> rusqlite::Result<StoredDoc> {
    // One read transaction, so the snapshot and the log agree.
    conn.execute_batch("BEGIN")?;
    let result = (|| {
        let mut out = StoredDoc::default();
        let mut snap = conn.prepare_cached("SELECT data FROM snapshots WHERE doc = ?1")?;
        let mut rows = snap.query(params![doc])?;
        if let Some(row) = rows.next()? {
            out.updates.push(Bytes::from(row.get::<_, Vec<u8>>(0)?));
        }
        let mut log = conn.prepare_cached("SELECT data FROM updates WHERE doc = ?1 ORDER BY id")?;
        let mut rows = log.query(params![doc])?;
        while let Some(row) = rows.next()? {
            out.updates.push(Bytes::from(row.get::<_, Vec<u8>>(0)?));
            out.log_len += 1;
        }
        Ok(out)
    })();
    conn.execute_batch("COMMIT")?;
    result
}

impl Store for SqliteStore {
    fn load(&self, doc: &DocId) -> StoreFuture<StoredDoc> {
        let read = self.read.clone();
        let doc = doc.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || load(&read.lock().unwrap(), doc.as_str()))
                .await
                .map_err(|_| StoreError::Closed)?
                .map_err(StoreError::from)
        })
    }

    fn append(&self, doc: &DocId, update: Bytes, done: Done) {
        self.send(Op::Append(doc.clone(), update, done));
    }

    fn compact(&self, doc: &DocId, snapshot: Bytes, done: Done) {
        self.send(Op::Compact(doc.clone(), snapshot, done));
    }

    fn flush(&self, done: Done) {
        self.send(Op::Flush(done));
    }

    fn check(&self) -> StoreFuture<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Op::Check(Box::new(move |r| {
            let _ = tx.send(r);
        })));
        Box::pin(async move { rx.await.unwrap_or(Err(StoreError::Closed)) })
    }
}
