//! Images and files on a server (`/api/v1/docs/{id}/blobs`): uploading
//! one to a document and reading one back. What `weft put` and `weft cat
//! --assets` use.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::http::Method;

use super::api::server_of_doc;
use super::http::request;
use super::{DocUrl, EngineError};

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
}

/// True for an address the server's blob API serves (`/api/v1/docs/…/blobs/…`).
pub fn is_blob_url(src: &str) -> bool {
    src.starts_with("/api/v1/docs/") && src.contains("/blobs/")
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
