//! Test support: an in-process server on 127.0.0.1:0. The WebSocket test
//! client lives in the `weft-e2e` crate, shared with the process-level tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
pub use weft_e2e::*;

pub mod api;
use weft_server::store::Store;
use weft_server::Config;

pub fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    }
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
        TestServer {
            addr,
            shutdown: Some(tx),
            handle: Some(handle),
        }
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

/// Waits until `/metrics` has the line `line`.
pub async fn wait_metric(addr: std::net::SocketAddr, line: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + weft_e2e::WAIT;
    loop {
        let (_, body) = http_get(addr, "/metrics", &[]).await?;
        if body.lines().any(|l| l == line) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("metric {line:?} never appeared:\n{body}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
