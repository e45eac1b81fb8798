//! The trash: documents deleted through the API stay restorable for
//! `--trash-retention`, then this task deletes them for good.

use std::sync::{Arc, Weak};
use std::time::Duration;

use weft_core::protocol::close;
use weft_core::store::{self, queue::Write};
use weft_core::time::unix_secs;

use crate::state::Shared;

/// How often to look for documents past their retention: often enough
/// that a short retention (tests, small setups) is honoured closely.
fn interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// Deletes documents that have been in the trash longer than the
/// retention, until the server stops.
pub async fn purger(shared: Weak<Shared>, retention: Duration) {
    crate::state::every(shared, interval(retention), |shared| {
        purge(shared, retention)
    })
    .await
}

/// One pass: deletes what has been in the trash past the retention.
async fn purge(shared: Arc<Shared>, retention: Duration) {
    let before = unix_secs().saturating_sub(retention.as_secs()) as i64;
    let docs = match shared.store.trashed_before(before).await {
        Ok(docs) => docs,
        Err(e) => {
            tracing::warn!(error = %e, "trash: cannot list documents to delete; will retry");
            return;
        }
    };
    for doc in docs {
        // Out of memory first, so nothing writes it back.
        shared
            .rooms
            .unload_now(&doc, close::DELETED, "the document was deleted");
        match store::index(&*shared.store, Write::Purge(doc.clone())).await {
            Ok(()) => tracing::info!(doc = %doc, "trash: deleted for good"),
            Err(e) => {
                tracing::warn!(doc = %doc, error = %e, "trash: deleting failed; will retry")
            }
        }
    }
}
