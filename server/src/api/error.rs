//! Errors as the HTTP API answers them: a status and
//! `{"error": {"code": "...", "message": "..."}}`, the message written for
//! a person.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
use crate::documents::edits::DocError;

/// An API error: its status, a stable code, and a sentence.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable and machine-readable.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A code and a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, e.g. `not_found`, `forbidden`, `bad_update`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

impl From<DocError> for ApiError {
    fn from(e: DocError) -> Self {
        let (status, code) = match &e {
            DocError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            DocError::NoVersion => (StatusCode::NOT_FOUND, "no_such_version"),
            DocError::Trashed => (StatusCode::GONE, "in_trash"),
            DocError::BadUpdate(_) => (StatusCode::BAD_REQUEST, "bad_update"),
            DocError::NotSaved(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_saved"),
            DocError::Load(_) | DocError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let (status, code) = match &e {
            AuthError::Missing | AuthError::Invalid(_) => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            AuthError::WrongDoc | AuthError::NotAllowed => (StatusCode::FORBIDDEN, "forbidden"),
            AuthError::Key { .. } | AuthError::CannotSign => {
                (StatusCode::NOT_IMPLEMENTED, "cannot_sign")
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}
