//! Images and files, stored as content-addressed blobs: named by the
//! SHA-256 of their bytes, kept in the document store (SQLite's file, or
//! PostgreSQL) in parts of [`PART`] bytes so neither an upload nor a
//! download ever holds a whole file in memory.
//!
//! An upload writes its parts under a temporary key ([`upload_key`]), then
//! one `Write::BlobCommit` names them by
//! their hash (or drops them if that blob is already stored) and records
//! which document uploaded it. A blob is read through a document that
//! uploaded it, so knowing a hash does not open another document's files.

/// Bytes per stored part: small enough to stream, large enough that a
/// 25 MiB file is a hundred rows.
pub const PART: usize = 256 * 1024;

/// A stored blob, as one document sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// SHA-256 of the bytes, lower-case hex.
    pub hash: String,
    /// Bytes.
    pub size: u64,
    /// The content type sniffed from the bytes at upload.
    pub kind: String,
    /// When this document first uploaded it (unix seconds).
    pub created_at: i64,
}

/// A finished upload: its parts' temporary key, and what they are.
#[derive(Debug, Clone)]
pub struct NewBlob {
    /// The key its parts were written under ([`upload_key`]).
    pub upload: String,
    /// The document it was uploaded to.
    pub doc: crate::doc_id::DocId,
    /// Its hash, size, type and time.
    pub meta: BlobMeta,
}

/// A fresh temporary key for an upload's parts. It starts with the time
/// (unix seconds) so uploads a crash left behind can be told by age.
pub fn upload_key(now: i64) -> String {
    // Ten digits, so keys compare by age as text (until the year 2286).
    format!("upload-{now:010}-{:016x}", rand::random::<u64>())
}

/// The name of these bytes as a blob: their SHA-256, lower-case hex.
pub fn hash_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Bytes as lower-case hex (a digest as a blob's name).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a document's blob is read (`GET`), relative to its server: the
/// address a document holds for an image or file.
pub fn address(doc: &str, hash: &str) -> String {
    format!("/api/v1/docs/{doc}/blobs/{hash}")
}

/// True for a SHA-256 in lower-case hex, the only names blobs have.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(is_hex)
}

/// A lower-case hex digit, the alphabet of blob names.
fn is_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// Adds to `found` every blob name in `bytes`: any run of 64 lower-case
/// hex digits (every 64-digit window of a longer run). A document's
/// encoded state holds an image's address as one string, so scanning the
/// bytes finds every reference in the content, its comments, or anywhere
/// else, without knowing the editor's schema. Finding too many only keeps
/// a blob longer.
pub fn hashes_in(bytes: &[u8], found: &mut std::collections::HashSet<String>) {
    let mut start = 0;
    while start < bytes.len() {
        let len = bytes[start..].iter().take_while(|b| is_hex(**b)).count();
        if len >= 64 {
            for w in bytes[start..start + len].windows(64) {
                found.insert(String::from_utf8_lossy(w).into_owned());
            }
        }
        start += len + 1;
    }
}

/// The content type, from the bytes (the start of the file): never the
/// client's word, which could call a page of script an image.
pub fn sniff(head: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]).to_ascii_lowercase();
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if start.starts_with('<') {
        if text.contains("<svg") {
            return "image/svg+xml";
        }
        if [
            "<!doctype html",
            "<html",
            "<head",
            "<body",
            "<script",
            "<iframe",
        ]
        .iter()
        .any(|tag| text.contains(tag))
        {
            return "text/html";
        }
    }
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    match std::str::from_utf8(head) {
        Ok(_) => "text/plain; charset=utf-8",
        // Cut mid-character at the part's end is still text.
        Err(e) if e.error_len().is_none() && head.len() - e.valid_up_to() < 4 => {
            "text/plain; charset=utf-8"
        }
        Err(_) => "application/octet-stream",
    }
}

/// Whether a browser may show this type in place. Everything else (SVG
/// and HTML above all, which can carry script) is served as an attachment.
pub fn inline(kind: &str) -> bool {
    matches!(
        kind,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/avif"
            | "image/bmp"
            | "application/pdf"
            | "text/plain; charset=utf-8"
    ) || kind.starts_with("audio/")
        || kind.starts_with("video/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lower_case_sha256_hex_is_a_hash() {
        assert!(is_hash(&"ab".repeat(32)));
        assert!(!is_hash(&"AB".repeat(32)));
        assert!(!is_hash(&"ab".repeat(31)));
        assert!(!is_hash("../../etc/passwd"));
        assert!(upload_key(5).starts_with("upload-0000000005-"));
        assert!(!is_hash(&upload_key(5)));
    }

    #[test]
    fn references_are_found_wherever_they_are() {
        let (a, b) = ("a1".repeat(32), "0f".repeat(32));
        let bytes = format!("\x01src\x13/api/v1/docs/d/blobs/{a}?name=x\x00{b}").into_bytes();
        let mut found = std::collections::HashSet::new();
        hashes_in(&bytes, &mut found);
        assert_eq!(found, [a.clone(), b].into_iter().collect());
        found.clear();
        hashes_in(&a.as_bytes()[..63], &mut found);
        assert!(found.is_empty(), "63 digits are no name");
    }

    #[tokio::test]
    async fn memory_and_sqlite_keep_blobs() {
        crate::store::contract::blobs(&crate::store::MemoryStore::default()).await;
        let dir = tempfile::tempdir().unwrap();
        crate::store::contract::blobs(&crate::store::SqliteStore::open(dir.path()).unwrap()).await;
    }

    #[tokio::test]
    async fn memory_and_sqlite_collect_blobs() {
        crate::store::contract::blob_collection(&crate::store::MemoryStore::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let sqlite = crate::store::SqliteStore::open(dir.path()).unwrap();
        crate::store::contract::blob_collection(&sqlite).await;
    }

    #[test]
    fn types_come_from_the_bytes() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        assert_eq!(sniff(&png), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert_eq!(sniff(svg), "image/svg+xml");
        assert_eq!(sniff(b"\n  <!DOCTYPE html><p>hi"), "text/html");
        assert_eq!(sniff(b"<p>hi</p><script>x()</script>"), "text/html");
        assert_eq!(
            sniff("plain words, café".as_bytes()),
            "text/plain; charset=utf-8"
        );
        assert_eq!(sniff(&"é".as_bytes()[..1]), "text/plain; charset=utf-8");
        assert_eq!(sniff(&[0, 159, 146, 150, 1, 2]), "application/octet-stream");
    }

    #[test]
    fn only_harmless_types_are_shown_in_place() {
        assert!(inline("image/png") && inline("application/pdf"));
        assert!(!inline("image/svg+xml") && !inline("text/html"));
        assert!(!inline("application/octet-stream"));
    }
}
