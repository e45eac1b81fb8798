//! The PostgreSQL store, for running several nodes on one database.
//!
//! Same write queue as the SQLite store (`weft_core::store::queue`): one
//! writer task group-commits whatever is queued (one transaction, one
//! multi-row insert), then runs the completions in order; loads and health
//! checks use a second connection so they never wait behind a batch.
//!
//! Compaction is safe with several nodes doing it at once: it takes a
//! per-doc advisory lock, reads every row the doc has *in the database*,
//! merges them with the node's snapshot and replaces exactly the rows it
//! read. A node's snapshot alone could lack updates another node committed
//! that this one has not seen yet; merging what is stored cannot.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Mutex;
use tokio_postgres::Client;
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use weft_core::doc_id::DocId;
use weft_core::store::queue::{self, Write, WriteQueue};
use weft_core::store::{
    index, BlobMeta, Cursor, DocMeta, Done, ListQuery, NewVersion, Page, Scope, Store, StoreError,
    StoreFuture, StoredDoc, VersionKind, VersionMeta,
};
use weft_core::time::unix_secs;

use super::postgres_blobs as blobs;

const SCHEMA: &str = "
SET client_min_messages = warning; -- no 'already exists' notice on every start
CREATE TABLE IF NOT EXISTS weft_updates (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc TEXT NOT NULL,
    snapshot BOOLEAN NOT NULL DEFAULT false,
    data BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS weft_updates_doc ON weft_updates (doc, seq);
CREATE TABLE IF NOT EXISTS weft_docs (
    id TEXT PRIMARY KEY,
    title TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    size BIGINT NOT NULL DEFAULT 0,
    trashed_at BIGINT,
    link_gen BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS weft_docs_by_time ON weft_docs (updated_at, id);
CREATE TABLE IF NOT EXISTS weft_versions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    doc TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    created_at BIGINT NOT NULL,
    authors TEXT NOT NULL,
    size BIGINT NOT NULL,
    state BYTEA NOT NULL,
    PRIMARY KEY (doc, id)
);
CREATE INDEX IF NOT EXISTS weft_versions_by_kind ON weft_versions (kind, doc);
";

/// Fills the document index from the stored updates, when a database from
/// before the index is opened (the index did not exist yet).
const MIGRATE_INDEX: &str = "
INSERT INTO weft_docs (id, created_at, updated_at, size)
SELECT doc, $1, $1, SUM(length(data)) FROM weft_updates GROUP BY doc
ON CONFLICT (id) DO NOTHING";

/// Serialises schema creation between nodes starting together.
const SCHEMA_LOCK: i64 = 0x7765_6674; // "weft"

/// Most operations one transaction takes.
const BATCH: usize = 2048;

fn pg_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        backend: "postgres",
        message: e.to_string(),
    }
}

/// A driver error with its causes: tokio-postgres' own text for a server
/// error is just "db error", and the server's message is the cause.
fn db_err(e: tokio_postgres::Error) -> StoreError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    pg_err(text)
}

/// A connection that is reopened after it breaks (PostgreSQL restarted).
struct Conn {
    url: String,
    client: Mutex<Option<Arc<Client>>>,
}

impl Conn {
    async fn get(&self) -> Result<Arc<Client>, StoreError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let client = Arc::new(connect(&self.url).await?);
        *slot = Some(client.clone());
        Ok(client)
    }
}

