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

use serde::{Deserialize, Serialize};
use yrs::{ReadTxn, StateVector, Transact};

use servers::{Kind, Programs};
use workloads::{DocsMemory, Join, Leak, Step};

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
    /// Measure nothing: write the report from this saved `--json` result
    /// (after a change to the report's wording; the numbers stay as run).
    #[arg(long, requires = "doc")]
    pub report_from: Option<PathBuf>,
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
    /// 8. Memory per loaded document.
    Docs,
}

/// Everything measured for one server in one round. Long workloads run in
/// the first rounds only (`Plan::long_rounds`); the rest are `None` then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Which server.
    pub server: String,
    /// Which round (servers take turns within a round).
    pub round: usize,
    /// 1. Fan-out steps, up to the first past 50 ms p99 (empty: not run).
    pub fanout: Vec<Step>,
    /// 2. 100 clients × 2 edits/s.
    pub moderate: Step,
    /// 3. (connections, RSS KiB) (empty: not run).
    pub idle: Vec<(usize, u64)>,
    /// 3. KiB per idle connection.
    pub idle_kib_per_conn: Option<f64>,
    /// 4. RSS before/peak/after 1k docs came and went.
    pub leak: Option<Leak>,
    /// 5. Join times (none for the baseline, which holds no state).
    pub join: Option<Join>,
    /// 6. Acked updates/s with `--rate-messages 0` (weft only: no peer acks).
    pub durable_per_s: Option<f64>,
    /// 6. What the same writers meet at weft's defaults.
    pub durable_at_defaults: Option<String>,
    /// 7. ms until 99% of clients resynced after a restart.
    pub storm_p99_ms: Option<f64>,
    /// 7. Every client's resync time, ms, sorted (for the plot).
    pub storm_ms: Vec<f64>,
    /// Clients in the storm.
    pub storm_clients: usize,
    /// 8. Memory per loaded document.
    pub docs: Option<DocsMemory>,
    /// Share of CPU time stolen by the hypervisor during the round, in %:
    /// how much other guests disturbed it.
    pub steal_pct: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// Every server's rounds, in the order run.
    pub rounds: Vec<Measured>,
    /// The raw relay at 1.5× weft's sustained fan-out rate.
    pub headroom: Option<Headroom>,
    /// What weft's per-IP connect limit does to one address.
    pub connect_limit: Option<String>,
    /// Rounds for short and long workloads.
    pub repeats: (usize, usize),
}

/// The load generator's headroom check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Headroom {
    /// weft's median sustained rate, edits/s.
    pub weft_edits_per_s: f64,
    /// The relay's step at 1.5× that.
    pub relay: Step,
}

struct Plan {
    rates: Vec<f64>,
    step_secs: f64,
    moderate_secs: f64,
    idle: Vec<usize>,
    leak_docs: usize,
    leak_settle: Duration,
    /// The same for weft-server, whose default `--unload-after` keeps a
    /// doc 30 s after its last client left.
    weft_leak_settle: Duration,
    storm: usize,
    durable: (usize, usize),
    docs: usize,
    /// How long the documents' holders stay quiet before RSS is read.
    docs_quiet: Duration,
    /// Rounds of the short workloads (moderate, join, durable) and of the
    /// long ones (fan-out, idle, leak, storm, docs).
    rounds: usize,
    long_rounds: usize,
    /// Cold joins per round (each after a restart).
    cold_joins: usize,
}

impl Plan {
    /// How long the leak workload waits for `kind` to unload.
    fn settle(&self, kind: Kind) -> Duration {
        if kind == Kind::Weft {
            self.weft_leak_settle
        } else {
            self.leak_settle
        }
    }

    fn new(short: bool, smoke: bool) -> Self {
        if smoke {
            Plan {
                rates: vec![50.0],
                step_secs: 1.0,
                moderate_secs: 1.0,
                idle: vec![20, 40],
                leak_docs: 10,
                leak_settle: Duration::from_secs(2),
                // The smoke run checks the workload runs, not what it finds.
                weft_leak_settle: Duration::from_secs(2),
                storm: 20,
                durable: (2, 50),
                docs: 3,
                docs_quiet: Duration::from_secs(1),
                rounds: 1,
                long_rounds: 1,
                cold_joins: 1,
            }
        } else if short {
            Plan {
                rates: vec![
                    100.0, 400.0, 1600.0, 3200.0, 6400.0, 12800.0, 19200.0, 25600.0,
                ],
                step_secs: 3.0,
                moderate_secs: 5.0,
                idle: vec![500, 1000, 1500],
                leak_docs: 300,
                leak_settle: Duration::from_secs(5),
                weft_leak_settle: Duration::from_secs(35),
                storm: 500,
                durable: (20, 500),
                docs: 20,
                docs_quiet: Duration::from_secs(25),
                rounds: 2,
                long_rounds: 1,
                cold_joins: 2,
            }
        } else {
            Plan {
                rates: vec![
                    100.0, 400.0, 1600.0, 3200.0, 4800.0, 6400.0, 9600.0, 12800.0, 16000.0,
                    19200.0, 25600.0,
                ],
                step_secs: 4.0,
                moderate_secs: 10.0,
                // Below the default 10,000 connections.
                idle: vec![2000, 4000, 6000],
                leak_docs: 1000,
                leak_settle: Duration::from_secs(10),
                weft_leak_settle: Duration::from_secs(35),
                storm: 5000,
                durable: (50, 2000),
                docs: 100,
                docs_quiet: Duration::from_secs(25),
                rounds: 5,
                long_rounds: 3,
                cold_joins: 4,
            }
        }
    }
}

