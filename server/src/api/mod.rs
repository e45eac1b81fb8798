//! The HTTP API under `/api/v1`: axum routes over the same state as the
//! WebSocket side, with the same tokens and limits. Its OpenAPI description
//! is generated from the handlers (utoipa) and served at
//! `/api/v1/openapi.json`.
//!
//! # Layout
//! - [`docs`]: listing, metadata, content, updates, title, trash.
//! - [`links`]: share links scoped to one document, and resetting them.
//! - [`comments`]: comment threads, read as JSON.
//! - [`versions`]: version history: list, save, read, compare, name, restore.
//! - [`blobs`]: images and files: upload, read.
//! - [`access`]: the caller, from its token, and what it may do.
//! - [`error`]: `{"error": {"code", "message"}}` answers.

pub mod access;
pub mod blobs;
pub mod comments;
pub mod docs;
pub mod error;
pub mod links;
pub mod versions;

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower::ServiceExt;
use utoipa::OpenApi;

use crate::net::limits::{ConnLimits, RequestBudget};
use crate::state::Shared;
use axum::response::IntoResponse;
use error::ApiError;

/// The API's description, generated from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Weft server API",
        description = "Documents on a Weft server: list, read, write, trash, share, their version history, comment threads, images and files. Authenticate with `Authorization: Bearer <token>` or `?token=`, the same tokens as the WebSocket."
    ),
    paths(
        docs::list,
        docs::get,
        docs::content,
        docs::post_update,
        docs::put_content,
        docs::patch,
        docs::delete,
        docs::restore,
        comments::list,
        links::create,
        links::reset,
        versions::list,
        versions::save,
        versions::rename,
        versions::content,
        versions::diff,
        versions::restore,
        blobs::upload,
        blobs::read
    ),
    components(schemas(
        docs::DocSummary,
        docs::DocDetail,
        docs::DocList,
        docs::TitlePatch,
        comments::ThreadList,
        links::LinkRequest,
        links::Link,
        versions::Version,
        versions::VersionList,
        versions::VersionName,
        versions::VersionDiff,
        versions::DiffPart,
        blobs::Blob,
        error::ErrorBody,
        error::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The routes, built once; the state is added per request.
static ROUTES: LazyLock<Router<Arc<Shared>>> = LazyLock::new(|| {
    Router::new()
        .route("/api/v1/docs", get(docs::list))
        .route(
            "/api/v1/docs/{id}",
            get(docs::get).patch(docs::patch).delete(docs::delete),
        )
        .route(
            "/api/v1/docs/{id}/content",
            get(docs::content).put(docs::put_content),
        )
        .route("/api/v1/docs/{id}/updates", post(docs::post_update))
        .route("/api/v1/docs/{id}/restore", post(docs::restore))
        .route("/api/v1/docs/{id}/comments", get(comments::list))
        .route("/api/v1/docs/{id}/links", post(links::create))
        .route("/api/v1/docs/{id}/links/reset", post(links::reset))
        .route(
            "/api/v1/docs/{id}/versions",
            get(versions::list).post(versions::save),
        )
        .route(
            "/api/v1/docs/{id}/versions/{vid}",
            axum::routing::patch(versions::rename),
        )
        .route(
            "/api/v1/docs/{id}/versions/{vid}/content",
            get(versions::content),
        )
        .route("/api/v1/docs/{id}/versions/{vid}/diff", get(versions::diff))
        .route(
            "/api/v1/docs/{id}/versions/{vid}/restore",
            post(versions::restore),
        )
        .route("/api/v1/docs/{id}/blobs", post(blobs::upload))
        .route("/api/v1/docs/{id}/blobs/{hash}", get(blobs::read))
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(ApiDoc::openapi()) }),
        )
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_such_endpoint",
                "no such API endpoint; see /api/v1/openapi.json",
            )
        })
});

/// Serves one API request from `remote` (behind a trusted proxy, the real
/// client), within the rate limits of the HTTP connection it came on.
pub async fn serve<B>(
    shared: Arc<Shared>,
    req: Request<B>,
    remote: SocketAddr,
    budget: &RequestBudget,
) -> Response<Body>
where
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    // An upload is bounded by --max-blob-size and the quota instead: a
    // 10 MiB image must not need 10 MiB of the per-second byte budget.
    let len = match is_upload(&req) {
        true => 0,
        false => req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0),
    };
    let c = &shared.config;
    let limits = |now| ConnLimits::new(c.rate_messages, c.rate_bytes, c.max_message_size, now);
    if !budget.allow(&shared.connects, remote.ip(), limits, len) {
        shared.metrics.reject("rate");
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this address; wait a moment and retry",
        )
        .into_response();
    }
    let req = req.map(Body::new);
    let routes = ROUTES.clone().with_state(shared);
    match routes.oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// `POST /api/v1/docs/{id}/blobs`.
fn is_upload<B>(req: &Request<B>) -> bool {
    req.method() == axum::http::Method::POST
        && req.uri().path().starts_with("/api/v1/docs/")
        && req.uri().path().ends_with("/blobs")
}
