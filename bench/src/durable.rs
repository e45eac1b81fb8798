//! Durable writes: how many updates per second weft-server commits to
//! SQLite (`synchronous=FULL`) and acks, with many writers at once. Each
//! writer keeps up to 64 updates in flight (pipelined), as a busy client
//! would.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use weft_core::client::ClientSession;
use yrs::{Doc, Text, Transact};

/// Runs the benchmark and prints acked updates per second.
pub async fn run(clients: usize, updates: usize) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let store = std::sync::Arc::new(weft_core::store::SqliteStore::open(data.path())?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(weft_server::serve(
        listener,
        store.clone(),
        weft_server::Config {
            rate_messages: 0,
            rate_bytes: 0,
            ..Default::default()
        },
        async {
            let _ = stopped.await;
        },
    ));
    let rate = against(&addr.to_string(), clients, updates).await?;
    println!(
        "durable writes: {} updates from {clients} clients acked at {rate:.0} acked updates/s ({} SQLite commits)",
        clients * updates,
        store.batches()
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Runs the writers against a weft-server at `addr`; acked updates per second.
pub async fn against(addr: &str, clients: usize, updates: usize) -> anyhow::Result<f64> {
    against_all(&[addr.to_owned()], clients, updates).await
}

/// Like [`against`], with the writers spread over several nodes in turn.
pub async fn against_all(addrs: &[String], clients: usize, updates: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let addr = addrs[c % addrs.len()].clone();
        tasks.push(tokio::spawn(async move {
            let (ws, _) =
                tokio_tungstenite::connect_async(format!("ws://{addr}/durable-{c}?ack=1")).await?;
            let (mut sink, mut stream) = ws.split();
            let doc = Doc::new();
            let text = doc.get_or_insert_text("t");
            let mut session = ClientSession::new(doc.clone());
            for f in session.open() {
                sink.send(Message::Binary(f)).await?;
            }
            let mut sent = 0usize;
            while session.acked() < updates as u64 + 1 {
                while sent < updates && session.unacked() < 64 {
                    let u = {
                        let mut txn = doc.transact_mut();
                        text.push(&mut txn, "x");
                        txn.encode_update_v1()
                    };
                    sink.send(Message::Binary(session.local_update(u))).await?;
                    sent += 1;
                }
                let Some(msg) = stream.next().await else {
                    anyhow::bail!("closed")
                };
                if let Message::Binary(b) = msg? {
                    for r in session.handle(&b)?.reply {
                        sink.send(Message::Binary(r)).await?;
                    }
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((clients * updates) as f64 / started.elapsed().as_secs_f64())
}
