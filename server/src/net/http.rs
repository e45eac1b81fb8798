//! The HTTP side of a connection: health, metrics, and the WebSocket
//! upgrade with every check that must happen before it (doc id, capacity).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use weft_core::deflate::DeflateStream;
use weft_core::doc_id::DocId;
use weft_core::protocol::{ACK_HEADER, ACK_PARAM};

use crate::auth::{AuthError, Claims, Level};
use crate::net::limits::RequestBudget;
use crate::net::text;
use crate::net::upgraded::bare;
use crate::state::Shared;
use crate::ws::connection::{self, ConnOptions};
use weft_core::room::Access;

type Body = axum::body::Body;

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
    budget: Arc<RequestBudget>,
) -> Result<Response<Body>, Infallible> {
    // Behind a trusted proxy, limits and logs are about the real client.
    let client =
        crate::net::proxy::client_ip(remote.ip(), req.headers(), &shared.config.trusted_proxies);
    let remote = SocketAddr::new(client, remote.port());
    let upgrade = is_upgrade(&req);
    let path = req.uri().path();
    if path.starts_with("/api/") && !upgrade {
        return Ok(crate::api::serve(shared, req, remote, &budget).await);
    }
    if crate::net::web::is_web_path(path)
        && !upgrade
        && matches!(*req.method(), Method::GET | Method::HEAD)
    {
        return Ok(crate::net::web::serve(req, !shared.config.no_web).await);
    }
    if req.method() == Method::GET && !upgrade {
        return Ok(get(&shared, path).await);
    }
    if req.method() == Method::POST {
        if let Some(doc) = path.strip_prefix("/share/") {
            return Ok(share(&shared, &req, doc).await);
        }
    }
    if !upgrade {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n"));
    }
    let admitted = match admit(&shared, &req, remote) {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(*refused),
    };
    Ok(match admit_doc(&shared, &admitted).await {
        Ok(()) => accept(&shared, &mut req, admitted),
        Err(refused) => refused,
    })
}

/// The checks that read the document index: a document in the trash
/// answers 410 (so an offline client cannot quietly bring it back), and a
/// link that was reset answers 401.
async fn admit_doc(shared: &Shared, a: &Admitted) -> Result<(), Response<Body>> {
    match shared.store.meta(&a.doc).await {
        Ok(meta) => {
            let trashed = meta.as_ref().is_some_and(|m| m.trashed_at.is_some());
            let current = meta.as_ref().map_or(0, |m| m.link_gen);
            admit_known(shared, a, trashed, |g| g == current).map_err(|r| *r)
        }
        // The store is down. A loaded doc still takes edits into memory
        // (acked once the store is back), so connecting goes on with what
        // this node last heard about it; a doc not loaded fails to load
        // and is closed with 1011, as before there was an index.
        Err(e) => {
            tracing::debug!(doc = %a.doc, error = %e, "index unreadable; admitting on what this node knows");
            let (trashed, gen) = shared
                .rooms
                .loaded_room(&a.doc)
                .map_or((false, 0), |room| room.heard());
            admit_known(shared, a, trashed, |g| g >= gen).map_err(|r| *r)
        }
    }
}

/// Refuses a document in the trash (410) and a link whose generation is
/// not `valid` (401).
fn admit_known(
    shared: &Shared,
    a: &Admitted,
    trashed: bool,
    valid: impl Fn(u64) -> bool,
) -> Result<(), Box<Response<Body>>> {
    if trashed {
        shared.metrics.reject("in_trash");
        return Err(Box::new(text(
            StatusCode::GONE,
            "this document is in the trash; restore it to open it\n",
        )));
    }
    if a.opts.link_gen.is_some_and(|g| !valid(g)) {
        shared.metrics.reject("link_reset");
        let mut res = text(
            StatusCode::UNAUTHORIZED,
            "this link was reset by the document's owner; ask for a new one\n",
        );
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Err(Box::new(res));
    }
    Ok(())
}

