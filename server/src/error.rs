//! The server's error type.

use crate::store::StoreError;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Keys could not be loaded, or a token could not be made.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// Serving a public address without auth, and without --allow-anonymous.
    #[error("refusing to serve {0} without auth: anyone who can reach it could read and write every document. Configure --auth-secret-file or --auth-public-key-file, or pass --allow-anonymous")]
    Anonymous(String),
    /// The TLS certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] crate::net::tls::TlsError),
    /// Redis could not be reached for cluster mode.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// A subcommand that only works on the embedded SQLite store.
    #[error("{0} works on the embedded SQLite store; with PostgreSQL use pg_dump / pg_restore")]
    SqliteOnly(&'static str),
    /// The store could not be opened or flushed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// At shutdown, some documents' latest changes could not be saved.
    #[error("the latest changes of {} could not be saved ({reason}); clients that made them still hold them and send them again on their next connection", names(.docs))]
    Unsaved {
        /// The documents.
        docs: Vec<String>,
        /// Why, for the first of them.
        reason: String,
    },
}

/// "3 documents: a, b, c", with at most ten names.
fn names(docs: &[String]) -> String {
    let shown: Vec<&str> = docs.iter().take(10).map(String::as_str).collect();
    let more = docs.len().saturating_sub(shown.len());
    let noun = if docs.len() == 1 {
        "document"
    } else {
        "documents"
    };
    let mut out = format!("{} {noun}: {}", docs.len(), shown.join(", "));
    if more > 0 {
        out += &format!(" and {more} more");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsaved_names_the_documents_on_one_line() {
        let e = ServerError::Unsaved {
            docs: vec!["fill".into()],
            reason: "sqlite: database or disk is full".into(),
        };
        assert_eq!(e.to_string(), "the latest changes of 1 document: fill could not be saved (sqlite: database or disk is full); clients that made them still hold them and send them again on their next connection");
        let many = ServerError::Unsaved {
            docs: (0..12).map(|i| format!("d{i}")).collect(),
            reason: "x".into(),
        };
        assert!(many
            .to_string()
            .contains("12 documents: d0, d1, d2, d3, d4, d5, d6, d7, d8, d9 and 2 more"));
        assert!(!many.to_string().contains('\n'));
    }
}
