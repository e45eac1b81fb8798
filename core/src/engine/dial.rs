//! Reaching a server: TCP, then TLS for `wss` with the system's roots
//! (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured), and the WebSocket upgrade
//! with permessage-deflate offered. The link and the HTTP calls share it.

use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::deflate::{self, DeflateStream};

/// A connection to a server, in TLS or not.
pub(super) type Stream = MaybeTlsStream<TcpStream>;
/// A WebSocket to a server.
pub(super) type Ws = WebSocketStream<DeflateStream<Stream>>;

/// Messages from the server this size and more are compressed; the same
/// default as the server's `--deflate-min-size`.
const DEFLATE_MIN_SIZE: usize = 1024;
/// The largest message taken from a server, inflated (tungstenite's default).
const MAX_MESSAGE: usize = 64 << 20;

/// Opens TCP to `host:port`, and TLS over it when `tls`.
pub(super) async fn dial(host: &str, port: u16, tls: bool) -> io::Result<Stream> {
    let tcp = TcpStream::connect((host, port)).await?;
    tcp.set_nodelay(true)?;
    if !tls {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let config = tokio_rustls::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    Ok(MaybeTlsStream::Rustls(stream))
}

/// Opens a WebSocket to `url`, offering permessage-deflate.
pub(super) async fn websocket(url: &str) -> Result<(Ws, Response<Option<Vec<u8>>>), WsError> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        header::SEC_WEBSOCKET_EXTENSIONS,
        HeaderValue::from_static(deflate::offer()),
    );
    let uri = request.uri();
    let tls = uri.scheme_str() == Some("wss");
    let host = uri
        .host()
        .ok_or(WsError::Url(
            tokio_tungstenite::tungstenite::error::UrlError::NoHostName,
        ))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let stream = dial(&host, port, tls).await?;
    let (mut ws, response) = tokio_tungstenite::client_async_with_config(
        request,
        DeflateStream::client(stream),
        Some(WebSocketConfig::default()),
    )
    .await?;
    let answer = response
        .headers()
        .get(header::SEC_WEBSOCKET_EXTENSIONS)
        .and_then(|v| v.to_str().ok());
    let invalid = |e| WsError::Io(io::Error::new(io::ErrorKind::InvalidData, e));
    let params = deflate::accept(answer).map_err(invalid)?;
    ws.get_mut()
        .negotiated(params, DEFLATE_MIN_SIZE, MAX_MESSAGE)
        .map_err(invalid)?;
    Ok((ws, response))
}
