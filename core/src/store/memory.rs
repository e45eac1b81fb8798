//! The in-memory store: for tests, and for running without a disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::doc_id::DocId;
use bytes::Bytes;

use super::blobs::{BlobMeta, NewBlob};
use super::index::{DocMeta, ListQuery, Page};
use super::queue::Write;
use super::versions::{VersionKind, VersionMeta};
use super::{Done, Store, StoreError, StoreFuture, StoredDoc};

/// Blobs: parts by key (upload key or hash), when each stored blob was
/// last uploaded, and each document's blobs with when each was last seen.
#[derive(Default)]
struct Blobs {
    parts: HashMap<String, Vec<Bytes>>,
    used: HashMap<String, i64>,
    docs: HashMap<DocId, HashMap<String, (BlobMeta, i64)>>,
}

/// Keeps every doc in a map. Writes complete immediately, in call order.
#[derive(Default)]
pub struct MemoryStore {
    docs: Mutex<HashMap<DocId, StoredDoc>>,
    index: Mutex<HashMap<DocId, DocMeta>>,
    versions: Mutex<HashMap<DocId, Vec<(VersionMeta, Bytes)>>>,
    blobs: Mutex<Blobs>,
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
        let len = update.len() as u64;
        done(self.write(|docs| {
            let entry = docs.entry(doc.clone()).or_default();
            entry.updates.push(update);
            entry.log_len += 1;
            self.entry(doc, |m, now| {
                m.size += len;
                m.updated_at = now;
            });
        }));
    }

    fn compact(&self, doc: &DocId, snapshot: Bytes, done: Done) {
        done(self.write(|docs| {
            docs.insert(
                doc.clone(),
                StoredDoc {
                    updates: vec![snapshot.clone()],
                    log_len: 0,
                },
            );
            self.entry(doc, |m, _| m.size = snapshot.len() as u64);
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

    fn meta(&self, doc: &DocId) -> StoreFuture<Option<DocMeta>> {
        let got = self.index.lock().unwrap().get(doc).cloned();
        Box::pin(async move { Ok(got) })
    }

    fn list(&self, q: ListQuery) -> StoreFuture<Page> {
        let mut docs: Vec<DocMeta> = self
            .index
            .lock()
            .unwrap()
            .values()
            .filter(|m| m.trashed_at.is_none() && q.scope.contains(m.id.as_str()))
            .filter(|m| match q.q.as_deref().filter(|t| !t.is_empty()) {
                None => true,
                Some(t) => m
                    .title
                    .as_deref()
                    .is_some_and(|title| title.to_lowercase().contains(&t.to_lowercase())),
            })
            .filter(|m| match &q.after {
                None => true,
                Some(c) => (m.updated_at, m.id.as_str()) < (c.updated_at, c.id.as_str()),
            })
            .cloned()
            .collect();
        docs.sort_by(|a, b| (b.updated_at, b.id.as_str()).cmp(&(a.updated_at, a.id.as_str())));
        docs.truncate(q.limit.max(1) + 1);
        let page = super::sqlite_index::page(docs, q.limit.max(1));
        Box::pin(async move { Ok(page) })
    }

    fn trashed_before(&self, before: i64) -> StoreFuture<Vec<DocId>> {
        let ids = self
            .index
            .lock()
            .unwrap()
            .values()
            .filter(|m| m.trashed_at.is_some_and(|t| t < before))
            .map(|m| m.id.clone())
            .collect();
        Box::pin(async move { Ok(ids) })
    }

    fn index(&self, write: Write, done: Done) {
        done(self.write(|docs| match write {
            Write::Title(doc, title) => self.entry(&doc, |m, _| m.title = title),
            Write::Trash(doc, at) => self.update(&doc, |m| m.trashed_at = at),
            Write::BumpLinks(doc) => self.update(&doc, |m| m.link_gen += 1),
            Write::Purge(doc) => {
                docs.remove(&doc);
                self.index.lock().unwrap().remove(&doc);
                self.versions.lock().unwrap().remove(&doc);
                self.blobs.lock().unwrap().docs.remove(&doc);
            }
            Write::BlobPart(key, n, data) => {
                let mut blobs = self.blobs.lock().unwrap();
                let parts = blobs.parts.entry(key).or_default();
                parts.resize(parts.len().max(n as usize + 1), Bytes::new());
                parts[n as usize] = data;
            }
            Write::BlobCommit(b) => self.blobs.lock().unwrap().commit(*b),
            Write::BlobAbort(key) => drop(self.blobs.lock().unwrap().parts.remove(&key)),
            Write::BlobSeen(doc, hashes, now) => {
                let mut blobs = self.blobs.lock().unwrap();
                for h in hashes {
                    if let Some((_, seen)) = blobs.docs.get_mut(&doc).and_then(|d| d.get_mut(&h)) {
                        *seen = (*seen).max(now);
                    }
                }
            }
            Write::BlobForget(doc, hash, before) => {
                let mut blobs = self.blobs.lock().unwrap();
                if let Some(d) = blobs.docs.get_mut(&doc) {
                    d.retain(|h, (_, seen)| *h != hash || *seen >= before);
                }
            }
            Write::BlobSweep(before) => self.blobs.lock().unwrap().sweep(before),
            Write::Version(v) => {
                let mut all = self.versions.lock().unwrap();
                let list = all.entry(v.doc.clone()).or_default();
                list.retain(|(m, _)| m.id != v.meta.id);
                let meta = VersionMeta {
                    size: v.state.len() as u64,
                    ..v.meta
                };
                list.push((meta, v.state));
            }
            Write::NameVersion(doc, id, name) => {
                let mut all = self.versions.lock().unwrap();
                for (m, _) in all.get_mut(&doc).into_iter().flatten() {
                    if m.id == id {
                        m.name = Some(name.clone());
                    }
                }
            }
            Write::DropVersions(doc, ids) => {
                if let Some(list) = self.versions.lock().unwrap().get_mut(&doc) {
                    list.retain(|(m, _)| !ids.contains(&m.id));
                }
            }
            Write::Append(..) | Write::Compact(..) | Write::Check | Write::Flush => {}
        }));
    }

    fn versions(&self, doc: &DocId) -> StoreFuture<Vec<VersionMeta>> {
        let mut list: Vec<VersionMeta> = self
            .versions
            .lock()
            .unwrap()
            .get(doc)
            .into_iter()
            .flatten()
            .map(|(m, _)| m.clone())
            .collect();
        // Stored order reversed, then a stable sort: ties newest-stored first.
        list.reverse();
        list.sort_by_key(|v| std::cmp::Reverse(v.created_at));
        Box::pin(async move { Ok(list) })
    }

    fn version(&self, doc: &DocId, id: &str) -> StoreFuture<Option<(VersionMeta, Bytes)>> {
        let got = self
            .versions
            .lock()
            .unwrap()
            .get(doc)
            .and_then(|l| l.iter().find(|(m, _)| m.id == id).cloned());
        Box::pin(async move { Ok(got) })
    }

    fn docs_with_auto_versions(&self) -> StoreFuture<Vec<DocId>> {
        let mut docs: Vec<DocId> = self
            .versions
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| {
                l.iter()
                    .any(|(m, _)| m.kind == VersionKind::Auto && m.name.is_none())
            })
            .map(|(d, _)| d.clone())
            .collect();
        docs.sort();
        Box::pin(async move { Ok(docs) })
    }

    fn blob(&self, doc: &DocId, hash: &str) -> StoreFuture<Option<BlobMeta>> {
        let blobs = self.blobs.lock().unwrap();
        let got = blobs
            .docs
            .get(doc)
            .and_then(|d| d.get(hash))
            .map(|(m, _)| m.clone());
        Box::pin(async move { Ok(got) })
    }

    fn blob_part(&self, hash: &str, n: u32) -> StoreFuture<Option<Bytes>> {
        let blobs = self.blobs.lock().unwrap();
        let got = blobs
            .parts
            .get(hash)
            .and_then(|p| p.get(n as usize))
            .cloned();
        Box::pin(async move { Ok(got) })
    }

    fn blob_usage(&self, doc: &DocId) -> StoreFuture<u64> {
        let blobs = self.blobs.lock().unwrap();
        let used = blobs
            .docs
            .get(doc)
            .map_or(0, |d| d.values().map(|(m, _)| m.size).sum());
        Box::pin(async move { Ok(used) })
    }

    fn blobs_unseen_since(&self, before: i64) -> StoreFuture<Vec<(DocId, String)>> {
        let blobs = self.blobs.lock().unwrap();
        let mut pairs: Vec<(DocId, String)> = blobs
            .docs
            .iter()
            .flat_map(|(doc, d)| d.iter().map(move |(h, (_, seen))| (doc, h, *seen)))
            .filter(|(_, _, seen)| *seen < before)
            .map(|(doc, h, _)| (doc.clone(), h.clone()))
            .collect();
        pairs.sort();
        Box::pin(async move { Ok(pairs) })
    }
}

impl Blobs {
    /// As SQLite's `sqlite_blobs::commit`.
    fn commit(&mut self, b: NewBlob) {
        let parts = self.parts.remove(&b.upload).unwrap_or_default();
        let at = b.meta.created_at;
        if self.used.insert(b.meta.hash.clone(), at).is_none() {
            self.parts.insert(b.meta.hash.clone(), parts);
        }
        let doc = self.docs.entry(b.doc).or_default();
        let entry = doc.entry(b.meta.hash.clone()).or_insert((b.meta, at));
        entry.1 = entry.1.max(at);
    }

    /// As SQLite's `sqlite_blobs::sweep`.
    fn sweep(&mut self, before: i64) {
        let held: std::collections::HashSet<&String> =
            self.docs.values().flat_map(|d| d.keys()).collect();
        let gone: Vec<String> = self
            .used
            .iter()
            .filter(|(h, at)| **at < before && !held.contains(h))
            .map(|(h, _)| h.clone())
            .collect();
        for h in gone {
            self.used.remove(&h);
            self.parts.remove(&h);
        }
        let cutoff = format!("upload-{before:010}");
        self.parts
            .retain(|k, _| !(k.starts_with("upload-") && k.as_str() < cutoff.as_str()));
    }
}

impl MemoryStore {
    /// Changes `doc`'s entry, creating it first.
    fn entry(&self, doc: &DocId, f: impl FnOnce(&mut DocMeta, i64)) {
        let now = crate::time::unix_secs() as i64;
        let mut index = self.index.lock().unwrap();
        let m = index.entry(doc.clone()).or_insert_with(|| DocMeta {
            id: doc.clone(),
            title: None,
            created_at: now,
            updated_at: now,
            size: 0,
            trashed_at: None,
            link_gen: 0,
        });
        f(m, now);
    }

    /// Changes `doc`'s entry if it has one.
    fn update(&self, doc: &DocId, f: impl FnOnce(&mut DocMeta)) {
        if let Some(m) = self.index.lock().unwrap().get_mut(doc) {
            f(m);
        }
    }
}
