//! Version history on the server: what the API does (save a named
//! version, read one, restore one as a forward edit), and thinning old
//! automatic versions in the background. When a room makes automatic
//! versions is `autoversion`'s. The versions themselves are in the store
//! (`weft_core::store::versions`), so every node of a cluster sees them.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use weft_core::doc_id::DocId;
use weft_core::history;
use weft_core::store::versions;
use weft_core::store::{self, queue::Write, Retention, Store, StoreError};
use weft_core::store::{VersionKind, VersionMeta};
use weft_core::time::Clock;

use crate::documents::edits::{self, DocError, SAVE_TIMEOUT};
use crate::state::Shared;

/// Waits for a version's write; a failure or a timeout is "not saved".
async fn written(
    rx: tokio::sync::oneshot::Receiver<Result<(), StoreError>>,
) -> Result<(), DocError> {
    match tokio::time::timeout(SAVE_TIMEOUT, rx).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(DocError::NotSaved(format!(
            "the version was not stored: {e}"
        ))),
        Ok(Err(_)) => Err(DocError::NotSaved("the store shut down".into())),
        Err(_) => Err(DocError::NotSaved(format!(
            "the store did not confirm the version within {SAVE_TIMEOUT:?}"
        ))),
    }
}

/// Saves the document as it is now as a version of `kind`; answers once
/// the version is durable.
pub async fn save(
    shared: &Arc<Shared>,
    doc: &DocId,
    kind: VersionKind,
    name: Option<String>,
    author: Option<&str>,
) -> Result<VersionMeta, DocError> {
    let lease = shared.rooms.acquire(doc).await?;
    if let Some(a) = author {
        lease.room.authored(a);
    }
    let (meta, rx) = lease.room.make_version(kind, name);
    shared.rooms.release(lease);
    written(rx).await?;
    Ok(meta)
}

/// Every version of `doc`, newest first.
pub async fn list(shared: &Shared, doc: &DocId) -> Result<Vec<VersionMeta>, DocError> {
    Ok(shared.store.versions(doc).await?)
}

/// One version and its state; [`DocError::NoVersion`] if there is none.
pub async fn get(shared: &Shared, doc: &DocId, id: &str) -> Result<(VersionMeta, Bytes), DocError> {
    if !versions::is_id(id) {
        return Err(DocError::NoVersion);
    }
    shared
        .store
        .version(doc, id)
        .await?
        .ok_or(DocError::NoVersion)
}

/// Names a version (an automatic one named is then kept forever).
pub async fn name(
    shared: &Shared,
    doc: &DocId,
    id: &str,
    name: &str,
) -> Result<VersionMeta, DocError> {
    let (mut meta, _) = get(shared, doc, id).await?;
    let write = Write::NameVersion(doc.clone(), id.to_owned(), name.to_owned());
    store::index(&*shared.store, write).await?;
    meta.name = Some(name.to_owned());
    Ok(meta)
}

/// Restores version `id`: saves the current state as `pre-restore`, then
/// edits the body into the version's in one forward change (live editors
/// see it; offline edits merge on top), and records the result as a named
/// version. Title and comments stay as they are. Answers that record.
pub async fn restore(
    shared: &Arc<Shared>,
    doc: &DocId,
    id: &str,
    author: Option<&str>,
) -> Result<VersionMeta, DocError> {
    let (meta, state) = get(shared, doc, id).await?;
    let version = history::load(&state).map_err(DocError::BadUpdate)?;
    save(shared, doc, VersionKind::PreRestore, None, None).await?;
    edits::edit(shared, doc, author, |txn| {
        history::restore(txn, &version);
    })
    .await?;
    let label = match &meta.name {
        Some(name) => format!("“{name}”"),
        None => format!(
            "the version of {}",
            weft_core::time::readable_utc(meta.created_at)
        ),
    };
    save(
        shared,
        doc,
        VersionKind::Named,
        Some(format!("Restored {label}")),
        author,
    )
    .await
}

/// Deletes the automatic versions `retention` no longer keeps, in every
/// document; returns how many.
pub async fn thin(store: &dyn Store, retention: &Retention, now: i64) -> Result<usize, StoreError> {
    let mut dropped = 0;
    for doc in store.docs_with_auto_versions().await? {
        let all = store.versions(&doc).await?;
        let drop = versions::thin(&all, now, retention);
        if !drop.is_empty() {
            dropped += drop.len();
            store::index(store, Write::DropVersions(doc, drop)).await?;
        }
    }
    Ok(dropped)
}

/// How often thinning runs: hourly versions are the finest it keeps apart.
const THIN_EVERY: Duration = Duration::from_secs(15 * 60);

/// Thins automatic versions every [`THIN_EVERY`] until the server stops.
pub async fn thinner(shared: Weak<Shared>, retention: Retention, clock: Clock) {
    crate::state::every(shared, THIN_EVERY, |shared| {
        let now = clock.now_millis();
        async move {
            match thin(&*shared.store, &retention, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(versions = n, "history: thinned old automatic versions"),
                Err(e) => tracing::warn!(error = %e, "history: thinning failed; will retry"),
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::autoversion::Edits;

    /// The background pass deletes from the store exactly what the rule
    /// drops, for every document, by the clock it is given.
    #[tokio::test]
    async fn thinning_deletes_from_the_store_what_the_rule_drops() {
        use weft_core::store::MemoryStore;
        let store = MemoryStore::default();
        const HOUR: i64 = 3_600_000;
        let now = 1_000 * 24 * HOUR;
        for doc in ["a", "b"] {
            let id = DocId::new(doc).unwrap();
            // Two automatic versions in one hour three days ago, one in
            // the last day, and a named one a year ago.
            for (i, (age, kind)) in [
                (72 * HOUR, VersionKind::Auto),
                (72 * HOUR - 60_000, VersionKind::Auto),
                (HOUR, VersionKind::Auto),
                (365 * 24 * HOUR, VersionKind::Named),
            ]
            .into_iter()
            .enumerate()
            {
                let mut e = Edits::new(0);
                let mut v = e.take(&id, Bytes::from_static(b"s"), kind, None, now - age);
                v.meta.id = format!("{:012x}aaaaa{i}", now - age);
                store::index(&store, Write::Version(Box::new(v)))
                    .await
                    .unwrap();
            }
        }
        let dropped = thin(&store, &Retention::default(), now).await.unwrap();
        assert_eq!(dropped, 2, "the older of the two in one hour, per document");
        for doc in ["a", "b"] {
            let left = store.versions(&DocId::new(doc).unwrap()).await.unwrap();
            assert_eq!(left.len(), 3);
            assert!(left.iter().any(|v| v.kind == VersionKind::Named));
            assert!(left
                .iter()
                .any(|v| v.created_at == now - 72 * HOUR + 60_000));
        }
        assert_eq!(thin(&store, &Retention::default(), now).await.unwrap(), 0);
    }
}
