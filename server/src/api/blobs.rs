//! `/api/v1/docs/{id}/blobs`: uploading an image or file to a document,
//! and reading it back (see `documents::blobs`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weft_core::doc_id::DocId;
use weft_core::store::blobs::{address, inline, is_hash};
use weft_core::store::BlobMeta;

use super::access::Caller;
use super::docs::{doc_id, writable};
use super::error::{ApiError, ErrorBody};
use crate::documents::blobs::{self, BlobError};
use crate::documents::edits::DocError;
use crate::state::Shared;

/// A stored image or file.
#[derive(Debug, Serialize, ToSchema)]
pub struct Blob {
    /// SHA-256 of its bytes, hex: its name.
    pub hash: String,
    /// Where to read it, relative to the server.
    pub url: String,
    /// Bytes.
    pub size: u64,
    /// The content type, sniffed from the bytes.
    #[serde(rename = "type")]
    pub kind: String,
}

impl Blob {
    fn of(doc: &DocId, m: BlobMeta) -> Self {
        Blob {
            url: address(doc.as_str(), &m.hash),
            hash: m.hash,
            size: m.size,
            kind: m.kind,
        }
    }
}

/// How to hand a file over.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReadParams {
    /// The file name to save it as (attachments); the hash otherwise.
    pub name: Option<String>,
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        let (status, code) = match &e {
            BlobError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            BlobError::Quota(_) => (StatusCode::PAYLOAD_TOO_LARGE, "quota"),
            BlobError::Empty => (StatusCode::BAD_REQUEST, "empty"),
            BlobError::Body(_) => (StatusCode::BAD_REQUEST, "broken_upload"),
            BlobError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_saved"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// Uploads an image or file: the body is its bytes. Works before the
/// document has any content. The type is sniffed, never taken from the
/// request.
#[utoipa::path(post, path = "/api/v1/docs/{id}/blobs", tag = "blobs",
    params(("id" = String, Path, description = "The document id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored and durable", body = Blob),
        (status = 403, body = ErrorBody), (status = 413, description = "Over --max-blob-size or the document's --blob-quota", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn upload(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Blob>), ApiError> {
    let doc = writable(&shared, &caller, &id).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let meta = blobs::receive(&shared, &doc, declared, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(Blob::of(&doc, meta))))
}

/// Reads an image or file of the document. Raster images, PDF, audio,
/// video and plain text are shown in place; anything else, SVG and HTML
/// included, is an attachment, so an upload can never run script.
#[utoipa::path(get, path = "/api/v1/docs/{id}/blobs/{hash}", tag = "blobs",
    params(("id" = String, Path, description = "The document id"),
        ("hash" = String, Path, description = "The blob's SHA-256, hex"), ReadParams),
    responses((status = 200, description = "The bytes", content_type = "application/octet-stream"),
        (status = 304, description = "Unchanged (If-None-Match)"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((id, hash)): Path<(String, String)>,
    Query(params): Query<ReadParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let doc = doc_id(&id)?;
    caller.may_read(&doc)?;
    // A blob may come before the document's first content: no entry yet.
    let entry = shared.store.meta(&doc).await.map_err(DocError::from)?;
    caller.link_current(entry.as_ref())?;
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_blob",
            "this document has no image or file with this hash",
        )
    };
    if !is_hash(&hash) {
        return Err(missing());
    }
    let meta = shared
        .store
        .blob(&doc, &hash)
        .await
        .map_err(DocError::from)?
        .ok_or_else(missing)?;
    let etag = format!("\"{hash}\"");
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut res = Body::from_stream(blobs::read(shared.store.clone(), &meta)).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_LENGTH, meta.size.into());
        h.insert(header::CONTENT_TYPE, value(&meta.kind));
        h.insert(
            header::CONTENT_DISPOSITION,
            disposition(&meta, params.name.as_deref()),
        );
        res
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, value(&etag));
    // Private: it was read with a token. Immutable: the name is the hash.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// `inline` for harmless types, else `attachment`, with the file name
/// (RFC 6266's `filename*`, so any name survives).
fn disposition(meta: &BlobMeta, name: Option<&str>) -> HeaderValue {
    let how = if inline(&meta.kind) {
        "inline"
    } else {
        "attachment"
    };
    let name = name.filter(|n| !n.is_empty()).unwrap_or(&meta.hash);
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    value(&format!("{how}; filename*=UTF-8''{encoded}"))
}
