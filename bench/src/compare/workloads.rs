//! The seven workloads. Each takes a running server and returns numbers;
//! nothing here asserts anything.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::future::join_all;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::client::{Clock, LoadClient};
use super::servers::{Programs, Running};

const SYNC_WAIT: Duration = Duration::from_secs(60);

/// Connects `n` clients to `doc` (in batches, as a crowd arriving would).
pub async fn crowd(
    srv: &Running,
    doc: &str,
    n: usize,
    first: u32,
    clock: Option<Arc<Clock>>,
) -> Result<Vec<LoadClient>> {
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let batch = join_all(chunk.iter().map(|&i| {
            let clock = clock.clone();
            async move {
                let (url, framing) = srv.url(doc).await?;
                let mut c = LoadClient::connect(&url, framing, first + i as u32, clock).await?;
                if srv.kind.syncs() {
                    c.wait_synced(SYNC_WAIT).await?;
                } else {
                    c.assume_synced();
                }
                Ok::<_, anyhow::Error>(c)
            }
        }))
        .await;
        for c in batch {
            out.push(c?);
        }
    }
    Ok(out)
}

async fn close_all(clients: Vec<LoadClient>) -> Vec<super::client::Received> {
    join_all(clients.into_iter().map(|c| c.close()))
        .await
        .into_iter()
        .filter_map(|r| r.ok())
        .collect()
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Worst.
    pub max: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            p50: ms(0.5),
            p99: ms(0.99),
            p999: ms(0.999),
            max: h.max() as f64 / 1000.0,
        }
    }
}

/// One rate of an open-loop run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Edits per second offered (all clients together).
    pub edits_per_s: f64,
    /// Deliveries per second offered (edits × other clients).
    pub deliveries_per_s: f64,
    /// Share of deliveries that arrived by the end of the step plus 2 s.
    pub delivered: f64,
    /// Delivery latency, from the edit's scheduled time to its arrival.
    pub latency: Latency,
    /// Server CPU use over the step, in % of one core.
    pub cpu_pct: f64,
}

