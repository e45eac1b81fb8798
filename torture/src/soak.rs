//! Campaign 7: soak, run by hand (`--campaign soak`, 30 minutes by
//! default; `--minutes` to change it). 200 clients over 20 documents,
//! each connecting, editing every 0.5–2 s with acks for 5–60 s, leaving
//! and coming back after 0–3 s, at random. Every three minutes the
//! clients move on to 20 new documents (as people move between
//! documents), so the old ones unload and memory measures the server, not
//! documents that keep growing. Every 10 s the server's RSS,
//! open file descriptors, threads, live tasks (`weft_tasks`), connections
//! and loaded documents are sampled. After a warm-up (the first third)
//! they must be flat: the last third's mean within 10% (and 5 MiB for
//! RSS) of the middle third's. At the end every acked token is looked for.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use weft_e2e::{http_get, Client, ServerProcess};

use crate::observe::parse_metric;
use crate::rounds::{RoundResult, Seeds, Tally};
use crate::writers::tokens;
use crate::Campaign;

const CLIENTS: usize = 200;
const DOCS: usize = 20;
const SAMPLE: Duration = Duration::from_secs(10);
/// How long clients stay on one set of documents.
const EPOCH: Duration = Duration::from_secs(180);

fn doc_name(w: usize, epoch: u64) -> String {
    format!("soak-{}-{epoch}", w % DOCS)
}

/// One sample of the server's resources.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at_s: f64,
    rss_kib: f64,
    fds: f64,
    threads: f64,
    tasks: f64,
    connections: f64,
    docs: f64,
}

pub async fn run(seeds: Seeds, minutes: u64) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::Soak);
    for (round, seed) in seeds.each() {
        let r = soak_round(seed, Duration::from_secs(minutes * 60), &mut tally.notes).await;
        tally.record(round, seed, r);
    }
    Ok(tally.finish())
}

async fn sample(server: &ServerProcess, pid: u32, start: Instant) -> Result<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as f64;
    let (_, body) = http_get(server.addr, "/metrics", &[]).await?;
    Ok(Sample {
        at_s: start.elapsed().as_secs_f64(),
        rss_kib: field("VmRSS:"),
        fds,
        threads: field("Threads:"),
        tasks: parse_metric(&body, "weft_tasks").unwrap_or(f64::NAN),
        connections: parse_metric(&body, "weft_connections").unwrap_or(f64::NAN),
        docs: parse_metric(&body, "weft_docs_loaded").unwrap_or(f64::NAN),
    })
}

/// One client's life: sessions of edits with acks, gaps between them.
/// Returns the tokens the server acked.
async fn client(
    w: usize,
    seed: u64,
    base: String,
    start: Instant,
    until: Instant,
) -> Vec<(usize, usize)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ w as u64);
    let mut acked = Vec::new();
    let mut next = 0;
    while Instant::now() < until {
        let session_end = Instant::now() + Duration::from_secs(rng.random_range(5..60));
        let epoch = start.elapsed().as_secs() / EPOCH.as_secs();
        let url = format!("{base}/{}?ack=1", doc_name(w, epoch));
        if let Ok(mut c) = Client::synced(&url).await {
            let first = next;
            let _ = async {
                while Instant::now() < session_end.min(until) {
                    c.insert(&format!("[{w}:{next}]")).await?;
                    next += 1;
                    let pause = Duration::from_millis(rng.random_range(500..2000));
                    let _ = tokio::time::timeout(pause, async {
                        loop {
                            c.step().await?;
                        }
                        #[allow(unreachable_code)]
                        Ok::<(), anyhow::Error>(())
                    })
                    .await;
                }
                // Wait for the last acks before leaving.
                let sent = (next - first) as u64;
                c.wait_for(|c| c.session.acked() > sent).await
            }
            .await;
            let done = (c.session.acked() as usize).saturating_sub(1);
            acked.extend((first..first + done.min(next - first)).map(|i| (w, i)));
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..3000))).await;
    }
    acked
}

fn mean(xs: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    xs.iter().map(&f).sum::<f64>() / xs.len().max(1) as f64
}

