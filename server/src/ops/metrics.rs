//! Prometheus metrics, served as text at `GET /metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// WebSocket connections accepted since start.
    pub connections_total: Counter,
    /// Of those, the ones that negotiated permessage-deflate.
    pub deflate_connections_total: Counter,
    /// Connections refused before the upgrade, by reason.
    pub rejected: Family<Vec<(String, String)>, Counter>,
    /// Documents held in memory.
    pub docs_loaded: Gauge,
    /// Loaded documents resting as encoded bytes, as of the last look.
    pub docs_resting: Gauge,
    /// Update messages received.
    pub updates_in: Counter,
    /// Frames delivered to other connections by fan-out.
    pub messages_out: Counter,
    /// Bytes of WebSocket payload received.
    pub bytes_in: Counter,
    /// Bytes of WebSocket payload queued for sending.
    pub bytes_out: Counter,
    /// Time from queueing a write to its commit, in seconds.
    pub store_latency: Histogram,
    /// Store writes or loads that failed.
    pub store_errors: Counter,
    /// Frames refused as malformed.
    pub protocol_errors: Counter,
    /// Connections closed for falling behind (1013).
    pub slow_consumers: Counter,
    /// Docs holding changes the store could not write (nothing of them is acked).
    pub docs_unsaved: Gauge,
    /// Cluster: seconds between a stream entry's append and its read here, last seen.
    pub stream_lag: Gauge<f64, AtomicU64>,
    /// Cluster: stream entries read from other nodes.
    pub stream_read: Counter,
    /// Cluster: stream entries appended.
    pub stream_published: Counter,
    /// Cluster: entries waiting to be appended (grows while Redis is away).
    pub stream_backlog: Gauge,
    /// Cluster: Redis commands that failed.
    pub stream_errors: Counter,
    /// Cluster: doc streams this node reads.
    pub stream_subscriptions: Gauge,
    /// Tasks alive on the runtime, read when scraped: a leak of tasks shows
    /// here before it shows in memory (weft-torture's soak samples it).
    pub tasks: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("weft");
        let m = Metrics {
            connections: Gauge::default(),
            connections_total: Counter::default(),
            deflate_connections_total: Counter::default(),
            rejected: Family::default(),
            docs_loaded: Gauge::default(),
            docs_resting: Gauge::default(),
            updates_in: Counter::default(),
            messages_out: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            store_latency: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            store_errors: Counter::default(),
            protocol_errors: Counter::default(),
            slow_consumers: Counter::default(),
            docs_unsaved: Gauge::default(),
            stream_lag: Gauge::default(),
            stream_read: Counter::default(),
            stream_published: Counter::default(),
            stream_backlog: Gauge::default(),
            stream_errors: Counter::default(),
            stream_subscriptions: Gauge::default(),
            tasks: Gauge::default(),
            registry: Registry::default(),
        };
        register_traffic(&mut registry, &m);
        register_store(&mut registry, &m);
        register_cluster(&mut registry, &m);
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Counts a refused connection.
    pub fn reject(&self, reason: &str) {
        self.rejected
            .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            self.tasks.set(rt.metrics().num_alive_tasks() as i64);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Connections, the messages they carry, and those refused.
fn register_traffic(r: &mut Registry, m: &Metrics) {
    r.register(
        "connections",
        "Open WebSocket connections",
        m.connections.clone(),
    );
    r.register(
        "connections_accepted",
        "WebSocket connections accepted",
        m.connections_total.clone(),
    );
    r.register(
        "deflate_connections_accepted",
        "WebSocket connections accepted with permessage-deflate",
        m.deflate_connections_total.clone(),
    );
    r.register(
        "connections_rejected",
        "Connections refused before the upgrade",
        m.rejected.clone(),
    );
    r.register(
        "docs_loaded",
        "Documents held in memory",
        m.docs_loaded.clone(),
    );
    r.register(
        "docs_resting",
        "Loaded documents kept as encoded bytes because nobody changed them lately",
        m.docs_resting.clone(),
    );
    r.register(
        "updates_in",
        "Update messages received",
        m.updates_in.clone(),
    );
    r.register(
        "messages_out",
        "Frames fanned out to other connections",
        m.messages_out.clone(),
    );
    r.register(
        "bytes_in",
        "WebSocket payload bytes received",
        m.bytes_in.clone(),
    );
    r.register(
        "bytes_out",
        "WebSocket payload bytes sent",
        m.bytes_out.clone(),
    );
    r.register(
        "protocol_errors",
        "Frames refused as malformed",
        m.protocol_errors.clone(),
    );
    r.register(
        "slow_consumers",
        "Connections closed for falling behind",
        m.slow_consumers.clone(),
    );
}

/// Writes: how long they take, and which failed.
fn register_store(r: &mut Registry, m: &Metrics) {
    r.register(
        "store_commit_seconds",
        "Time from queueing a write to its commit",
        m.store_latency.clone(),
    );
    r.register(
        "store_errors",
        "Failed store operations (writes and loads)",
        m.store_errors.clone(),
    );
    r.register("docs_unsaved", "Documents holding changes the store could not write yet (not acked; kept in memory and retried)", m.docs_unsaved.clone());
}

/// Cross-node fan-out (zero on a single node).
fn register_cluster(r: &mut Registry, m: &Metrics) {
    r.register(
        "stream_lag_seconds",
        "Cluster: time from a stream entry's append to its read on this node (last entry)",
        m.stream_lag.clone(),
    );
    r.register(
        "stream_entries_read",
        "Cluster: stream entries read from other nodes",
        m.stream_read.clone(),
    );
    r.register(
        "stream_entries_published",
        "Cluster: stream entries appended by this node",
        m.stream_published.clone(),
    );
    r.register(
        "stream_backlog",
        "Cluster: entries waiting to be appended to Redis",
        m.stream_backlog.clone(),
    );
    r.register(
        "stream_errors",
        "Cluster: failed Redis commands",
        m.stream_errors.clone(),
    );
    r.register(
        "stream_subscriptions",
        "Cluster: document streams this node reads",
        m.stream_subscriptions.clone(),
    );
    r.register(
        "tasks",
        "Tasks alive on the server's runtime (connections, rooms, store work)",
        m.tasks.clone(),
    );
}
