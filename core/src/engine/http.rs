//! Plain HTTP requests to a Weft server (the same host and port as its
//! WebSocket; TLS when the URL is `wss`): `POST /share` and the `/api/v1`
//! document API. hyper's client, one connection per request.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::http::{Method, Request, Uri};

use super::EngineError;

/// Where requests go: a server's scheme (`ws`/`wss`) and `host:port`, and
/// the token they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `ws` or `wss`: plain HTTP or HTTPS.
    pub scheme: String,
    /// `host:port`.
    pub authority: String,
    /// Sent as `Authorization: Bearer`.
    pub token: Option<String>,
}

/// A response: its status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
    /// Its `Content-Type`, if it said.
    pub content_type: Option<String>,
}

impl Answer {
    /// The body as JSON of type `T`; `what` names the request in the error.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
    ) -> Result<T, EngineError> {
        serde_json::from_slice(&self.body).map_err(|e| EngineError::BadAnswer {
            what,
            source: std::sync::Arc::new(e),
        })
    }

    /// Fails unless the status is 2xx, with the server's own message (its
    /// `{"error": {"message"}}`, or the body's text).
    pub fn ok(self) -> Result<Answer, EngineError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).trim().to_owned());
        Err(EngineError::Refused {
            status: self.status,
            message,
        })
    }
}

/// Sends `method path_and_query` with `body` (and its content type) to
/// `server`, giving up after `timeout`.
pub async fn request(
    server: &Server,
    method: Method,
    path_and_query: &str,
    body: Option<(&str, Vec<u8>)>,
    timeout: Duration,
) -> Result<Answer, EngineError> {
    tokio::time::timeout(timeout, send(server, method, path_and_query, body))
        .await
        .map_err(|_| {
            EngineError::Timeout(format!("asking {} for {path_and_query}", server.authority))
        })?
}

async fn send(
    server: &Server,
    method: Method,
    path_and_query: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<Answer, EngineError> {
    let bad = || EngineError::BadUrl(format!("{}://{}", server.scheme, server.authority));
    let uri: Uri = format!("http://{}", server.authority)
        .parse()
        .map_err(|_| bad())?;
    let tls = server.scheme == "wss";
    let host = uri
        .host()
        .ok_or_else(bad)?
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let mut req = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(header::HOST, &server.authority);
    if let Some(t) = &server.token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let data = match body {
        Some((content_type, data)) => {
            req = req.header(header::CONTENT_TYPE, content_type);
            data
        }
        None => Vec::new(),
    };
    let req = req
        .body(Full::new(Bytes::from(data)))
        .map_err(|e| EngineError::BadUrl(e.to_string()))?;
    let stream = super::dial::dial(&host, port, tls)
        .await
        .map_err(EngineError::unreachable)?;
    exchange(stream, req).await
}

async fn exchange<S>(io: S, req: Request<Full<Bytes>>) -> Result<Answer, EngineError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let unreachable = EngineError::unreachable;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(unreachable)?;
    tokio::spawn(conn);
    let res = sender.send_request(req).await.map_err(unreachable)?;
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(unreachable)?
        .to_bytes();
    Ok(Answer {
        status,
        body,
        content_type,
    })
}
