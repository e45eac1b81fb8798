//! Command-line and environment configuration. Every option has an env twin.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::auth::Level;

/// weft-server: the sync server for Weft. Speaks the y-websocket protocol at
/// ws://HOST:PORT/<doc-id>, so any Yjs client can use it, and stores every
/// document durably in SQLite.
#[derive(Debug, Clone, Parser)]
#[command(name = "weft-server", version, about, long_about = None)]
pub struct Config {
    /// Something other than serving.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on (host:port). Port 0 picks a free port.
    #[arg(long, env = "WEFT_LISTEN", default_value = "127.0.0.1:4455")]
    pub listen: String,

    /// Directory holding the SQLite database (weft.db). Created if missing.
    #[arg(long, env = "WEFT_DATA_DIR", default_value = "./weft-data")]
    pub data_dir: PathBuf,

    /// Keep documents in memory only (nothing survives a restart). For tests and benchmarks.
    #[arg(long, env = "WEFT_IN_MEMORY")]
    pub in_memory: bool,

    /// Most simultaneous WebSocket connections; further upgrades get HTTP 503.
    #[arg(long, env = "WEFT_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Largest WebSocket message in bytes; larger ones close the connection with 1009.
    #[arg(long, env = "WEFT_MAX_MESSAGE_SIZE", default_value_t = 16 << 20)]
    pub max_message_size: usize,

    /// Frames queued per connection before it counts as too slow and is closed with 1013.
    #[arg(long, env = "WEFT_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,

    /// How long a document with no connections stays in memory (e.g. 30s, 2m).
    #[arg(long, env = "WEFT_UNLOAD_AFTER", default_value = "30s", value_parser = humantime::parse_duration)]
    pub unload_after: Duration,

    /// How often to ping each connection; one silent for two intervals is closed.
    #[arg(long, env = "WEFT_PING_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,

    /// Logged updates after which a document is compacted into one snapshot.
    #[arg(long, env = "WEFT_COMPACT_AFTER", default_value_t = 1000)]
    pub compact_after: usize,

    /// Require tokens signed with this HS256 secret (a file of at least 32 bytes).
    #[arg(
        long,
        env = "WEFT_AUTH_SECRET_FILE",
        conflicts_with = "auth_public_key_file"
    )]
    pub auth_secret_file: Option<PathBuf>,

    /// Require EdDSA tokens verified with this PEM public key.
    #[arg(long, env = "WEFT_AUTH_PUBLIC_KEY_FILE")]
    pub auth_public_key_file: Option<PathBuf>,

    /// The EdDSA PEM private key, to mint tokens (`token`, `POST /share/<doc>`).
    #[arg(
        long,
        env = "WEFT_AUTH_PRIVATE_KEY_FILE",
        requires = "auth_public_key_file"
    )]
    pub auth_private_key_file: Option<PathBuf>,

    /// Serve a non-loopback address without auth. Anyone who can reach it can read and write.
    #[arg(long, env = "WEFT_ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,

    /// Only accept WebSocket upgrades from these Origins (repeatable). Requests without an Origin are not browsers and pass.
    #[arg(
        long = "allowed-origin",
        env = "WEFT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Messages per second one connection may send (token bucket, burst of 2 s; 0: unlimited); beyond it: close 1008.
    #[arg(long, env = "WEFT_RATE_MESSAGES", default_value_t = 200)]
    pub rate_messages: u32,

    /// Bytes per second one connection may send (token bucket, burst of 2 s, at least one max-size message; 0: unlimited); beyond it: close 1008.
    #[arg(long, env = "WEFT_RATE_BYTES", default_value_t = 4 << 20)]
    pub rate_bytes: u64,

    /// Connection attempts per minute from one IP address (0: unlimited); beyond it: HTTP 429.
    #[arg(long, env = "WEFT_RATE_CONNECTS", default_value_t = 600)]
    pub rate_connects: u32,

    /// New documents one token (per user and scope) or, without auth, one IP may create per hour (0: unlimited); beyond it: close 1008.
    #[arg(long, env = "WEFT_MAX_NEW_DOCS", default_value_t = 1000)]
    pub max_new_docs: u32,

    /// PEM certificate chain: serve wss:// (and https://) natively. Re-read when the file changes.
    #[arg(long, env = "WEFT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "WEFT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How long shutdown waits for connections to close before flushing.
    #[arg(long, env = "WEFT_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Print a token signed with the configured key.
    Token {
        /// The doc id, or a prefix ending in `*`.
        #[arg(long)]
        doc: String,
        /// read or write.
        #[arg(long, value_enum)]
        access: Level,
        /// How long it is valid (e.g. 1h, 7d).
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// The user, written to the server's logs.
        #[arg(long)]
        sub: Option<String>,
    },
}

impl Default for Config {
    fn default() -> Self {
        Config::parse_from(["weft-server"])
    }
}