/// Open loop: `clients` on one doc, `rate` edits/s in all for `secs`, each
/// edit from the next client in turn, timed from when it was due (so a
/// slow server cannot hide latency by slowing the sender).
pub async fn open_loop(
    srv: &Running,
    doc: &str,
    clients: usize,
    rate: f64,
    secs: f64,
) -> Result<Step> {
    let total = (rate * secs).round() as usize;
    let clock = Clock::new(total + 1);
    let cs = crowd(srv, doc, clients, 0, Some(clock.clone())).await?;
    let cpu0 = srv.cpu_seconds();
    let begin = clock.now() + 20_000_000;
    let interval = 1e9 / rate;
    let mut next = 0usize;
    while next < total {
        let now = clock.now();
        // Send everything that is due, then sleep a tick: the tokio timer's
        // resolution is 1 ms, the schedule's is finer.
        while next < total {
            let due = begin + (next as f64 * interval) as u64;
            if due > now {
                break;
            }
            clock.sent[next].store(due.max(1), std::sync::atomic::Ordering::Relaxed);
            let _ = cs[next % clients].edit(next as u64);
            next += 1;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let expected = (total * (clients - 1)) as u64;
    // Let stragglers arrive, then count. CPU is averaged over the same span.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = (clock.now() - begin) as f64 / 1e9;
    let cpu = srv.cpu_seconds() - cpu0;
    let got = close_all(cs).await;
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut count = 0;
    for r in got {
        if let Some(l) = r.latency {
            h.add(l)?;
        }
        count += r.count;
    }
    Ok(Step {
        edits_per_s: rate,
        deliveries_per_s: rate * (clients - 1) as f64,
        delivered: count as f64 / expected.max(1) as f64,
        latency: Latency::of(&h),
        cpu_pct: 100.0 * cpu / wall.max(1e-9),
    })
}

/// Workload 1: raise the rate until p99 passes 50 ms or deliveries go
/// missing in two steps in a row (on a shared virtual machine one step can
/// fail by a neighbour's doing); returns every step run.
pub async fn fanout(srv: &Running, clients: usize, rates: &[f64], secs: f64) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut failed = 0;
    for &rate in rates {
        let step = open_loop(srv, &format!("fanout-{rate}"), clients, rate, secs).await?;
        eprintln!(
            "    fan-out {:>6.0} edits/s: p99 {:>8.2} ms, delivered {:.4}, cpu {:.0}%",
            rate, step.latency.p99, step.delivered, step.cpu_pct
        );
        let over = step.latency.p99 > 50.0 || step.delivered < 0.999;
        steps.push(step);
        failed = if over { failed + 1 } else { 0 };
        if failed == 2 {
            break;
        }
    }
    Ok(steps)
}

/// Workloads 3: RSS at each count of idle connections (10 per doc).
pub async fn idle_memory(srv: &Running, counts: &[usize]) -> Result<Vec<(usize, u64)>> {
    let mut held = Vec::new();
    let mut points = vec![(0, srv.rss_kib())];
    for &target in counts {
        while held.len() < target {
            let n = (target - held.len()).min(500);
            let start = held.len();
            let batch = join_all((start..start + n).map(|i| async move {
                crowd(srv, &format!("idle-{}", i / 10), 1, i as u32, None)
                    .await
                    .map(|mut v| v.remove(0))
            }))
            .await;
            for c in batch {
                held.push(c?);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        points.push((target, srv.rss_kib()));
        eprintln!("    {target} idle connections: RSS {} KiB", srv.rss_kib());
    }
    close_all(held).await;
    Ok(points)
}

/// Least-squares slope of RSS over connections, in KiB per connection,
/// from the first measured count on (the zero point holds warm-up costs).
pub fn slope(points: &[(usize, u64)]) -> f64 {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|&(n, r)| (n as f64, r as f64))
        .collect();
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let num: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let den: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    num / den
}

/// Workload 4 result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Leak {
    /// RSS before, KiB.
    pub before: u64,
    /// RSS with every doc open, KiB.
    pub peak: u64,
    /// RSS after everyone left and docs unloaded, KiB.
    pub after: u64,
}

/// Workload 4: `docs` docs, each written once, then everyone leaves.
/// A tenth as many come and go first, for every server alike, so "before"
/// is a warm server: code paged in, caches and thread pools started. What
/// remains after is what the docs left behind, not first-use costs.
pub async fn leak(srv: &Running, docs: usize, settle: Duration) -> Result<Leak> {
    close_all(open_written(srv, "warm", docs / 10).await?).await;
    tokio::time::sleep(settle).await;
    let before = srv.rss_kib();
    let held = open_written(srv, "leak", docs).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peak = srv.rss_kib();
    close_all(held).await;
    tokio::time::sleep(settle).await;
    Ok(Leak {
        before,
        peak,
        after: srv.rss_kib(),
    })
}

/// `docs` docs, each with one client that wrote once.
async fn open_written(srv: &Running, prefix: &str, docs: usize) -> Result<Vec<LoadClient>> {
    let mut held = Vec::new();
    for chunk in (0..docs).collect::<Vec<_>>().chunks(200) {
        let batch = join_all(chunk.iter().map(|&i| async move {
            let mut c = crowd(srv, &format!("{prefix}-{i}"), 1, i as u32, None).await?;
            let c = c.remove(0);
            c.write("some text, so the document has content")?;
            Ok::<_, anyhow::Error>(c)
        }))
        .await;
        for c in batch {
            held.push(c?);
        }
    }
    Ok(held)
}

/// Workload 5 result, in milliseconds from connecting to holding the state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Join {
    /// One joiner, doc in memory (median of 10).
    pub warm_one: f64,
    /// 100 joiners at once, doc in memory: p50 and slowest.
    pub warm_crowd: (f64, f64),
    /// One joiner right after a restart (from storage), one sample per
    /// restart; empty if it does not persist.
    pub cold: Vec<f64>,
    /// 100 joiners at once right after a restart.
    pub cold_crowd: Option<(f64, f64)>,
}

