//! The group-commit write queue both durable stores use (SQLite here,
//! PostgreSQL in the server): writes wait in one queue; the writer takes
//! every write that is waiting, commits them in one transaction, then runs
//! their completions in queue order with that one result. A store supplies
//! only its commit.

use super::blobs::NewBlob;
use super::versions::NewVersion;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{Done, StoreError};
use crate::doc_id::DocId;

/// One queued write, without its completion (which is not `Sync`, so could
/// not be held across a commit's awaits).
#[derive(Debug, Clone)]
pub enum Write {
    /// Append an update to the doc's log.
    Append(DocId, Bytes),
    /// Replace everything queued for the doc before it with this snapshot.
    Compact(DocId, Bytes),
    /// Record the doc's title in the index (`meta.title`, or none).
    Title(DocId, Option<String>),
    /// Move the doc into the trash at this time (unix seconds), or out.
    Trash(DocId, Option<i64>),
    /// Bump the doc's link generation.
    BumpLinks(DocId),
    /// Delete the doc: updates, snapshot, index entry and versions.
    Purge(DocId),
    /// Store a version (boxed: it holds a whole document state).
    Version(Box<NewVersion>),
    /// Name a version: `(doc, version id, name)`.
    NameVersion(DocId, String, String),
    /// Delete versions thinning no longer keeps.
    DropVersions(DocId, Vec<String>),
    /// One part of an upload: `(upload key, part number, bytes)`.
    BlobPart(String, u32, Bytes),
    /// Name an upload's parts by their hash and record the document's
    /// blob (boxed: the rarest write, kept out of the enum's size).
    BlobCommit(Box<NewBlob>),
    /// Drop an upload's parts (it failed or was abandoned).
    BlobAbort(String),
    /// The document still refers to these blobs, seen at this time.
    BlobSeen(DocId, Vec<String>, i64),
    /// The document no longer has this blob, unless it was seen or
    /// uploaded again since the given time.
    BlobForget(DocId, String, i64),
    /// Delete blobs no document has that were last uploaded before this
    /// time, and uploads abandoned before it.
    BlobSweep(i64),
    /// Prove the store takes writes (the health probe).
    Check,
    /// Nothing to write: completes once everything before it has.
    Flush,
}

/// The sending side, held by the store.
pub struct WriteQueue {
    tx: mpsc::UnboundedSender<(Write, Done)>,
    batches: Arc<AtomicU64>,
}

/// The writer's side: runs the group-commit loop with the store's commit.
pub struct Writer {
    rx: mpsc::UnboundedReceiver<(Write, Done)>,
    batches: Arc<AtomicU64>,
    max_batch: usize,
}

/// A queue, and the writer that drains it at most `max_batch` writes per
/// transaction (bounds how long one commit takes).
pub fn channel(max_batch: usize) -> (WriteQueue, Writer) {
    let (tx, rx) = mpsc::unbounded_channel();
    let batches = Arc::new(AtomicU64::new(0));
    let queue = WriteQueue {
        tx,
        batches: batches.clone(),
    };
    (
        queue,
        Writer {
            rx,
            batches,
            max_batch,
        },
    )
}

impl WriteQueue {
    /// Queues `write`; `done` runs once it is committed or has failed, and
    /// at once with [`StoreError::Closed`] if the writer is gone.
    pub fn push(&self, write: Write, done: Done) {
        if let Err(mpsc::error::SendError((_, done))) = self.tx.send((write, done)) {
            done(Err(StoreError::Closed));
        }
    }

    /// Transactions committed so far; shows that grouping works.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

impl Writer {
    /// The loop for a writer thread (SQLite): returns once every
    /// [`WriteQueue`] is dropped.
    pub fn run_blocking(mut self, mut commit: impl FnMut(&[Write]) -> Result<(), StoreError>) {
        while let Some(first) = self.rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            let (writes, dones): (Vec<Write>, Vec<Done>) = batch.into_iter().unzip();
            let result = self.commit_with(&writes, &mut commit);
            self.complete(dones, result);
        }
    }

    /// The loop for a writer task (PostgreSQL).
    pub async fn run(mut self, mut commit: impl AsyncFnMut(&[Write]) -> Result<(), StoreError>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while self.rx.recv_many(&mut batch, self.max_batch).await > 0 {
            let (writes, dones): (Vec<Write>, Vec<Done>) = batch.drain(..).unzip();
            let result = if only_flushes(&writes) {
                Ok(())
            } else {
                commit(&writes).await
            };
            self.complete(dones, result.inspect_err(|e| log_failure(e, writes.len())));
        }
    }

