//! Test kit for Weft's end-to-end tests: a real WebSocket client built on yrs
//! and weft-core's client session, a raw HTTP helper, and a handle on a
//! `weft-server` process. Used by the tests in this folder and by the
//! server's in-process integration tests.
//!
//! # Layout
//! - [`Client`]: a Yjs client over tokio-tungstenite editing `Text("t")`.
//! - [`http_get`]: one raw HTTP/1.1 GET, for status codes before the upgrade.
//! - [`ServerProcess`]: starts `weft-server`, reads its URL, kills or stops it.
//! - [`services`]: private PostgreSQL and Redis servers for cluster tests.

pub mod services;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use weft_core::client::{ClientEvent, ClientSession};
use yrs::{Doc, GetString, Text, Transact};

/// How long any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A raw HTTP GET, returning the status code and body.
pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String)> {
    let (status, body) = http(addr, "GET", path, headers, &[]).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A raw HTTP/1.1 request with a body; the status and the body as bytes.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>)> {
    let (status, _, body) = http_full(addr, method, path, headers, body).await?;
    Ok((status, body))
}

/// [`http`], with the response's headers too (names in lower case).
pub async fn http_full(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await?;
    tcp.write_all(body).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut buf)).await??;
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .context("no status")?
        .parse()?;
    let mut body = buf[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    let fields = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok((status, fields, body))
}

/// The body of a chunked response.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("bad chunk")?;
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end])?.trim(), 16)?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
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
        Self::connect_with(url, doc, None).await
    }

    /// Connects to a `wss://` URL trusting only `root` (a DER certificate).
    pub async fn connect_trusting(url: &str, root: &[u8]) -> Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls::pki_types::CertificateDer::from(root.to_vec()))?;
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(tls));
        Self::connect_with(url, Doc::new(), Some(connector)).await
    }

    async fn connect_with(
        url: &str,
        doc: Doc,
        connector: Option<tokio_tungstenite::Connector>,
    ) -> Result<Self> {
        // No size cap: tests send and fetch documents larger than the server's.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);
        let (ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(url, Some(config), false, connector)
                .await?;
        let mut c = Client {
            session: ClientSession::new(doc),
            ws,
            events: Vec::new(),
            closed: None,
        };
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
        let msg = self
            .ws
            .next()
            .await
            .ok_or_else(|| anyhow!("connection ended"))??;
        self.handle(msg).await
    }

    /// Handles whatever has already arrived, without waiting.
    pub async fn drain(&mut self) -> Result<()> {
        use futures_util::FutureExt;
        while let Some(next) = self.ws.next().now_or_never() {
            let msg = next.ok_or_else(|| anyhow!("connection ended"))??;
            self.handle(msg).await?;
        }
        Ok(())
    }

    async fn handle(&mut self, msg: Message) -> Result<()> {
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
        let _ = tokio::time::timeout(WAIT, async { while self.step().await.is_ok() {} }).await;
        self.closed.as_ref().map(|f| u16::from(f.code)).unwrap_or(0)
    }
}

/// Path of the `weft-server` binary: `$WEFT_SERVER_BIN`, or the workspace's
/// debug build, built on demand.
pub fn server_bin() -> Result<PathBuf> {
    workspace_bin("WEFT_SERVER_BIN", "weft-server", "weft-server")
}

/// Path of the `weft` CLI: `$WEFT_CLI_BIN`, or the debug build.
pub fn cli_bin() -> Result<PathBuf> {
    workspace_bin("WEFT_CLI_BIN", "weft-cli", "weft")
}

fn workspace_bin(env: &str, package: &str, name: &str) -> Result<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Ok(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug").join(name);
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", package, "--bin", name])
            .current_dir(root)
            .status()?;
        if !status.success() {
            bail!("building {name} failed");
        }
    }
    Ok(bin)
}

/// A running `weft-server` process.
pub struct ServerProcess {
    /// The child process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `weft-server` on 127.0.0.1:0 with `data_dir` and extra `args`,
    /// and waits for the line that gives its address.
    pub async fn start(data_dir: &Path, args: &[&str]) -> Result<Self> {
        Self::start_on("127.0.0.1:0", data_dir, args).await
    }

    /// Like [`ServerProcess::start`] on a given address (to restart on the same port).
    pub async fn start_on(listen: &str, data_dir: &Path, args: &[&str]) -> Result<Self> {
        Self::start_with_env(listen, data_dir, args, &[]).await
    }

    /// Like [`ServerProcess::start_on`] with extra environment variables.
    pub async fn start_with_env(
        listen: &str,
        data_dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let mut child = Command::new(server_bin()?)
            .args(["--listen", listen, "--data-dir"])
            .arg(data_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("ws://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    return Ok::<_, anyhow::Error>(addr.parse()?);
                }
            }
            bail!("weft-server exited before printing its address")
        })
        .await??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServerProcess { child, addr })
    }

    /// `ws://addr/doc`.
    pub fn url(&self, doc: &str) -> String {
        format!("ws://{}/{}", self.addr, doc)
    }

    /// SIGKILL: no chance to flush anything.
    pub async fn kill9(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// SIGTERM, then waits; returns the exit code.
    pub async fn terminate(mut self) -> Result<i32> {
        let pid = self.child.id().context("already exited")?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await??;
        status.code().ok_or_else(|| anyhow!("killed by a signal"))
    }
}
