//! The document API: listing a large index page by page, and an update
//! posted over HTTP against the same update sent on a WebSocket, each
//! timed until a live peer holds it. In process, on SQLite, at the
//! server's shipped defaults.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use weft_core::doc_id::DocId;
use weft_core::store::{self, SqliteStore, Store};
use weft_e2e::Client;
use yrs::{Text, Transact, WriteTxn};

/// Percentiles of `ms`, sorted in place.
fn pct(ms: &mut [f64], q: f64) -> f64 {
    ms.sort_by(|a, b| a.total_cmp(b));
    ms[((ms.len() as f64 - 1.0) * q).round() as usize]
}

fn small_update(text: &str) -> Vec<u8> {
    let doc = yrs::Doc::new();
    let mut txn = doc.transact_mut();
    txn.get_or_insert_text("t").insert(&mut txn, 0, text);
    txn.encode_update_v1()
}

/// One kept-alive HTTP/1.1 connection, as an API client library keeps
/// (the server's rate limits count a connection once and each request as a
/// message on it).
pub(crate) struct Conn(hyper::client::conn::http1::SendRequest<Full<Bytes>>);

impl Conn {
    pub(crate) async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Conn> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let io = hyper_util::rt::TokioIo::new(tcp);
        let (send, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        Ok(Conn(send))
    }

    pub(crate) async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<(u16, Bytes)> {
        self.0.ready().await?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("Host", "bench");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .0
            .send_request(req.body(Full::new(Bytes::copy_from_slice(body)))?)
            .await?;
        let status = res.status().as_u16();
        Ok((status, res.into_body().collect().await?.to_bytes()))
    }
}

/// weft-server in this process on `store`, at its shipped defaults (only
/// the address is chosen).
pub(crate) struct InProcess {
    pub(crate) addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), weft_server::ServerError>>,
}

impl InProcess {
    pub(crate) async fn start(store: Arc<dyn Store>) -> anyhow::Result<InProcess> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let config = weft_server::Config {
            listen: addr.to_string(),
            ..Default::default()
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(weft_server::serve(listener, store, config, async {
            let _ = stopped.await;
        }));
        Ok(InProcess { addr, stop, server })
    }

    /// Stops it and waits until it has flushed.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        Ok(self.server.await??)
    }
}

/// Runs both parts: `docs` documents listed `page` at a time, and
/// `samples` updates each way.
pub async fn run(docs: usize, page: usize, samples: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sqlite = Arc::new(SqliteStore::open(dir.path())?);
    let started = Instant::now();
    for i in 0..docs {
        let doc = DocId::new(&format!("doc-{i:06}"))?;
        sqlite.append(&doc, Bytes::from(small_update("x")), Box::new(|_| {}));
    }
    store::flush(&*sqlite).await?;
    println!(
        "stored {docs} documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let server = InProcess::start(sqlite).await?;
    let addr = server.addr;

    listing(addr, docs, page).await?;
    post_vs_ws(addr, samples).await?;

    server.stop().await
}

/// Pages through every document, timing each page.
async fn listing(addr: std::net::SocketAddr, docs: usize, page: usize) -> anyhow::Result<()> {
    let mut times = Vec::new();
    let mut seen = 0;
    let mut cursor = String::new();
    let mut conn = Conn::open(addr).await?;
    loop {
        let t = Instant::now();
        let path = format!("/api/v1/docs?limit={page}{cursor}");
        let (status, body) = conn.request("GET", &path, &[], &[]).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        ensure!(
            status == 200,
            "listing answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let list: serde_json::Value = serde_json::from_slice(&body)?;
        seen += list["docs"].as_array().context("no docs")?.len();
        match list["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    ensure!(seen == docs, "listed {seen} of {docs}");
    let pages = times.len();
    println!(
        "listing {docs} documents, {page} per page ({pages} pages): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms per page",
        pct(&mut times, 0.5),
        pct(&mut times, 0.99),
        pct(&mut times, 1.0)
    );
    Ok(())
}

/// The time from sending an update until a live peer holds it: over the
/// WebSocket (a writer's own connection) and over `POST …/updates`.
async fn post_vs_ws(addr: std::net::SocketAddr, samples: usize) -> anyhow::Result<()> {
    let url = format!("ws://{addr}/live?ack=1");
    let mut peer = Client::synced(&url).await?;
    let mut writer = Client::synced(&url).await?;
    let (mut ws, mut post) = (Vec::new(), Vec::new());
    let mut conn = Conn::open(addr).await?;
    for i in 0..samples {
        let marker = format!("[ws{i}]");
        let t = Instant::now();
        writer.insert(&marker).await?;
        peer.wait_for(|c| c.text().contains(&marker)).await?;
        ws.push(t.elapsed().as_secs_f64() * 1000.0);

        let marker = format!("[post{i}]");
        let update = {
            let doc = writer.doc();
            let mut txn = doc.transact_mut();
            let t = txn.get_or_insert_text("t");
            let len = yrs::GetString::get_string(&t, &txn).len() as u32;
            t.insert(&mut txn, len, &marker);
            txn.encode_update_v1()
        };
        let ct = [("Content-Type", "application/octet-stream")];
        let t = Instant::now();
        let (status, _) = conn
            .request("POST", "/api/v1/docs/live/updates", &ct, &update)
            .await?;
        ensure!(status == 200, "POST answered {status}");
        peer.wait_for(|c| c.text().contains(&marker)).await?;
        post.push(t.elapsed().as_secs_f64() * 1000.0);
        writer.drain().await?;
    }
    let (ws50, post50) = (pct(&mut ws, 0.5), pct(&mut post, 0.5));
    println!(
        "an update until a live peer holds it, {samples} each: WebSocket p50 {ws50:.2} ms (p99 {:.2}); POST …/updates p50 {post50:.2} ms (p99 {:.2}); difference {:.2} ms",
        pct(&mut ws, 0.99),
        pct(&mut post, 0.99),
        post50 - ws50
    );
    Ok(())
}
