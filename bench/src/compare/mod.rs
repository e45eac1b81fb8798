//! `weft-bench compare`: every server in turn, the same workloads, one run.
//! Results go to a JSON file, and to tables and SVG plots in
//! docs/BENCHMARKS.md (between its `results` markers).
//!
//! Layout: [`client`] (the load client and its framings), [`servers`]
//! (starting and measuring each server), [`workloads`], [`report`].

pub mod client;
pub mod report;
pub mod servers;
pub mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use yrs::{ReadTxn, StateVector, Transact};

use servers::{Kind, Programs};
use workloads::{Join, Leak, Step};

/// Options of a comparison run.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// A run of a few minutes, with smaller counts and shorter steps.
    #[arg(long)]
    pub short: bool,
    /// A run of seconds that only checks the harness works (the test
    /// command's smoke test); its numbers mean nothing.
    #[arg(long, conflicts_with = "short")]
    pub smoke: bool,
    /// The weft-server binary.
    #[arg(long, default_value = "target/release/weft-server")]
    pub weft_server: PathBuf,
    /// The servers to run (default: all five).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub servers: Vec<Kind>,
    /// Clients on the fan-out and moderate-load doc.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Where the raw results go.
    #[arg(long, default_value = "target/bench/compare.json")]
    pub json: PathBuf,
    /// The Markdown file whose results section is rewritten (none: skip).
    #[arg(long)]
    pub doc: Option<PathBuf>,
    /// CPU to pin the servers to (the runner pins the load generator to another).
    #[arg(long)]
    pub server_cpu: Option<String>,
    /// The trace whose final state the join workload uses.
    #[arg(long, default_value = "../shared/traces/automerge-paper.json.gz")]
    pub trace: PathBuf,
    /// Only these workloads, printed and not written anywhere (for
    /// measuring one change quickly).
    #[arg(long, value_enum, value_delimiter = ',', conflicts_with = "doc")]
    pub only: Vec<Workload>,
}

/// A workload, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// 1. One doc, rising edit rates.
    Fanout,
    /// 2. 100 clients × 2 edits/s.
    Moderate,
    /// 3. RSS per idle connection.
    Idle,
    /// 4. RSS after 1k docs came and went.
    Leak,
    /// 5. Joining the trace's final state.
    Join,
    /// 7. Reconnecting after a restart.
    Storm,
    /// 6. Acked updates per second.
    Durable,
}

/// Everything measured for one server.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Which server.
    pub server: String,
    /// 1. Fan-out steps, up to the first past 50 ms p99.
    pub fanout: Vec<Step>,
    /// 2. 100 clients × 2 edits/s.
    pub moderate: Step,
    /// 3. (connections, RSS KiB).
    pub idle: Vec<(usize, u64)>,
    /// 3. KiB per idle connection.
    pub idle_kib_per_conn: f64,
    /// 4. RSS before/peak/after 1k docs came and went.
    pub leak: Leak,
    /// 5. Join times (none for the baseline, which holds no state).
    pub join: Option<Join>,
    /// 6. Acked updates per second (weft only: no peer acks durability).
    pub durable_per_s: Option<f64>,
    /// 7. ms until 99% of clients resynced after a restart.
    pub storm_p99_ms: f64,
    /// Clients in the storm.
    pub storm_clients: usize,
}

struct Plan {
    rates: Vec<f64>,
    step_secs: f64,
    moderate_secs: f64,
    idle: Vec<usize>,
    leak_docs: usize,
    leak_settle: Duration,
    storm: usize,
    durable: (usize, usize),
}

