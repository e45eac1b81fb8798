//! Campaign 4: store faults. Acked writers and an engine session write to
//! one document while the store stops taking writes:
//! - `disk-full`: another file takes every free byte of a small tmpfs;
//! - `read-only`: the kernel remounts the data directory's ext4
//!   read-only after an error, as on a failing disk;
//! - `locked`: another process holds SQLite's exclusive lock;
//! - `postgres`: PostgreSQL stopped (`-m immediate`) and started again;
//! - `redis`: Redis stopped and started again under two nodes.
//!
//! For each: `/healthz` must fail while it lasts, a metric must count it,
//! the engine must show its edit unsaved (Redis aside: PostgreSQL still
//! saves), and once it is cleared the server must take writes again by
//! itself (for `read-only` the filesystem has to be unmounted and
//! checked, so the server is restarted). At the end every server is
//! `kill -9`ed and every acked token must be read back.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::Rng;
use tokio::io::{AsyncBufReadExt, BufReader};
use weft_core::engine::{DocUrl, Session, SessionOptions};
use weft_e2e::services::{Postgres, Redis};
use weft_e2e::{http_get, Client, ServerProcess};
use yrs::Text;

use crate::disks::{Ext4, Tmpfs};
use crate::observe::metric;
use crate::rounds::{rng, RoundResult, Seeds, Tally};
use crate::writers::{missing, Writers};
use crate::Campaign;

/// The faults, one per round in turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    DiskFull,
    ReadOnly,
    Locked,
    Postgres,
    Redis,
}

pub const FAULTS: [Fault; 5] = [
    Fault::DiskFull,
    Fault::ReadOnly,
    Fault::Locked,
    Fault::Postgres,
    Fault::Redis,
];

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::DiskFull => "disk-full",
            Fault::ReadOnly => "read-only",
            Fault::Locked => "locked",
            Fault::Postgres => "postgres",
            Fault::Redis => "redis",
        }
    }

    /// The metric that counts this fault's failures.
    fn metric(self) -> &'static str {
        match self {
            Fault::Redis => "weft_stream_errors_total",
            _ => "weft_store_errors_total",
        }
    }
}

/// How long `/healthz` may take to notice, and to recover.
const NOTICE: Duration = Duration::from_secs(20);
const RECOVER: Duration = Duration::from_secs(30);

/// Writers in each round (fewer than the crash campaign's: here the
/// fault, not the load, is the point).
const WRITERS: usize = 10;

pub async fn run(seeds: Seeds) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::Faults);
    for (round, seed) in seeds.each() {
        let fault = FAULTS[round % FAULTS.len()];
        let r = fault_round(fault, seed).await;
        tally.record(round, seed, r);
    }
    Ok(tally.finish())
}

/// Everything one round runs on.
struct Rig {
    nodes: Vec<Option<ServerProcess>>,
    addrs: Vec<SocketAddr>,
    args: Vec<String>,
    dirs: Vec<std::path::PathBuf>,
    pg: Option<Postgres>,
    redis: Option<Redis>,
    tmpfs: Option<Tmpfs>,
    ext4: Option<Ext4>,
    lock: Option<Lock>,
    _tmp: Vec<tempfile::TempDir>,
}

impl Rig {
    async fn start(fault: Fault) -> Result<Self> {
        let mut rig = Rig {
            nodes: Vec::new(),
            addrs: Vec::new(),
            args: Vec::new(),
            dirs: Vec::new(),
            pg: None,
            redis: None,
            tmpfs: None,
            ext4: None,
            lock: None,
            _tmp: Vec::new(),
        };
        let mut count = 1;
        match fault {
            Fault::DiskFull => {
                let t = Tmpfs::mount("64m")?;
                rig.dirs.push(t.path().to_owned());
                rig.tmpfs = Some(t);
            }
            Fault::ReadOnly => {
                let e = Ext4::mount(64)?;
                rig.dirs.push(e.path().to_owned());
                rig.ext4 = Some(e);
            }
            Fault::Locked => {}
            Fault::Postgres | Fault::Redis => {
                let pg = Postgres::start_durable().await?;
                rig.args = vec!["--store".into(), pg.url()];
                rig.pg = Some(pg);
                if fault == Fault::Redis {
                    let r = Redis::start().await?;
                    rig.args.extend(["--redis".into(), r.url()]);
                    rig.redis = Some(r);
                    count = 2;
                }
            }
        }
        while rig.dirs.len() < count {
            let t = tempfile::tempdir()?;
            rig.dirs.push(t.path().to_owned());
            rig._tmp.push(t);
        }
        for i in 0..count {
            let node = ServerProcess::start(&rig.dirs[i], &rig.arg_refs()).await?;
            rig.addrs.push(node.addr);
            rig.nodes.push(Some(node));
        }
        Ok(rig)
    }