/// Least-squares slope of `f` over time, per hour.
fn slope_per_hour(xs: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    let n = xs.len() as f64;
    let (mt, mv) = (mean(xs, |s| s.at_s), mean(xs, &f));
    let cov: f64 = xs.iter().map(|s| (s.at_s - mt) * (f(s) - mv)).sum();
    let var: f64 = xs.iter().map(|s| (s.at_s - mt).powi(2)).sum();
    if n < 2.0 || var == 0.0 {
        return 0.0;
    }
    cov / var * 3600.0
}

/// The samples as a table in `notes`, and what grew after the warm-up.
fn judge_flat(samples: &[Sample], notes: &mut Vec<String>) -> Vec<String> {
    let third = samples.len() / 3;
    let (middle, last) = (&samples[third..2 * third], &samples[2 * third..]);
    let warm = &samples[third..];
    let mut flat = Vec::new();
    let mut table = String::from("| after | RSS | fds | threads | tasks | connections | docs loaded |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in samples.iter().step_by(6) {
        table.push_str(&format!(
            "| {:.0} min | {:.1} MiB | {} | {} | {} | {} | {} |\n",
            s.at_s / 60.0,
            s.rss_kib / 1024.0,
            s.fds,
            s.threads,
            s.tasks,
            s.connections,
            s.docs
        ));
    }
    notes.push(format!(
        "samples every {SAMPLE:?}, one a minute shown:\n\n{table}"
    ));
    for (name, f, slack) in [
        (
            "RSS (KiB)",
            (|s: &Sample| s.rss_kib) as fn(&Sample) -> f64,
            5.0 * 1024.0,
        ),
        ("fds", |s: &Sample| s.fds, 0.0),
        ("tasks", |s: &Sample| s.tasks, 0.0),
    ] {
        let (m, l) = (mean(middle, f), mean(last, f));
        let slope = slope_per_hour(warm, f);
        notes.push(format!(
            "{name}: middle third mean {m:.0}, last third mean {l:.0}, slope after warm-up {slope:+.0} per hour"
        ));
        if l > m * 1.10 && l - m > slack {
            flat.push(format!("{name} grew from {m:.0} to {l:.0}"));
        }
    }
    flat
}

async fn soak_round(seed: u64, length: Duration, notes: &mut Vec<String>) -> Result<RoundResult> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), &[]).await?;
    let pid = server.child.id().context("no pid")?;
    let start = Instant::now();
    let until = start + length;
    let base = format!("ws://{}", server.addr);
    let mut tasks = Vec::new();
    for w in 0..CLIENTS {
        tasks.push(tokio::spawn(client(w, seed, base.clone(), start, until)));
        // Spread the first connections over 10 s.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let samples = Arc::new(Mutex::new(Vec::new()));
    while Instant::now() < until {
        let s = sample(&server, pid, start).await?;
        println!(
            "soak {:>5.0} s: RSS {:.1} MiB, {} fds, {} threads, {} tasks, {} connections, {} docs",
            s.at_s,
            s.rss_kib / 1024.0,
            s.fds,
            s.threads,
            s.tasks,
            s.connections,
            s.docs
        );
        samples.lock().unwrap().push(s);
        tokio::time::sleep(SAMPLE).await;
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await?);
    }
    // Every acked token, read back after a kill -9.
    let addr = server.addr.to_string();
    server.kill9().await?;
    let server = ServerProcess::start_on(&addr, dir.path(), &[]).await?;
    let mut found = HashSet::new();
    for epoch in 0..=length.as_secs() / EPOCH.as_secs() {
        for d in 0..DOCS {
            let c = Client::synced(&server.url(&doc_name(d, epoch))).await?;
            found.extend(tokens(&c.text()));
        }
    }
    server.terminate().await?;
    let lost = acked.iter().filter(|t| !found.contains(t)).count() as u64;

    let samples = samples.lock().unwrap().clone();
    let flat = judge_flat(&samples, notes);
    let note = format!(
        "{CLIENTS} clients on {DOCS} documents for {} min; {} acked tokens checked; {}",
        length.as_secs() / 60,
        acked.len(),
        if flat.is_empty() {
            "flat after warm-up".to_owned()
        } else {
            flat.join(", ")
        }
    );
    if !flat.is_empty() {
        anyhow::bail!("not flat: {note}");
    }
    Ok(RoundResult {
        checked: acked.len() as u64,
        lost,
        mid_stream: false,
        note,
    })
}
