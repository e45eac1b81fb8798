//! Operator commands beside serving: `backup`, `restore` and `export`. They
//! work on the data directory directly, beside a running server where that
//! is safe (backup, export) and only without one where it is not (restore).

use std::path::Path;

use weft_core::convert;
use weft_core::room::Room;

use crate::error::ServerError;
use crate::store::{BackupInfo, SqliteStore, StoreError, StoredDoc};

/// `weft-server backup FILE`.
pub fn backup(data_dir: &Path, file: &Path) -> Result<BackupInfo, ServerError> {
    Ok(SqliteStore::backup(data_dir, file)?)
}

/// `weft-server restore FILE`; returns where the replaced database was kept.
pub fn restore(data_dir: &Path, file: &Path) -> Result<Option<std::path::PathBuf>, ServerError> {
    Ok(SqliteStore::restore(file, data_dir)?)
}

/// `weft-server export DIR`: one `DOC-ID.md` per document. `progress` is
/// called after each with (done, total so far).
pub fn export(
    data_dir: &Path,
    out: &Path,
    mut progress: impl FnMut(u64),
) -> Result<u64, ServerError> {
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let mut done = 0;
    let total = SqliteStore::read_all(data_dir, |doc, stored| {
        write_markdown(out, doc, stored)?;
        done += 1;
        progress(done);
        Ok(())
    })?;
    Ok(total)
}

/// [`export`] from PostgreSQL (`--store postgres://…`).
pub async fn export_postgres(
    url: &str,
    out: &Path,
    mut progress: impl FnMut(u64),
) -> Result<u64, ServerError> {
    use crate::store::Store;
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let store = crate::store::postgres::PgStore::open(url).await?;
    let mut done = 0;
    for doc in store.docs().await? {
        let Ok(id) = weft_core::doc_id::DocId::new(&doc) else {
            continue;
        };
        write_markdown(out, &doc, store.load(&id).await?)?;
        done += 1;
        progress(done);
    }
    Ok(done)
}

/// Writes one document as `out/DOC-ID.md`.
fn write_markdown(out: &Path, doc: &str, stored: StoredDoc) -> Result<(), StoreError> {
    let (room, skipped) = Room::load(stored.updates);
    if skipped > 0 {
        tracing::warn!(doc, skipped, "stored updates that could not be decoded");
    }
    // Doc ids are [A-Za-z0-9._~-] and never "." or "..": safe file names.
    let path = out.join(format!("{doc}.md"));
    std::fs::write(&path, convert::to_markdown(room.doc())).map_err(|e| io_err(&path, e))
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::DataDir {
        path: path.display().to_string(),
        source: std::sync::Arc::new(e),
    }
}
