//! The listener: accepts TCP connections, serves HTTP on each, caps
//! WebSocket connections with a semaphore, and shuts down gracefully.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{Auth, Level};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::documents::autoversion::Policy;
use crate::documents::peers::Peers;
use crate::documents::rooms::{Rooms, RoomsConfig};
use crate::error::ServerError;
use crate::net::http;
use crate::net::limits::RequestBudget;
use crate::net::limits::{ConnectLimiter, CreateLimiter, HOUR, MINUTE};
use crate::ops::metrics::Metrics;
use crate::state::Shared;
use crate::store::postgres::{redact, PgStore};
use crate::store::{self, MemoryStore, SqliteStore, Store};
use weft_core::store::Retention;

/// The configured auth, if any.
pub fn auth_from(config: &Config) -> Result<Option<Auth>, ServerError> {
    Ok(
        match (&config.auth_secret_file, &config.auth_public_key_file) {
            (Some(secret), _) => Some(Auth::hs256(secret)?),
            (None, Some(public)) => Some(Auth::eddsa(
                public,
                config.auth_private_key_file.as_deref(),
            )?),
            (None, None) => None,
        },
    )
}

fn tls_from(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, ServerError> {
    Ok(match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::net::tls::acceptor(cert, key)?),
        _ => None,
    })
}

/// The link to other nodes, if `--redis` is set.
async fn cluster_from(
    config: &Config,
    metrics: &Arc<Metrics>,
) -> Result<Option<Arc<Cluster>>, ServerError> {
    Ok(match &config.redis {
        Some(url) => Some(Cluster::connect(url, metrics.clone()).await?),
        None => None,
    })
}

/// Signs a token with the configured key (the `token` subcommand).
pub fn mint_token(
    config: &Config,
    doc: &str,
    access: Level,
    ttl: Duration,
    sub: Option<String>,
) -> Result<String, ServerError> {
    let auth = auth_from(config)?.ok_or(crate::auth::AuthError::CannotSign)?;
    Ok(auth.mint(doc, access, ttl, sub)?)
}

/// Opens the store the config names, binds the listen address, prints the
/// URL, and serves until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    // One server per data directory; `restore` waits for it to stop.
    let _lock = if config.in_memory || config.store.is_some() {
        None
    } else {
        Some(store::DirLock::acquire(&config.data_dir)?)
    };
    let store: Arc<dyn Store> = if config.in_memory {
        Arc::new(MemoryStore::default())
    } else if let Some(url) = &config.store {
        Arc::new(PgStore::open(url).await?)
    } else {
        Arc::new(SqliteStore::open(&config.data_dir)?)
    };
    let metrics = Arc::new(Metrics::default());
    let cluster = cluster_from(&config, &metrics).await?;
    // Fail on a bad certificate before saying we listen.
    tls_from(&config)?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen.clone(),
        source,
    })?;
    if auth_from(&config)?.is_none() && !addr.ip().is_loopback() {
        if !config.allow_anonymous {
            return Err(ServerError::Anonymous(addr.to_string()));
        }
        eprintln!("WARNING: serving {addr} without auth (--allow-anonymous): anyone who can reach it can read and write every document");
    }
    let storage = if config.in_memory {
        "memory (not durable)".to_owned()
    } else if let Some(url) = &config.store {
        let mut s = redact(url);
        if let (Some(redis), Some(c)) = (&config.redis, &cluster) {
            s += &format!(", cluster via {} as node {}", redact(redis), c.node());
        }
        s
    } else {
        store::db_path(&config.data_dir).display().to_string()
    };
    // The one line users and scripts look for; printed, not logged, so it
    // shows whatever RUST_LOG says.
    let scheme = if config.tls_cert.is_some() {
        "wss"
    } else {
        "ws"
    };
    println!("weft-server listening on {scheme}://{addr}  (store: {storage})");
    serve_with(listener, store, cluster, metrics, config, shutdown).await
}

/// Serves on `listener` with `store` until `shutdown` resolves: then stops
/// accepting, closes connections with 1001, and flushes the store.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let metrics = Arc::new(Metrics::default());
    let cluster = cluster_from(&config, &metrics).await?;
    serve_with(listener, store, cluster, metrics, config, shutdown).await
}

