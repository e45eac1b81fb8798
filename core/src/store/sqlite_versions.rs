//! Version history in SQLite: table `versions`, beside the updates in
//! `weft.db` (see [`super::versions`]). Written in the writer's
//! transactions, in order with the document's updates.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::versions::{NewVersion, VersionKind, VersionMeta};

/// The schema version that added version history.
pub const VERSION: i64 = 3;

/// Creates the table (once: `user_version` records it).
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    super::sqlite_schema::step(
        conn,
        VERSION,
        "CREATE TABLE IF NOT EXISTS versions (
             doc TEXT NOT NULL,
             id TEXT NOT NULL,
             kind TEXT NOT NULL,
             name TEXT,
             created_at INTEGER NOT NULL,
             authors TEXT NOT NULL,
             size INTEGER NOT NULL,
             state BLOB NOT NULL,
             PRIMARY KEY (doc, id)
         );
         CREATE INDEX IF NOT EXISTS versions_by_kind ON versions(kind, doc);",
    )
}

const COLUMNS: &str = "id, kind, name, created_at, authors, size";

fn row(r: &Row<'_>) -> rusqlite::Result<VersionMeta> {
    let kind: String = r.get(1)?;
    let authors: String = r.get(4)?;
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e)
    };
    Ok(VersionMeta {
        id: r.get(0)?,
        kind: VersionKind::parse(&kind).ok_or_else(|| bad(format!("kind {kind}").into()))?,
        name: r.get(2)?,
        created_at: r.get(3)?,
        authors: serde_json::from_str(&authors).map_err(|e| bad(Box::new(e)))?,
        size: r.get::<_, i64>(5)? as u64,
    })
}

/// Every version of `doc`, newest first (made in the same millisecond:
/// the later stored first).
pub fn list(conn: &Connection, doc: &str) -> rusqlite::Result<Vec<VersionMeta>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM versions WHERE doc = ?1 ORDER BY created_at DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map(params![doc], row)?;
    rows.collect()
}

/// One version with its state.
pub fn get(
    conn: &Connection,
    doc: &str,
    id: &str,
) -> rusqlite::Result<Option<(VersionMeta, Vec<u8>)>> {
    conn.query_row(
        &format!("SELECT {COLUMNS}, state FROM versions WHERE doc = ?1 AND id = ?2"),
        params![doc, id],
        |r| Ok((row(r)?, r.get(6)?)),
    )
    .optional()
}

/// Stores a version.
pub fn put(txn: &Transaction<'_>, v: &NewVersion) -> rusqlite::Result<()> {
    let m = &v.meta;
    let authors = serde_json::to_string(&m.authors).expect("strings serialise");
    txn.execute(
        "INSERT OR REPLACE INTO versions (doc, id, kind, name, created_at, authors, size, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            v.doc.as_str(),
            m.id,
            m.kind.as_str(),
            m.name,
            m.created_at,
            authors,
            v.state.len() as i64,
            &v.state[..]
        ],
    )?;
    Ok(())
}

/// Names a version (an automatic one named is kept like a named one).
pub fn rename(txn: &Transaction<'_>, doc: &str, id: &str, name: &str) -> rusqlite::Result<()> {
    txn.execute(
        "UPDATE versions SET name = ?3 WHERE doc = ?1 AND id = ?2",
        params![doc, id, name],
    )?;
    Ok(())
}

/// Deletes the given versions of `doc`.
pub fn drop_versions(txn: &Transaction<'_>, doc: &str, ids: &[String]) -> rusqlite::Result<()> {
    let mut stmt = txn.prepare_cached("DELETE FROM versions WHERE doc = ?1 AND id = ?2")?;
    for id in ids {
        stmt.execute(params![doc, id])?;
    }
    Ok(())
}

/// Deletes every version of `doc` (the document is purged).
pub fn purge(txn: &Transaction<'_>, doc: &str) -> rusqlite::Result<()> {
    txn.execute("DELETE FROM versions WHERE doc = ?1", params![doc])?;
    Ok(())
}

/// Documents that have automatic versions: what thinning visits.
pub fn docs_with_auto(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT doc FROM versions WHERE kind = 'auto' AND name IS NULL ORDER BY doc",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}