impl Plan {
    fn new(short: bool, smoke: bool) -> Self {
        if smoke {
            Plan {
                rates: vec![50.0],
                step_secs: 1.0,
                moderate_secs: 1.0,
                idle: vec![20, 40],
                leak_docs: 10,
                leak_settle: Duration::from_secs(2),
                storm: 20,
                durable: (2, 50),
            }
        } else if short {
            Plan {
                rates: vec![
                    100.0, 200.0, 400.0, 800.0, 1200.0, 1600.0, 2000.0, 2400.0, 3200.0, 4800.0,
                    6400.0, 9600.0, 12800.0, 19200.0, 25600.0,
                ],
                step_secs: 3.0,
                moderate_secs: 5.0,
                idle: vec![1000, 2000, 3000],
                leak_docs: 300,
                leak_settle: Duration::from_secs(5),
                storm: 300,
                durable: (20, 500),
            }
        } else {
            Plan {
                rates: vec![
                    100.0, 200.0, 400.0, 800.0, 1200.0, 1600.0, 2000.0, 2400.0, 2800.0, 3200.0,
                    4000.0, 4800.0, 6400.0, 8000.0, 9600.0, 12800.0, 16000.0, 19200.0, 25600.0,
                ],
                step_secs: 10.0,
                moderate_secs: 20.0,
                idle: (1..=10).map(|k| k * 1000).collect(),
                leak_docs: 1000,
                leak_settle: Duration::from_secs(15),
                storm: 2000,
                durable: (50, 2000),
            }
        }
    }
}

/// Runs the comparison.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let plan = Plan::new(opts.short, opts.smoke);
    let kinds = if opts.servers.is_empty() {
        vec![
            Kind::Weft,
            Kind::YWebsocket,
            Kind::Hocuspocus,
            Kind::YSweet,
            Kind::Baseline,
        ]
    } else {
        opts.servers.clone()
    };
    let root = std::env::current_dir()?;
    let programs = Programs {
        weft_server: opts.weft_server.clone(),
        root: root.clone(),
        bench: std::env::current_exe()?,
        pin: opts.server_cpu.clone(),
        services: None,
    };
    let state = join_state(&opts)?;
    let crowd = if opts.smoke { 5 } else { 100 };

    if !opts.only.is_empty() {
        return only(&opts, &plan, &programs, &kinds, &state, crowd).await;
    }
    let mut all = Vec::new();
    for kind in kinds {
        all.push(measure(&opts, &plan, &programs, kind, &state, crowd).await?);
    }
    if let Some(parent) = opts.json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&opts.json, serde_json::to_string_pretty(&all)?)?;
    eprintln!("results in {}", opts.json.display());
    if let Some(doc) = &opts.doc {
        report::write(doc, &all, opts.short || opts.smoke, opts.clients)?;
        eprintln!("tables and plots written into {}", doc.display());
    }
    Ok(())
}

/// Every workload against one server, each part on a fresh one.
async fn measure(
    opts: &Options,
    plan: &Plan,
    programs: &Programs,
    kind: Kind,
    state: &[u8],
    crowd: usize,
) -> anyhow::Result<Measured> {
    eprintln!("== {}", kind.name());
    let dir = tempfile::tempdir()?;
    let fresh = |n: &str| dir.path().join(n);
    let srv = programs.start(kind, &fresh("a"), None).await?;
    let fanout = workloads::fanout(&srv, opts.clients, &plan.rates, plan.step_secs).await?;
    let moderate = workloads::open_loop(
        &srv,
        "moderate",
        opts.clients,
        opts.clients as f64 * 2.0,
        plan.moderate_secs,
    )
    .await?;
    eprintln!("    moderate: p99 {:.2} ms", moderate.latency.p99);
    srv.stop().await?;

    let srv = programs.start(kind, &fresh("b"), None).await?;
    let idle = workloads::idle_memory(&srv, &plan.idle).await?;
    srv.stop().await?;

    let srv = programs.start(kind, &fresh("c"), None).await?;
    let leak = workloads::leak(&srv, plan.leak_docs, plan.leak_settle).await?;
    eprintln!(
        "    leak: {} → {} → {} KiB",
        leak.before, leak.peak, leak.after
    );
    let (join, srv) = if kind.syncs() {
        let (join, srv) = workloads::join(programs, srv, state, crowd).await?;
        eprintln!("    join: {join:?}");
        (Some(join), srv)
    } else {
        (None, srv)
    };
    let (storm, srv) = workloads::reconnect_storm(programs, srv, plan.storm).await?;
    eprintln!("    storm: 99% resynced after {storm:.0} ms");
    srv.stop().await?;

    let durable = if kind == Kind::Weft {
        let srv = programs.start(kind, &fresh("d"), None).await?;
        let r = crate::durable::against(&srv.addr, plan.durable.0, plan.durable.1).await?;
        srv.stop().await?;
        eprintln!("    durable: {r:.0} acked updates/s");
        Some(r)
    } else {
        None
    };
    Ok(Measured {
        server: kind.name().into(),
        idle_kib_per_conn: workloads::slope(&idle),
        fanout,
        moderate,
        idle,
        leak,
        join,
        durable_per_s: durable,
        storm_p99_ms: storm,
        storm_clients: plan.storm,
    })
}

