//! The client engine: keeps a yrs doc and its awareness in sync with a Weft
//! (or any y-websocket) server, with a local SQLite copy so documents open
//! offline and edits survive a crash.
//!
//! One [`Session`] per open document. Local edits are observed on the doc,
//! written to the local store (and counted "saved locally" once durable),
//! and sent to the server; the server's acks count them "saved". The
//! connection reconnects by itself with capped, fully jittered backoff.

mod library;
mod session;
pub mod share;
mod url;

pub use library::{DocInfo, Library};
pub use session::{Counts, Event, Session, SessionOptions, Status};
pub use share::{is_view_only, peek, share_links, ShareLinks, TokenClaims};
pub use url::DocUrl;

use crate::store::StoreError;
use crate::ProtocolError;

/// What went wrong in the engine.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The document URL cannot be used.
    #[error("bad document URL: {0}")]
    BadUrl(String),
    /// The server could not be reached (refused, DNS, timeout, TLS…).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server refused the connection (bad doc id, token, origin…).
    #[error("the server refused the connection: HTTP {status}{}", if .message.is_empty() { String::new() } else { format!(" ({})", .message) })]
    Rejected {
        /// The HTTP status of the refused upgrade.
        status: u16,
        /// The response body, trimmed.
        message: String,
    },
    /// The server refused a change (read-only access).
    #[error("the server refused a change: {0}")]
    Denied(String),
    /// The server sent something that is not y-protocols.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The local store failed.
    #[error("local store: {0}")]
    Store(#[from] StoreError),
    /// The local library database failed.
    #[error("local library: {0}")]
    Library(String),
    /// Waiting took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The server has not confirmed that local edits are durable.
    #[error("not saved: {0}")]
    NotSaved(String),
    /// The session was closed.
    #[error("the session is closed")]
    Closed,
}

impl From<ProtocolError> for EngineError {
    fn from(e: ProtocolError) -> Self {
        EngineError::Protocol(e.to_string())
    }
}

impl EngineError {
    /// A stable machine-readable code, used for `{code, message}` over IPC.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::BadUrl(_) => "bad_url",
            EngineError::Unreachable(_) => "unreachable",
            EngineError::Rejected { status: 401, .. } => "unauthorized",
            EngineError::Rejected { status: 403, .. } => "forbidden",
            EngineError::Rejected { .. } => "rejected",
            EngineError::Denied(_) => "denied",
            EngineError::Protocol(_) => "protocol",
            EngineError::Store(_) => "store",
            EngineError::Library(_) => "library",
            EngineError::Timeout(_) => "timeout",
            EngineError::NotSaved(_) => "not_saved",
            EngineError::Closed => "closed",
        }
    }
}
