//! Campaign 1: crashes under write load. Writers append acked tokens,
//! the server is `kill -9`ed at a random moment, restarted, and every
//! acked token is looked for. In cluster mode a random node is killed, or
//! PostgreSQL itself is stopped with `-m immediate`.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rand::Rng;
use weft_e2e::services::{Postgres, Redis};
use weft_e2e::{Client, ServerProcess};

use crate::rounds::{rng, RoundResult, Seeds, Tally};
use crate::writers::{missing, read_back_all, Writers, Written};
use crate::Campaign;

/// How long writers run before the fault at most, and at least.
const BEFORE_KILL_MS: std::ops::Range<u64> = 100..1500;

/// How long a node may take to show every acked update after a fault.
const CATCH_UP: Duration = Duration::from_secs(30);

/// How long nodes may take to write again once PostgreSQL is back.
const RECOVERY: Duration = Duration::from_secs(30);

/// SQLite: one server and one data directory for all rounds, so later
/// rounds also crash over the earlier rounds' data.
pub async fn sqlite(seeds: Seeds, writers: usize) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::Crash);
    let dir = tempfile::tempdir()?;
    let mut server = Some(ServerProcess::start(dir.path(), &[]).await?);
    let addr = server.as_ref().unwrap().addr.to_string();
    let mut written = Vec::new();
    for (round, seed) in seeds.each() {
        let r = sqlite_round(
            &mut server,
            &addr,
            dir.path(),
            round,
            seed,
            writers,
            &mut written,
        )
        .await;
        tally.record(round, seed, r);
        if server.is_none() {
            bail!("the server did not start again after round {round}");
        }
    }
    // Once more, and read every round's document from the restarted server.
    server.take().unwrap().kill9().await?;
    let server = ServerProcess::start_on(&addr, dir.path(), &[]).await?;
    read_back_all(&mut tally, &written, "after one more kill", |doc| {
        server.url(doc)
    })
    .await;
    server.terminate().await?;
    Ok(tally.finish())
}

async fn sqlite_round(
    server: &mut Option<ServerProcess>,
    addr: &str,
    dir: &Path,
    round: usize,
    seed: u64,
    writers: usize,
    written: &mut Vec<Written>,
) -> Result<RoundResult> {
    let mut rng = rng(seed);
    let doc = format!("crash-{round}-{seed:016x}");
    let url = server.as_ref().context("no server")?.url(&doc);
    let group = Writers::start(&vec![url; writers]).await?;
    let wait = rng.random_range(BEFORE_KILL_MS);
    tokio::time::sleep(Duration::from_millis(wait)).await;
    server.take().context("no server")?.kill9().await?;
    let counts = group.ended().await;
    *server = Some(ServerProcess::start_on(addr, dir, &[]).await?);
    let reader = Client::synced(&server.as_ref().unwrap().url(&doc)).await?;
    judge(
        &reader.text(),
        &counts,
        format!("killed after {wait} ms"),
        doc,
        written,
    )
}

/// Three nodes on one PostgreSQL (fsync on) and one Redis.
struct Cluster {
    pg: Postgres,
    _redis: Redis,
    args: Vec<String>,
    dirs: [tempfile::TempDir; 3],
    nodes: Vec<Option<ServerProcess>>,
    addrs: Vec<String>,
    node_kills: usize,
    pg_kills: usize,
}

impl Cluster {
    async fn start() -> Result<Self> {
        let pg = Postgres::start_durable().await?;
        let redis = Redis::start().await?;
        let args = vec![
            "--store".to_owned(),
            pg.url(),
            "--redis".to_owned(),
            redis.url(),
        ];
        let dirs = [
            tempfile::tempdir()?,
            tempfile::tempdir()?,
            tempfile::tempdir()?,
        ];
        let mut c = Cluster {
            pg,
            _redis: redis,
            args,
            dirs,
            nodes: Vec::new(),
            addrs: Vec::new(),
            node_kills: 0,
            pg_kills: 0,
        };
        for i in 0..3 {
            let node = ServerProcess::start(c.dirs[i].path(), &c.arg_refs()).await?;
            c.addrs.push(node.addr.to_string());
            c.nodes.push(Some(node));
        }
        Ok(c)
    }

