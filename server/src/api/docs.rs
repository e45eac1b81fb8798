//! `/api/v1/docs`: listing, metadata, content, updates, title and trash.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weft_core::convert::{self, PutMode};
use weft_core::doc_id::DocId;
use weft_core::store::queue::Write;
use weft_core::store::{self, Cursor, DocMeta, ListQuery};
use yrs::{ReadTxn, StateVector, Transact, WriteTxn};

use super::access::Caller;
use super::error::{ApiError, ErrorBody};
use crate::documents::edits::{self, DocError};
use crate::state::Shared;

/// One document in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocSummary {
    /// The id, as in `ws://HOST/<id>`.
    pub id: String,
    /// `meta.title`, if set.
    pub title: Option<String>,
    /// When its first update was stored (unix seconds).
    pub created_at: i64,
    /// When its last update was stored (unix seconds).
    pub updated_at: i64,
    /// Stored bytes.
    pub size: u64,
}

/// One document's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocDetail {
    /// The id.
    pub id: String,
    /// `meta.title`, if set.
    pub title: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Stored bytes.
    pub size: u64,
    /// True while it is in the trash.
    pub trashed: bool,
}

impl From<DocMeta> for DocSummary {
    fn from(m: DocMeta) -> Self {
        DocSummary {
            id: m.id.to_string(),
            title: m.title,
            created_at: m.created_at,
            updated_at: m.updated_at,
            size: m.size,
        }
    }
}

impl From<DocMeta> for DocDetail {
    fn from(m: DocMeta) -> Self {
        DocDetail {
            trashed: m.trashed_at.is_some(),
            id: m.id.to_string(),
            title: m.title,
            created_at: m.created_at,
            updated_at: m.updated_at,
            size: m.size,
        }
    }
}

/// A page of documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocList {
    /// Newest first.
    pub docs: Vec<DocSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// What to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// Only ids starting with this.
    pub prefix: Option<String>,
    /// Only titles containing this (case-insensitive).
    pub q: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Which form the content comes in.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ContentParams {
    /// `update` (Yjs v1 state, binary), `md`, `html`, `text` or `json`
    /// (ProseMirror JSON). Default `md`.
    pub format: Option<String>,
}

/// A new title.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TitlePatch {
    /// The title; empty removes it.
    pub title: String,
}

pub(super) fn doc_id(raw: &str) -> Result<DocId, ApiError> {
    DocId::new(raw).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_id", e.to_string()))
}

/// The content type's essence (`text/markdown; charset=utf-8` → `text/markdown`).
fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn unsupported(want: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("send the body as {want}"),
    )
}

/// The body, or 413 past `--max-message-size`.
pub(super) async fn body(shared: &Shared, body: Body) -> Result<Bytes, ApiError> {
    let limit = shared.config.max_message_size;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than the server's limit of {limit} bytes"),
        )
    })
}

/// A document the caller may read: its entry, checked against links reset.
pub(super) async fn readable(
    shared: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<(DocId, DocMeta), ApiError> {
    let doc = doc_id(id)?;
    caller.may_read(&doc)?;
    let meta = edits::meta(shared, &doc).await?;
    caller.link_current(Some(&meta))?;
    Ok((doc, meta))
}

/// The document of a `readable`/`changeable` answer, unless it is in the
/// trash (410).
pub(super) fn untrashed((doc, meta): (DocId, DocMeta)) -> Result<DocId, ApiError> {
    match meta.trashed_at {
        Some(_) => Err(DocError::Trashed.into()),
        None => Ok(doc),
    }
}

/// An existing document (in the trash or not) the caller may change.
pub(super) async fn changeable(
    shared: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<(DocId, DocMeta), ApiError> {
    let doc = doc_id(id)?;
    caller.may_write(&doc)?;
    let meta = edits::meta(shared, &doc).await?;
    caller.link_current(Some(&meta))?;
    Ok((doc, meta))
}

/// A document the caller may change, and that is not in the trash (new
/// ones count against the creator's budget, as on the WebSocket).
pub(super) async fn writable(
    shared: &Shared,
    caller: &Caller,
    id: &str,
) -> Result<DocId, ApiError> {
    let doc = doc_id(id)?;
    caller.may_write(&doc)?;
    let meta = shared.store.meta(&doc).await.map_err(DocError::from)?;
    caller.link_current(meta.as_ref())?;
    match meta {
        Some(m) if m.trashed_at.is_some() => Err(DocError::Trashed.into()),
        Some(_) => Ok(doc),
        None => {
            let creator = match &caller.claims {
                Some(c) => format!("token {} {}", c.sub.as_deref().unwrap_or("-"), c.doc),
                None => "api".to_owned(),
            };
            if !shared.creations.allow(&creator) {
                shared.metrics.reject("new_docs");
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_new_documents",
                    "too many new documents; try again later",
                ));
            }
            Ok(doc)
        }
    }
}

