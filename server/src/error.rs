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
    Tls(#[from] crate::tls::TlsError),
    /// Redis could not be reached for cluster mode.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// A subcommand that only works on the embedded SQLite store.
    #[error("{0} works on the embedded SQLite store; with PostgreSQL use pg_dump / pg_restore")]
    SqliteOnly(&'static str),
    /// The store could not be opened or flushed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
