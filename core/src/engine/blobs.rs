//! Images and files on a server (`/api/v1/docs/{id}/blobs`): uploading
//! one to a document, reading one back, asking whether it is there. What
//! `weft put`, `weft cat --assets` and the app use.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::http::Method;

use super::api::server_of_doc;
use super::http::request;
use super::{DocUrl, EngineError};
use crate::store::blobs::{address, is_hash, sniff};

/// A stored blob, as the server answers an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    /// SHA-256 of its bytes, hex.
    pub hash: String,
    /// Where to read it, relative to the server.
    pub url: String,
    /// Bytes.
    pub size: u64,
    /// The content type the server sniffed.
    #[serde(rename = "type")]
    pub kind: String,
    /// Kept on this computer, not yet on the server (it could not be
    /// reached): uploaded when it can be, see [`super::kept_blobs`].
    #[serde(default)]
    pub pending: bool,
}

impl Blob {
    /// `bytes` (named `hash`), kept here for the document `doc` until they
    /// can be uploaded.
    pub fn pending(doc: &str, hash: String, bytes: &[u8]) -> Self {
        Blob {
            url: address(doc, &hash),
            hash,
            size: bytes.len() as u64,
            kind: sniff(bytes).to_string(),
            pending: true,
        }
    }
}

/// True for an address the server's blob API serves (`/api/v1/docs/…/blobs/…`).
pub fn is_blob_url(src: &str) -> bool {
    src.starts_with("/api/v1/docs/") && src.contains("/blobs/")
}

/// The hash an address names (`/api/v1/docs/d/blobs/<hash>?name=…`).
pub fn hash_in(src: &str) -> Option<&str> {
    let path = src.split(['?', '#']).next()?;
    let hash = path.rsplit('/').next()?;
    (is_blob_url(src) && is_hash(hash)).then_some(hash)
}

/// Whether the document's server has the blob at `src` (a `HEAD`).
pub async fn is_stored(url: &DocUrl, src: &str, timeout: Duration) -> Result<bool, EngineError> {
    if !is_blob_url(src) {
        return Err(EngineError::BadUrl(format!(
            "{src} is not an image or file on this server"
        )));
    }
    let answer = request(&server_of_doc(url), Method::HEAD, src, None, timeout).await?;
    match answer.ok() {
        Ok(_) => Ok(true),
        Err(EngineError::Refused { status: 404, .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Uploads `bytes` to the document; the blob once the server has stored it.
pub async fn upload(url: &DocUrl, bytes: Vec<u8>, timeout: Duration) -> Result<Blob, EngineError> {
    let path = format!("/api/v1/docs/{}/blobs", url.doc);
    let body = Some(("application/octet-stream", bytes));
    let answer = request(&server_of_doc(url), Method::POST, &path, body, timeout)
        .await?
        .ok()?;
    answer.json("POST /api/v1/docs/{id}/blobs")
}

/// Reads a blob of the document by its address (`src`, as the document
/// holds it); its bytes and content type.
pub async fn download(
    url: &DocUrl,
    src: &str,
    timeout: Duration,
) -> Result<(Bytes, Option<String>), EngineError> {
    if !is_blob_url(src) {
        return Err(EngineError::BadUrl(format!(
            "{src} is not an image or file on this server"
        )));
    }
    let answer = request(&server_of_doc(url), Method::GET, src, None, timeout)
        .await?
        .ok()?;
    Ok((answer.body, answer.content_type))
}
