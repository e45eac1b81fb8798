//! `weft-bench cluster`: what cluster mode costs. The same weft-server on
//! its embedded SQLite, on PostgreSQL + Redis as one node, and as three
//! nodes with the clients spread over them; each on moderate-load latency,
//! durable acked writes, and fan-out throughput. Starts its own PostgreSQL
//! (fsync on, as in production) and Redis on loopback.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use weft_e2e::services::{Postgres, Redis};

use crate::compare::servers::{Kind, Programs};
use crate::compare::workloads::{self, Step};

/// Options of `weft-bench cluster`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// A run of a few minutes instead of about fifteen.
    #[arg(long)]
    pub short: bool,
    /// The weft-server binary.
    #[arg(long, default_value = "target/release/weft-server")]
    pub weft_server: PathBuf,
    /// CPU to pin the nodes to.
    #[arg(long)]
    pub server_cpu: Option<String>,
    /// The Markdown file whose `cluster` section is rewritten (none: skip).
    #[arg(long)]
    pub doc: Option<PathBuf>,
}

/// One configuration's numbers.
#[derive(Debug, Serialize)]
struct Row {
    setup: String,
    moderate: Step,
    durable_per_s: f64,
    fanout: Vec<Step>,
}

const START: &str = "<!-- cluster:start -->";
const END: &str = "<!-- cluster:end -->";

/// Runs the three setups in turn.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let (secs, rates, durable): (f64, Vec<f64>, (usize, usize)) = if opts.short {
        (
            5.0,
            vec![100.0, 200.0, 400.0, 800.0, 1200.0, 1600.0, 2400.0],
            (20, 500),
        )
    } else {
        (
            15.0,
            vec![
                100.0, 200.0, 400.0, 800.0, 1200.0, 1600.0, 2000.0, 2400.0, 3200.0, 4800.0, 6400.0,
                9600.0, 12800.0, 19200.0,
            ],
            (50, 2000),
        )
    };
    let mut rows = Vec::new();
    for kind in [Kind::Weft, Kind::WeftPostgres, Kind::WeftCluster] {
        eprintln!("== {}", kind.name());
        // Fresh services per setup, so none inherits another's tables.
        let pg = Postgres::start_durable().await?;
        let redis = Redis::start().await?;
        let programs = Programs {
            weft_server: opts.weft_server.clone(),
            root: std::env::current_dir()?,
            bench: std::env::current_exe()?,
            pin: opts.server_cpu.clone(),
            services: Some((pg.url(), redis.url())),
            weft_extra: Vec::new(),
        };
        let dir = tempfile::tempdir()?;
        let srv = programs.start(kind, &dir.path().join("a"), None).await?;
        let moderate = workloads::open_loop(&srv, "moderate", 100, 200.0, secs).await?;
        eprintln!(
            "    moderate: p50 {:.2} ms, p99 {:.2} ms",
            moderate.latency.p50, moderate.latency.p99
        );
        srv.stop().await?;
        // Each durable writer sends as fast as acks come back, past the
        // default 200 messages/s per connection: the one setting changed.
        let srv = programs
            .with_weft_flags(&["--rate-messages", "0"])
            .start(kind, &dir.path().join("d"), None)
            .await?;
        let durable_per_s = crate::durable::against_all(&srv.addrs(), durable.0, durable.1).await?;
        eprintln!("    durable: {durable_per_s:.0} acked updates/s");
        srv.stop().await?;
        let srv = programs.start(kind, &dir.path().join("b"), None).await?;
        let fanout = workloads::fanout(&srv, 100, &rates, secs.min(5.0)).await?;
        srv.stop().await?;
        rows.push(Row {
            setup: kind.name().into(),
            moderate,
            durable_per_s,
            fanout,
        });
    }
    let json = PathBuf::from("target/bench/cluster.json");
    std::fs::create_dir_all("target/bench")?;
    std::fs::write(&json, serde_json::to_string_pretty(&rows)?)?;
    eprintln!("results in {}", json.display());
    let md = table(&rows, &rates, opts.short)?;
    println!("{md}");
    if let Some(doc) = &opts.doc {
        crate::compare::report::replace_section(doc, START, END, &md)?;
        eprintln!("written into {}", doc.display());
    }
    Ok(())
}

fn sustained(steps: &[Step]) -> Option<&Step> {
    steps
        .iter()
        .filter(|s| s.latency.p99 <= 50.0 && s.delivered >= 0.999)
        .max_by(|a, b| a.deliveries_per_s.total_cmp(&b.deliveries_per_s))
}

fn table(rows: &[Row], rates: &[f64], short: bool) -> anyhow::Result<String> {
    let mut md = String::new();
    writeln!(md, "{START}")?;
    writeln!(
        md,
        "_{} run; `scripts/bench --cluster{}`. Every node runs at its shipped defaults (plus `--trusted-proxy 127.0.0.1`, so each load client counts as its own address); the durable column alone adds `--rate-messages 0`, since its writers send faster than the default 200 messages/s per connection._\n",
        if short { "Short" } else { "Full" },
        if short { " --short" } else { "" }
    )?;
    writeln!(
        md,
        "| setup | moderate p50 | moderate p99 | durable acked/s | fan-out deliveries/s (p99 ≤ 50 ms) | its p99 |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|")?;
    for r in rows {
        let (fan, p99) = match sustained(&r.fanout) {
            Some(s) => (
                // The top step held: the ramp, not the setup, ended there.
                format!(
                    "{}{}",
                    if rates.last() == Some(&s.edits_per_s) {
                        "≥ "
                    } else {
                        ""
                    },
                    crate::compare::report::thousands(s.deliveries_per_s)
                ),
                format!("{:.1} ms", s.latency.p99),
            ),
            None => ("none held".into(), "-".into()),
        };
        writeln!(
            md,
            "| {} | {:.2} ms | {:.2} ms | {} | {} | {} |",
            r.setup,
            r.moderate.latency.p50,
            r.moderate.latency.p99,
            crate::compare::report::thousands(r.durable_per_s),
            fan,
            p99
        )?;
    }
    writeln!(md, "{END}")?;
    Ok(md)
}
