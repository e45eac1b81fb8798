//! Accepting connections and answering HTTP: the listener, TLS, the
//! client's address behind a proxy, rate limits, and the routing of each
//! request to health, metrics, the API, the web editor or a WebSocket upgrade.

pub mod http;
pub mod limits;
pub mod proxy;
pub mod server;
pub mod tls;
pub mod web;