    fn commit_with(
        &self,
        writes: &[Write],
        commit: &mut impl FnMut(&[Write]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if only_flushes(writes) {
            return Ok(());
        }
        commit(writes).inspect_err(|e| log_failure(e, writes.len()))
    }

    /// One failed commit fails every write in it: they were one transaction.
    fn complete(&self, dones: Vec<Done>, result: Result<(), StoreError>) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        for done in dones {
            done(result.clone());
        }
    }
}

fn only_flushes(writes: &[Write]) -> bool {
    writes.iter().all(|w| matches!(w, Write::Flush))
}

fn log_failure(e: &StoreError, writes: usize) {
    // Debug only: the rooms say once per document what it means.
    tracing::debug!(error = %e, writes, "store commit failed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    #[test]
    fn waiting_writes_commit_together_and_complete_in_order() {
        let (queue, writer) = channel(3);
        let order = Arc::new(Mutex::new(Vec::new()));
        for i in 0..5u8 {
            let order = order.clone();
            queue.push(
                Write::Append(id("d"), Bytes::from(vec![i])),
                Box::new(move |r| order.lock().unwrap().push((i, r.is_ok()))),
            );
        }
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        drop(queue);
        writer.run_blocking(move |w| {
            seen.lock().unwrap().push(w.len());
            Ok(())
        });
        // All five were waiting: two transactions, the first one full.
        assert_eq!(*sizes.lock().unwrap(), vec![3, 2]);
        let got: Vec<_> = order.lock().unwrap().clone();
        assert_eq!(got, (0..5).map(|i| (i, true)).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_commit_fails_every_write_in_it_and_flushes_skip_the_store() {
        let (queue, writer) = channel(16);
        let results = Arc::new(Mutex::new(Vec::new()));
        let push = |w: Write| {
            let results = results.clone();
            queue.push(
                w,
                Box::new(move |r| results.lock().unwrap().push(r.is_ok())),
            );
        };
        push(Write::Append(id("d"), Bytes::from_static(b"a")));
        push(Write::Check);
        drop(queue);
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        writer.run_blocking(move |_| {
            c.fetch_add(1, Ordering::Relaxed);
            Err(StoreError::Injected)
        });
        assert_eq!(*results.lock().unwrap(), vec![false, false]);
        assert_eq!(calls.load(Ordering::Relaxed), 1);

        let (queue, writer) = channel(16);
        let ok = Arc::new(Mutex::new(None));
        let o = ok.clone();
        queue.push(
            Write::Flush,
            Box::new(move |r| *o.lock().unwrap() = Some(r.is_ok())),
        );
        drop(queue);
        writer.run_blocking(|_| panic!("a batch of flushes reached the store"));
        assert_eq!(*ok.lock().unwrap(), Some(true));
    }

    #[tokio::test]
    async fn the_async_writer_groups_and_completes_like_the_blocking_one() {
        let (queue, writer) = channel(64);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..10u8 {
            let tx = tx.clone();
            queue.push(
                Write::Append(id("d"), Bytes::from(vec![i])),
                Box::new(move |r| tx.send((i, r.is_ok())).unwrap()),
            );
        }
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let task = tokio::spawn(writer.run(async move |w: &[Write]| {
            seen.lock().unwrap().push(w.len());
            Ok(())
        }));
        for i in 0..10u8 {
            assert_eq!(rx.recv().await.unwrap(), (i, true));
        }
        assert_eq!(queue.batches(), 1);
        drop(queue);
        task.await.unwrap();
        assert_eq!(*sizes.lock().unwrap(), vec![10]);
    }

    #[test]
    fn a_write_to_a_stopped_writer_fails_as_closed() {
        let (queue, writer) = channel(1);
        drop(writer);
        let got = Arc::new(Mutex::new(None));
        let g = got.clone();
        queue.push(
            Write::Flush,
            Box::new(move |r| *g.lock().unwrap() = Some(r)),
        );
        assert!(matches!(
            got.lock().unwrap().take(),
            Some(Err(StoreError::Closed))
        ));
    }
}
