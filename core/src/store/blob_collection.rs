//! Collecting blobs nothing refers to any more. A document keeps a blob
//! while its content or any of its versions names it (see
//! [`hashes_in`]); one not named for a whole grace period is forgotten by
//! that document, and a blob no document has is deleted once it was last
//! uploaded a grace period ago. The grace covers an image uploaded and
//! not yet inserted, and one that comes back with an undo.
//!
//! The clock is passed in, so tests can move it.

use std::collections::{BTreeMap, HashSet};

use super::blobs::hashes_in;
use super::queue::Write;
use super::{index, Store, StoreError};
use crate::doc_id::DocId;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    /// `(document, blob)` pairs still in use (seen again).
    pub kept: usize,
    /// Pairs unused for the whole grace period, now forgotten.
    pub forgotten: usize,
}

/// One pass at time `now` (unix seconds) with a grace of `grace` seconds.
pub async fn collect(store: &dyn Store, now: i64, grace: i64) -> Result<Collected, StoreError> {
    let before = now - grace;
    let mut by_doc: BTreeMap<DocId, Vec<String>> = BTreeMap::new();
    for (doc, hash) in store.blobs_unseen_since(before).await? {
        by_doc.entry(doc).or_default().push(hash);
    }
    let mut done = Collected::default();
    for (doc, hashes) in by_doc {
        let named = named_by(store, &doc).await?;
        let (kept, unused): (Vec<String>, Vec<String>) =
            hashes.into_iter().partition(|h| named.contains(h));
        done.kept += kept.len();
        done.forgotten += unused.len();
        if !kept.is_empty() {
            index(store, Write::BlobSeen(doc.clone(), kept, now)).await?;
        }
        for hash in unused {
            index(store, Write::BlobForget(doc.clone(), hash, before)).await?;
        }
    }
    index(store, Write::BlobSweep(before)).await?;
    Ok(done)
}

/// Every blob name in `doc`'s stored content and versions.
async fn named_by(store: &dyn Store, doc: &DocId) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    for update in store.load(doc).await?.updates {
        hashes_in(&update, &mut found);
    }
    for v in store.versions(doc).await? {
        if let Some((_, state)) = store.version(doc, &v.id).await? {
            hashes_in(&state, &mut found);
        }
    }
    Ok(found)
}