/// Times `n` simultaneous joins; each must receive at least `min_len`
/// bytes of state (so an empty doc cannot pass for a fast join).
async fn time_joins(srv: &Running, doc: &str, n: usize, min_len: usize) -> Result<Vec<f64>> {
    let runs = join_all((0..n).map(|i| async move {
        // Timed from asking for the doc: y-sweet loads it while issuing
        // the URL (`POST /doc/:id/auth`), so that counts too.
        let t = Instant::now();
        let (url, framing) = srv.url(doc).await?;
        let mut c = LoadClient::connect(&url, framing, 50_000 + i as u32, None).await?;
        let len = c.wait_synced(SYNC_WAIT).await?;
        anyhow::ensure!(
            len >= min_len,
            "{}: joined with {len} bytes of state, expected {min_len}",
            srv.kind.name()
        );
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        c.close().await?;
        Ok::<_, anyhow::Error>(ms)
    }))
    .await;
    let mut out: Vec<f64> = runs.into_iter().collect::<Result<_>>()?;
    out.sort_by(|a, b| a.total_cmp(b));
    Ok(out)
}

/// Workload 5: join a doc holding `state` (the trace's final state).
pub async fn join(
    programs: &Programs,
    srv: Running,
    state: &[u8],
    crowd_size: usize,
    cold_joins: usize,
) -> Result<(Join, Running)> {
    // Servers that garbage-collect deleted content send less (y-sweet
    // about 83%); half still rules out an empty or partial doc.
    let min_len = state.len() / 2;
    let (url, framing) = srv.url("paper").await?;
    let loader = LoadClient::connect(&url, framing, 40_000, None).await?;
    loader.send_update(state.to_vec())?;
    // The holder keeps the doc loaded on servers without storage.
    let mut holder = crowd(&srv, "paper", 1, 40_001, None).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    loader.close().await?;
    let mut warm = Vec::new();
    for _ in 0..10 {
        warm.extend(time_joins(&srv, "paper", 1, min_len).await?);
    }
    warm.sort_by(|a, b| a.total_cmp(b));
    let crowd_times = time_joins(&srv, "paper", crowd_size, min_len).await?;
    let mut result = Join {
        warm_one: warm[warm.len() / 2],
        warm_crowd: (
            crowd_times[crowd_times.len() / 2],
            *crowd_times.last().unwrap(),
        ),
        cold: Vec::new(),
        cold_crowd: None,
    };
    close_all(std::mem::take(&mut holder)).await;
    let mut srv = srv;
    if srv.kind.persists() {
        // Let debounced writers persist before the restart (y-sweet
        // checkpoints every 10 s; weft has acked everything already).
        let wait = if srv.kind == super::servers::Kind::YSweet {
            12
        } else {
            2
        };
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let (kind, port) = (srv.kind, srv.addr.rsplit(':').next().unwrap().parse()?);
        for _ in 0..cold_joins {
            let data = srv.stop().await?;
            srv = programs.start(kind, &data, Some(port)).await?;
            result
                .cold
                .extend(time_joins(&srv, "paper", 1, min_len).await?);
        }
        let data = srv.stop().await?;
        srv = programs.start(kind, &data, Some(port)).await?;
        let many = time_joins(&srv, "paper", crowd_size, min_len).await?;
        result.cold_crowd = Some((many[many.len() / 2], *many.last().unwrap()));
    }
    Ok((result, srv))
}

