//! weft-server: Weft's self-hosted sync server.
//!
//! Clients speak y-protocols (sync and awareness) over binary WebSocket
//! messages at `ws://HOST:PORT/<doc-id>`, exactly like the y-websocket
//! reference server, so any Yjs client can use it. Unlike the reference,
//! every update is durable in SQLite before it is acked, a frame's every
//! message is handled, and bad input costs only its sender.
//!
//! # Layout
//! One folder per concern:
//! - [`net`]: the listener ([`net::server`]: `run`/`serve`, connection cap,
//!   graceful shutdown), [`net::http`] (health, metrics, the checks before
//!   the WebSocket upgrade; `/api/` goes to [`api`]), [`net::tls`],
//!   [`net::proxy`] (the client's address behind a trusted proxy),
//!   [`net::limits`] (rate limits per connection and per IP),
//!   [`net::upgraded`] (the socket taken back from hyper after the upgrade)
//!   and [`net::web`] (the web editor, compiled in: `/`, `/d/<doc>`, assets).
//! - [`api`]: the HTTP API under `/api/v1` (axum, OpenAPI by utoipa).
//! - [`ws`]: one WebSocket connection: [`ws::connection`] (the socket loop,
//!   a thin adapter), [`ws::control`] (what it shares with the rooms) and
//!   [`ws::outbox`] (its bounded send queue).
//! - [`documents`]: [`documents::rooms`] (loading, sharing, persisting and
//!   unloading documents), [`documents::durability`] (which writes are
//!   durable, so which updates are acked), [`documents::edits`] (what the API
//!   does to a document, on the WebSocket's paths), [`documents::trash`],
//!   [`documents::autoversion`] (when a room makes automatic versions),
//!   [`documents::versions`] (version history: save, restore, thinning), [`documents::memory`] (returning freed memory
//!   after unloads) and
//!   [`documents::peers`] (what rooms need from other nodes, as a trait).
//! - [`store`]: `weft-core`'s `Store` trait with memory and SQLite, and
//!   [`store::postgres`] for several nodes on one database.
//! - [`cluster`]: the [`documents::peers::Peers`] of cluster mode: cross-node
//!   fan-out and presence over Redis Streams.
//! - [`ops`]: [`ops::admin`] (`backup`, `restore`, `export`) and
//!   [`ops::metrics`] (Prometheus).
//! - [`config`] (clap options, each with an env twin), [`auth`] (JWT),
//!   [`state`] (what every connection shares) and [`error`].
//!
//! The protocol itself lives in `weft-core`, which does no IO.

pub mod api;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod documents;
pub mod error;
pub mod net;
pub mod ops;
pub mod state;
pub mod store;
pub mod ws;

pub use config::Config;
pub use error::ServerError;
pub use net::server::{mint_token, run, serve};

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
            let info = ops::admin::backup(&config.data_dir, file)?;
            eprintln!(
                "wrote {} ({} documents, {:.1} MB)",
                file.display(),
                info.docs,
                info.bytes as f64 / 1e6
            );
            Ok(())
        }
        Some(Command::Restore { file }) => {
            let kept = ops::admin::restore(&config.data_dir, file)?;
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
                Some(url) => ops::admin::export_postgres(url, dir, progress).await?,
                None => ops::admin::export(&config.data_dir, dir, progress)?,
            };
            eprintln!("exported {total} documents to {}", dir.display());
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: a SIGTERM between the
/// "listening" line and the serve loop's first turn used to kill the
/// server outright (found by weft-torture). Needs a tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {}
                _ = wait(int) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
