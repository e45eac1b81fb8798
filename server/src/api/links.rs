//! Share links scoped to one document: tokens minted for exactly that
//! document, never broader or longer-lived than the caller's own, carrying
//! the document's link generation so "reset links" revokes them all.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weft_core::store::queue::Write;
use weft_core::store::{self};
use weft_core::time::unix_secs;

use super::access::Caller;
use super::docs::{body, changeable, readable};
use super::error::{ApiError, ErrorBody};
use crate::auth::{Claims, Level};
use crate::documents::edits::DocError;
use crate::state::Shared;
use weft_core::protocol::NodeNotice;

/// What kind of link to mint.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkRequest {
    /// `write`, `comment` or `read`.
    #[schema(value_type = String, example = "read")]
    pub access: Level,
    /// Seconds until it expires; null: as long as the caller's own token.
    pub expires_in: Option<u64>,
}

/// A minted link.
#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    /// The token for exactly this document (null without auth: links
    /// need none).
    pub token: Option<String>,
    /// The document's WebSocket URL with the token.
    pub url: String,
    /// `write`, `comment` or `read`.
    #[schema(value_type = String)]
    pub access: Level,
    /// Expiry, unix seconds (null without auth).
    pub exp: Option<u64>,
}

/// The document's URL as this request reached the server.
fn doc_url(shared: &Shared, headers: &HeaderMap, doc: &str, token: Option<&str>) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(&shared.config.listen);
    let scheme = if shared.config.tls_cert.is_some() {
        "wss"
    } else {
        "ws"
    };
    match token {
        Some(t) => format!("{scheme}://{host}/{doc}?token={t}"),
        None => format!("{scheme}://{host}/{doc}"),
    }
}

/// Mints a link for this document.
#[utoipa::path(post, path = "/api/v1/docs/{id}/links", tag = "links",
    params(("id" = String, Path, description = "The document id")),
    request_body = LinkRequest,
    responses((status = 200, body = Link), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<Link>, ApiError> {
    let (doc, meta) = readable(&shared, &caller, &id).await?;
    let bytes = body(&shared, raw).await?;
    let req: LinkRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_json", format!("expected {{\"access\": \"read\" | \"write\", \"expires_in\": seconds or null}}: {e}"))
    })?;
    Ok(Json(mint(
        &shared,
        &caller,
        &doc,
        meta.link_gen,
        &headers,
        req,
    )?))
}

/// A token for exactly `doc`, within the caller's own access and expiry.
pub fn mint(
    shared: &Shared,
    caller: &Caller,
    doc: &weft_core::doc_id::DocId,
    gen: u64,
    headers: &HeaderMap,
    req: LinkRequest,
) -> Result<Link, ApiError> {
    let (Some(auth), Some(own)) = (&shared.auth, &caller.claims) else {
        return Ok(Link {
            token: None,
            url: doc_url(shared, headers, doc.as_str(), None),
            access: req.access,
            exp: None,
        });
    };
    if req.access > own.access {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "a link cannot give more access than the token that makes it",
        ));
    }
    let exp = match req.expires_in {
        Some(secs) => own.exp.min(unix_secs().saturating_add(secs.max(1))),
        None => own.exp,
    };
    let claims = Claims {
        doc: doc.to_string(),
        access: req.access,
        exp,
        sub: link_sub(own, req.access),
        gen: Some(gen),
    };
    let token = auth.sign(&claims)?;
    Ok(Link {
        url: doc_url(shared, headers, doc.as_str(), Some(&token)),
        token: Some(token),
        access: req.access,
        exp: Some(exp),
    })
}

/// Who a link's holder is. A comment link gets a name of its own, so
/// whoever opens it owns the comments they write there and cannot change
/// those of the person who made the link.
fn link_sub(own: &Claims, access: Level) -> Option<String> {
    if access != Level::Comment {
        return own.sub.clone();
    }
    Some(crate::auth::link_subject())
}

/// Revokes every link to this document minted so far.
#[utoipa::path(post, path = "/api/v1/docs/{id}/links/reset", tag = "links",
    params(("id" = String, Path, description = "The document id")),
    responses((status = 204, description = "Every earlier link stopped working"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (doc, meta) = changeable(&shared, &caller, &id).await?;
    store::index(&*shared.store, Write::BumpLinks(doc.clone()))
        .await
        .map_err(DocError::from)?;
    shared
        .rooms
        .announce(&doc, NodeNotice::LinksReset(meta.link_gen + 1));
    Ok(StatusCode::NO_CONTENT)
}