/// A plain GET: health, metrics, or a pointer to the WebSocket.
async fn get(shared: &Shared, path: &str) -> Response<Body> {
    match path {
        "/healthz" => health(shared).await,
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
    }
}

/// An upgrade that passed every check, ready to accept.
struct Admitted {
    doc: DocId,
    opts: ConnOptions,
    key: HeaderValue,
    permit: tokio::sync::OwnedSemaphorePermit,
}

/// Every check before a WebSocket upgrade, cheapest first: rate, origin,
/// doc id, token, handshake, capacity. The refusal is the response to send.
fn admit(
    shared: &Shared,
    req: &Request<Incoming>,
    remote: SocketAddr,
) -> Result<Admitted, Box<Response<Body>>> {
    let refuse = |reason: &'static str, status: StatusCode, body: String| {
        shared.metrics.reject(reason);
        Box::new(text(status, body))
    };
    if !shared.connects.allow(remote.ip()) {
        return Err(refuse(
            "rate",
            StatusCode::TOO_MANY_REQUESTS,
            "too many connection attempts; retry in a minute\n".into(),
        ));
    }
    if !origin_allowed(shared, req) {
        return Err(refuse(
            "origin",
            StatusCode::FORBIDDEN,
            "origin not allowed\n".into(),
        ));
    }
    let doc = DocId::from_path(req.uri().path())
        .map_err(|e| refuse("bad_doc_id", StatusCode::BAD_REQUEST, format!("{e}\n")))?;
    let claims = authorize(shared, req, &doc)?;
    let version_13 = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let key = match req.headers().get(header::SEC_WEBSOCKET_KEY) {
        Some(key) if version_13 => key.clone(),
        _ => {
            return Err(refuse(
                "bad_handshake",
                StatusCode::BAD_REQUEST,
                "WebSocket version 13 with a key is required\n".into(),
            ))
        }
    };
    let permit = shared.conn_limit.clone().try_acquire_owned().map_err(|_| {
        refuse(
            "capacity",
            StatusCode::SERVICE_UNAVAILABLE,
            "server at connection capacity; retry later\n".into(),
        )
    })?;
    let opts = conn_options(req, claims, remote);
    Ok(Admitted {
        doc,
        opts,
        key,
        permit,
    })
}

fn origin_allowed(shared: &Shared, req: &Request<Incoming>) -> bool {
    let allowed = &shared.config.allowed_origins;
    match req.headers().get(header::ORIGIN) {
        Some(origin) if !allowed.is_empty() => {
            allowed
                .iter()
                .any(|a| origin.to_str().is_ok_and(|o| o == a))
                || (!shared.config.no_web && same_origin(req, origin))
        }
        _ => true,
    }
}

/// The page this server served (the web editor) connecting back to it:
/// the Origin's host is the Host the request was sent to.
fn same_origin(req: &Request<Incoming>, origin: &HeaderValue) -> bool {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, h)| h);
    // A proxy may pass `$host`, which drops the port.
    let name = |h: &str| h.rsplit_once(':').map_or(h, |(n, _)| n).to_owned();
    match (host, origin_host) {
        (Some(h), Some(o)) if h.contains(':') || h.starts_with('[') => h == o,
        (Some(h), Some(o)) => h == name(o),
        _ => false,
    }
}

/// What the connection may do, from its token (or its address without auth).
fn conn_options(
    req: &Request<Incoming>,
    claims: Option<Claims>,
    remote: SocketAddr,
) -> ConnOptions {
    let wants_ack = req.uri().query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == ACK_PARAM && v != "0")
    });
    let creator = match &claims {
        Some(c) => format!("token {} {}", c.sub.as_deref().unwrap_or("-"), c.doc),
        None => format!("ip {}", remote.ip()),
    };
    ConnOptions {
        creator,
        access: claims
            .as_ref()
            .map(Claims::room_access)
            .unwrap_or(Access::Write),
        expires: claims.as_ref().map(|c| c.exp),
        link_gen: claims.as_ref().and_then(|c| c.gen),
        user: claims.and_then(|c| c.sub),
        ack: wants_ack,
        remote,
    }
}

