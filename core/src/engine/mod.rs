//! The client engine: keeps a yrs doc and its awareness in sync with a Weft
//! (or any y-websocket) server, with a local SQLite copy so documents open
//! offline and edits survive a crash.
//!
//! One [`Session`] per open document. Local edits are observed on the doc,
//! written to the local store (and counted "saved locally" once durable),
//! and sent to the server; the server's acks count them "saved". The
//! connection reconnects by itself with capped, fully jittered backoff.
//!
//! # Layout
//! - `session`: [`Session`], one open document and what the app asks of it;
//! - `link`: its network link: reconnecting, and one connection's loop;
//! - `dial`: reaching a server: TCP, TLS, and the WebSocket upgrade with
//!   permessage-deflate offered;
//! - `shared`: what the two share: status, counts, events;
//! - `library`: [`Library`], the local list of documents;
//! - [`share`]: share links and token claims;
//! - [`api`]: a client of the server's document API; [`http`] sends it.
//! - [`history`]: a client of its version history.
//! - [`blobs`]: a client of its images and files; [`kept_blobs`]: the
//!   ones kept on this computer (waiting to upload, or seen).
//! - `url`: [`DocUrl`], a document's address.

pub mod api;
pub mod blobs;
mod dial;
pub mod history;
pub mod http;
pub mod kept_blobs;
mod library;
mod link;
mod session;
pub mod share;
mod shared;
mod url;

pub use library::{DocInfo, Library};
pub use session::{Session, SessionOptions};
pub use share::{is_comment_only, is_view_only, peek, share_links, ShareLinks, TokenClaims};
pub use shared::{Counts, Event, Status};
pub use url::DocUrl;

use std::sync::Arc;

use crate::store::StoreError;
use crate::ProtocolError;

/// An error from a library underneath (the socket, TLS, HTTP, the OS),
/// kept as the source; shared so [`EngineError`] stays `Clone` for events.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// What went wrong in the engine.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The document URL cannot be used.
    #[error("bad document URL: {0}")]
    BadUrl(String),
    /// The server could not be reached (refused, DNS, timeout, TLS…).
    #[error("cannot reach the server: {0}")]
    Unreachable(#[source] Cause),
    /// The server refused the connection (bad doc id, token, origin…).
    #[error("the server refused the connection: HTTP {status}{}", if .message.is_empty() { String::new() } else { format!(" ({})", .message) })]
    Rejected {
        /// The HTTP status of the refused upgrade.
        status: u16,
        /// The response body, trimmed.
        message: String,
    },
    /// The server's API answered a request with an error; the message is
    /// the server's own sentence.
    #[error("{}", if .message.is_empty() { format!("the server answered HTTP {status}") } else { format!("{message} (HTTP {status})") })]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's `{"error": {"message"}}`, or the body's text.
        message: String,
    },
    /// The server refused a change (read-only or comment access).
    #[error("the server refused the change: {0}")]
    Denied(String),
    /// The server sent something that is not y-protocols, or an update
    /// from this device did not decode.
    #[error("protocol error: {0}")]
    Protocol(#[source] Arc<ProtocolError>),
    /// The server answered an HTTP request with something unreadable.
    #[error("the server's answer to {what} is unreadable: {source}")]
    BadAnswer {
        /// Which request.
        what: &'static str,
        /// Why it does not parse.
        #[source]
        source: Cause,
    },
    /// The local store failed.
    #[error("local store: {0}")]
    Store(#[from] StoreError),
    /// The local library database failed.
    #[error("local library: {0}")]
    Library(#[source] Arc<rusqlite::Error>),
    /// The library's directory could not be created.
    #[error("local library: {path}: {source}")]
    LibraryDir {
        /// The directory.
        path: String,
        /// What the OS said.
        #[source]
        source: Arc<std::io::Error>,
    },
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
        EngineError::Protocol(Arc::new(e))
    }
}

impl From<rusqlite::Error> for EngineError {
    fn from(e: rusqlite::Error) -> Self {
        EngineError::Library(Arc::new(e))
    }
}

impl EngineError {
    /// [`EngineError::Unreachable`] with `source` as the cause.
    pub fn unreachable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        EngineError::Unreachable(Arc::from(source.into()))
    }

    /// True if asking again later may work: the server could not be
    /// reached, took too long, was busy, or could not store for now.
    pub fn is_temporary(&self) -> bool {
        match self {
            EngineError::Unreachable(_) | EngineError::Timeout(_) => true,
            EngineError::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// A stable machine-readable code, used for `{code, message}` over IPC.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::BadUrl(_) => "bad_url",
            EngineError::Unreachable(_) => "unreachable",
            EngineError::Rejected { status: 401, .. } => "unauthorized",
            EngineError::Rejected { status: 403, .. } => "forbidden",
            EngineError::Rejected { .. } => "rejected",
            EngineError::Refused { status: 401, .. } => "unauthorized",
            EngineError::Refused { status: 403, .. } => "forbidden",
            EngineError::Refused { status: 404, .. } => "not_found",
            EngineError::Refused { status: 429, .. } => "rate_limited",
            EngineError::Refused { .. } => "refused",
            EngineError::Denied(_) => "denied",
            EngineError::Protocol(_) | EngineError::BadAnswer { .. } => "protocol",
            EngineError::Store(_) => "store",
            EngineError::Library(_) | EngineError::LibraryDir { .. } => "library",
            EngineError::Timeout(_) => "timeout",
            EngineError::NotSaved(_) => "not_saved",
            EngineError::Closed => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn causes_stay_reachable_as_sources() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = EngineError::unreachable(io);
        assert_eq!(e.to_string(), "cannot reach the server: refused");
        assert_eq!(e.source().unwrap().to_string(), "refused");
        let p: EngineError = ProtocolError::Panicked.into();
        assert_eq!(
            p.source().unwrap().to_string(),
            ProtocolError::Panicked.to_string()
        );
        assert_eq!(p.code(), "protocol");
    }
}
