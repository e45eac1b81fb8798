//! The local list of documents: URL, title, last opened, unsaved count.
//! It lives in the same SQLite file as the local store's updates.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use super::{DocUrl, EngineError};

/// One document the user has opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocInfo {
    /// The local store key (see [`DocUrl::local_key`]).
    pub key: String,
    /// The document URL, without token.
    pub url: String,
    /// The title shown in the sidebar.
    pub title: String,
    /// Unix seconds.
    pub last_opened: i64,
    /// Unix seconds.
    pub created: i64,
    /// Local edits the server has not acknowledged.
    pub unsaved: u64,
    /// The token that came with the link this doc was opened from, if any.
    pub token: Option<String>,
    /// The first line of text, for showing a document that has no title.
    pub preview: Option<String>,
}

/// Document metadata in `DIR/weft.db` ([`crate::store::DB_FILE`]).
pub struct Library {
    conn: Mutex<Connection>,
}

fn err(e: rusqlite::Error) -> EngineError {
    e.into()
}

fn now() -> i64 {
    crate::time::unix_secs() as i64
}

const COLUMNS: &str = "key, url, title, last_opened, created, unsaved, token, preview";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocInfo> {
    Ok(DocInfo {
        key: r.get(0)?,
        url: r.get(1)?,
        title: r.get(2)?,
        last_opened: r.get(3)?,
        created: r.get(4)?,
        unsaved: r.get::<_, i64>(5)? as u64,
        token: r.get(6)?,
        preview: r.get(7)?,
    })
}

