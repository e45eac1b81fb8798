//! Comment threads, read over HTTP. They are written through the document
//! itself over a WebSocket, where comment access is checked (`POST
//! …/updates` takes write access only).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use weft_core::comments::{self, Thread};

use super::access::Caller;
use super::docs::{readable, untrashed};
use super::error::{ApiError, ErrorBody};
use crate::documents::edits;
use crate::state::Shared;

/// Every thread of a document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadList {
    /// In document order; detached threads (their text was deleted) last.
    /// Each: `id`, `owner`, `quote`, `anchored` (the text now), `at` (its
    /// offset in the plain text), `author`, `color`, `created` (unix ms),
    /// `resolved`, `detached`, and `messages` (`id`, `owner`, `author`,
    /// `color`, `text`, `created`, `edited`).
    #[schema(value_type = Vec<Object>)]
    pub threads: Vec<Thread>,
}

/// The document's comment threads.
#[utoipa::path(get, path = "/api/v1/docs/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "The document id")),
    responses((status = 200, body = ThreadList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ThreadList>, ApiError> {
    let doc = untrashed(readable(&shared, &caller, &id).await?)?;
    let threads = edits::read(&shared, &doc, comments::threads).await?;
    Ok(Json(ThreadList { threads }))
}