    fn arg_refs(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    fn url(&self, node: usize, doc: &str) -> String {
        format!("ws://{}/{doc}", self.addrs[node % 3])
    }

    async fn kill(&mut self, k: usize) -> Result<()> {
        self.nodes[k].take().context("node missing")?.kill9().await
    }

    async fn restart(&mut self, k: usize) -> Result<()> {
        let node =
            ServerProcess::start_on(&self.addrs[k], self.dirs[k].path(), &self.arg_refs()).await?;
        self.nodes[k] = Some(node);
        Ok(())
    }
}

/// Cluster mode: three nodes on one PostgreSQL and one Redis. Each round
/// kills a random node, or (one round in four) PostgreSQL.
pub async fn cluster(seeds: Seeds, writers: usize) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::CrashCluster);
    let mut c = Cluster::start().await?;
    let mut written = Vec::new();
    for (round, seed) in seeds.each() {
        let r = cluster_round(&mut c, round, seed, writers, &mut written).await;
        tally.record(round, seed, r);
        for k in 0..3 {
            if c.nodes[k].is_none() {
                c.restart(k).await?;
            }
        }
    }
    tally.notes.push(format!(
        "{} rounds killed a node, {} stopped PostgreSQL (immediate)",
        c.node_kills, c.pg_kills
    ));
    // Every node killed at once; a new node reads each document from
    // PostgreSQL alone.
    for k in 0..3 {
        c.kill(k).await?;
    }
    let fresh_dir = tempfile::tempdir()?;
    let fresh = ServerProcess::start(fresh_dir.path(), &c.arg_refs()).await?;
    read_back_all(
        &mut tally,
        &written,
        "by a fresh node after all were killed",
        |doc| fresh.url(doc),
    )
    .await;
    fresh.terminate().await?;
    Ok(tally.finish())
}

async fn cluster_round(
    c: &mut Cluster,
    round: usize,
    seed: u64,
    writers: usize,
    written: &mut Vec<Written>,
) -> Result<RoundResult> {
    let mut rng = rng(seed);
    let doc = format!("crash-{round}-{seed:016x}");
    let urls: Vec<String> = (0..writers).map(|w| c.url(w, &doc)).collect();
    let group = Writers::start(&urls).await?;
    let wait = rng.random_range(BEFORE_KILL_MS);
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let (what, counts) = if rng.random_ratio(1, 4) {
        c.pg_kills += 1;
        c.pg.stop_immediate().await?;
        let down = rng.random_range(200..2000);
        tokio::time::sleep(Duration::from_millis(down)).await;
        let before = group.acked();
        c.pg.start_again().await?;
        // Acks again prove the nodes recovered by themselves.
        let back = std::time::Instant::now();
        while group.acked() <= before {
            if back.elapsed() > RECOVERY {
                bail!("no write acked within {RECOVERY:?} of PostgreSQL coming back");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let recovered = back.elapsed().as_millis();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let what = format!(
            "PostgreSQL stopped after {wait} ms for {down} ms, acks again {recovered} ms after it came back"
        );
        (what, group.stop().await)
    } else {
        c.node_kills += 1;
        let k = rng.random_range(0..3);
        c.kill(k).await?;
        // The other nodes' writers go on a little, then stop.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let counts = group.stop().await;
        c.restart(k).await?;
        (format!("node {k} killed after {wait} ms"), counts)
    };
    // Acked means durable, and on every node once it has caught up: the
    // node read is given time to (a node re-joins a document from
    // PostgreSQL after an outage), and the time it took is reported.
    let node = rng.random_range(0..3);
    let acked: Vec<usize> = counts.iter().map(|c| c.1).collect();
    let started = std::time::Instant::now();
    let text = loop {
        let text = Client::synced(&c.url(node, &doc)).await?.text();
        if missing(&text, &acked).1 == 0 || started.elapsed() > CATCH_UP {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let caught_up = started.elapsed().as_millis();
    let what = format!("{what}; read on node {node}, complete after {caught_up} ms");
    let mut r = judge(&text, &counts, what, doc.clone(), written)?;
    if r.lost > 0 {
        // Where the acked tokens are: each node, and PostgreSQL alone.
        for k in 0..3 {
            let text = Client::synced(&c.url(k, &doc)).await?.text();
            r.note
                .push_str(&format!("; node {k} lacks {}", missing(&text, &acked).1));
        }
        let dir = tempfile::tempdir()?;
        let fresh = ServerProcess::start(dir.path(), &c.arg_refs()).await?;
        let text = Client::synced(&fresh.url(&doc)).await?.text();
        r.note
            .push_str(&format!("; PostgreSQL lacks {}", missing(&text, &acked).1));
        fresh.kill9().await?;
    }
    Ok(r)
}

/// Counts the acked tokens missing from `text` and remembers the round.
fn judge(
    text: &str,
    counts: &[(usize, usize)],
    what: String,
    doc: String,
    written: &mut Vec<Written>,
) -> Result<RoundResult> {
    let acked: Vec<usize> = counts.iter().map(|c| c.1).collect();
    let (sent, total): (usize, usize) = (counts.iter().map(|c| c.0).sum(), acked.iter().sum());
    let (checked, lost, first) = missing(text, &acked);
    written.push(Written { doc, acked });
    let mut note = format!("{what}; {total} of {sent} acked, all read back");
    if let Some(first) = first {
        note = format!("{what}; {lost} of {total} acked missing, first {first}");
    }
    Ok(RoundResult {
        checked,
        lost,
        mid_stream: total < sent,
        note,
    })
}
