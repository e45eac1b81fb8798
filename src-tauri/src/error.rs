//! Errors as they cross IPC: `{ "code": "...", "message": "..." }`.

use serde::Serialize;
use weft_core::engine::EngineError;

/// Why a desktop command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// From the engine (URL, network, server, local store).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No open or known document with that key.
    #[error("no such document: {0}")]
    NoSuchDoc(String),
    /// A request was missing something (header, body).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Reading or writing settings or files.
    #[error("{0}")]
    Io(String),
}

/// The JSON shape every failed command returns.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct IpcError {
    /// Stable, machine-readable.
    pub code: String,
    /// For people.
    pub message: String,
}

impl From<&AppError> for IpcError {
    fn from(e: &AppError) -> Self {
        let code = match e {
            AppError::Engine(e) => e.code(),
            AppError::NoSuchDoc(_) => "no_such_doc",
            AppError::BadRequest(_) => "bad_request",
            AppError::Io(_) => "io",
        };
        IpcError {
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<&EngineError> for IpcError {
    fn from(e: &EngineError) -> Self {
        IpcError {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        IpcError::from(self).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialise_as_code_and_message() {
        let e = AppError::NoSuchDoc("abc".into());
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "no_such_doc", "message": "no such document: abc"})
        );
        let e = AppError::Engine(EngineError::Rejected {
            status: 401,
            message: "bad token".into(),
        });
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "unauthorized", "message": "the server refused the connection: HTTP 401 (bad token)"})
        );
        let e = AppError::Engine(EngineError::BadUrl("x".into()));
        assert_eq!(serde_json::to_value(&e).unwrap()["code"], "bad_url");
    }
}
