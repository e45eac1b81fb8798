//! What every connection and request shares: the configuration, the store,
//! the loaded documents, limits and metrics. Its own module so the listener,
//! the HTTP side and the socket loop all depend on it, not on each other.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::documents::rooms::Rooms;
use crate::net::limits::{ConnectLimiter, CreateLimiter};
use crate::ops::metrics::Metrics;
use crate::store::Store;

/// State every connection shares.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// The document store.
    pub store: Arc<dyn Store>,
    /// Loaded documents.
    pub rooms: Arc<Rooms>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Permits for WebSocket connections.
    pub conn_limit: Arc<Semaphore>,
    /// Cancelled when the server starts shutting down.
    pub shutdown: CancellationToken,
    /// Every connection task, so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// Token verification, when auth is configured.
    pub auth: Option<Auth>,
    /// Connection attempts per IP.
    pub connects: ConnectLimiter,
    /// New documents per creator.
    pub creations: CreateLimiter,
    /// Other nodes, in cluster mode.
    pub cluster: Option<Arc<Cluster>>,
}

/// Runs `work` every `period` (the first time at once) until the server
/// stops: the loop of the background tasks (trash, version thinning).
pub async fn every<F, Fut>(shared: Weak<Shared>, period: Duration, mut work: F)
where
    F: FnMut(Arc<Shared>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.shutdown.is_cancelled() {
            return;
        }
        work(shared).await;
    }
}