/// Runs the comparison: round after round, every server in turn within a
/// round (A B C A B C …), so drift of the machine hits all alike.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    if let (Some(saved), Some(doc)) = (&opts.report_from, &opts.doc) {
        let run: Run = serde_json::from_str(&std::fs::read_to_string(saved)?)?;
        report::write(doc, &run, opts.short || opts.smoke, opts.clients)?;
        eprintln!(
            "tables and plots from {} written into {}",
            saved.display(),
            doc.display()
        );
        return Ok(());
    }
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
        weft_extra: Vec::new(),
    };
    let state = join_state(&opts)?;
    let crowd = if opts.smoke { 5 } else { 100 };

    if !opts.only.is_empty() {
        return only(&opts, &plan, &programs, &kinds, &state, crowd).await;
    }
    let mut run = Run {
        rounds: Vec::new(),
        headroom: None,
        connect_limit: None,
        repeats: (plan.rounds, plan.long_rounds),
    };
    if kinds.contains(&Kind::Weft) {
        let dir = tempfile::tempdir()?;
        let srv = programs.start(Kind::Weft, dir.path(), None).await?;
        let said = workloads::connect_limit(&srv, 2000).await;
        eprintln!("    weft from one address: {said}");
        run.connect_limit = Some(said);
        srv.stop().await?;
    }
    for round in 0..plan.rounds {
        for &kind in &kinds {
            let long = round < plan.long_rounds;
            let m = measure(&opts, &plan, &programs, kind, &state, crowd, round, long).await?;
            run.rounds.push(m);
        }
    }
    if kinds.contains(&Kind::Weft) && kinds.contains(&Kind::Baseline) {
        run.headroom = headroom(&opts, &plan, &programs, &run.rounds).await?;
    }
    if let Some(parent) = opts.json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&opts.json, serde_json::to_string_pretty(&run)?)?;
    eprintln!("results in {}", opts.json.display());
    if let Some(doc) = &opts.doc {
        report::write(doc, &run, opts.short || opts.smoke, opts.clients)?;
        eprintln!("tables and plots written into {}", doc.display());
    }
    Ok(())
}

