//! One step of `weft.db`'s schema: applied once, in a transaction that
//! also records it in `user_version`, so a database opened again (or
//! opened by an older step's code) is never migrated twice.

use rusqlite::Connection;

/// Runs `schema` and sets `user_version` to `version`, unless the database
/// is at `version` or later already.
pub fn step(conn: &mut Connection, version: i64, schema: &str) -> rusqlite::Result<()> {
    let at: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if at >= version {
        return Ok(());
    }
    let txn = conn.transaction()?;
    txn.execute_batch(schema)?;
    txn.execute_batch(&format!("PRAGMA user_version={version};"))?;
    txn.commit()
}