/// The document joiners fetch: the trace's final state, or a small one in
/// smoke mode (the smoke test checks the workload, not the trace).
fn join_state(opts: &Options) -> anyhow::Result<Vec<u8>> {
    let doc = if opts.smoke {
        let doc = yrs::Doc::new();
        let t = doc.get_or_insert_text("t");
        yrs::Text::insert(&t, &mut doc.transact_mut(), 0, &"smoke ".repeat(200));
        doc
    } else {
        eprintln!("replaying {} for the join workload …", opts.trace.display());
        crate::trace::replay(&opts.trace)?.0
    };
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    Ok(state)
}

/// `--only`: the chosen workloads, each on a fresh server, printed.
async fn only(
    opts: &Options,
    plan: &Plan,
    programs: &Programs,
    kinds: &[Kind],
    state: &[u8],
    crowd: usize,
) -> anyhow::Result<()> {
    for &kind in kinds {
        eprintln!("== {}", kind.name());
        for &w in &opts.only {
            let dir = tempfile::tempdir()?;
            let srv = programs.start(kind, dir.path(), None).await?;
            let srv = match w {
                Workload::Fanout => {
                    let steps =
                        workloads::fanout(&srv, opts.clients, &plan.rates, plan.step_secs).await?;
                    let best = steps.iter().rev().find(|s| s.latency.p99 <= 50.0);
                    eprintln!("    sustained: {:?}", best.map(|s| s.deliveries_per_s));
                    srv
                }
                Workload::Moderate => {
                    let rate = opts.clients as f64 * 2.0;
                    let step = workloads::open_loop(
                        &srv,
                        "moderate",
                        opts.clients,
                        rate,
                        plan.moderate_secs,
                    )
                    .await?;
                    eprintln!("    moderate: {:?}", step.latency);
                    srv
                }
                Workload::Idle => {
                    let points = workloads::idle_memory(&srv, &plan.idle).await?;
                    eprintln!("    {:.2} KiB per connection", workloads::slope(&points));
                    srv
                }
                Workload::Leak => {
                    let l = workloads::leak(&srv, plan.leak_docs, plan.leak_settle).await?;
                    eprintln!("    leak: {} → {} → {} KiB", l.before, l.peak, l.after);
                    srv
                }
                Workload::Join => {
                    let (join, srv) = workloads::join(programs, srv, state, crowd).await?;
                    eprintln!("    join: {join:?}");
                    srv
                }
                Workload::Storm => {
                    let (ms, srv) = workloads::reconnect_storm(programs, srv, plan.storm).await?;
                    eprintln!("    storm: 99% resynced after {ms:.0} ms");
                    srv
                }
                Workload::Durable => {
                    let r =
                        crate::durable::against(&srv.addr, plan.durable.0, plan.durable.1).await?;
                    eprintln!("    durable: {r:.0} acked updates/s");
                    srv
                }
            };
            srv.stop().await?;
        }
    }
    Ok(())
}
