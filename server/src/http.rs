//! The HTTP side of a connection: health, metrics, and the WebSocket
//! upgrade with every check that must happen before it (doc id, capacity).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use weft_core::doc_id::DocId;
use weft_core::protocol::{ACK_HEADER, ACK_PARAM};

use crate::connection::{self, ConnOptions};
use crate::server::Shared;

type Body = Full<Bytes>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

fn is_upgrade(req: &Request<Incoming>) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    req.method() == Method::GET
        && has(header::CONNECTION, "upgrade")
        && has(header::UPGRADE, "websocket")
}

/// Serves one HTTP request.
pub async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
    remote: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    if req.method() == Method::GET && !is_upgrade(&req) {
        return Ok(match path {
            "/healthz" => match shared.store.check().await {
                Ok(()) => text(StatusCode::OK, "ok\n"),
                Err(e) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("store not writable: {e}\n"),
                ),
            },
            "/metrics" => {
                let mut res = text(StatusCode::OK, shared.metrics.render());
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                res
            }
            _ => text(
                StatusCode::UPGRADE_REQUIRED,
                "weft-server: connect a WebSocket to ws://HOST:PORT/<doc-id>\n",
            ),
        });
    }
    if !is_upgrade(&req) {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n"));
    }

    let doc = match DocId::from_path(path) {
        Ok(doc) => doc,
        Err(e) => {
            shared.metrics.reject("bad_doc_id");
            return Ok(text(StatusCode::BAD_REQUEST, format!("{e}\n")));
        }
    };
    let key = match req.headers().get(header::SEC_WEBSOCKET_KEY) {
        Some(key)
            if req
                .headers()
                .get(header::SEC_WEBSOCKET_VERSION)
                .is_some_and(|v| v == "13") =>
        {
            key.clone()
        }
        _ => {
            shared.metrics.reject("bad_handshake");
            return Ok(text(
                StatusCode::BAD_REQUEST,
                "WebSocket version 13 with a key is required\n",
            ));
        }
    };
    let Ok(permit) = shared.conn_limit.clone().try_acquire_owned() else {
        shared.metrics.reject("capacity");
        return Ok(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "server at connection capacity; retry later\n",
        ));
    };
    let wants_ack = req.uri().query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == ACK_PARAM && v != "0")
    });
    let opts = ConnOptions {
        ack: req.uri().query().is_some_and(|q| {
            form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == ACK_PARAM && v != "0")
        }),
        remote,
    };

    let upgrade = hyper::upgrade::on(&mut req);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(shared.config.max_message_size))
        .max_frame_size(Some(shared.config.max_message_size))
        // Small buffers keep idle connections cheap; they grow on demand.
        .read_buffer_size(4096)
        .write_buffer_size(8192);
    let task_shared = shared.clone();
    shared.tracker.spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(ws_config),
                )
                .await;
                connection::serve(task_shared, ws, doc, opts).await;
            }
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
        drop(permit);
    });

    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if wants_ack {
        // Tells clients acks will come, so they need not probe for them.
        h.insert(ACK_HEADER, HeaderValue::from_static("1"));
    }
    Ok(res)
}
