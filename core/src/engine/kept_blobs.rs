//! Images and files on this computer: ones added while the server could
//! not be reached, kept until they are uploaded, and ones already seen, so
//! a document shows its images offline too.
//!
//! Under `<dir>/blobs/`: `cache/<hash>`, the bytes (named by their
//! SHA-256, so a copy is never stale), and `waiting/<doc key>/<hash>`, an
//! empty marker for each one its document still has to upload. Bytes are
//! written to a temporary file, synced and renamed before the marker is
//! made, so a crash never leaves a marker without its bytes. The cache is
//! trimmed to [`CACHE_LIMIT`], oldest first, never touching a waiting one.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::store::blobs::{hash_of, hex, is_hash};

/// How many bytes of seen images and files are kept for offline use.
pub const CACHE_LIMIT: u64 = 256 << 20;

/// The images and files kept on this computer.
#[derive(Debug, Clone)]
pub struct KeptBlobs {
    cache: PathBuf,
    waiting: PathBuf,
    limit: u64,
}

impl KeptBlobs {
    /// The blobs under `dir` (the app's data directory), creating nothing
    /// until something is kept.
    pub fn open(dir: &Path) -> Self {
        Self::with_limit(dir, CACHE_LIMIT)
    }

    /// As [`open`](Self::open), with another cache size (tests).
    pub fn with_limit(dir: &Path, limit: u64) -> Self {
        let root = dir.join("blobs");
        KeptBlobs {
            cache: root.join("cache"),
            waiting: root.join("waiting"),
            limit,
        }
    }

    /// Keeps `bytes` for the document `key` until [`uploaded`](Self::uploaded)
    /// is called: durable when this returns. Their hash.
    pub fn keep(&self, key: &str, bytes: &[u8]) -> io::Result<String> {
        let hash = self.cache(bytes)?;
        let dir = self.waiting.join(dir_name(key));
        fs::create_dir_all(&dir)?;
        fs::File::create(dir.join(&hash))?.sync_all()?;
        sync_dir(&dir)?;
        Ok(hash)
    }

    /// Keeps a copy of bytes seen (downloaded or uploaded); their hash.
    pub fn cache(&self, bytes: &[u8]) -> io::Result<String> {
        let hash = hash_of(bytes);
        let path = self.cache.join(&hash);
        if !path.exists() {
            fs::create_dir_all(&self.cache)?;
            let tmp = self.cache.join(format!(".{hash}.{}", std::process::id()));
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            sync_dir(&self.cache)?;
            self.trim()?;
        }
        Ok(hash)
    }

    /// The bytes named `hash`, if this computer has them.
    pub fn read(&self, hash: &str) -> Option<Vec<u8>> {
        if !is_hash(hash) {
            return None;
        }
        fs::read(self.cache.join(hash)).ok()
    }

    /// True if the document `key` still has to upload `hash`.
    pub fn is_waiting(&self, key: &str, hash: &str) -> bool {
        is_hash(hash) && self.waiting.join(dir_name(key)).join(hash).exists()
    }

    /// Every (document key, hash) still to upload.
    pub fn waiting(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for doc in read_dir(&self.waiting) {
            let Some(key) = key_of(&doc.file_name().to_string_lossy()) else {
                continue;
            };
            for blob in read_dir(&doc.path()) {
                let hash = blob.file_name().to_string_lossy().into_owned();
                if is_hash(&hash) {
                    out.push((key.clone(), hash));
                }
            }
        }
        out.sort();
        out
    }

    /// The document `key` no longer has to upload `hash` (it did, or the
    /// server refused it for good). The bytes stay in the cache.
    pub fn uploaded(&self, key: &str, hash: &str) -> io::Result<()> {
        let dir = self.waiting.join(dir_name(key));
        match fs::remove_file(dir.join(hash)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // Gone once empty, so `waiting` lists only documents with work.
        let _ = fs::remove_dir(&dir);
        Ok(())
    }

    /// Deletes the oldest cached bytes past the limit, except waiting ones.
    fn trim(&self) -> io::Result<()> {
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = read_dir(&self.cache)
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                let name = e.file_name().to_string_lossy().into_owned();
                is_hash(&name).then_some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        if total <= self.limit {
            return Ok(());
        }
        let waiting: std::collections::HashSet<String> =
            self.waiting().into_iter().map(|(_, h)| h).collect();
        files.sort();
        for (_, len, path) in files {
            if total <= self.limit {
                break;
            }
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if !waiting.contains(name.as_ref()) {
                fs::remove_file(&path)?;
                total -= len;
            }
        }
        Ok(())
    }
}

/// A document key as a directory name: hex, so any key is one safe name.
fn dir_name(key: &str) -> String {
    hex(key.as_bytes())
}

/// The key a [`dir_name`] stands for.
fn key_of(name: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..name.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(name.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn read_dir(dir: &Path) -> impl Iterator<Item = fs::DirEntry> {
    fs::read_dir(dir).into_iter().flatten().flatten()
}

/// Makes a rename or a new name in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_bytes_wait_until_uploaded_and_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let kept = KeptBlobs::open(dir.path());
        assert!(kept.waiting().is_empty());
        let hash = kept.keep("127.0.0.1:1/notes", b"a photo").unwrap();
        assert_eq!(hash, hash_of(b"a photo"));
        assert!(kept.is_waiting("127.0.0.1:1/notes", &hash));
        assert!(!kept.is_waiting("127.0.0.1:1/other", &hash));
        // Another opening (the app restarted) finds it still waiting.
        let again = KeptBlobs::open(dir.path());
        assert_eq!(
            again.waiting(),
            vec![("127.0.0.1:1/notes".to_string(), hash.clone())]
        );
        again.uploaded("127.0.0.1:1/notes", &hash).unwrap();
        assert!(again.waiting().is_empty());
        assert_eq!(again.read(&hash).as_deref(), Some(&b"a photo"[..]));
        assert_eq!(again.read("../../etc/passwd"), None);
    }

    #[test]
    fn the_cache_drops_the_oldest_first_but_never_a_waiting_one() {
        let dir = tempfile::tempdir().unwrap();
        let kept = KeptBlobs::with_limit(dir.path(), 25);
        let waiting = kept.keep("k", &[1; 10]).unwrap();
        let old = kept.cache(&[2; 10]).unwrap();
        // Modification times order the cache; make "old" older.
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(dir.path().join("blobs/cache").join(&old))
            .unwrap()
            .set_modified(past)
            .unwrap();
        fs::File::options()
            .write(true)
            .open(dir.path().join("blobs/cache").join(&waiting))
            .unwrap()
            .set_modified(past - std::time::Duration::from_secs(60))
            .unwrap();
        let new = kept.cache(&[3; 10]).unwrap();
        assert!(
            kept.read(&waiting).is_some(),
            "a waiting blob is never dropped"
        );
        assert!(kept.read(&old).is_none(), "the oldest other one goes");
        assert!(kept.read(&new).is_some());
    }

    #[test]
    fn any_key_is_a_directory_name_and_back() {
        for key in ["127.0.0.1:8080/notes", "wss://a/b?c", "é/../x"] {
            assert_eq!(key_of(&dir_name(key)).as_deref(), Some(key));
        }
    }
}
