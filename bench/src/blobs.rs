//! Images and files: upload and download throughput of a 10 MiB file on
//! loopback, and the server's memory while 20 such uploads run at once.
//! A weft-server process (release build) at its shipped defaults on
//! SQLite; memory is that process's, sampled every 10 ms.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use sha2::{Digest, Sha256};

use crate::api::Conn;

/// The server's resident memory now, and its peak so far, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn random(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    bytes
}

/// Uploads `bytes` to `doc`; its address.
async fn upload(addr: std::net::SocketAddr, doc: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let mut conn = Conn::open(addr).await?;
    let path = format!("/api/v1/docs/{doc}/blobs");
    let ct = [("Content-Type", "application/octet-stream")];
    let (status, body) = conn.request("POST", &path, &ct, bytes).await?;
    ensure!(
        status == 201,
        "upload: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let blob: serde_json::Value = serde_json::from_slice(&body)?;
    Ok(blob["url"].as_str().context("no url")?.to_owned())
}

fn mib_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / took.as_secs_f64()
}

/// Runs the benchmark: `runs` timed uploads and downloads of `size`
/// bytes, then `parallel` uploads at once.
pub async fn run(server: PathBuf, size: usize, runs: usize, parallel: usize) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    std::env::set_var("WEFT_SERVER_BIN", &server);
    let proc = weft_e2e::ServerProcess::start(data.path(), &[]).await?;
    let pid = proc.child.id().context("no pid")?;
    let addr = proc.addr;
    println!(
        "weft-server {} at its defaults; {} MiB files",
        server.display(),
        size >> 20
    );

    let (mut up, mut down) = (Vec::new(), Vec::new());
    for n in 0..runs {
        let bytes = random(size);
        let started = Instant::now();
        let url = upload(addr, "bench", &bytes).await?;
        up.push(mib_per_s(size, started.elapsed()));
        let mut conn = Conn::open(addr).await?;
        let started = Instant::now();
        let (status, body) = conn.request("GET", &url, &[], &[]).await?;
        down.push(mib_per_s(size, started.elapsed()));
        ensure!(
            status == 200 && body.len() == size,
            "download {n}: {status}"
        );
        ensure!(
            Sha256::digest(&body) == Sha256::digest(&bytes),
            "download {n}: other bytes"
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (u, umin, umax) = median(&mut up);
    let (d, dmin, dmax) = median(&mut down);
    println!("upload:   median {u:.0} MiB/s (min {umin:.0}, max {umax:.0}) over {runs} runs");
    println!("download: median {d:.0} MiB/s (min {dmin:.0}, max {dmax:.0}) over {runs} runs");

    parallel_uploads(addr, pid, size, parallel).await?;
    proc.terminate().await?;
    Ok(())
}

/// `parallel` uploads of distinct `size`-byte files at once, the server's
/// (process `pid`) memory sampled every 10 ms.
async fn parallel_uploads(
    addr: std::net::SocketAddr,
    pid: u32,
    size: usize,
    parallel: usize,
) -> anyhow::Result<()> {
    // Distinct files, so none is deduplicated; made before the clock starts.
    let files: Vec<Vec<u8>> = (0..parallel).map(|_| random(size)).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, _) = memory_kib(pid);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(memory_kib(pid).0);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        })
    };
    let started = Instant::now();
    let uploads = files
        .iter()
        .enumerate()
        .map(|(i, bytes)| upload(addr, if i % 2 == 0 { "even" } else { "odd" }, bytes));
    for got in futures_util::future::join_all(uploads).await {
        got?;
    }
    let took = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await?;
    let (after, hwm) = memory_kib(pid);
    println!(
        "{parallel} uploads at once: {:.1} s, {:.0} MiB/s in all; server RSS {} MiB before, peak {} MiB (+{} MiB), {} MiB after; high-water mark {} MiB",
        took.as_secs_f64(),
        mib_per_s(size * parallel, took),
        before >> 10,
        peak >> 10,
        peak.saturating_sub(before) >> 10,
        after >> 10,
        hwm >> 10
    );
    Ok(())
}