    fn arg_refs(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    fn url(&self, i: usize, doc: &str) -> String {
        format!("ws://{}/{doc}", self.addrs[i % self.addrs.len()])
    }

    /// Starts the fault.
    async fn inject(&mut self, fault: Fault) -> Result<()> {
        match fault {
            Fault::DiskFull => self.tmpfs.as_ref().context("no tmpfs")?.fill(),
            Fault::ReadOnly => self.ext4.as_ref().context("no ext4")?.break_it(),
            Fault::Locked => {
                self.lock = Some(Lock::take(&self.dirs[0].join("weft.db")).await?);
                Ok(())
            }
            Fault::Postgres => self.pg.as_mut().context("no pg")?.stop_immediate().await,
            Fault::Redis => self.redis.as_mut().context("no redis")?.stop().await,
        }
    }

    /// Ends the fault; true if the server had to be restarted for it.
    async fn clear(&mut self, fault: Fault) -> Result<bool> {
        match fault {
            Fault::DiskFull => self.tmpfs.as_ref().context("no tmpfs")?.free()?,
            Fault::ReadOnly => {
                // The kernel keeps it read-only while files are open on it.
                self.kill_all().await?;
                self.ext4.as_ref().context("no ext4")?.repair()?;
                self.start_node(0).await?;
                return Ok(true);
            }
            Fault::Locked => self.lock = None,
            Fault::Postgres => self.pg.as_mut().context("no pg")?.start_again().await?,
            Fault::Redis => {
                self.redis
                    .as_mut()
                    .context("no redis")?
                    .start_again()
                    .await?
            }
        }
        Ok(false)
    }

    async fn kill_all(&mut self) -> Result<()> {
        for n in self.nodes.iter_mut() {
            if let Some(n) = n.take() {
                n.kill9().await?;
            }
        }
        Ok(())
    }

    async fn start_node(&mut self, i: usize) -> Result<()> {
        let node =
            ServerProcess::start_on(&self.addrs[i].to_string(), &self.dirs[i], &self.arg_refs())
                .await?;
        self.nodes[i] = Some(node);
        Ok(())
    }
}

/// Another process holding SQLite's write lock on `db` until dropped.
// Held for its drop: `kill_on_drop` ends the process and its lock.
struct Lock(#[allow(dead_code)] tokio::process::Child);

impl Lock {
    async fn take(db: &std::path::Path) -> Result<Self> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("lock-child")
            .arg(db)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("the lock took too long")??;
        if line.as_deref() != Some("locked") {
            bail!("the lock process said {line:?}");
        }
        Ok(Lock(child))
    }
}

/// The lock process: an exclusive transaction on `db`, held until killed.
pub fn lock_child(db: &std::path::Path) -> Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.execute_batch("BEGIN EXCLUSIVE")?;
    println!("locked");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

async fn health(addr: SocketAddr) -> Result<(u16, String)> {
    tokio::time::timeout(Duration::from_secs(10), http_get(addr, "/healthz", &[]))
        .await
        .context("/healthz did not answer")?
}

/// Waits until `/healthz` answers `want`; its body.
async fn health_becomes(addr: SocketAddr, want: u16, within: Duration) -> Result<String> {
    let until = Instant::now() + within;
    loop {
        let (status, body) = health(addr).await.unwrap_or((0, String::new()));
        if status == want {
            return Ok(body);
        }
        if Instant::now() > until {
            bail!(
                "/healthz stayed {status} for {within:?} (wanted {want}): {}",
                body.trim()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn append(s: &Session, token: &str) {
    let t = s.doc().get_or_insert_text("t");
    s.transact(|txn| {
        let len = t.len(txn);
        t.insert(txn, len, token);
    });
}

/// Kills every server, starts one and looks for the acked tokens.
async fn read_back(
    rig: &mut Rig,
    doc: &str,
    acked: &[usize],
) -> Result<(u64, u64, Option<String>)> {
    rig.kill_all().await?;
    rig.start_node(0).await?;
    let reader = Client::synced(&rig.url(0, doc)).await?;
    let found = missing(&reader.text(), acked);
    rig.kill_all().await?;
    Ok(found)
}

/// Clients on the two nodes see each other's edits again.
async fn nodes_agree(rig: &Rig, doc: &str) -> Result<()> {
    let mut a = Client::synced(&rig.url(0, doc)).await?;
    let mut b = Client::synced(&rig.url(1, doc)).await?;
    a.insert("[x:0]").await?;
    b.wait_for(|c| c.text().contains("[x:0]")).await?;
    b.insert("[x:1]").await?;
    a.wait_for(|c| c.text().contains("[x:1]")).await?;
    Ok(())
}

// This is long because it is the campaign's checklist in the order a reader
// checks it: fault, /healthz, unsaved, metric, cleared, recovered, read back.
async fn fault_round(fault: Fault, seed: u64) -> Result<RoundResult> {
    let mut rng = rng(seed);
    let mut rig = Rig::start(fault).await?;
    let doc = format!("fault-{}", fault.name());
    let urls: Vec<String> = (0..WRITERS).map(|w| rig.url(w, &doc)).collect();
    let group = Writers::start(&urls).await?;
    // The engine writes as writer number WRITERS, so its tokens are checked too.
    let mut opts = SessionOptions::new(DocUrl::parse(&rig.url(0, &doc))?);
    opts.max_backoff = Duration::from_millis(200);
    let engine = Arc::new(Session::open(opts).await?);
    engine.wait_synced(Duration::from_secs(10)).await?;
    append(&engine, &format!("[{WRITERS}:0]"));
    tokio::time::sleep(Duration::from_millis(rng.random_range(200..800))).await;
    let addr = rig.addrs[0];
    let errors_before = metric(addr, fault.metric()).await?;

    rig.inject(fault).await?;
    // Watched from the moment it starts, while the engine edits.
    let health = tokio::spawn(async move {
        let t0 = Instant::now();
        health_becomes(addr, 503, NOTICE)
            .await
            .map(|b| (b, t0.elapsed()))
    });
    // The engine edits until one stays unsaved: on a full disk SQLite goes
    // on writing into pages it already has (the WAL is reused after each
    // checkpoint, compaction frees pages), so those edits are stored, and
    // acked, for real; pastes that make the document grow need new pages.
    let pad = "d".repeat(if fault == Fault::DiskFull {
        256 * 1024
    } else {
        0
    });
    let mut engine_edits = 1;
    let until = Instant::now() + NOTICE;
    let during = loop {
        append(&engine, &format!("[{WRITERS}:{engine_edits}]{pad}"));
        engine_edits += 1;
        // Time for the server to try the write and say it could not.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let c = engine.counts();
        if fault == Fault::Redis || c.pending > 0 {
            break c;
        }
        if Instant::now() > until {
            bail!("the engine's edits were all saved {NOTICE:?} into the fault");
        }
    };
    let (body, noticed) = health.await??;
    let acks_during = group.acked();
    // A locked database fails a write only after SQLite's busy timeout.
    let until = Instant::now() + NOTICE;
    let errors = loop {
        let n = metric(addr, fault.metric()).await? - errors_before;
        if n >= 1.0 {
            break n;
        }
        if Instant::now() > until {
            bail!(
                "{} did not count the fault within {NOTICE:?}",
                fault.metric()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let t1 = Instant::now();
    let restarted = rig.clear(fault).await?;
    health_becomes(addr, 200, RECOVER).await?;
    let recovered = t1.elapsed();
    engine
        .wait_saved(RECOVER)
        .await
        .context("the engine's edits were not saved after the fault cleared")?;
    let closed = group.closed();
    if !closed.is_empty() {
        bail!(
            "the server closed writers while it was up: {}",
            closed.join(", ")
        );
    }
    let counts = if restarted {
        group.ended().await
    } else {
        // Acks resume without a restart.
        let until = Instant::now() + RECOVER;
        let base = group.acked().max(acks_during);
        while group.acked() <= base {
            if Instant::now() > until {
                bail!("no write acked within {RECOVER:?} of the fault clearing (writers closed: {:?})", group.closed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        group.stop().await
    };
    if fault == Fault::Redis {
        nodes_agree(&rig, &doc).await?;
    }
    engine.close().await;

    // Nothing acked is lost: every server dies at once and one is read.
    let mut acked: Vec<usize> = counts.iter().map(|c| c.1).collect();
    acked.push(engine_edits);
    let (checked, lost, first) = read_back(&mut rig, &doc, &acked).await?;
    let mut note = format!(
        "{}: /healthz 503 after {} ms (\"{}\"), {errors} counted, engine unsaved {}, 200 again {} ms after clearing{}",
        fault.name(),
        noticed.as_millis(),
        body.lines().find(|l| !l.ends_with(": ok")).unwrap_or_default(),
        during.pending,
        recovered.as_millis(),
        if restarted { " (restarted)" } else { "" }
    );
    if let Some(first) = first {
        note.push_str(&format!("; first missing {first}"));
    }
    Ok(RoundResult {
        checked,
        lost,
        mid_stream: true,
        note,
    })
}
