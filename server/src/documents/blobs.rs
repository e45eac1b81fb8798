//! Images and files on a document: receiving an upload as a stream
//! (hashed, sniffed, limited and stored part by part, so memory stays at
//! one part per upload whatever the file's size), and reading one back
//! as a stream of parts, and collecting what nothing names any more
//! (`weft_core::store::blob_collection`) in the background. The HTTP side
//! is `api::blobs`.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use weft_core::doc_id::DocId;
use weft_core::store::blob_collection::collect;
use weft_core::store::blobs::{hex, sniff, upload_key, PART};
use weft_core::store::queue::Write;
use weft_core::store::{self, BlobMeta, NewBlob, Store, StoreError};
use weft_core::time::Clock;

use crate::state::Shared;

/// Why an upload was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Larger than `--max-blob-size`.
    #[error("the file is larger than this server's limit of {}", size_text(*.0))]
    TooLarge(u64),
    /// The document's blobs would pass `--blob-quota`.
    #[error("this document's images and files would pass its quota of {}; remove some first", size_text(*.0))]
    Quota(u64),
    /// Nothing was sent.
    #[error("the file is empty")]
    Empty,
    /// The upload broke off before its end.
    #[error("the upload broke off: {0}")]
    Body(String),
    /// The store did not take it; nothing of it is kept.
    #[error("not saved: {0}")]
    Store(#[from] StoreError),
}

/// `25 MiB`, `300 KiB`, `1.5 GiB`: a size as a person reads it.
pub fn size_text(bytes: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match value.fract() {
        0.0 => format!("{value} {}", units[unit]),
        _ => format!("{value:.1} {}", units[unit]),
    }
}

/// Receives `body` as a blob of `doc` and returns it once it is durable.
/// `declared` is the Content-Length, if sent: refused before reading.
pub async fn receive<S, E>(
    shared: &Shared,
    doc: &DocId,
    declared: Option<u64>,
    body: S,
) -> Result<BlobMeta, BlobError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (max, quota) = (shared.config.max_blob_size, shared.config.blob_quota);
    let room = quota.saturating_sub(shared.store.blob_usage(doc).await?);
    let limit = |size: u64| match () {
        _ if size > max => Err(BlobError::TooLarge(max)),
        _ if size > room => Err(BlobError::Quota(quota)),
        _ => Ok(()),
    };
    limit(declared.unwrap_or(0))?;
    let now = shared.config.clock.now_millis() / 1000;
    let upload = upload_key(now);
    let received = parts(&*shared.store, &upload, body, limit).await;
    let (hash, size, kind) = match received {
        Ok(got) => got,
        Err(e) => {
            // Best effort: a crash here leaves parts that collection drops.
            shared
                .store
                .index(Write::BlobAbort(upload), Box::new(|_| {}));
            return Err(e);
        }
    };
    let meta = BlobMeta {
        hash,
        size,
        kind: kind.to_owned(),
        created_at: now,
    };
    let commit = NewBlob {
        upload,
        doc: doc.clone(),
        meta: meta.clone(),
    };
    store::index(&*shared.store, Write::BlobCommit(Box::new(commit))).await?;
    Ok(meta)
}

/// Parts written and not yet durable, per upload: enough for group
/// commit to put several in one transaction, few enough that an upload
/// holds at most this many parts (512 KiB) in memory.
const IN_FLIGHT: usize = 2;

/// Writes `body` under `upload` in parts of [`PART`] bytes, reading on
/// only while fewer than [`IN_FLIGHT`] are waiting to be durable; returns
/// the hash, size and sniffed type once every part is.
async fn parts<S, E>(
    store: &dyn Store,
    upload: &str,
    mut body: S,
    limit: impl Fn(u64) -> Result<(), BlobError>,
) -> Result<(String, u64, &'static str), BlobError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    type Durable = tokio::sync::oneshot::Receiver<Result<(), StoreError>>;
    let mut hasher = Sha256::new();
    let (mut size, mut n, mut kind) = (0u64, 0u32, None);
    let mut buf = BytesMut::with_capacity(PART);
    // One store writes in order, so parts become durable in order too.
    let mut waiting: VecDeque<Durable> = VecDeque::new();
    let wait = async |rx: Durable| rx.await.unwrap_or(Err(StoreError::Closed));
    let mut put = |part: Bytes, waiting: &mut VecDeque<Durable>| {
        kind.get_or_insert_with(|| sniff(&part));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let write = Write::BlobPart(upload.to_owned(), n, part);
        store.index(write, Box::new(move |r| drop(tx.send(r))));
        waiting.push_back(rx);
        n += 1;
    };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
        size += chunk.len() as u64;
        limit(size)?;
        hasher.update(&chunk);
        buf.extend_from_slice(&chunk);
        while buf.len() >= PART {
            put(buf.split_to(PART).freeze(), &mut waiting);
            while waiting.len() >= IN_FLIGHT {
                wait(waiting.pop_front().expect("not empty")).await?;
            }
        }
    }
    if !buf.is_empty() {
        put(buf.freeze(), &mut waiting);
    }
    for rx in waiting {
        wait(rx).await?;
    }
    let kind = kind.ok_or(BlobError::Empty)?;
    let hash = hex(&hasher.finalize());
    Ok((hash, size, kind))
}

/// Collects blobs nothing names any more, a pass every quarter of the
/// grace (at least every hour), until the server stops.
pub async fn collector(shared: Weak<Shared>, grace: Duration, clock: Clock) {
    let every = (grace / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    crate::state::every(shared, every, |shared| {
        let now = clock.now_millis() / 1000;
        async move {
            match collect(&*shared.store, now, grace.as_secs() as i64).await {
                Ok(done) if done.forgotten > 0 => tracing::info!(
                    forgotten = done.forgotten,
                    kept = done.kept,
                    "blobs: forgot images and files no document names any more"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "blobs: collection failed; will retry"),
            }
        }
    })
    .await
}

/// The blob's bytes as a stream of its parts, read one at a time as the
/// client takes them.
pub fn read(
    store: Arc<dyn Store>,
    meta: &BlobMeta,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let count = meta.size.div_ceil(PART as u64);
    let hash = meta.hash.clone();
    futures_util::stream::try_unfold(0u32, move |n| {
        let (store, hash) = (store.clone(), hash.clone());
        async move {
            if u64::from(n) >= count {
                return Ok(None);
            }
            match store.blob_part(&hash, n).await {
                Ok(Some(part)) => Ok(Some((part, n + 1))),
                Ok(None) => Err(io::Error::other(format!("blob {hash} lacks part {n}"))),
                Err(e) => Err(io::Error::other(e)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(25 << 20), "25 MiB");
        assert_eq!(size_text(300 << 10), "300 KiB");
        assert_eq!(size_text(3 << 29), "1.5 GiB");
        assert_eq!(size_text(10), "10 bytes");
    }
}