/// What a connection needs once its socket is known.
struct Start {
    shared: Arc<Shared>,
    deflate: Option<weft_core::deflate::Params>,
    ws_config: WebSocketConfig,
    doc: DocId,
    opts: ConnOptions,
}

impl Start {
    /// The WebSocket over `io`, as the connection's boxed future.
    async fn over<S>(self, io: S) -> Pin<Box<dyn Future<Output = ()> + Send>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = &self.shared.config;
        let io = DeflateStream::server(
            io,
            self.deflate,
            config.deflate_min_size,
            config.max_message_size,
        );
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(self.ws_config)).await;
        Box::pin(connection::serve(self.shared, ws, self.doc, self.opts))
    }
}

/// Answers 101 and starts the connection once hyper hands over the socket.
fn accept(shared: &Arc<Shared>, req: &mut Request<Incoming>, a: Admitted) -> Response<Body> {
    let deflate = if shared.config.no_deflate {
        None
    } else {
        // Offers may come in several headers; each may hold several.
        let offers: Vec<&str> = req
            .headers()
            .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        weft_core::deflate::negotiate(&offers.join(","))
    };
    let upgrade = hyper::upgrade::on(req);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(shared.config.max_message_size))
        .max_frame_size(Some(shared.config.max_message_size))
        // Small buffers keep idle connections cheap; they grow on demand.
        .read_buffer_size(256)
        .write_buffer_size(8192);
    let wants_ack = a.opts.ack;
    let start = Start {
        shared: shared.clone(),
        deflate,
        ws_config,
        doc: a.doc,
        opts: a.opts,
    };
    let permit = a.permit;
    // The setup is boxed and freed once done, and the connection's future
    // is boxed too, so the long-lived task holds neither inline twice.
    let setup = Box::pin(async move {
        let upgraded = upgrade.await?;
        let conn = match bare::<TcpStream>(upgraded) {
            Ok(tcp) => start.over(tcp).await,
            Err(upgraded) => match bare::<TlsStream<TcpStream>>(upgraded) {
                Ok(tls) => start.over(tls).await,
                Err(upgraded) => start.over(TokioIo::new(upgraded)).await,
            },
        };
        Ok::<_, hyper::Error>(conn)
    });
    shared.tracker.spawn(async move {
        match setup.await {
            Ok(conn) => conn.await,
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
        drop(permit);
    });

    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(a.key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(params) = deflate {
        shared.metrics.deflate_connections_total.inc();
        if let Ok(v) = HeaderValue::from_str(&params.response()) {
            h.insert(header::SEC_WEBSOCKET_EXTENSIONS, v);
        }
    }
    if wants_ack {
        // Tells clients acks will come, so they need not probe for them.
        h.insert(ACK_HEADER, HeaderValue::from_static("1"));
    }
    res
}

/// The token from `?token=` (browsers can send nothing else) or
/// `Authorization: Bearer`.
fn token_of(req: &Request<Incoming>) -> Option<String> {
    let from_query = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    from_query.or_else(|| {
        let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
        h.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
    })
}

/// Checks the token when auth is configured: `Ok(None)` when it is not.
fn authorize(
    shared: &Shared,
    req: &Request<Incoming>,
    doc: &DocId,
) -> Result<Option<Claims>, Box<Response<Body>>> {
    let Some(auth) = &shared.auth else {
        return Ok(None);
    };
    match auth.authorize(token_of(req).as_deref(), doc.as_str()) {
        Ok(c) => Ok(Some(c)),
        Err(e @ AuthError::WrongDoc) => {
            shared.metrics.reject("forbidden");
            Err(Box::new(text(StatusCode::FORBIDDEN, format!("{e}\n"))))
        }
        Err(e) => {
            tracing::info!(doc = %doc, error = %e, "refused a token");
            shared.metrics.reject("unauthorized");
            let mut res = text(StatusCode::UNAUTHORIZED, format!("{e}\n"));
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(Box::new(res))
        }
    }
}

/// `POST /share/<doc>` with a write token for that doc: a read-only token
/// for it (or, with `?access=comment`, a comment token), expiring when the
/// write token does. Kept for older apps; it is a link as
/// `POST /api/v1/docs/<doc>/links` mints one (it carries the link
/// generation, so resetting the links revokes it too).
async fn share(shared: &Shared, req: &Request<Incoming>, raw_doc: &str) -> Response<Body> {
    let Some(auth) = &shared.auth else {
        return text(
            StatusCode::NOT_FOUND,
            "auth is not configured: links need no token\n",
        );
    };
    let doc = match DocId::from_path(raw_doc) {
        Ok(d) => d,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let claims = match authorize(shared, req, &doc) {
        Ok(Some(c)) => c,
        Ok(None) => unreachable!("auth is configured"),
        Err(res) => return *res,
    };
    if claims.access != Level::Write {
        return text(
            StatusCode::FORBIDDEN,
            format!("{}\n", AuthError::NotAllowed),
        );
    }
    let gen = match shared.store.meta(&doc).await {
        Ok(m) => m.map_or(0, |m| m.link_gen),
        Err(_) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server cannot read its store; retry later\n",
            )
        }
    };
    let comment = req.uri().query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "access" && v == "comment")
    });
    let (access, sub, name) = match comment {
        true => (Level::Comment, Some(crate::auth::link_subject()), "comment"),
        false => (Level::Read, None, "read"),
    };
    let read = Claims {
        doc: doc.to_string(),
        access,
        exp: claims.exp,
        sub,
        gen: Some(gen),
    };
    match auth.sign(&read) {
        Ok(token) => {
            let body = serde_json::json!({ "token": token, "doc": doc.as_str(), "access": name, "exp": read.exp });
            let mut res = text(StatusCode::OK, body.to_string());
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res
        }
        Err(e) => text(StatusCode::NOT_IMPLEMENTED, format!("{e}\n")),
    }
}

