//! Blobs in PostgreSQL (see `weft_core::store::blobs`): the same three
//! tables as SQLite's, so every node serves every blob. Parts are `BYTEA`
//! rows of 256 KiB, well under PostgreSQL's 1 GB field limit and small
//! enough to stream.

use bytes::Bytes;
use tokio_postgres::Client;
use weft_core::store::{BlobMeta, NewBlob};

/// The tables, created with the rest of the schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS weft_blob_parts (
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (key, n)
);
CREATE TABLE IF NOT EXISTS weft_blobs (
    hash TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS weft_doc_blobs (
    doc TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (doc, hash)
);
CREATE INDEX IF NOT EXISTS weft_doc_blobs_by_hash ON weft_doc_blobs (hash);
CREATE INDEX IF NOT EXISTS weft_doc_blobs_by_seen ON weft_doc_blobs (seen_at);
";

// The driver's errors; the store turns them into `StoreError`s.
type Result<T> = std::result::Result<T, tokio_postgres::Error>;

/// Stores one part of an upload (a retried part replaces itself).
pub async fn put_part(client: &Client, key: &str, n: u32, data: &[u8]) -> Result<()> {
    let sql = "INSERT INTO weft_blob_parts (key, n, data) VALUES ($1, $2, $3)
               ON CONFLICT (key, n) DO UPDATE SET data = $3";
    exec(client, sql, &[&key, &(n as i32), &data]).await
}

/// Names an upload's parts by their hash, or drops them when another node
/// or upload stored the blob first; records that the document has it, as
/// of now.
pub async fn commit(client: &Client, b: &NewBlob) -> Result<()> {
    let m = &b.meta;
    // The upsert locks the blob's row, so a sweep deleting it either
    // finishes first (then this inserts it afresh) or sees it used now.
    // `xmax = 0` only on a row this statement inserted.
    let row = client
        .query_one(
            "INSERT INTO weft_blobs (hash, size, kind, created_at, used_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (hash) DO UPDATE SET used_at = GREATEST(weft_blobs.used_at, EXCLUDED.used_at)
             RETURNING (xmax = 0)",
            &[&m.hash, &(m.size as i64), &m.kind, &m.created_at],
        )
        .await?;
    if row.get::<_, bool>(0) {
        let sql = "UPDATE weft_blob_parts SET key = $2 WHERE key = $1";
        exec(client, sql, &[&b.upload, &m.hash]).await?;
    } else {
        abort(client, &b.upload).await?;
    }
    let sql = "INSERT INTO weft_doc_blobs (doc, hash, created_at, seen_at) VALUES ($1, $2, $3, $3)
               ON CONFLICT (doc, hash) DO UPDATE SET seen_at = GREATEST(weft_doc_blobs.seen_at, $3)";
    exec(client, sql, &[&b.doc.as_str(), &m.hash, &m.created_at]).await
}

/// The document refers to these blobs, as of `now`.
pub async fn seen(client: &Client, doc: &str, hashes: &[String], now: i64) -> Result<()> {
    let sql = "UPDATE weft_doc_blobs SET seen_at = GREATEST(seen_at, $3)
               WHERE doc = $1 AND hash = ANY($2)";
    exec(client, sql, &[&doc, &hashes, &now]).await
}

/// The document forgets a blob it has not used since `before`.
pub async fn forget(client: &Client, doc: &str, hash: &str, before: i64) -> Result<()> {
    let sql = "DELETE FROM weft_doc_blobs WHERE doc = $1 AND hash = $2 AND seen_at < $3";
    exec(client, sql, &[&doc, &hash, &before]).await
}

/// Deletes blobs no document has, last uploaded before `before`, and
/// uploads abandoned before it.
pub async fn sweep(client: &Client, before: i64) -> Result<()> {
    let sql = "WITH gone AS (
                   DELETE FROM weft_blobs b WHERE used_at < $1
                   AND NOT EXISTS (SELECT 1 FROM weft_doc_blobs d WHERE d.hash = b.hash)
                   RETURNING hash)
               DELETE FROM weft_blob_parts WHERE key IN (SELECT hash FROM gone)";
    exec(client, sql, &[&before]).await?;
    let sql = "DELETE FROM weft_blob_parts
               WHERE key LIKE 'upload-%' AND substr(key, 8, 10) < lpad($1::BIGINT::TEXT, 10, '0')";
    exec(client, sql, &[&before]).await
}

/// Pairs not seen in use since `before`.
pub async fn unseen_since(client: &Client, before: i64) -> Result<Vec<(String, String)>> {
    let rows = client
        .query(
            "SELECT doc, hash FROM weft_doc_blobs WHERE seen_at < $1 ORDER BY doc, hash",
            &[&before],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Drops an upload's parts.
pub async fn abort(client: &Client, key: &str) -> Result<()> {
    exec(
        client,
        "DELETE FROM weft_blob_parts WHERE key = $1",
        &[&key],
    )
    .await
}

/// The document forgets its blobs (it is purged).
pub async fn purge(client: &Client, doc: &str) -> Result<()> {
    exec(client, "DELETE FROM weft_doc_blobs WHERE doc = $1", &[&doc]).await
}

/// Blob `hash` as `doc` has it.
pub async fn meta(client: &Client, doc: &str, hash: &str) -> Result<Option<BlobMeta>> {
    let row = client
        .query_opt(
            "SELECT b.hash, b.size, b.kind, d.created_at FROM weft_doc_blobs d
             JOIN weft_blobs b ON b.hash = d.hash WHERE d.doc = $1 AND d.hash = $2",
            &[&doc, &hash],
        )
        .await?;
    Ok(row.map(|r| BlobMeta {
        hash: r.get(0),
        size: r.get::<_, i64>(1) as u64,
        kind: r.get(2),
        created_at: r.get(3),
    }))
}

/// Part `n` of a stored blob.
pub async fn part(client: &Client, hash: &str, n: u32) -> Result<Option<Bytes>> {
    let row = client
        .query_opt(
            "SELECT data FROM weft_blob_parts WHERE key = $1 AND n = $2",
            &[&hash, &(n as i32)],
        )
        .await?;
    Ok(row.map(|r| Bytes::from(r.get::<_, Vec<u8>>(0))))
}

/// Bytes of the blobs `doc` has.
pub async fn usage(client: &Client, doc: &str) -> Result<u64> {
    let row = client
        .query_one(
            "SELECT COALESCE(SUM(b.size), 0)::BIGINT FROM weft_doc_blobs d
             JOIN weft_blobs b ON b.hash = d.hash WHERE d.doc = $1",
            &[&doc],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

async fn exec(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<()> {
    client.execute(sql, params).await.map(drop)
}
