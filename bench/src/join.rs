//! How long the engine takes to open a document that holds the final state
//! of an editing trace: from the server (empty local store) and from the
//! local store alone (no server).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use weft_core::doc_id::DocId;
use weft_core::engine::{DocUrl, Session, SessionOptions};
use weft_core::store::{self, SqliteStore, Store};
use yrs::{ReadTxn, StateVector, Transact};

use crate::summary;

/// Runs the join benchmark and prints the numbers.
pub async fn run(trace: &Path, runs: usize, no_deflate: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let (doc, text) = crate::trace::replay(trace)?;
    let update = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    println!(
        "trace {}: {} chars, state {} bytes, replayed in {:.1} s",
        trace.display(),
        text.len(),
        update.len(),
        started.elapsed().as_secs_f64()
    );

    // The server, on its SQLite store, holding the document.
    let data = tempfile::tempdir()?;
    let server_store = Arc::new(SqliteStore::open(data.path())?);
    store::append(
        &*server_store,
        &DocId::new("paper")?,
        Bytes::from(update.clone()),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = weft_server::Config {
        listen: addr.to_string(),
        unload_after: std::time::Duration::from_secs(3600),
        rate_connects: 0,
        no_deflate,
        ..Default::default()
    };
    wire_size(&update, no_deflate);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(weft_server::serve(listener, server_store, config, async {
        let _ = stopped.await;
    }));
    let url = DocUrl::parse(&format!("ws://{addr}/paper"))?;

    // First join loads the doc into the server; time joins after that.
    let mut from_server = Vec::new();
    for i in 0..=runs {
        let t = Instant::now();
        let s = Session::open(SessionOptions::new(url.clone())).await?;
        s.wait_synced(std::time::Duration::from_secs(30)).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            weft_core::convert::to_text(s.doc()) == format!("{text}\n"),
            "joined doc differs"
        );
        s.close().await;
        if i > 0 {
            from_server.push(ms);
        }
    }

    let from_local = open_locally(&url, update, &text, runs).await?;

    let (p50, p95) = summary(from_server);
    println!("join from server (loopback, warm server): median {p50:.1} ms, p95 {p95:.1} ms over {runs} runs");
    let (p50, p95) = summary(from_local);
    println!("open from local store (no server):        median {p50:.1} ms, p95 {p95:.1} ms over {runs} runs");
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Opens the document from a local SQLite copy holding `update`, with no
/// server, `runs` times: milliseconds per open.
async fn open_locally(
    url: &DocUrl,
    update: Vec<u8>,
    text: &str,
    runs: usize,
) -> anyhow::Result<Vec<f64>> {
    let local = tempfile::tempdir()?;
    let local_store: Arc<dyn Store> = Arc::new(SqliteStore::open(local.path())?);
    store::append(&*local_store, &url.local_key()?, Bytes::from(update)).await?;
    let mut from_local = Vec::new();
    for _ in 0..runs {
        let mut opts = SessionOptions::new(url.clone());
        opts.store = local_store.clone();
        opts.connect = false;
        let t = Instant::now();
        let s = Session::open(opts).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            weft_core::convert::to_text(s.doc()) == format!("{text}\n"),
            "local doc differs"
        );
        drop(s);
        from_local.push(ms);
    }
    Ok(from_local)
}

/// What the first sync weighs on the wire, and what compressing it costs,
/// with the server's permessage-deflate at its defaults.
fn wire_size(update: &[u8], no_deflate: bool) {
    use weft_core::deflate::{negotiate, Outbound, Role, LEVEL};
    if no_deflate {
        println!(
            "first sync on the wire: {} bytes (--no-deflate)",
            update.len()
        );
        return;
    }
    let params = negotiate("permessage-deflate").expect("the default offer");
    let mut frame = vec![0x82, 127];
    frame.extend_from_slice(&(update.len() as u64).to_be_bytes());
    frame.extend_from_slice(update);
    let mut times = Vec::new();
    let mut wire = Vec::new();
    for _ in 0..10 {
        wire.clear();
        let t = Instant::now();
        Outbound::new(Role::Server, &params, 1024, LEVEL).push(&frame, &mut wire);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "first sync on the wire: {} bytes, {} with permessage-deflate ({:.1}x smaller); compressing it takes {:.1} ms (median of 10)",
        frame.len(),
        wire.len(),
        frame.len() as f64 / wire.len() as f64,
        times[5].as_secs_f64() * 1e3
    );
}
