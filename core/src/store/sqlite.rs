//! The embedded store: one SQLite file in WAL mode, `synchronous=FULL`.
//!
//! One writer thread owns the write connection. It takes every write that
//! is waiting, commits them in one transaction (group commit), then runs
//! their callbacks in order. Loads go to a reader thread that owns a second
//! connection, which WAL lets run beside the writer. One thread, not one
//! blocking task per load: a burst of cold loads used to start a thread
//! each (about 20 for 1,000 docs), and glibc gives threads their own heaps,
//! which stayed fragmented after the threads exited (docs/BENCHMARKS.md, workload 4).
//!
//! Layout of `weft.db`:
//! - `updates(id INTEGER PRIMARY KEY, doc TEXT, data BLOB)`: the log, in id order;
//! - `snapshots(doc TEXT PRIMARY KEY, data BLOB, updated_at INTEGER)`: one
//!   merged state per doc, which replaces the log entries before it;
//! - `meta(key TEXT PRIMARY KEY, value TEXT)`: the health probe's row;
//! - `doc_index`: the document index (`sqlite_index.rs`);
//! - `versions`: version history (`sqlite_versions.rs`);
//! - `blob_parts`, `blobs`, `doc_blobs`: images and files (`sqlite_blobs.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread;

use crate::doc_id::DocId;
use bytes::Bytes;
use rusqlite::{params, Connection, OpenFlags};
use tokio::sync::oneshot;

use super::blobs::BlobMeta;
use super::index::{DocMeta, ListQuery, Page};
use super::queue::{self, Write, WriteQueue};
use super::versions::VersionMeta;
use super::{
    db_path, sqlite_blobs, sqlite_index, sqlite_versions, Done, Store, StoreError, StoreFuture,
    StoredDoc, DB_FILE,
};
use crate::time::unix_secs;

