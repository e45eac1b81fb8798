//! `/api/v1/docs/{id}/versions`: version history: list, save a named
//! version, read one, compare, name, restore.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weft_core::doc_id::DocId;
use weft_core::history;
use weft_core::store::{VersionKind, VersionMeta};

use super::access::Caller;
use super::docs::{body, changeable, readable, render, untrashed, ContentParams};
use super::error::{ApiError, ErrorBody};
use crate::documents::edits::{self, DocError};
use crate::documents::versions;
use crate::state::Shared;

/// One version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// Its id, for the other version endpoints.
    pub id: String,
    /// `auto`, `named` or `pre-restore`.
    pub kind: String,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// When it was made (unix milliseconds).
    pub created_at: i64,
    /// Who changed the document since the version before (token `sub`s).
    pub authors: Vec<String>,
    /// The stored state's size in bytes.
    pub size: u64,
}

impl From<VersionMeta> for Version {
    fn from(v: VersionMeta) -> Self {
        Version {
            id: v.id,
            kind: v.kind.as_str().to_owned(),
            name: v.name,
            created_at: v.created_at,
            authors: v.authors,
            size: v.size,
        }
    }
}

/// A document's versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    /// Newest first.
    pub versions: Vec<Version>,
}

/// A name for a version.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VersionName {
    /// Shown in the history; 1 to 200 characters.
    pub name: String,
}

/// One piece of a changed block.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffPart {
    /// `equal`, `insert` or `delete`.
    pub op: String,
    /// Its text (Markdown).
    pub text: String,
}

/// What changed from a version to another state, block by block: an
/// inserted or deleted block is one part; a changed one is marked word by
/// word.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDiff {
    /// The version compared from.
    pub from: String,
    /// `current`, or the version compared to.
    pub against: String,
    /// One entry per block, in document order.
    pub blocks: Vec<Vec<DiffPart>>,
}

/// Which state to compare a version with.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DiffParams {
    /// `current` (the default), or another version's id.
    pub against: Option<String>,
}

fn named(headers: &HeaderMap, bytes: &[u8]) -> Result<String, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    let bad = |why: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_json", why);
    let v: VersionName = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("expected {{\"name\": \"…\"}}: {e}")))?;
    let name = v.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad("a version's name is 1 to 200 characters".into()));
    }
    Ok(name.to_owned())
}

/// A document the caller may read and that is not in the trash.
async fn live(shared: &Shared, caller: &Caller, id: &str) -> Result<DocId, ApiError> {
    untrashed(readable(shared, caller, id).await?)
}

/// A document the caller may change and that is not in the trash.
async fn writable(shared: &Shared, caller: &Caller, id: &str) -> Result<DocId, ApiError> {
    untrashed(changeable(shared, caller, id).await?)
}

/// The document's versions, newest first.
#[utoipa::path(get, path = "/api/v1/docs/{id}/versions", tag = "history",
    params(("id" = String, Path, description = "The document id")),
    responses((status = 200, body = VersionList), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn list(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<VersionList>, ApiError> {
    let doc = live(&shared, &caller, &id).await?;
    let all = versions::list(&shared, &doc).await?;
    Ok(Json(VersionList {
        versions: all.into_iter().map(Version::from).collect(),
    }))
}

/// Saves the document as it is now as a named version; answers it once it
/// is stored.
#[utoipa::path(post, path = "/api/v1/docs/{id}/versions", tag = "history",
    params(("id" = String, Path, description = "The document id")),
    request_body = VersionName,
    responses((status = 201, body = Version), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn save(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<(StatusCode, Json<Version>), ApiError> {
    let doc = writable(&shared, &caller, &id).await?;
    let name = named(&headers, &body(&shared, raw).await?)?;
    let v = versions::save(&shared, &doc, VersionKind::Named, Some(name), caller.sub()).await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

/// Names a version; a named automatic version is kept forever.
#[utoipa::path(patch, path = "/api/v1/docs/{id}/versions/{vid}", tag = "history",
    params(("id" = String, Path, description = "The document id"), ("vid" = String, Path, description = "The version id")),
    request_body = VersionName,
    responses((status = 200, body = Version), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rename(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((id, vid)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<Version>, ApiError> {
    let doc = writable(&shared, &caller, &id).await?;
    let name = named(&headers, &body(&shared, raw).await?)?;
    Ok(Json(
        versions::name(&shared, &doc, &vid, &name).await?.into(),
    ))
}

/// A version's content, in the same formats as the document's.
#[utoipa::path(get, path = "/api/v1/docs/{id}/versions/{vid}/content", tag = "history",
    params(("id" = String, Path, description = "The document id"), ("vid" = String, Path, description = "The version id"), ContentParams),
    responses((status = 200, description = "The version's content in the asked format"), (status = 404, body = ErrorBody)))]
pub async fn content(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((id, vid)): Path<(String, String)>,
    Query(p): Query<ContentParams>,
) -> Result<Response, ApiError> {
    let doc = live(&shared, &caller, &id).await?;
    let (_, state) = versions::get(&shared, &doc, &vid).await?;
    let version = history::load(&state).map_err(DocError::BadUpdate)?;
    let (mime, body) = render(&version, p.format.as_deref().unwrap_or("md"))?;
    Ok(([(header::CONTENT_TYPE, mime)], body).into_response())
}

/// What changed from this version to the current document (or to another
/// version): block by block, and word by word inside a changed block.
#[utoipa::path(get, path = "/api/v1/docs/{id}/versions/{vid}/diff", tag = "history",
    params(("id" = String, Path, description = "The document id"), ("vid" = String, Path, description = "The version id"), DiffParams),
    responses((status = 200, body = VersionDiff), (status = 404, body = ErrorBody)))]
pub async fn diff(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((id, vid)): Path<(String, String)>,
    Query(p): Query<DiffParams>,
) -> Result<Json<VersionDiff>, ApiError> {
    let doc = live(&shared, &caller, &id).await?;
    let (_, state) = versions::get(&shared, &doc, &vid).await?;
    let from = history::blocks(&history::load(&state).map_err(DocError::BadUpdate)?);
    let against = p.against.unwrap_or_else(|| "current".into());
    let to = if against == "current" {
        edits::read(&shared, &doc, history::blocks).await?
    } else {
        let (_, other) = versions::get(&shared, &doc, &against).await?;
        history::blocks(&history::load(&other).map_err(DocError::BadUpdate)?)
    };
    let blocks = history::diff(&from, &to)
        .into_iter()
        .map(|parts| {
            parts
                .into_iter()
                .map(|p| DiffPart {
                    op: p.op.to_owned(),
                    text: p.text,
                })
                .collect()
        })
        .collect();
    Ok(Json(VersionDiff {
        from: vid,
        against,
        blocks,
    }))
}

/// Restores a version as one forward edit: the current state is saved as
/// a `pre-restore` version first, live editors see the change at once,
/// edits made offline meanwhile merge on top, and the title and comments
/// stay as they are. Answers the version that records the restore.
#[utoipa::path(post, path = "/api/v1/docs/{id}/versions/{vid}/restore", tag = "history",
    params(("id" = String, Path, description = "The document id"), ("vid" = String, Path, description = "The version id")),
    responses((status = 200, body = Version), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn restore(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((id, vid)): Path<(String, String)>,
) -> Result<Json<Version>, ApiError> {
    let doc = writable(&shared, &caller, &id).await?;
    let v = versions::restore(&shared, &doc, &vid, caller.sub()).await?;
    Ok(Json(v.into()))
}
