//! The document index in SQLite: table `doc_index`, beside the updates in
//! `weft.db` (see [`super::index`]). Maintained in the writer's
//! transactions, so an entry never disagrees with what is committed.
//! (`doc_index`, not `docs`: the desktop's library keeps a `docs` table in
//! the same file.)

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::index::{like_contains, like_prefix, Cursor, DocMeta, ListQuery, Page, Scope};
use crate::doc_id::DocId;

/// The schema version that added the index.
pub const VERSION: i64 = 2;

/// Creates the index, and fills it from the stored updates when an older
/// database is opened (once: `user_version` records it).
pub fn migrate(conn: &mut Connection, now: i64) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let txn = conn.transaction()?;
    txn.execute_batch(
        "CREATE TABLE IF NOT EXISTS doc_index (
             id TEXT PRIMARY KEY,
             title TEXT,
             created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL,
             size INTEGER NOT NULL DEFAULT 0,
             trashed_at INTEGER,
             link_gen INTEGER NOT NULL DEFAULT 0
         );
         CREATE INDEX IF NOT EXISTS doc_index_by_time ON doc_index(updated_at, id);",
    )?;
    if version < VERSION {
        // Times from the snapshot where there is one; titles come with
        // the next change (older versions kept them only in local libraries).
        txn.execute(
            "INSERT OR IGNORE INTO doc_index (id, created_at, updated_at, size)
             SELECT doc, COALESCE(MIN(at), ?1), COALESCE(MAX(at), ?1), SUM(len) FROM (
                 SELECT doc, NULL AS at, length(data) AS len FROM updates
                 UNION ALL SELECT doc, updated_at, length(data) FROM snapshots
             ) GROUP BY doc",
            params![now],
        )?;
        txn.execute_batch(&format!("PRAGMA user_version={VERSION}"))?;
    }
    txn.commit()
}

const COLUMNS: &str = "id, title, created_at, updated_at, size, trashed_at, link_gen";

fn row(r: &Row<'_>) -> rusqlite::Result<DocMeta> {
    let id: String = r.get(0)?;
    Ok(DocMeta {
        // Ids were checked before they were stored.
        id: DocId::new(&id).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?,
        title: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        trashed_at: r.get(5)?,
        link_gen: r.get::<_, i64>(6)? as u64,
    })
}

/// One document's entry.
pub fn meta(conn: &Connection, id: &str) -> rusqlite::Result<Option<DocMeta>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM doc_index WHERE id = ?1"))?
        .query_row(params![id], row)
        .optional()
}

/// One page of documents not in the trash, newest first. The SQL names
/// only the conditions in use, so the planner can seek the time index to
/// the cursor instead of scanning up to it.
pub fn list(conn: &Connection, q: &ListQuery) -> rusqlite::Result<Page> {
    let mut sql = format!("SELECT {COLUMNS} FROM doc_index WHERE trashed_at IS NULL");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut arg = |sql: &mut String, cond: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
    };
    match &q.scope {
        Scope::All => {}
        Scope::Exact(d) => arg(&mut sql, " AND id = ?", d.to_string().into()),
        Scope::Prefix(p) => arg(
            &mut sql,
            " AND id LIKE ? ESCAPE '\\'",
            like_prefix(p).into(),
        ),
    }
    if let Some(t) = q.q.as_deref().filter(|s| !s.is_empty()) {
        arg(
            &mut sql,
            " AND title LIKE ? ESCAPE '\\'",
            like_contains(t).into(),
        );
    }
    if let Some(c) = &q.after {
        arg(&mut sql, " AND (updated_at, id) < (?,", c.updated_at.into());
        arg(&mut sql, " ?)", c.id.clone().into());
    }
    let limit = q.limit.max(1);
    arg(
        &mut sql,
        " ORDER BY updated_at DESC, id DESC LIMIT ?",
        (limit as i64 + 1).into(),
    );
    let docs = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(args), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(page(docs, limit))
}

/// Keeps `limit` entries; a cursor if there were more.
pub fn page(mut docs: Vec<DocMeta>, limit: usize) -> Page {
    let more = docs.len() > limit;
    docs.truncate(limit);
    let next = more.then(|| docs.last()).flatten().map(|d| Cursor {
        updated_at: d.updated_at,
        id: d.id.to_string(),
    });
    Page { docs, next }
}

/// Documents moved to the trash before `before`.
pub fn trashed_before(conn: &Connection, before: i64) -> rusqlite::Result<Vec<DocId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM doc_index WHERE trashed_at IS NOT NULL AND trashed_at < ?1",
    )?;
    let ids = stmt
        .query_map(params![before], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids.iter().filter_map(|id| DocId::new(id).ok()).collect())
}

/// `bytes` more stored for `doc` now (creating its entry).
pub fn grew(conn: &Connection, doc: &str, bytes: u64, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO doc_index (id, created_at, updated_at, size) VALUES (?1, ?2, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET updated_at = ?2, size = size + ?3",
    )?
    .execute(params![doc, now, bytes as i64])?;
    Ok(())
}

/// `doc` now holds exactly `bytes` (a snapshot replaced its log).
pub fn resized(conn: &Connection, doc: &str, bytes: u64, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO doc_index (id, created_at, updated_at, size) VALUES (?1, ?2, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET size = ?3",
    )?
    .execute(params![doc, now, bytes as i64])?;
    Ok(())
}

/// Records the title.
pub fn set_title(
    conn: &Connection,
    doc: &str,
    title: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO doc_index (id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT(id) DO UPDATE SET title = ?2",
    )?
    .execute(params![doc, title, now])?;
    Ok(())
}

/// Into the trash (`Some(time)`) or out of it.
pub fn set_trashed(conn: &Connection, doc: &str, at: Option<i64>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE doc_index SET trashed_at = ?2 WHERE id = ?1")?
        .execute(params![doc, at])?;
    Ok(())
}

/// One more link generation.
pub fn bump_links(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE doc_index SET link_gen = link_gen + 1 WHERE id = ?1")?
        .execute(params![doc])?;
    Ok(())
}

/// Deletes the document: its updates, snapshot and entry.
pub fn purge(conn: &Connection, doc: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM updates WHERE doc = ?1", params![doc])?;
    conn.execute("DELETE FROM snapshots WHERE doc = ?1", params![doc])?;
    conn.execute("DELETE FROM doc_index WHERE id = ?1", params![doc])?;
    Ok(())
}