/// Lists the documents the token may open, newest first.
#[utoipa::path(get, path = "/api/v1/docs", params(ListParams), tag = "docs",
    responses((status = 200, body = DocList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<DocList>, ApiError> {
    let after = match p.cursor.as_deref() {
        Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_cursor",
                "this cursor is not one the server gave",
            )
        })?),
        None => None,
    };
    let Some(scope) = caller.scope().narrowed(p.prefix.as_deref().unwrap_or("")) else {
        return Ok(Json(DocList {
            docs: Vec::new(),
            next_cursor: None,
        }));
    };
    let query = ListQuery {
        scope,
        q: p.q,
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
        after,
    };
    let page = shared.store.list(query).await.map_err(DocError::from)?;
    Ok(Json(DocList {
        docs: page.docs.into_iter().map(DocSummary::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One document's metadata.
#[utoipa::path(get, path = "/api/v1/docs/{id}", tag = "docs",
    params(("id" = String, Path, description = "The document id")),
    responses((status = 200, body = DocDetail), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocDetail>, ApiError> {
    let (_, meta) = readable(&shared, &caller, &id).await?;
    Ok(Json(meta.into()))
}

/// A document in one of the content formats: its content type and bytes.
pub(super) fn render(d: &yrs::Doc, format: &str) -> Result<(&'static str, Vec<u8>), ApiError> {
    Ok(match format {
        "update" => (
            "application/octet-stream",
            d.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        ),
        "md" => (
            "text/markdown; charset=utf-8",
            convert::to_markdown(d).into_bytes(),
        ),
        "html" => ("text/html; charset=utf-8", convert::to_html(d).into_bytes()),
        "text" => (
            "text/plain; charset=utf-8",
            convert::to_text(d).into_bytes(),
        ),
        "json" => (
            "application/json",
            convert::to_json(d).to_string().into_bytes(),
        ),
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_format",
                format!("unknown format “{other}”: use update, md, html, text or json"),
            ))
        }
    })
}

/// The content, through the same converters as `weft cat`.
#[utoipa::path(get, path = "/api/v1/docs/{id}/content", tag = "docs",
    params(("id" = String, Path, description = "The document id"), ContentParams),
    responses((status = 200, description = "The content in the asked format"), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn content(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<ContentParams>,
) -> Result<Response, ApiError> {
    let doc = untrashed(readable(&shared, &caller, &id).await?)?;
    let format = p.format.unwrap_or_else(|| "md".into());
    let (mime, body) = edits::read(&shared, &doc, |d| render(d, &format)).await??;
    Ok(([(header::CONTENT_TYPE, mime)], body).into_response())
}

/// Applies one binary Yjs v1 update, exactly as a WebSocket client's;
/// answers once it is durable.
#[utoipa::path(post, path = "/api/v1/docs/{id}/updates", tag = "docs",
    params(("id" = String, Path, description = "The document id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Applied and durable"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn post_update(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<StatusCode, ApiError> {
    let doc = writable(&shared, &caller, &id).await?;
    if content_type(&headers) != "application/octet-stream" {
        return Err(unsupported("application/octet-stream (one Yjs v1 update)"));
    }
    let update = body(&shared, raw).await?;
    edits::apply(&shared, &doc, &update, caller.sub()).await?;
    Ok(StatusCode::OK)
}

/// Replaces the body with Markdown or HTML, as one change live editors see.
#[utoipa::path(put, path = "/api/v1/docs/{id}/content", tag = "docs",
    params(("id" = String, Path, description = "The document id")),
    request_body(content = String, content_type = "text/markdown"),
    responses((status = 200, description = "Replaced and durable"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_content(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<StatusCode, ApiError> {
    let doc = writable(&shared, &caller, &id).await?;
    let kind = content_type(&headers);
    if kind != "text/markdown" && kind != "text/html" {
        return Err(unsupported("text/markdown or text/html"));
    }
    let bytes = body(&shared, raw).await?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_text",
            "the body is not UTF-8 text",
        )
    })?;
    let blocks = if kind == "text/html" {
        convert::html_read::parse(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_html",
                "the body is not HTML the server can read",
            )
        })?
    } else {
        convert::md_read::parse(text)
    };
    edits::edit(&shared, &doc, caller.sub(), |txn| {
        let frag = txn.get_or_insert_xml_fragment(convert::FRAGMENT);
        convert::put_blocks(txn, &frag, &blocks, PutMode::Replace)
    })
    .await?;
    Ok(StatusCode::OK)
}

/// Sets the title (`meta.title`).
#[utoipa::path(patch, path = "/api/v1/docs/{id}", tag = "docs",
    params(("id" = String, Path, description = "The document id")),
    request_body = TitlePatch,
    responses((status = 200, body = DocDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn patch(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<DocDetail>, ApiError> {
    let doc = writable(&shared, &caller, &id).await?;
    if content_type(&headers) != "application/json" {
        return Err(unsupported("application/json"));
    }
    let bytes = body(&shared, raw).await?;
    let patch: TitlePatch = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("expected {{\"title\": \"…\"}}: {e}"),
        )
    })?;
    edits::edit(&shared, &doc, caller.sub(), |txn| {
        weft_core::title::set(txn, &patch.title)
    })
    .await?;
    store::flush(&*shared.store).await.map_err(DocError::from)?;
    Ok(Json(edits::meta(&shared, &doc).await?.into()))
}

/// Moves the document to the trash: live connections close with 4410,
/// and connecting answers 410 until it is restored.
#[utoipa::path(delete, path = "/api/v1/docs/{id}", tag = "docs",
    params(("id" = String, Path, description = "The document id")),
    responses((status = 204, description = "In the trash"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (doc, _) = changeable(&shared, &caller, &id).await?;
    let now = weft_core::time::unix_secs() as i64;
    store::index(&*shared.store, Write::Trash(doc.clone(), Some(now)))
        .await
        .map_err(DocError::from)?;
    shared
        .rooms
        .announce(&doc, weft_core::protocol::NodeNotice::Deleted);
    tracing::info!(doc = %doc, "moved to the trash");
    Ok(StatusCode::NO_CONTENT)
}

/// Takes the document back out of the trash.
#[utoipa::path(post, path = "/api/v1/docs/{id}/restore", tag = "docs",
    params(("id" = String, Path, description = "The document id")),
    responses((status = 200, body = DocDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn restore(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocDetail>, ApiError> {
    let (doc, _) = changeable(&shared, &caller, &id).await?;
    store::index(&*shared.store, Write::Trash(doc.clone(), None))
        .await
        .map_err(DocError::from)?;
    if let Some(room) = shared.rooms.loaded_room(&doc) {
        room.restored();
    }
    Ok(Json(edits::meta(&shared, &doc).await?.into()))
}
