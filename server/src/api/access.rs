//! Who is calling the API, from the same tokens the WebSocket takes
//! (`Authorization: Bearer` or `?token=`), and what they may see and do.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use weft_core::doc_id::DocId;
use weft_core::store::{DocMeta, Scope};

use super::error::ApiError;
use crate::auth::{doc_matches, AuthError, Claims, Level};
use crate::state::Shared;

/// The caller: its verified claims, or none when the server has no auth
/// (then everything is allowed, as on the WebSocket).
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None` without auth.
    pub claims: Option<Claims>,
}

impl Caller {
    /// The documents this caller may list.
    pub fn scope(&self) -> Scope {
        let Some(c) = &self.claims else {
            return Scope::All;
        };
        match c.doc.strip_suffix('*') {
            Some("") => Scope::All,
            Some(prefix) => Scope::Prefix(prefix.to_owned()),
            None => match DocId::new(&c.doc) {
                Ok(d) => Scope::Exact(d),
                // A token for an id no document can have sees nothing.
                Err(_) => Scope::Prefix(format!("{}\u{0}", c.doc)),
            },
        }
    }

    /// The token's `sub`, named as an author in version history.
    pub fn sub(&self) -> Option<&str> {
        self.claims.as_ref()?.sub.as_deref()
    }

    /// Fails unless the caller may read `doc`.
    pub fn may_read(&self, doc: &DocId) -> Result<(), ApiError> {
        match &self.claims {
            Some(c) if !doc_matches(&c.doc, doc.as_str()) => Err(AuthError::WrongDoc.into()),
            _ => Ok(()),
        }
    }

    /// Fails unless the caller may change `doc`.
    pub fn may_write(&self, doc: &DocId) -> Result<(), ApiError> {
        self.may_read(doc)?;
        match &self.claims {
            Some(c) if c.access == Level::Comment => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "comment_only",
                "this token can comment on the document but not change it",
            )),
            Some(c) if c.access != Level::Write => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "read_only",
                "this token can read the document but not change it",
            )),
            _ => Ok(()),
        }
    }

    /// Fails if the caller came by a link that has since been reset.
    pub fn link_current(&self, meta: Option<&DocMeta>) -> Result<(), ApiError> {
        let gen = self.claims.as_ref().and_then(|c| c.gen);
        match gen {
            Some(g) if g != meta.map_or(0, |m| m.link_gen) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "link_reset",
                "this link was reset by the document's owner; ask for a new one",
            )),
            _ => Ok(()),
        }
    }
}

/// The token from `?token=` or `Authorization: Bearer`.
pub fn token_of(parts: &Parts) -> Option<String> {
    let from_query = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    from_query.or_else(|| {
        let h = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        h.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
    })
}

impl FromRequestParts<Arc<Shared>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let Some(auth) = &shared.auth else {
            return Ok(Caller { claims: None });
        };
        let token = token_of(parts).ok_or(AuthError::Missing)?;
        Ok(Caller {
            claims: Some(auth.verify(&token)?),
        })
    }
}