async fn serve_with(
    listener: TcpListener,
    store: Arc<dyn Store>,
    cluster: Option<Arc<Cluster>>,
    metrics: Arc<Metrics>,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let tls = tls_from(&config)?;
    let shared = shared_state(store, cluster, metrics, config)?;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    let _ = tcp.set_nodelay(true);
                    let shared2 = shared.clone();
                    match &tls {
                        None => { shared.tracker.spawn(serve_http(shared2, tcp, remote)); }
                        Some(tls) => { shared.tracker.spawn(serve_tls(shared2, tls.clone(), tcp, remote)); }
                    }
                }
                Err(e) => {
                    // Usually out of file descriptors: back off, don't spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    shut_down(&shared).await
}

/// The rooms over `store`, joined to the other nodes in cluster mode, and
/// everything connections share.
fn shared_state(
    store: Arc<dyn Store>,
    cluster: Option<Arc<Cluster>>,
    metrics: Arc<Metrics>,
    config: Config,
) -> Result<Arc<Shared>, ServerError> {
    let rooms = Rooms::new(
        store.clone(),
        metrics.clone(),
        RoomsConfig {
            unload_after: config.unload_after,
            rest_after: config.rest_after,
            compact_after: config.compact_after,
            versions: Policy {
                interval: config.version_interval,
                clock: config.clock.clone(),
            },
        },
        cluster.clone().map(|c| Arc::new(c) as Arc<dyn Peers>),
    );
    if let Some(cluster) = &cluster {
        cluster.start(rooms.clone());
    }
    let shared = Arc::new(Shared {
        auth: auth_from(&config)?,
        conn_limit: Arc::new(Semaphore::new(config.max_connections)),
        connects: ConnectLimiter::new(config.rate_connects, MINUTE),
        creations: CreateLimiter::new(config.max_new_docs, HOUR),
        config,
        store,
        rooms,
        metrics,
        shutdown: CancellationToken::new(),
        tracker: TaskTracker::new(),
        cluster,
    });
    tokio::spawn(crate::documents::trash::purger(
        Arc::downgrade(&shared),
        shared.config.trash_retention,
    ));
    let c = &shared.config;
    let retention = Retention {
        all: c.keep_all_versions,
        hourly: c.keep_hourly_versions,
        daily: c.keep_daily_versions,
    };
    tokio::spawn(crate::documents::versions::thinner(
        Arc::downgrade(&shared),
        retention,
        c.clock.clone(),
    ));
    tokio::spawn(crate::documents::blobs::collector(
        Arc::downgrade(&shared),
        c.blob_grace,
        c.clock.clone(),
    ));
    Ok(shared)
}

/// Closes every connection with 1001, writes what the documents hold and
/// flushes the store: an error if any document's changes could not be saved.
async fn shut_down(shared: &Shared) -> Result<(), ServerError> {
    tracing::info!("shutting down: closing connections");
    shared.shutdown.cancel();
    shared.tracker.close();
    if tokio::time::timeout(shared.config.shutdown_timeout, shared.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
    let unsaved = shared
        .rooms
        .persist_all(shared.config.shutdown_timeout)
        .await;
    let flushed = store::flush(&*shared.store).await;
    if let Some(cluster) = &shared.cluster {
        // Clients' presence removals and the last updates reach the others.
        cluster.close(Duration::from_secs(5)).await;
    }
    if let Some((_, reason)) = unsaved.first() {
        return Err(ServerError::Unsaved {
            docs: unsaved.iter().map(|(d, _)| d.to_string()).collect(),
            reason: reason.clone(),
        });
    }
    flushed?;
    tracing::info!("shutdown complete: all writes flushed");
    Ok(())
}

async fn serve_tls(
    shared: Arc<Shared>,
    tls: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    remote: std::net::SocketAddr,
) {
    // Same bound as the header timeout: a silent client can't hold a slot.
    let handshake = tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp));
    let stream = tokio::select! {
        r = handshake => match r {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => { tracing::debug!(%remote, error = %e, "TLS handshake failed"); return; }
            Err(_) => { tracing::debug!(%remote, "TLS handshake timed out"); return; }
        },
        _ = shared.shutdown.cancelled() => return,
    };
    serve_http(shared, stream, remote).await
}

async fn serve_http<I>(shared: Arc<Shared>, io: I, remote: std::net::SocketAddr)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc_shared = shared.clone();
    // The API's rate budget of this connection (see RequestBudget).
    let budget = Arc::new(RequestBudget::default());
    let service =
        service_fn(move |req| http::handle(svc_shared.clone(), req, remote, budget.clone()));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        // Bounds what an unauthenticated, slow client can hold.
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => if let Err(e) = r { tracing::debug!(error = %e, "http connection error") },
        _ = shared.shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
