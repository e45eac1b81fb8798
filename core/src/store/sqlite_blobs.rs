//! Blobs in SQLite (see [`super::blobs`]): tables `blob_parts`, `blobs`
//! and `doc_blobs` in `weft.db`. In the database rather than in files
//! beside it so `weft-server backup` copies them with the documents that
//! refer to them, and a blob is never half there: its parts are named by
//! their hash in the same transaction that records it.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::blobs::{BlobMeta, NewBlob};

/// The schema version that added blobs.
pub const VERSION: i64 = 4;

/// Creates the tables (once: `user_version` records it).
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    super::sqlite_schema::step(
        conn,
        VERSION,
        "CREATE TABLE IF NOT EXISTS blob_parts (
             key TEXT NOT NULL,
             n INTEGER NOT NULL,
             data BLOB NOT NULL
         );
         CREATE UNIQUE INDEX IF NOT EXISTS blob_parts_by_key ON blob_parts(key, n);
         CREATE TABLE IF NOT EXISTS blobs (
             hash TEXT PRIMARY KEY,
             size INTEGER NOT NULL,
             kind TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             used_at INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS doc_blobs (
             doc TEXT NOT NULL,
             hash TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             seen_at INTEGER NOT NULL,
             PRIMARY KEY (doc, hash)
         );
         CREATE INDEX IF NOT EXISTS doc_blobs_by_hash ON doc_blobs(hash);
         CREATE INDEX IF NOT EXISTS doc_blobs_by_seen ON doc_blobs(seen_at);",
    )
}

/// Stores one part of an upload (again: a retried part replaces itself).
pub fn put_part(txn: &Transaction<'_>, key: &str, n: u32, data: &[u8]) -> rusqlite::Result<()> {
    txn.prepare_cached("INSERT OR REPLACE INTO blob_parts (key, n, data) VALUES (?1, ?2, ?3)")?
        .execute(params![key, n, data])?;
    Ok(())
}

/// Names an upload's parts by their hash, or drops them when the blob is
/// already stored; either way records that the document has it, as of
/// now (an upload again counts as a use, so collection waits again).
pub fn commit(txn: &Transaction<'_>, b: &NewBlob) -> rusqlite::Result<()> {
    let m = &b.meta;
    let used = txn.execute(
        "UPDATE blobs SET used_at = ?2 WHERE hash = ?1",
        params![m.hash, m.created_at],
    )?;
    if used == 1 {
        abort(txn, &b.upload)?;
    } else {
        txn.execute(
            "UPDATE blob_parts SET key = ?2 WHERE key = ?1",
            params![b.upload, m.hash],
        )?;
        txn.execute(
            "INSERT INTO blobs (hash, size, kind, created_at, used_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![m.hash, m.size as i64, m.kind, m.created_at],
        )?;
    }
    txn.execute(
        "INSERT INTO doc_blobs (doc, hash, created_at, seen_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (doc, hash) DO UPDATE SET seen_at = MAX(seen_at, ?3)",
        params![b.doc.as_str(), m.hash, m.created_at],
    )?;
    Ok(())
}

/// The document refers to these blobs, as of `now`.
pub fn seen(txn: &Transaction<'_>, doc: &str, hashes: &[String], now: i64) -> rusqlite::Result<()> {
    let mut stmt = txn.prepare_cached(
        "UPDATE doc_blobs SET seen_at = MAX(seen_at, ?3) WHERE doc = ?1 AND hash = ?2",
    )?;
    for h in hashes {
        stmt.execute(params![doc, h, now])?;
    }
    Ok(())
}

/// The document forgets a blob it has not used since `before`.
pub fn forget(txn: &Transaction<'_>, doc: &str, hash: &str, before: i64) -> rusqlite::Result<()> {
    txn.execute(
        "DELETE FROM doc_blobs WHERE doc = ?1 AND hash = ?2 AND seen_at < ?3",
        params![doc, hash, before],
    )?;
    Ok(())
}

/// Deletes blobs no document has, last uploaded before `before`, and
/// uploads abandoned before it.
pub fn sweep(txn: &Transaction<'_>, before: i64) -> rusqlite::Result<()> {
    let orphans = "SELECT hash FROM blobs WHERE used_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM doc_blobs d WHERE d.hash = blobs.hash)";
    txn.execute(
        &format!("DELETE FROM blob_parts WHERE key IN ({orphans})"),
        params![before],
    )?;
    txn.execute(
        &format!("DELETE FROM blobs WHERE hash IN ({orphans})"),
        params![before],
    )?;
    txn.execute(
        "DELETE FROM blob_parts WHERE key LIKE 'upload-%' AND substr(key, 8, 10) < printf('%010d', ?1)",
        params![before],
    )?;
    Ok(())
}

/// Pairs not seen in use since `before`.
pub fn unseen_since(conn: &Connection, before: i64) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare_cached("SELECT doc, hash FROM doc_blobs WHERE seen_at < ?1 ORDER BY doc, hash")?;
    let rows = stmt.query_map(params![before], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Drops an upload's parts.
pub fn abort(txn: &Transaction<'_>, key: &str) -> rusqlite::Result<()> {
    txn.execute("DELETE FROM blob_parts WHERE key = ?1", params![key])?;
    Ok(())
}

/// The document forgets its blobs (it is purged); collection removes
/// what no document has any more.
pub fn purge(txn: &Transaction<'_>, doc: &str) -> rusqlite::Result<()> {
    txn.execute("DELETE FROM doc_blobs WHERE doc = ?1", params![doc])?;
    Ok(())
}

/// Blob `hash` as `doc` has it.
pub fn meta(conn: &Connection, doc: &str, hash: &str) -> rusqlite::Result<Option<BlobMeta>> {
    conn.prepare_cached(
        "SELECT b.hash, b.size, b.kind, d.created_at FROM doc_blobs d
         JOIN blobs b ON b.hash = d.hash WHERE d.doc = ?1 AND d.hash = ?2",
    )?
    .query_row(params![doc, hash], |r| {
        Ok(BlobMeta {
            hash: r.get(0)?,
            size: r.get::<_, i64>(1)? as u64,
            kind: r.get(2)?,
            created_at: r.get(3)?,
        })
    })
    .optional()
}

/// Part `n` of a stored blob.
pub fn part(conn: &Connection, hash: &str, n: u32) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT data FROM blob_parts WHERE key = ?1 AND n = ?2")?
        .query_row(params![hash, n], |r| r.get(0))
        .optional()
}

/// Bytes of the blobs `doc` has.
pub fn usage(conn: &Connection, doc: &str) -> rusqlite::Result<u64> {
    conn.prepare_cached(
        "SELECT COALESCE(SUM(b.size), 0) FROM doc_blobs d
         JOIN blobs b ON b.hash = d.hash WHERE d.doc = ?1",
    )?
    .query_row(params![doc], |r| r.get::<_, i64>(0))
    .map(|n| n as u64)
}