impl Library {
    /// Opens (creating) the library in `dir`.
    pub fn open(dir: &Path) -> Result<Self, EngineError> {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::LibraryDir {
            path: dir.display().to_string(),
            source: Arc::new(e),
        })?;
        let conn = Connection::open(crate::store::db_path(dir)).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS docs (
                key TEXT PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL,
                last_opened INTEGER NOT NULL, created INTEGER NOT NULL, unsaved INTEGER NOT NULL DEFAULT 0);",
        )
        .map_err(err)?;
        // Added after the first release: libraries made before lack them.
        for column in ["token", "preview"] {
            let has: bool = conn
                .query_row(
                    "SELECT count(*) > 0 FROM pragma_table_info('docs') WHERE name = ?1",
                    params![column],
                    |r| r.get(0),
                )
                .map_err(err)?;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE docs ADD COLUMN {column} TEXT"))
                    .map_err(err)?;
            }
        }
        Ok(Library {
            conn: Mutex::new(conn),
        })
    }

    /// Records that `url` was opened (creating its entry, titled `title`
    /// or its doc id), and returns the entry. A token in `url` replaces the
    /// stored one, so opening an edit link upgrades a view-only entry.
    pub fn touch(&self, url: &DocUrl, title: Option<&str>) -> Result<DocInfo, EngineError> {
        let key = url.local_key()?.to_string();
        let conn = self.conn.lock().unwrap();
        let t = now();
        conn.execute(
            "INSERT INTO docs (key, url, title, last_opened, created, token) VALUES (?1, ?2, ?3, ?4, ?4, ?5)
             ON CONFLICT(key) DO UPDATE SET last_opened = ?4, token = coalesce(?5, token)",
            params![key, url.to_string(), title.unwrap_or(url.doc.as_str()), t, url.token],
        )
        .map_err(err)?;
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM docs WHERE key = ?1"),
            params![key],
            row,
        )
        .map_err(err)
    }

    /// The entry for `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<DocInfo>, EngineError> {
        let conn = self.conn.lock().unwrap();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM docs WHERE key = ?1"),
            params![key],
            row,
        )
        .optional()
        .map_err(err)
    }

    /// Every entry whose title contains `search` (case-insensitive), most
    /// recently opened first.
    pub fn list(&self, search: Option<&str>) -> Result<Vec<DocInfo>, EngineError> {
        let conn = self.conn.lock().unwrap();
        let pattern = format!(
            "%{}%",
            search.unwrap_or("").replace('%', "\\%").replace('_', "\\_")
        );
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM docs WHERE title LIKE ?1 ESCAPE '\\' ORDER BY last_opened DESC, title"
            ))
            .map_err(err)?;
        let rows = stmt.query_map(params![pattern], row).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Renames an entry.
    pub fn rename(&self, key: &str, title: &str) -> Result<(), EngineError> {
        let conn = self.conn.lock().unwrap();
        conn.execute(
            "UPDATE docs SET title = ?2 WHERE key = ?1",
            params![key, title],
        )
        .map_err(err)?;
        Ok(())
    }

    /// Stores the first line of text, shown while the document has no
    /// title (`None` when it is empty).
    pub fn set_preview(&self, key: &str, preview: Option<&str>) -> Result<(), EngineError> {
        let conn = self.conn.lock().unwrap();
        conn.execute(
            "UPDATE docs SET preview = ?2 WHERE key = ?1",
            params![key, preview],
        )
        .map_err(err)?;
        Ok(())
    }

    /// Stores the unsaved-edit count, so it survives a restart.
    pub fn set_unsaved(&self, key: &str, unsaved: u64) -> Result<(), EngineError> {
        let conn = self.conn.lock().unwrap();
        conn.execute(
            "UPDATE docs SET unsaved = ?2 WHERE key = ?1",
            params![key, unsaved as i64],
        )
        .map_err(err)?;
        Ok(())
    }

    /// Forgets a document and its local copy. The server keeps its copy.
    pub fn remove(&self, key: &str) -> Result<(), EngineError> {
        let mut conn = self.conn.lock().unwrap();
        let txn = conn.transaction().map_err(err)?;
        txn.execute("DELETE FROM docs WHERE key = ?1", params![key])
            .map_err(err)?;
        // The store's tables share this file; clear its copy in the same commit.
        for table in ["updates", "snapshots"] {
            let exists: bool = txn
                .query_row(
                    "SELECT count(*) > 0 FROM sqlite_master WHERE name = ?1",
                    params![table],
                    |r| r.get(0),
                )
                .map_err(err)?;
            if exists {
                txn.execute(&format!("DELETE FROM {table} WHERE doc = ?1"), params![key])
                    .map_err(err)?;
            }
        }
        txn.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_are_kept_and_old_libraries_migrate() {
        let dir = tempfile::tempdir().unwrap();
        // A library from before tokens were kept.
        Connection::open(crate::store::db_path(dir.path()))
            .unwrap()
            .execute_batch(
                "CREATE TABLE docs (key TEXT PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL,
                 last_opened INTEGER NOT NULL, created INTEGER NOT NULL, unsaved INTEGER NOT NULL DEFAULT 0);
                 INSERT INTO docs VALUES ('k', 'ws://h:1/old', 'Old', 1, 1, 0);",
            )
            .unwrap();
        let lib = Library::open(dir.path()).unwrap();
        assert_eq!(lib.get("k").unwrap().unwrap().token, None);
        assert_eq!(lib.get("k").unwrap().unwrap().preview, None);
        lib.set_preview("k", Some("First line")).unwrap();
        assert_eq!(
            lib.get("k").unwrap().unwrap().preview.as_deref(),
            Some("First line")
        );
        let view = lib
            .touch(&DocUrl::parse("ws://h:1/doc?token=view").unwrap(), None)
            .unwrap();
        assert_eq!(view.token.as_deref(), Some("view"));
        assert_eq!(view.url, "ws://h:1/doc", "the URL column holds no token");
        // Opening the plain link keeps the token; a new link replaces it.
        let plain = lib
            .touch(&DocUrl::parse("ws://h:1/doc").unwrap(), None)
            .unwrap();
        assert_eq!(plain.token.as_deref(), Some("view"));
        let edit = lib
            .touch(&DocUrl::parse("ws://h:1/doc?token=edit").unwrap(), None)
            .unwrap();
        assert_eq!(edit.token.as_deref(), Some("edit"));
    }

    #[test]
    fn touch_list_rename_remove() {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path()).unwrap();
        let a = lib
            .touch(
                &DocUrl::parse("ws://h:1/alpha").unwrap(),
                Some("Alpha notes"),
            )
            .unwrap();
        lib.touch(&DocUrl::parse("ws://h:1/beta").unwrap(), None)
            .unwrap();
        assert_eq!(lib.list(None).unwrap().len(), 2);
        assert_eq!(lib.list(Some("NOTES")).unwrap(), vec![a.clone()]);
        lib.rename(&a.key, "Renamed").unwrap();
        assert_eq!(lib.get(&a.key).unwrap().unwrap().title, "Renamed");
        lib.set_unsaved(&a.key, 3).unwrap();
        assert_eq!(lib.get(&a.key).unwrap().unwrap().unsaved, 3);
        lib.remove(&a.key).unwrap();
        assert_eq!(lib.list(None).unwrap().len(), 1);
        // Reopening keeps the list.
        drop(lib);
        assert_eq!(
            Library::open(dir.path()).unwrap().list(None).unwrap()[0].title,
            "beta"
        );
    }
}
