//! The in-memory store: for tests, and for running without a disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::doc_id::DocId;
use bytes::Bytes;

use super::{Done, Store, StoreError, StoreFuture, StoredDoc};

/// Keeps every doc in a map. Writes complete immediately, in call order.
#[derive(Default)]
pub struct MemoryStore {
    docs: Mutex<HashMap<DocId, StoredDoc>>,
    failing: AtomicBool,
}

impl MemoryStore {
    /// Makes every write fail (or succeed again), to test failure paths.
    pub fn fail_writes(&self, fail: bool) {
        self.failing.store(fail, Ordering::SeqCst);
    }

    fn write(&self, f: impl FnOnce(&mut HashMap<DocId, StoredDoc>)) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Injected);
        }
        f(&mut self.docs.lock().unwrap());
        Ok(())
    }
}

impl Store for MemoryStore {
    fn load(&self, doc: &DocId) -> StoreFuture<StoredDoc> {
        let got = self
            .docs
            .lock()
            .unwrap()
            .get(doc)
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { Ok(got) })
    }

    fn append(&self, doc: &DocId, update: Bytes, done: Done) {
        done(self.write(|docs| {
            let entry = docs.entry(doc.clone()).or_default();
            entry.updates.push(update);
            entry.log_len += 1;
        }));
    }

    fn compact(&self, doc: &DocId, snapshot: Bytes, done: Done) {
        done(self.write(|docs| {
            docs.insert(
                doc.clone(),
                StoredDoc {
                    updates: vec![snapshot],
                    log_len: 0,
                },
            );
        }));
    }

    fn flush(&self, done: Done) {
        done(Ok(()));
    }

    fn check(&self) -> StoreFuture<()> {
        let r = if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Injected)
        } else {
            Ok(())
        };
        Box::pin(async move { r })
    }
}
