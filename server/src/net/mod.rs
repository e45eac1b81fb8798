//! Accepting connections and answering HTTP: the listener, TLS, the
//! client's address behind a proxy, rate limits, and the routing of each
//! request to health, metrics, the API, the web editor or a WebSocket upgrade
//! (and the socket taken back from hyper after it).

pub mod http;
pub mod limits;
pub mod proxy;
pub mod server;
pub mod tls;
pub mod upgraded;
pub mod web;

use axum::body::Body;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// A plain-text answer (refusals, health, pointers) for a person or a log.
pub(crate) fn text(status: StatusCode, body: impl Into<bytes::Bytes>) -> Response<Body> {
    let mut res = Response::new(Body::from(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
