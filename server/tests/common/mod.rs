//! Test support: an in-process server on 127.0.0.1:0 and a real WebSocket
//! client built on yrs and weft-core's client session.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use weft_core::client::{ClientEvent, ClientSession};
use weft_server::store::Store;
use weft_server::Config;
use yrs::{Doc, GetString, Text, Transact};

pub const WAIT: Duration = Duration::from_secs(10);

pub fn config() -> Config {
    let mut c = Config::default();
    c.listen = "127.0.0.1:0".into();
    c
}

pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), weft_server::ServerError>>>,
}

impl TestServer {
    pub async fn start(store: Arc<dyn Store>, config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(weft_server::serve(listener, store, config, async {
            let _ = rx.await;
        }));
        TestServer { addr, shutdown: Some(tx), handle: Some(handle) }
    }

    pub fn url(&self, doc: &str) -> String {
        format!("ws://{}/{}", self.addr, doc)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Graceful shutdown; returns what `serve` returned.
    pub async fn stop(mut self) -> Result<()> {
        let _ = self.shutdown.take().unwrap().send(());
        let r = tokio::time::timeout(WAIT, self.handle.take().unwrap()).await??;
        Ok(r?)
    }
}

/// A raw HTTP GET, returning the status code and body.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).context("no status")?.parse()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

pub const UPGRADE_HEADERS: &[(&str, &str)] = &[
    ("Connection", "Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A Yjs client editing `Text("t")`.
pub struct Client {
    pub session: ClientSession,
    pub ws: Ws,
    pub events: Vec<ClientEvent>,
    pub closed: Option<CloseFrame>,
}

impl Client {
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_doc(url, Doc::new()).await
    }

    pub async fn connect_doc(url: &str, doc: Doc) -> Result<Self> {
        // No size cap: tests send and fetch documents larger than the server's.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false).await?;
        let mut c = Client { session: ClientSession::new(doc), ws, events: Vec::new(), closed: None };
        for frame in c.session.open() {
            c.ws.send(Message::Binary(frame)).await?;
        }
        Ok(c)
    }

    /// Connects and waits for the server's step 2.
    pub async fn synced(url: &str) -> Result<Self> {
        let mut c = Self::connect(url).await?;
        c.wait_for(|c| c.session.is_synced()).await?;
        Ok(c)
    }

    pub fn doc(&self) -> &Doc {
        self.session.doc()
    }

    pub fn text(&self) -> String {
        let t = self.doc().get_or_insert_text("t");
        let s = t.get_string(&self.doc().transact());
        s
    }

    /// Appends `s` locally and sends the update.
    pub async fn insert(&mut self, s: &str) -> Result<()> {
        let update = {
            let t = self.doc().get_or_insert_text("t");
            let mut txn = self.doc().transact_mut();
            let len = t.len(&txn);
            t.insert(&mut txn, len, s);
            txn.encode_update_v1()
        };
        self.send_update(update).await
    }

    pub async fn send_update(&mut self, update: Vec<u8>) -> Result<()> {
        let frame = self.session.local_update(update);
        self.ws.send(Message::Binary(frame)).await?;
        Ok(())
    }

    pub async fn send_raw(&mut self, frame: Vec<u8>) -> Result<()> {
        self.ws.send(Message::Binary(Bytes::from(frame))).await?;
        Ok(())
    }

    /// Reads one message and handles it. Errors once the socket is closed.
    pub async fn step(&mut self) -> Result<()> {
        let msg = self.ws.next().await.ok_or_else(|| anyhow!("connection ended"))??;
        match msg {
            Message::Binary(b) => {
                let out = self.session.handle(&b)?;
                for r in out.reply {
                    self.ws.send(Message::Binary(r)).await?;
                }
                self.events.extend(out.events);
            }
            Message::Close(frame) => {
                self.closed = frame;
                bail!("closed: {:?}", self.closed);
            }
            _ => {}
        }
        Ok(())
    }

    /// Handles messages until `pred` holds.
    pub async fn wait_for(&mut self, mut pred: impl FnMut(&Self) -> bool) -> Result<()> {
        tokio::time::timeout(WAIT, async {
            while !pred(self) {
                self.step().await?;
            }
            Ok(())
        })
        .await
        .map_err(|_| anyhow!("timed out; text={:?}", self.text()))?
    }

    /// Reads until the server closes; returns the close code (0 if none).
    pub async fn close_code(&mut self) -> u16 {
        let _ = tokio::time::timeout(WAIT, async {
            while self.step().await.is_ok() {}
        })
        .await;
        self.closed.as_ref().map(|f| u16::from(f.code)).unwrap_or(0)
    }
}