/// The raw relay at 1.5× the rate weft sustained (its median over rounds):
/// if the relay holds it, the load generator was not what stopped weft.
async fn headroom(
    opts: &Options,
    plan: &Plan,
    programs: &Programs,
    rounds: &[Measured],
) -> anyhow::Result<Option<Headroom>> {
    let rates: Vec<f64> = rounds
        .iter()
        .filter(|m| m.server == Kind::Weft.name())
        .filter_map(|m| report::sustained(m).map(|s| s.edits_per_s))
        .collect();
    let Some(weft) = report::median(&rates) else {
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let srv = programs.start(Kind::Baseline, dir.path(), None).await?;
    let relay =
        workloads::open_loop(&srv, "headroom", opts.clients, weft * 1.5, plan.step_secs).await?;
    srv.stop().await?;
    eprintln!(
        "    headroom: relay at {:.0} edits/s: p99 {:.2} ms, delivered {:.4}",
        weft * 1.5,
        relay.latency.p99,
        relay.delivered
    );
    Ok(Some(Headroom {
        weft_edits_per_s: weft,
        relay,
    }))
}

/// Every workload against one server, each part on a fresh one. It is long
/// because it is the round's script: one block per workload, in order.
#[allow(clippy::too_many_arguments)]
async fn measure(
    opts: &Options,
    plan: &Plan,
    programs: &Programs,
    kind: Kind,
    state: &[u8],
    crowd: usize,
    round: usize,
    long: bool,
) -> anyhow::Result<Measured> {
    eprintln!("== {} (round {})", kind.name(), round + 1);
    let steal0 = servers::steal_ticks();
    let dir = tempfile::tempdir()?;
    let fresh = |n: &str| dir.path().join(n);
    let srv = programs.start(kind, &fresh("a"), None).await?;
    let fanout = if long {
        workloads::fanout(&srv, opts.clients, &plan.rates, plan.step_secs).await?
    } else {
        Vec::new()
    };
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

    let (mut idle, mut leak, mut storm, mut docs) = (Vec::new(), None, None, None);
    let mut storm_ms = Vec::new();
    if long {
        let srv = programs.start(kind, &fresh("b"), None).await?;
        idle = workloads::idle_memory(&srv, &plan.idle).await?;
        srv.stop().await?;

        let srv = programs.start(kind, &fresh("c"), None).await?;
        let l = workloads::leak(&srv, plan.leak_docs, plan.settle(kind)).await?;
        eprintln!("    leak: {} → {} → {} KiB", l.before, l.peak, l.after);
        leak = Some(l);
        srv.stop().await?;

        if kind.syncs() {
            let srv = programs.start(kind, &fresh("e"), None).await?;
            let d = workloads::docs_memory(&srv, state, plan.docs, plan.docs_quiet).await?;
            eprintln!("    docs: {:.0} KiB per loaded doc", d.kib_per_doc);
            docs = Some(d);
            srv.stop().await?;
        }
    }

    let srv = programs.start(kind, &fresh("f"), None).await?;
    let (join, srv) = if kind.syncs() {
        let (join, srv) = workloads::join(programs, srv, state, crowd, plan.cold_joins).await?;
        eprintln!("    join: {join:?}");
        (Some(join), srv)
    } else {
        (None, srv)
    };
    let srv = if long {
        let (ms, srv) = workloads::reconnect_storm(programs, srv, plan.storm).await?;
        let p99 = workloads::quantile(&ms, 0.99);
        eprintln!("    storm: 99% resynced after {p99:.0} ms");
        storm = Some(p99);
        storm_ms = ms;
        srv
    } else {
        srv
    };
    srv.stop().await?;

    let (mut durable, mut durable_at_defaults) = (None, None);
    if kind == Kind::Weft {
        let (writers, updates) = plan.durable;
        let srv = programs.start(kind, &fresh("d"), None).await?;
        let said = match crate::durable::against(&srv.addr, writers, updates).await {
            Ok(r) => format!("{r:.0} acked updates/s"),
            Err(e) => format!("{e:#}"),
        };
        srv.stop().await?;
        eprintln!("    durable at defaults: {said}");
        durable_at_defaults = Some(said);
        // The writers send as fast as acks return, past the default 200
        // messages/s per connection: the one setting changed.
        let srv = programs
            .with_weft_flags(&["--rate-messages", "0"])
            .start(kind, &fresh("d2"), None)
            .await?;
        let r = crate::durable::against(&srv.addr, writers, updates).await?;
        srv.stop().await?;
        eprintln!("    durable (--rate-messages 0): {r:.0} acked updates/s");
        durable = Some(r);
    }
    let steal1 = servers::steal_ticks();
    let steal_pct = 100.0 * (steal1.0 - steal0.0) as f64 / (steal1.1 - steal0.1).max(1) as f64;
    eprintln!("    CPU stolen by the hypervisor: {steal_pct:.1}%");
    Ok(Measured {
        server: kind.name().into(),
        round,
        steal_pct,
        idle_kib_per_conn: (!idle.is_empty()).then(|| workloads::slope(&idle)),
        fanout,
        moderate,
        idle,
        leak,
        join,
        durable_per_s: durable,
        durable_at_defaults,
        storm_p99_ms: storm,
        storm_ms,
        storm_clients: plan.storm,
        docs,
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
                    let l = workloads::leak(&srv, plan.leak_docs, plan.settle(kind)).await?;
                    eprintln!("    leak: {} → {} → {} KiB", l.before, l.peak, l.after);
                    srv
                }
                Workload::Join => {
                    let (join, srv) =
                        workloads::join(programs, srv, state, crowd, plan.cold_joins).await?;
                    eprintln!("    join: {join:?}");
                    srv
                }
                Workload::Storm => {
                    let (ms, srv) = workloads::reconnect_storm(programs, srv, plan.storm).await?;
                    let p99 = workloads::quantile(&ms, 0.99);
                    eprintln!("    storm: 99% resynced after {p99:.0} ms");
                    srv
                }
                Workload::Docs if kind.syncs() => {
                    let d = workloads::docs_memory(&srv, state, plan.docs, plan.docs_quiet).await?;
                    eprintln!("    docs: {d:?}");
                    srv
                }
                Workload::Docs => srv,
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
