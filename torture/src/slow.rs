//! Campaign 6: slow consumers. One busy document (writers pasting 200
//! characters 10 times a second each) and a probe measuring how long an
//! edit takes to reach another client; then 1,000 readers join that never
//! read (small receive buffers, from ten loopback addresses so the
//! per-address connect limit is not what stops them). The server's
//! memory must stay bounded, and the probe's p99 within 2× of the run
//! without them. All at the server's defaults.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::SinkExt;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use weft_core::client::ClientSession;
use weft_e2e::{Client, ServerProcess};
use yrs::{Doc, ReadTxn, Transact};

use crate::observe::{metric, rss_kib};
use crate::rounds::{RoundResult, Seeds, Tally};
use crate::Campaign;

const WRITERS: usize = 5;

/// A full run's size, or the short one's (`./scripts/test` runs it on a
/// debug build: 100 readers, 8 s phases, and `--unload-after 2s` so the
/// unloaded figure comes without a 30 s wait).
#[derive(Debug, Clone, Copy)]
struct Size {
    readers: usize,
    phase: Duration,
    server_args: &'static [&'static str],
    /// Others' p99 with the stuck readers may be at most this many times
    /// the p99 without them. 2× in a full run; a debug build's p99 over a
    /// few seconds swings 1.5× from run to run on its own, so the short
    /// run only catches a server that stalls on a stuck reader.
    p99_bound: f64,
}

const FULL: Size = Size {
    readers: 1000,
    phase: Duration::from_secs(15),
    server_args: &[],
    p99_bound: 2.0,
};
const SHORT: Size = Size {
    readers: 100,
    phase: Duration::from_secs(8),
    server_args: &["--unload-after", "2s"],
    p99_bound: 5.0,
};
/// What one writer pastes each time.
const PASTE: usize = 200;

pub async fn run(seeds: Seeds, short: bool) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::Slow);
    let size = if short { SHORT } else { FULL };
    for (round, seed) in seeds.each() {
        let r = slow_round(round, size).await;
        tally.record(round, seed, r);
    }
    Ok(tally.finish())
}

/// Writers pasting into `url` until the returned handles are aborted.
async fn busy(url: &str) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let mut c = Client::synced(url).await?;
        tasks.push(tokio::spawn(async move {
            let paste = format!("[{w}]{}", "x".repeat(PASTE));
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                if c.insert(&paste).await.is_err() || c.drain().await.is_err() {
                    return;
                }
            }
        }));
    }
    Ok(tasks)
}

/// Probe round trips for `phase`: A appends a marker, B waits for it.
async fn probe(
    url: &str,
    tag: &str,
    phase: Duration,
    server_pid: u32,
    peak: &mut u64,
) -> Result<Vec<f64>> {
    let mut a = Client::synced(url).await?;
    let mut b = Client::synced(url).await?;
    let mut ms = Vec::new();
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < phase {
        let marker = format!("<{tag}{i}>");
        let t = Instant::now();
        a.insert(&marker).await?;
        b.wait_for(|c| c.text().ends_with(&marker) || c.text().contains(&marker))
            .await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        a.drain().await?;
        *peak = (*peak).max(rss_kib(server_pid)?);
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(ms)
}

fn p99(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(|a, b| a.total_cmp(b));
    ms[((ms.len() as f64 - 1.0) * 0.99).round() as usize]
}

/// A reader that joins and then never reads again.
async fn stuck_reader(addr: SocketAddr, i: usize, path: &str) -> Result<impl Sized> {
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    socket.bind(format!("127.0.0.{}:0", 2 + i % 10).parse()?)?;
    let tcp = socket.connect(addr).await?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}{path}"), tcp).await?;
    for frame in ClientSession::new(Doc::new()).open() {
        ws.send(Message::Binary(frame)).await?;
    }
    Ok(ws)
}

async fn slow_round(round: usize, size: Size) -> Result<RoundResult> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), size.server_args).await?;
    let pid = server.child.id().context("no pid")?;
    let doc = format!("slow-{round}");
    let url = server.url(&doc);
    let writers = busy(&url).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut peak_alone = 0;
    let alone = probe(&url, "a", size.phase, pid, &mut peak_alone).await?;

    let before = rss_kib(pid)?;
    let mut readers = Vec::new();
    for i in 0..size.readers {
        readers.push(stuck_reader(server.addr, i, &format!("/{doc}")).await?);
    }
    let mut peak = before;
    let crowded = probe(&url, "c", size.phase, pid, &mut peak).await?;
    let closed = metric(server.addr, "weft_slow_consumers_total").await?;
    let doc_kib = {
        let c = Client::synced(&url).await?;
        let state = c
            .doc()
            .transact()
            .encode_state_as_update_v1(&Default::default());
        state.len() / 1024
    };
    drop(readers);
    for w in writers {
        w.abort();
    }
    // Every connection gone (the metric counts ours too), then memory.
    let until = Instant::now() + Duration::from_secs(30);
    while metric(server.addr, "weft_connections").await? > 0.0 {
        if Instant::now() > until {
            bail!("connections still open 30 s after every client left");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = rss_kib(pid)?;
    // The document unloads (after the default 30 s in a full run), and the
    // server hands freed memory back to the system then.
    let until = Instant::now() + Duration::from_secs(60);
    while metric(server.addr, "weft_docs_loaded").await? > 0.0 {
        if Instant::now() > until {
            bail!("the document still loaded 60 s after every client left");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let unloaded = rss_kib(pid)?;
    server.terminate().await?;

    let (p_alone, p_crowded) = (p99(alone), p99(crowded));
    let note = format!(
        "p99 {p_alone:.1} ms alone, {p_crowded:.1} ms with {} stuck readers ({:.2}×); server RSS {} MiB before them, peak {} MiB ({} KiB per stuck reader; the document is {doc_kib} KiB), {} MiB once all had left, {} MiB once the document unloaded; {closed} closed as too slow",
        size.readers,
        p_crowded / p_alone,
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / size.readers as u64,
        after / 1024,
        unloaded / 1024
    );
    if p_crowded > size.p99_bound * p_alone.max(1.0) {
        bail!("others' p99 grew more than {}×: {note}", size.p99_bound);
    }
    Ok(RoundResult {
        checked: size.readers as u64,
        lost: 0,
        mid_stream: false,
        note,
    })
}