/// Workload 7: `clients` spread over 10 docs; restart the server; each
/// client's time to resync, from when the new process accepts connections
/// (sorted).
pub async fn reconnect_storm(
    programs: &Programs,
    srv: Running,
    clients: usize,
) -> Result<(Vec<f64>, Running)> {
    let mut held = Vec::new();
    for d in 0..10 {
        let mut c = crowd(
            &srv,
            &format!("storm-{d}"),
            clients / 10,
            (d * 10_000) as u32,
            None,
        )
        .await?;
        c[0].write("content to resync")?;
        held.append(&mut c);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (kind, port) = (srv.kind, srv.addr.rsplit(':').next().unwrap().parse()?);
    let data = srv.stop().await?;
    close_all(held).await;
    let srv = programs.start(kind, &data, Some(port)).await?;
    let t = Instant::now();
    let times = join_all((0..clients).map(|i| {
        let srv = &srv;
        let t = &t;
        async move {
            let doc = format!("storm-{}", i / (clients / 10));
            loop {
                if let Ok((url, framing)) = srv.url(&doc).await {
                    if let Ok(mut c) =
                        LoadClient::connect(&url, framing, 90_000 + i as u32, None).await
                    {
                        if !srv.kind.syncs() {
                            c.assume_synced();
                        }
                        if c.wait_synced(Duration::from_secs(10)).await.is_ok() {
                            let ms = t.elapsed().as_secs_f64() * 1000.0;
                            return (ms, c);
                        }
                    }
                }
                // A real client backs off; 50-150 ms keeps the storm a storm.
                tokio::time::sleep(Duration::from_millis(50 + rand::random_range(0..100))).await;
            }
        }
    }))
    .await;
    let mut ms: Vec<f64> = times.iter().map(|(m, _)| *m).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    close_all(times.into_iter().map(|(_, c)| c).collect()).await;
    Ok((ms, srv))
}

/// The `q` quantile of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Workload 8 result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocsMemory {
    /// Documents loaded.
    pub docs: usize,
    /// RSS before any was loaded, KiB.
    pub before: u64,
    /// RSS with every one loaded and held by a quiet client, KiB.
    pub after: u64,
    /// (after - before) / docs.
    pub kib_per_doc: f64,
}

/// Workload 8: `docs` copies of `state` (the trace's whole history), each
/// written by one client that then stays connected and quiet for `quiet`
/// before RSS is read. Two checkers then join the first and last copy, so a
/// server that dropped the state cannot pass for a small one.
pub async fn docs_memory(
    srv: &Running,
    state: &[u8],
    docs: usize,
    quiet: Duration,
) -> Result<DocsMemory> {
    let before = srv.rss_kib();
    let mut held = Vec::new();
    for chunk in (0..docs).collect::<Vec<_>>().chunks(10) {
        let batch = join_all(chunk.iter().map(|&i| async move {
            let mut c = crowd(srv, &format!("copy-{i}"), 1, 60_000 + i as u32, None).await?;
            let c = c.remove(0);
            c.send_update(state.to_vec())?;
            Ok::<_, anyhow::Error>(c)
        }))
        .await;
        for c in batch {
            held.push(c?);
        }
    }
    // Every server gets the same quiet spell before RSS is read: the
    // holders stay connected and say nothing, as readers of a document do.
    tokio::time::sleep(quiet).await;
    let after = srv.rss_kib();
    for i in [0, docs - 1] {
        let got = time_joins(srv, &format!("copy-{i}"), 1, state.len() / 2).await;
        got.map_err(|e| anyhow::anyhow!("copy-{i} was not held: {e:#}"))?;
    }
    close_all(held).await;
    Ok(DocsMemory {
        docs,
        before,
        after,
        kib_per_doc: after.saturating_sub(before) as f64 / docs as f64,
    })
}

/// What weft's per-IP connect limit does to clients that all come from one
/// address and name no other: connects (each closed at once) until one is
/// refused, at most `max`.
pub async fn connect_limit(srv: &Running, max: usize) -> String {
    let started = Instant::now();
    for i in 0..max {
        let url = format!("ws://{}/one-address-{}", srv.addr, i % 10);
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((mut ws, _)) => {
                let _ = ws.close(None).await;
            }
            Err(e) => {
                return format!(
                    "connect {} refused after {i} in {:.1} s: {e}",
                    i + 1,
                    started.elapsed().as_secs_f64()
                )
            }
        }
    }
    format!("{max} connects, none refused")
}