async fn connect(url: &str) -> Result<Client, StoreError> {
    let (mapped, tls) = tls_for(url);
    let connecting = tokio_postgres::connect(&mapped, tls);
    let unreachable = |why: String| {
        StoreError::Unreachable(format!(
            "cannot connect to PostgreSQL at {} ({why})",
            address(url)
        ))
    };
    let (client, connection) = tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .map_err(|_| unreachable("no answer within 10 s".into()))?
        .map_err(|e| {
            // The OS's words ("connection refused") for a socket error, the
            // TLS layer's for a certificate, else the server's (a bad
            // password, an unknown database).
            let io = std::iter::successors(std::error::Error::source(&e), |s| s.source())
                .find_map(|s| s.downcast_ref::<std::io::Error>())
                .map(|io| match io.raw_os_error() {
                    Some(_) => io.kind().to_string(),
                    None => io.to_string(),
                });
            match (io, db_err(e)) {
                (Some(kind), _) => unreachable(kind),
                (None, StoreError::Backend { message, .. }) => unreachable(message),
                (None, other) => other,
            }
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

/// The connector for `url`, with libpq's meaning of `sslmode`:
/// `prefer` (the default) and `require` encrypt without checking the
/// certificate; `verify-ca` and `verify-full` also check it against the
/// system roots (and `SSL_CERT_FILE`), host name included. tokio-postgres
/// knows only disable/prefer/require, so the verify modes become `require`
/// with a verifying connector. Debian's own PostgreSQL, for one, serves a
/// self-signed certificate by default.
pub fn tls_for(url: &str) -> (String, tokio_postgres_rustls::MakeRustlsConnect) {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut verify = false;
    let params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "sslmode=verify-full" | "sslmode=verify-ca" => {
                verify = true;
                "sslmode=require"
            }
            other => other,
        })
        .collect();
    let url = if params.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", params.join("&"))
    };
    let config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth()
    } else {
        rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))))
            .with_no_client_auth()
    };
    (url, tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Accepts any certificate but still checks the handshake signatures:
/// libpq's `sslmode=require` (encrypted, not authenticated).
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `host:port/db` of a URL, for messages: no scheme, user or password.
fn address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('?').next().unwrap_or(rest).to_owned()
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Creates the schema, migrating an index-less database once.
async fn create_schema(client: &Client) -> Result<(), StoreError> {
    let had_index: bool = client
        .query_one("SELECT to_regclass('weft_docs') IS NOT NULL", &[])
        .await
        .map_err(db_err)?
        .get(0);
    client.batch_execute(SCHEMA).await.map_err(db_err)?;
    let blobs = super::postgres_blobs::SCHEMA;
    client.batch_execute(blobs).await.map_err(db_err)?;
    if !had_index {
        let now = unix_secs() as i64;
        client
            .execute(MIGRATE_INDEX, &[&now])
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Documents in PostgreSQL.
pub struct PgStore {
    writes: WriteQueue,
    reads: Arc<Conn>,
}

impl PgStore {
    /// Connects, creates the schema if missing, and starts the writer.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let client = connect(url).await?;
        client
            .query_one("SELECT pg_advisory_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(db_err)?;
        let created = create_schema(&client).await;
        client
            .query_one("SELECT pg_advisory_unlock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(db_err)?;
        created?;
        let (writes, writer) = queue::channel(BATCH);
        let conn = Conn {
            url: url.to_owned(),
            client: Mutex::new(None),
        };
        tokio::spawn(writer.run(async move |batch: &[Write]| commit(&conn, batch).await));
        Ok(PgStore {
            writes,
            reads: Arc::new(Conn {
                url: url.to_owned(),
                client: Mutex::new(Some(Arc::new(client))),
            }),
        })
    }

    /// Every document id, for `export`.
    pub async fn docs(&self) -> Result<Vec<String>, StoreError> {
        let client = self.reads.get().await?;
        let rows = client
            .query("SELECT DISTINCT doc FROM weft_updates ORDER BY doc", &[])
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

const COLUMNS: &str = "id, title, created_at, updated_at, size, trashed_at, link_gen";
const VERSION_COLUMNS: &str = "id, kind, name, created_at, authors, size";

fn version_row(r: &tokio_postgres::Row) -> Result<VersionMeta, StoreError> {
    let kind: &str = r.get(1);
    Ok(VersionMeta {
        id: r.get(0),
        kind: VersionKind::parse(kind)
            .ok_or_else(|| pg_err(format!("unknown version kind {kind}")))?,
        name: r.get(2),
        created_at: r.get(3),
        authors: serde_json::from_str(r.get(4)).map_err(pg_err)?,
        size: r.get::<_, i64>(5) as u64,
    })
}

async fn put_version(client: &Client, v: &NewVersion) -> Result<(), StoreError> {
    let m = &v.meta;
    let authors = serde_json::to_string(&m.authors).map_err(pg_err)?;
    let sql = "INSERT INTO weft_versions (doc, id, kind, name, created_at, authors, size, state)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (doc, id) DO NOTHING";
    let size = v.state.len() as i64;
    let state: &[u8] = &v.state;
    exec(
        client,
        sql,
        &[
            &v.doc.as_str(),
            &m.id,
            &m.kind.as_str(),
            &m.name,
            &m.created_at,
            &authors,
            &size,
            &state,
        ],
    )
    .await
}

fn meta_row(r: &tokio_postgres::Row) -> Option<DocMeta> {
    Some(DocMeta {
        id: DocId::new(r.get::<_, &str>(0)).ok()?,
        title: r.get(1),
        created_at: r.get(2),
        updated_at: r.get(3),
        size: r.get::<_, i64>(4) as u64,
        trashed_at: r.get(5),
        link_gen: r.get::<_, i64>(6) as u64,
    })
}

/// One page of the index; the SQL names only the conditions in use, like
/// the SQLite store's.
async fn list(client: &Client, q: &ListQuery) -> Result<Page, StoreError> {
    use tokio_postgres::types::ToSql;
    let mut sql = format!("SELECT {COLUMNS} FROM weft_docs WHERE trashed_at IS NULL");
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut arg = |sql: &mut String, cond: &str, v: Box<dyn ToSql + Sync + Send>| {
        args.push(v);
        sql.push_str(&cond.replace('?', &format!("${}", args.len())));
    };
    match &q.scope {
        Scope::All => {}
        Scope::Exact(d) => arg(&mut sql, " AND id = ?", Box::new(d.to_string())),
        Scope::Prefix(p) => arg(&mut sql, " AND id LIKE ?", Box::new(index::like_prefix(p))),
    }
    if let Some(t) = q.q.as_deref().filter(|s| !s.is_empty()) {
        arg(
            &mut sql,
            " AND title ILIKE ?",
            Box::new(index::like_contains(t)),
        );
    }
    if let Some(c) = &q.after {
        arg(
            &mut sql,
            " AND (updated_at, id) < (?,",
            Box::new(c.updated_at),
        );
        arg(&mut sql, " ?)", Box::new(c.id.clone()));
    }
    let limit = q.limit.max(1);
    arg(
        &mut sql,
        " ORDER BY updated_at DESC, id DESC LIMIT ?",
        Box::new(limit as i64 + 1),
    );
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as _).collect();
    let rows = client.query(&sql, &params).await.map_err(db_err)?;
    let mut docs: Vec<DocMeta> = rows.iter().filter_map(meta_row).collect();
    let more = docs.len() > limit;
    docs.truncate(limit);
    let next = more.then(|| docs.last()).flatten().map(|d| Cursor {
        updated_at: d.updated_at,
        id: d.id.to_string(),
    });
    Ok(Page { docs, next })
}

impl Store for PgStore {
    fn load(&self, doc: &DocId) -> StoreFuture<StoredDoc> {
        let reads = self.reads.clone();
        let doc = doc.to_string();
        Box::pin(async move {
            let client = reads.get().await?;
            let rows = client
                .query(
                    "SELECT snapshot, data FROM weft_updates WHERE doc = $1 ORDER BY snapshot DESC, seq",
                    &[&doc],
                )
                .await
                .map_err(db_err)?;
            let mut stored = StoredDoc::default();
            for row in rows {
                let snapshot: bool = row.get(0);
                let data: Vec<u8> = row.get(1);
                if !snapshot {
                    stored.log_len += 1;
                }
                stored.updates.push(Bytes::from(data));
            }
            Ok(stored)
        })
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

    fn meta(&self, doc: &DocId) -> StoreFuture<Option<DocMeta>> {
        let reads = self.reads.clone();
        let doc = doc.to_string();
        Box::pin(async move {
            let client = reads.get().await?;
            let sql = format!("SELECT {COLUMNS} FROM weft_docs WHERE id = $1");
            let row = client.query_opt(&sql, &[&doc]).await.map_err(db_err)?;
            Ok(row.as_ref().and_then(meta_row))
        })
    }

    fn list(&self, query: ListQuery) -> StoreFuture<Page> {
        let reads = self.reads.clone();
        Box::pin(async move { list(&*reads.get().await?, &query).await })
    }

    fn trashed_before(&self, before: i64) -> StoreFuture<Vec<DocId>> {
        let reads = self.reads.clone();
        Box::pin(async move {
            let client = reads.get().await?;
            let rows = client
                .query(
                    "SELECT id FROM weft_docs WHERE trashed_at IS NOT NULL AND trashed_at < $1",
                    &[&before],
                )
                .await
                .map_err(db_err)?;
            Ok(rows
                .iter()
                .filter_map(|r| DocId::new(r.get::<_, &str>(0)).ok())
                .collect())
        })
    }

    fn index(&self, write: Write, done: Done) {
        self.writes.push(write, done);
    }

    fn versions(&self, doc: &DocId) -> StoreFuture<Vec<VersionMeta>> {
        let reads = self.reads.clone();
        let doc = doc.to_string();
        Box::pin(async move {
            let client = reads.get().await?;
            let sql = format!(
                "SELECT {VERSION_COLUMNS} FROM weft_versions WHERE doc = $1 ORDER BY created_at DESC, seq DESC"
            );
            let rows = client.query(&sql, &[&doc]).await.map_err(db_err)?;
            rows.iter().map(version_row).collect()
        })
    }

    fn version(&self, doc: &DocId, id: &str) -> StoreFuture<Option<(VersionMeta, Bytes)>> {
        let reads = self.reads.clone();
        let (doc, id) = (doc.to_string(), id.to_owned());
        Box::pin(async move {
            let client = reads.get().await?;
            let sql = format!(
                "SELECT {VERSION_COLUMNS}, state FROM weft_versions WHERE doc = $1 AND id = $2"
            );
            let Some(row) = client.query_opt(&sql, &[&doc, &id]).await.map_err(db_err)? else {
                return Ok(None);
            };
            let state: Vec<u8> = row.get(6);
            Ok(Some((version_row(&row)?, Bytes::from(state))))
        })
    }

    fn docs_with_auto_versions(&self) -> StoreFuture<Vec<DocId>> {
        let reads = self.reads.clone();
        Box::pin(async move {
            let client = reads.get().await?;
            let rows = client
                .query(
                    "SELECT DISTINCT doc FROM weft_versions WHERE kind = 'auto' AND name IS NULL ORDER BY doc",
                    &[],
                )
                .await
                .map_err(db_err)?;
            Ok(rows
                .iter()
                .filter_map(|r| DocId::new(r.get::<_, &str>(0)).ok())
                .collect())
        })
    }

    fn blob(&self, doc: &DocId, hash: &str) -> StoreFuture<Option<BlobMeta>> {
        let reads = self.reads.clone();
        let (doc, hash) = (doc.to_string(), hash.to_owned());
        Box::pin(async move {
            blobs::meta(&*reads.get().await?, &doc, &hash)
                .await
                .map_err(db_err)
        })
    }

    fn blob_part(&self, hash: &str, n: u32) -> StoreFuture<Option<Bytes>> {
        let reads = self.reads.clone();
        let hash = hash.to_owned();
        Box::pin(async move {
            blobs::part(&*reads.get().await?, &hash, n)
                .await
                .map_err(db_err)
        })
    }

    fn blob_usage(&self, doc: &DocId) -> StoreFuture<u64> {
        let reads = self.reads.clone();
        let doc = doc.to_string();
        Box::pin(async move {
            blobs::usage(&*reads.get().await?, &doc)
                .await
                .map_err(db_err)
        })
    }

    fn blobs_unseen_since(&self, before: i64) -> StoreFuture<Vec<(DocId, String)>> {
        let reads = self.reads.clone();
        Box::pin(async move {
            let pairs = blobs::unseen_since(&*reads.get().await?, before).await;
            let id = |(d, h): (String, String)| Some((DocId::new(&d).ok()?, h));
            Ok(pairs.map_err(db_err)?.into_iter().filter_map(id).collect())
        })
    }

    fn check(&self) -> StoreFuture<()> {
        let reads = self.reads.clone();
        Box::pin(async move {
            let client = reads.get().await?;
            let probe = client.query_one("SELECT 1", &[]);
            tokio::time::timeout(Duration::from_secs(5), probe)
                .await
                .map_err(|_| pg_err("no answer within 5 s"))?
                .map_err(db_err)?;
            Ok(())
        })
    }
}

/// One transaction for the whole batch: runs of appends become one insert,
/// other writes run in between, in queue order. (The health probe reads
/// on its own connection, so `Check` writes nothing here.)
async fn commit(conn: &Conn, ops: &[Write]) -> Result<(), StoreError> {
    let client = conn.get().await?;
    client.batch_execute("BEGIN").await.map_err(db_err)?;
    let result = async {
        let mut run = Appends::default();
        for op in ops {
            match op {
                Write::Append(doc, data) => run.push(doc.as_str(), data),
                Write::Check | Write::Flush => {}
                other => {
                    run.insert(&client).await?;
                    apply(&client, other).await?;
                }
            }
        }
        run.insert(&client).await
    }
    .await;
    match result {
        Ok(()) => client.batch_execute("COMMIT").await.map_err(db_err),
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// A write other than an append, inside the batch's transaction.
async fn apply(client: &Client, op: &Write) -> Result<(), StoreError> {
    let now = unix_secs() as i64;
    match op {
        Write::Compact(doc, snapshot) => compact(client, doc, snapshot).await,
        Write::Purge(doc) => purge(client, doc).await,
        Write::Title(doc, title) => {
            let sql =
                "INSERT INTO weft_docs (id, title, created_at, updated_at) VALUES ($1, $2, $3, $3)
                       ON CONFLICT (id) DO UPDATE SET title = $2";
            exec(client, sql, &[&doc.as_str(), title, &now]).await
        }
        Write::Trash(doc, at) => {
            let sql = "UPDATE weft_docs SET trashed_at = $2 WHERE id = $1";
            exec(client, sql, &[&doc.as_str(), at]).await
        }
        Write::BumpLinks(doc) => {
            let sql = "UPDATE weft_docs SET link_gen = link_gen + 1 WHERE id = $1";
            exec(client, sql, &[&doc.as_str()]).await
        }
        Write::Version(v) => put_version(client, v).await,
        Write::NameVersion(doc, id, name) => {
            let sql = "UPDATE weft_versions SET name = $3 WHERE doc = $1 AND id = $2";
            exec(client, sql, &[&doc.as_str(), id, name]).await
        }
        Write::DropVersions(doc, ids) => {
            let sql = "DELETE FROM weft_versions WHERE doc = $1 AND id = ANY($2)";
            exec(client, sql, &[&doc.as_str(), ids]).await
        }
        Write::BlobPart(key, n, data) => {
            blobs::put_part(client, key, *n, data).await.map_err(db_err)
        }
        Write::BlobCommit(b) => blobs::commit(client, b).await.map_err(db_err),
        Write::BlobAbort(key) => blobs::abort(client, key).await.map_err(db_err),
        Write::BlobSeen(doc, hashes, now) => {
            let seen = blobs::seen(client, doc.as_str(), hashes, *now);
            seen.await.map_err(db_err)
        }
        Write::BlobForget(doc, hash, before) => {
            let forget = blobs::forget(client, doc.as_str(), hash, *before);
            forget.await.map_err(db_err)
        }
        Write::BlobSweep(before) => blobs::sweep(client, *before).await.map_err(db_err),
        Write::Append(..) | Write::Check | Write::Flush => Ok(()),
    }
}

async fn exec(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<(), StoreError> {
    client.execute(sql, params).await.map_err(db_err).map(drop)
}

async fn purge(client: &Client, doc: &DocId) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM weft_updates WHERE doc = $1",
        "DELETE FROM weft_docs WHERE id = $1",
        "DELETE FROM weft_versions WHERE doc = $1",
    ] {
        client
            .execute(sql, &[&doc.as_str()])
            .await
            .map_err(db_err)?;
    }
    blobs::purge(client, doc.as_str()).await.map_err(db_err)
}

/// A run of appends: one insert for the updates, one upsert for the index.
#[derive(Default)]
struct Appends<'a> {
    docs: Vec<&'a str>,
    datas: Vec<&'a [u8]>,
}

impl<'a> Appends<'a> {
    fn push(&mut self, doc: &'a str, data: &'a [u8]) {
        self.docs.push(doc);
        self.datas.push(data);
    }

    async fn insert(&mut self, client: &Client) -> Result<(), StoreError> {
        if self.docs.is_empty() {
            return Ok(());
        }
        insert(client, &self.docs, &self.datas).await?;
        // Sorted, so two nodes' batches lock index rows in one order and
        // cannot deadlock.
        let mut grown: std::collections::BTreeMap<&str, i64> = Default::default();
        for (d, data) in self.docs.iter().zip(&self.datas) {
            *grown.entry(d).or_default() += data.len() as i64;
        }
        let (ids, sizes): (Vec<&str>, Vec<i64>) = grown.into_iter().unzip();
        let now = unix_secs() as i64;
        client
            .execute(
                "INSERT INTO weft_docs (id, created_at, updated_at, size)
                 SELECT d, $3, $3, s FROM unnest($1::text[], $2::bigint[]) AS t(d, s)
                 ON CONFLICT (id) DO UPDATE SET updated_at = $3, size = weft_docs.size + EXCLUDED.size",
                &[&ids, &sizes, &now],
            )
            .await
            .map_err(db_err)?;
        self.docs.clear();
        self.datas.clear();
        Ok(())
    }
}

async fn insert(client: &Client, docs: &[&str], datas: &[&[u8]]) -> Result<(), StoreError> {
    // WITH ORDINALITY keeps the queue order in the sequence numbers.
    client
        .execute(
            "INSERT INTO weft_updates (doc, data)
             SELECT d, u FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS t(d, u, i) ORDER BY i",
            &[&docs, &datas],
        )
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn compact(client: &Client, doc: &DocId, snapshot: &Bytes) -> Result<(), StoreError> {
    let doc = doc.to_string();
    // Held to the end of the transaction: compactions of one doc take turns.
    client
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&doc],
        )
        .await
        .map_err(db_err)?;
    let rows = client
        .query(
            "SELECT seq, data FROM weft_updates WHERE doc = $1 ORDER BY seq",
            &[&doc],
        )
        .await
        .map_err(db_err)?;
    let seqs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let mut parts: Vec<Vec<u8>> = rows.iter().map(|r| r.get(1)).collect();
    parts.push(snapshot.to_vec());
    let merged = tokio::task::spawn_blocking(move || merge(&parts))
        .await
        .map_err(pg_err)?;
    let Some(merged) = merged else {
        tracing::warn!(
            doc,
            "compaction skipped: stored updates could not be merged"
        );
        return Ok(());
    };
    client
        .execute(
            "DELETE FROM weft_updates WHERE doc = $1 AND seq = ANY($2)",
            &[&doc, &seqs],
        )
        .await
        .map_err(db_err)?;
    client
        .execute(
            "INSERT INTO weft_updates (doc, snapshot, data) VALUES ($1, true, $2)",
            &[&doc, &merged],
        )
        .await
        .map_err(db_err)?;
    client
        .execute(
            "UPDATE weft_docs SET size = (SELECT COALESCE(SUM(length(data)), 0) FROM weft_updates WHERE doc = $1) WHERE id = $1",
            &[&doc],
        )
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Everything in `parts` as one update; `None` if some part is unreadable,
/// so nothing gets deleted that was not merged.
pub fn merge(parts: &[Vec<u8>]) -> Option<Vec<u8>> {
    let doc = yrs::Doc::new();
    let mut txn = doc.transact_mut();
    for part in parts {
        let update = Update::decode_v1(part).ok()?;
        txn.apply_update(update).ok()?;
    }
    let complete = txn.store().pending_update().is_none() && txn.store().pending_ds().is_none();
    if complete {
        // Encoded after the commit, which drops deleted content (a
        // removed image's address with it, so its blob can be collected).
        drop(txn);
        Some(
            doc.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        )
    } else {
        // Updates waiting on missing ones would be dropped by a state
        // encoding; a plain merge keeps them.
        yrs::merge_updates_v1(parts.iter()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, Text};

    #[test]
    fn verify_modes_become_require_with_a_verifying_connector() {
        assert_eq!(
            tls_for("postgres://h/db?sslmode=verify-full&application_name=w").0,
            "postgres://h/db?sslmode=require&application_name=w"
        );
        assert_eq!(
            tls_for("postgres://h/db?sslmode=require").0,
            "postgres://h/db?sslmode=require"
        );
        assert_eq!(tls_for("postgres://h/db").0, "postgres://h/db");
    }

    #[test]
    fn address_keeps_only_where() {
        assert_eq!(
            address("postgres://weft:s3cret@db:5432/weft?sslmode=require"),
            "db:5432/weft"
        );
        assert_eq!(address("postgresql://127.0.0.1/x"), "127.0.0.1/x");
    }

    #[test]
    fn redact_hides_the_password() {
        assert_eq!(
            redact("postgres://weft:s3cret@db:5432/weft"),
            "postgres://weft@db:5432/weft"
        );
        assert_eq!(redact("postgres://db/weft"), "postgres://db/weft");
    }

    #[test]
    fn merge_keeps_updates_that_wait_on_missing_ones() {
        let doc = yrs::Doc::with_client_id(1);
        let t = doc.get_or_insert_text("t");
        let a = {
            let mut txn = doc.transact_mut();
            t.insert(&mut txn, 0, "a");
            txn.encode_update_v1()
        };
        let b = {
            let mut txn = doc.transact_mut();
            t.insert(&mut txn, 1, "b");
            txn.encode_update_v1()
        };
        // Only `b`: it depends on `a`, which is not there.
        let merged = merge(std::slice::from_ref(&b)).unwrap();
        let out = yrs::Doc::new();
        let ot = out.get_or_insert_text("t");
        {
            let mut txn = out.transact_mut();
            txn.apply_update(Update::decode_v1(&merged).unwrap())
                .unwrap();
            txn.apply_update(Update::decode_v1(&a).unwrap()).unwrap();
        }
        assert_eq!(ot.get_string(&out.transact()), "ab");
        assert!(merge(&[vec![0xff, 0xff]]).is_none());
    }
}
