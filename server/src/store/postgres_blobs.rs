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
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS weft_doc_blobs (
    doc TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (doc, hash)
);
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
/// or upload stored the blob first; records that the document has it.
pub async fn commit(client: &Client, b: &NewBlob) -> Result<()> {
    let m = &b.meta;
    // Two nodes committing the same bytes at once: the row insert decides
    // which one's parts become the blob; the other's are dropped.
    let inserted = client
        .execute(
            "INSERT INTO weft_blobs (hash, size, kind, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (hash) DO NOTHING",
            &[&m.hash, &(m.size as i64), &m.kind, &m.created_at],
        )
        .await?;
    if inserted == 1 {
        let sql = "UPDATE weft_blob_parts SET key = $2 WHERE key = $1";
        exec(client, sql, &[&b.upload, &m.hash]).await?;
    } else {
        abort(client, &b.upload).await?;
    }
    let sql = "INSERT INTO weft_doc_blobs (doc, hash, created_at) VALUES ($1, $2, $3)
               ON CONFLICT (doc, hash) DO NOTHING";
    exec(client, sql, &[&b.doc.as_str(), &m.hash, &m.created_at]).await
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