/// How long `/healthz` waits for each dependency. A probe that hangs is
/// as bad as a failed one (load balancers time out in a second or two),
/// and a store that takes this long to write one row is not healthy: a
/// database locked by another process held every probe for its 5 s busy
/// timeout per queued write (found by weft-torture's `faults` campaign).
const HEALTH_PROBE: std::time::Duration = std::time::Duration::from_secs(2);

/// 200 with one line per dependency when all answer; 503 naming what failed.
async fn health(shared: &Shared) -> Response<Body> {
    let mut lines = Vec::new();
    let mut ok = true;
    match tokio::time::timeout(HEALTH_PROBE, shared.store.check()).await {
        Ok(Ok(())) => lines.push("store: ok".to_owned()),
        Ok(Err(e)) => {
            ok = false;
            lines.push(format!("store not writable: {e}"));
        }
        Err(_) => {
            ok = false;
            lines.push(format!(
                "store not writable: a test write did not finish within {HEALTH_PROBE:?}"
            ));
        }
    }
    // The probe's small write may get through where a doc's does not (a
    // nearly full disk); a doc holding unsaved changes is the real signal.
    let unsaved = shared.rooms.unsaved();
    if let Some((_, e)) = unsaved.first() {
        ok = false;
        let docs: Vec<&str> = unsaved.iter().take(10).map(|(d, _)| d.as_str()).collect();
        lines.push(format!(
            "cannot save changes to {} document(s) ({}): {e}",
            unsaved.len(),
            docs.join(", ")
        ));
    }
    if let Some(cluster) = &shared.cluster {
        match tokio::time::timeout(HEALTH_PROBE, cluster.check()).await {
            Ok(Ok(())) => lines.push("redis: ok".to_owned()),
            Ok(Err(e)) => {
                ok = false;
                lines.push(format!("redis unreachable: {e}"));
            }
            Err(_) => {
                ok = false;
                lines.push(format!(
                    "redis unreachable: no answer within {HEALTH_PROBE:?}"
                ));
            }
        }
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = if ok && shared.cluster.is_none() {
        "ok\n".to_owned()
    } else {
        lines.join("\n") + "\n"
    };
    text(status, body)
}