/// Most writes committed in one transaction; bounds how long one commit takes.
const MAX_BATCH: usize = 4096;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A read for the reader thread, and where its answer goes.
enum Read {
    Load(DocId, Reply<StoredDoc>),
    Meta(DocId, Reply<Option<DocMeta>>),
    List(ListQuery, Reply<Page>),
    Trashed(i64, Reply<Vec<DocId>>),
    Versions(DocId, Reply<Vec<VersionMeta>>),
    Version(DocId, String, Reply<Option<(VersionMeta, Bytes)>>),
    AutoVersioned(Reply<Vec<DocId>>),
    Blob(DocId, String, Reply<Option<BlobMeta>>),
    BlobPart(String, u32, Reply<Option<Bytes>>),
    BlobUsage(DocId, Reply<u64>),
    BlobsUnseen(i64, Reply<Vec<(DocId, String)>>),
}

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    writes: WriteQueue,
    reads: mpsc::Sender<Read>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/weft.db`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::DataDir {
            path: dir.display().to_string(),
            source: Arc::new(e),
        })?;
        let path = db_path(dir);
        let mut write = Connection::open(&path)?;
        write.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, data BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS updates_by_doc ON updates(doc, id);
             CREATE TABLE IF NOT EXISTS snapshots (doc TEXT PRIMARY KEY, data BLOB NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);",
        )?;
        sqlite_index::migrate(&mut write, unix_secs() as i64)?;
        sqlite_versions::migrate(&mut write)?;
        sqlite_blobs::migrate(&mut write)?;
        let read = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        read.busy_timeout(std::time::Duration::from_secs(5))?;
        let spawn_failed = |e| StoreError::DataDir {
            path: dir.display().to_string(),
            source: Arc::new(e),
        };
        let (reads, read_rx) = mpsc::channel();
        thread::Builder::new()
            .name("weft-sqlite-reader".into())
            .spawn(move || reader(read, read_rx))
            .map_err(spawn_failed)?;
        let (writes, writer) = queue::channel(MAX_BATCH);
        let mut write = write;
        thread::Builder::new()
            .name("weft-sqlite-writer".into())
            .spawn(move || writer.run_blocking(|batch| Ok(commit(&mut write, batch)?)))
            .map_err(spawn_failed)?;
        Ok(SqliteStore {
            writes,
            reads,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many transactions the writer has committed; shows grouping works.
    pub fn batches(&self) -> u64 {
        self.writes.batches()
    }
}

/// Serves reads in the order asked; ends when the store is dropped.
fn reader(conn: Connection, rx: mpsc::Receiver<Read>) {
    let err = StoreError::from;
    while let Ok(read) = rx.recv() {
        // A dropped reply means the asker gave up; nothing to do.
        match read {
            Read::Load(doc, reply) => drop(reply.send(load(&conn, doc.as_str()).map_err(err))),
            Read::Meta(doc, reply) => {
                drop(reply.send(sqlite_index::meta(&conn, doc.as_str()).map_err(err)))
            }
            Read::List(q, reply) => drop(reply.send(sqlite_index::list(&conn, &q).map_err(err))),
            Read::Trashed(t, reply) => {
                drop(reply.send(sqlite_index::trashed_before(&conn, t).map_err(err)))
            }
            Read::Versions(doc, reply) => {
                drop(reply.send(sqlite_versions::list(&conn, doc.as_str()).map_err(err)))
            }
            Read::Version(doc, id, reply) => drop(
                reply.send(
                    sqlite_versions::get(&conn, doc.as_str(), &id)
                        .map(|v| v.map(|(m, state)| (m, Bytes::from(state))))
                        .map_err(err),
                ),
            ),
            Read::AutoVersioned(reply) => drop(
                reply.send(
                    sqlite_versions::docs_with_auto(&conn)
                        .map(|ids| ids.iter().filter_map(|d| DocId::new(d).ok()).collect())
                        .map_err(err),
                ),
            ),
            Read::Blob(doc, hash, reply) => {
                drop(reply.send(sqlite_blobs::meta(&conn, doc.as_str(), &hash).map_err(err)))
            }
            Read::BlobPart(hash, n, reply) => drop(
                reply.send(
                    sqlite_blobs::part(&conn, &hash, n)
                        .map(|p| p.map(Bytes::from))
                        .map_err(err),
                ),
            ),
            Read::BlobUsage(doc, reply) => {
                drop(reply.send(sqlite_blobs::usage(&conn, doc.as_str()).map_err(err)))
            }
            Read::BlobsUnseen(before, reply) => drop(
                reply.send(
                    sqlite_blobs::unseen_since(&conn, before)
                        .map(|pairs| {
                            let id = |(d, h): (String, String)| Some((DocId::new(&d).ok()?, h));
                            pairs.into_iter().filter_map(id).collect()
                        })
                        .map_err(err),
                ),
            ),
        }
    }
}

/// One transaction for the batch. Appends only add to their doc's index
/// entry, summed per doc and written before anything else touches it.
fn commit(conn: &mut Connection, batch: &[Write]) -> rusqlite::Result<()> {
    let now = unix_secs() as i64;
    let txn = conn.transaction()?;
    let mut grown: HashMap<&DocId, u64> = HashMap::new();
    {
        let mut append = txn.prepare_cached("INSERT INTO updates (doc, data) VALUES (?1, ?2)")?;
        for op in batch {
            if let Write::Append(doc, data) = op {
                append.execute(params![doc.as_str(), &data[..]])?;
                *grown.entry(doc).or_default() += data.len() as u64;
                continue;
            }
            for (doc, n) in grown.drain() {
                sqlite_index::grew(&txn, doc.as_str(), n, now)?;
            }
            apply(&txn, op, now)?;
        }
    }
    for (doc, n) in grown {
        sqlite_index::grew(&txn, doc.as_str(), n, now)?;
    }
    txn.commit()
}

/// A write other than an append, inside the batch's transaction.
fn apply(txn: &rusqlite::Transaction<'_>, op: &Write, now: i64) -> rusqlite::Result<()> {
    match op {
        Write::Append(..) | Write::Flush => {}
        Write::Compact(doc, data) => {
            txn.execute("DELETE FROM updates WHERE doc = ?1", params![doc.as_str()])?;
            txn.execute(
                "INSERT OR REPLACE INTO snapshots (doc, data, updated_at) VALUES (?1, ?2, ?3)",
                params![doc.as_str(), &data[..], now],
            )?;
            sqlite_index::resized(txn, doc.as_str(), data.len() as u64, now)?;
        }
        Write::Title(doc, title) => {
            sqlite_index::set_title(txn, doc.as_str(), title.as_deref(), now)?
        }
        Write::Trash(doc, at) => sqlite_index::set_trashed(txn, doc.as_str(), *at)?,
        Write::BumpLinks(doc) => sqlite_index::bump_links(txn, doc.as_str())?,
        Write::Purge(doc) => {
            sqlite_index::purge(txn, doc.as_str())?;
            sqlite_versions::purge(txn, doc.as_str())?;
            sqlite_blobs::purge(txn, doc.as_str())?;
        }
        Write::BlobPart(key, n, data) => sqlite_blobs::put_part(txn, key, *n, data)?,
        Write::BlobCommit(b) => sqlite_blobs::commit(txn, b)?,
        Write::BlobAbort(key) => sqlite_blobs::abort(txn, key)?,
        Write::BlobSeen(doc, hashes, now) => sqlite_blobs::seen(txn, doc.as_str(), hashes, *now)?,
        Write::BlobForget(doc, hash, before) => {
            sqlite_blobs::forget(txn, doc.as_str(), hash, *before)?
        }
        Write::BlobSweep(before) => sqlite_blobs::sweep(txn, *before)?,
        Write::Version(v) => sqlite_versions::put(txn, v)?,
        Write::NameVersion(doc, id, name) => sqlite_versions::rename(txn, doc.as_str(), id, name)?,
        Write::DropVersions(doc, ids) => sqlite_versions::drop_versions(txn, doc.as_str(), ids)?,
        Write::Check => {
            txn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('health', ?1)",
                params![now.to_string()],
            )?;
        }
    }
    Ok(())
}

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupInfo {
    /// Documents in it.
    pub docs: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// An exclusive lock on a data directory, held by a running server (and by
/// `restore`), released when dropped or when the process dies.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
}

impl DirLock {
    /// Locks `dir/weft.lock`, or fails with [`StoreError::Locked`].
    pub fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| StoreError::DataDir {
            path: dir.display().to_string(),
            source: Arc::new(e),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("weft.lock"))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(StoreError::Locked(dir.display().to_string()))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

fn count_docs(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT count(*) FROM (SELECT doc FROM updates UNION SELECT doc FROM snapshots)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// Checks that `path` is an intact Weft database.
fn verify(path: &Path) -> Result<u64, StoreError> {
    let not_weft = |reason: String| StoreError::NotWeft {
        path: path.display().to_string(),
        reason,
    };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| not_weft(e.to_string()))?;
    let ok: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| not_weft(e.to_string()))?;
    if ok != "ok" {
        return Err(not_weft(format!("integrity check: {ok}")));
    }
    count_docs(&conn).map_err(|e| not_weft(e.to_string()))
}

impl SqliteStore {
    /// Copies `dir/weft.db` to `dest` with SQLite's online backup API, safe
    /// while a server writes to it: the copy is the database as of one
    /// moment, so it holds every update committed (and so acked) before the
    /// backup began. Written beside `dest` first and renamed, so a `dest`
    /// that exists is always complete.
    pub fn backup(dir: &Path, dest: &Path) -> Result<BackupInfo, StoreError> {
        let src_path = db_path(dir);
        if !src_path.exists() {
            return Err(StoreError::NotWeft {
                path: src_path.display().to_string(),
                reason: "no such file".into(),
            });
        }
        let src = Connection::open_with_flags(&src_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        src.busy_timeout(std::time::Duration::from_secs(5))?;
        let tmp = dest.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        {
            let mut out = Connection::open(&tmp)?;
            let backup = rusqlite::backup::Backup::new(&src, &mut out)?;
            // One step: one read transaction, never restarted by writers
            // (WAL lets them carry on meanwhile).
            backup.step(-1)?;
        }
        let docs = verify(&tmp)?;
        std::fs::rename(&tmp, dest).map_err(|e| StoreError::DataDir {
            path: dest.display().to_string(),
            source: Arc::new(e),
        })?;
        let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
        Ok(BackupInfo { docs, bytes })
    }

    /// Puts a backup back as `dir/weft.db`. Refuses while a server holds the
    /// directory. The database it replaces is kept as
    /// `weft.db.before-restore-<unix time>`; returns that path, if any.
    pub fn restore(backup: &Path, dir: &Path) -> Result<Option<PathBuf>, StoreError> {
        let _lock = DirLock::acquire(dir)?;
        verify(backup)?;
        let db = db_path(dir);
        let staging = dir.join(format!("{DB_FILE}.restoring"));
        let _ = std::fs::remove_file(&staging);
        {
            let src = Connection::open_with_flags(backup, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let mut out = Connection::open(&staging)?;
            rusqlite::backup::Backup::new(&src, &mut out)?.step(-1)?;
        }
        let io = |e: std::io::Error| StoreError::DataDir {
            path: dir.display().to_string(),
            source: Arc::new(e),
        };
        let kept = if db.exists() {
            // Fold the old WAL in first, so the kept copy is whole on its own.
            Connection::open(&db)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            let kept = dir.join(format!("{DB_FILE}.before-restore-{}", unix_secs()));
            std::fs::rename(&db, &kept).map_err(io)?;
            Some(kept)
        } else {
            None
        };
        for stale in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{DB_FILE}{stale}")));
        }
        std::fs::rename(&staging, &db).map_err(io)?;
        Ok(kept)
    }

    /// Calls `each` with every document in `dir/weft.db`, each read in one
    /// transaction beside any running server. Returns how many there were.
    pub fn read_all(
        dir: &Path,
        mut each: impl FnMut(&str, StoredDoc) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let conn = Connection::open_with_flags(db_path(dir), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let docs: Vec<String> = conn
            .prepare("SELECT doc FROM updates UNION SELECT doc FROM snapshots ORDER BY 1")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for doc in &docs {
            each(doc, load(&conn, doc)?)?;
        }
        Ok(docs.len() as u64)
    }
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
        self.read(|reply| Read::Load(doc.clone(), reply))
    }

    fn append(&self, doc: &DocId, update: Bytes, done: Done) {
        self.writes.push(Write::Append(doc.clone(), update), done);
    }

    fn compact(&self, doc: &DocId, snapshot: Bytes, done: Done) {
        self.writes
            .push(Write::Compact(doc.clone(), snapshot), done);
    }

    fn flush(&self, done: Done) {
        self.writes.push(Write::Flush, done);
    }

    fn check(&self) -> StoreFuture<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writes.push(
            Write::Check,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        Box::pin(async move { rx.await.unwrap_or(Err(StoreError::Closed)) })
    }

    fn meta(&self, doc: &DocId) -> StoreFuture<Option<DocMeta>> {
        self.read(|reply| Read::Meta(doc.clone(), reply))
    }

    fn list(&self, query: ListQuery) -> StoreFuture<Page> {
        self.read(|reply| Read::List(query, reply))
    }

    fn trashed_before(&self, before: i64) -> StoreFuture<Vec<DocId>> {
        self.read(|reply| Read::Trashed(before, reply))
    }

    fn index(&self, write: Write, done: Done) {
        self.writes.push(write, done);
    }

    fn versions(&self, doc: &DocId) -> StoreFuture<Vec<VersionMeta>> {
        self.read(|reply| Read::Versions(doc.clone(), reply))
    }

    fn version(&self, doc: &DocId, id: &str) -> StoreFuture<Option<(VersionMeta, Bytes)>> {
        self.read(|reply| Read::Version(doc.clone(), id.to_owned(), reply))
    }

    fn docs_with_auto_versions(&self) -> StoreFuture<Vec<DocId>> {
        self.read(Read::AutoVersioned)
    }

    fn blob(&self, doc: &DocId, hash: &str) -> StoreFuture<Option<BlobMeta>> {
        self.read(|reply| Read::Blob(doc.clone(), hash.to_owned(), reply))
    }

    fn blob_part(&self, hash: &str, n: u32) -> StoreFuture<Option<Bytes>> {
        self.read(|reply| Read::BlobPart(hash.to_owned(), n, reply))
    }

    fn blob_usage(&self, doc: &DocId) -> StoreFuture<u64> {
        self.read(|reply| Read::BlobUsage(doc.clone(), reply))
    }

    fn blobs_unseen_since(&self, before: i64) -> StoreFuture<Vec<(DocId, String)>> {
        self.read(|reply| Read::BlobsUnseen(before, reply))
    }
}

impl SqliteStore {
    /// Sends a read to the reader thread; its answer as a future. If the
    /// reader is gone, the reply is dropped and the read fails as Closed.
    fn read<T: Send + 'static>(&self, make: impl FnOnce(Reply<T>) -> Read) -> StoreFuture<T> {
        let (reply, answer) = oneshot::channel();
        let _ = self.reads.send(make(reply));
        Box::pin(async move { answer.await.unwrap_or(Err(StoreError::Closed)) })
    }
}
