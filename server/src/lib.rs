//! weft-server: Weft's self-hosted sync server.
//!
//! Clients speak y-protocols (sync and awareness) over binary WebSocket
//! messages at `ws://HOST:PORT/<doc-id>`, exactly like the y-websocket
//! reference server, so any Yjs client can use it. Unlike the reference,
//! every update is durable in SQLite before it is acked, a frame's every
//! message is handled, and bad input costs only its sender.
//!
//! # Layout
//! - [`config`]: clap options, each with an env twin.
//! - [`admin`]: `backup`, `restore` and `export`.
//! - [`auth`]: JWT verification and minting.
//! - [`server`]: `run`/`serve`: the listener, connection cap, graceful shutdown.
//! - [`state`]: what every connection shares (config, store, rooms, limits).
//! - [`http`]: health, metrics and the checks before the WebSocket upgrade;
//!   `/api/` requests go to [`api`].
//! - [`api`]: the HTTP API under `/api/v1` (axum, OpenAPI by utoipa).
//! - [`documents`]: what the API does to a document, on the WebSocket's paths.
//! - [`trash`]: deleting documents for good after `--trash-retention`.
//! - [`connection`]: the socket loop of one connection (thin adapter).
//! - [`control`]: what a connection shares with the rooms (closing, acks).
//! - [`outbox`]: a connection's bounded send queue.
//! - [`tls`]: optional native TLS, reloaded when the files change.
//! - [`limits`]: rate limits per connection and per IP.
//! - [`proxy`]: the client's address behind a trusted reverse proxy.
//! - [`rooms`]: loading, sharing, persisting and unloading documents.
//! - [`durability`]: which writes are durable, so which updates are acked;
//!   no acks after a failed write until a snapshot repairs it.
//! - [`memory`]: returning freed memory to the OS after unloads.
//! - `store`: re-exported from `weft-core`: the `Store` trait, with memory
//!   and SQLite implementations.
//! - [`postgres`]: the PostgreSQL store, for several nodes on one database.
//! - [`peers`]: what rooms need from other nodes, as a trait (nothing is
//!   plugged in on one node).
//! - [`cluster`]: the [`peers::Peers`] of cluster mode: cross-node fan-out
//!   and presence over Redis Streams.
//! - [`metrics`]: Prometheus metrics.
//! - [`error`]: the error type.
//!
//! The protocol itself lives in `weft-core`, which does no IO.

pub mod admin;
pub mod api;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod control;
pub mod documents;
pub mod durability;
pub mod error;
pub mod http;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod outbox;
pub mod peers;
pub mod postgres;
pub mod proxy;
pub mod rooms;
pub mod server;
pub mod state;
pub mod tls;
pub mod trash;
/// The document store, shared with the client engine.
pub use weft_core::store;

pub use config::Config;
pub use error::ServerError;
pub use server::{mint_token, run, serve};

/// Does what the command line asks: a subcommand, or serving until
/// `shutdown` resolves. What the binary calls.
pub async fn execute(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    use config::Command;
    match &config.command {
        None => run(config, shutdown).await,
        Some(Command::Token {
            doc,
            access,
            ttl,
            sub,
        }) => {
            println!("{}", mint_token(&config, doc, *access, *ttl, sub.clone())?);
            Ok(())
        }
        Some(Command::Backup { .. }) if config.store.is_some() => {
            Err(ServerError::SqliteOnly("backup"))
        }
        Some(Command::Restore { .. }) if config.store.is_some() => {
            Err(ServerError::SqliteOnly("restore"))
        }
        Some(Command::Backup { file }) => {
            eprintln!(
                "backing up {} …",
                store::db_path(&config.data_dir).display()
            );
            let info = admin::backup(&config.data_dir, file)?;
            eprintln!(
                "wrote {} ({} documents, {:.1} MB)",
                file.display(),
                info.docs,
                info.bytes as f64 / 1e6
            );
            Ok(())
        }
        Some(Command::Restore { file }) => {
            let kept = admin::restore(&config.data_dir, file)?;
            eprintln!(
                "restored {} into {}",
                file.display(),
                config.data_dir.display()
            );
            if let Some(kept) = kept {
                eprintln!("the previous database is kept as {}", kept.display());
            }
            Ok(())
        }
        Some(Command::Export { dir }) => {
            let progress = |n| {
                if n % 500 == 0 {
                    eprintln!("exported {n} documents …");
                }
            };
            let total = match &config.store {
                Some(url) => admin::export_postgres(url, dir, progress).await?,
                None => admin::export(&config.data_dir, dir, progress)?,
            };
            eprintln!("exported {total} documents to {}", dir.display());
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
