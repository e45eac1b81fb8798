//! `weft-torture`: Weft's reliability campaigns. Each campaign runs a
//! number of rounds against real `weft-server` processes (and real
//! PostgreSQL, Redis and stock `yjs` clients), counts what was lost, and
//! prints a seed for every failed round so it can be replayed. A full run
//! writes its tables into docs/RELIABILITY.md; `--short` is the version
//! `./scripts/test` runs.
//!
//! # Layout
//! - [`rounds`]: seeds, one round's result, a campaign's tally.
//! - [`writers`]: acked writers appending numbered tokens, and the check
//!   for acked tokens missing from a document.
//! - [`crash`]: campaign 1, `kill -9` under write load (SQLite, cluster).
//! - [`converge`]: campaign 2, randomized convergence of engine and yjs
//!   clients through offline spells, restarts and crashes; [`edits`]: its
//!   random edits and how content is compared.
//! - [`offline`]: campaign 3, an engine process killed while offline.
//! - [`faults`]: campaign 4, the store stops taking writes.
//! - [`net`]: campaign 5, partitions and latency between a node and
//!   PostgreSQL or Redis.
//! - [`slow`]: campaign 6, 1,000 readers that never read.
//! - [`soak`]: campaign 7, 200 clients for half an hour (by hand only).
//! - [`proxy`]: a TCP proxy that cuts a client off; [`yjs`]: the Node
//!   process holding stock yjs clients; [`disks`]: small filesystems.
//! - [`observe`]: a server's metrics and memory, as campaigns read them.
//! - [`report`]: the tables in docs/RELIABILITY.md.

pub mod converge;
pub mod crash;
pub mod disks;
pub mod edits;
pub mod faults;
pub mod net;
pub mod observe;
pub mod offline;
pub mod proxy;
pub mod report;
pub mod rounds;
pub mod slow;
pub mod soak;
pub mod writers;
pub mod yjs;

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand, ValueEnum};

use rounds::{Seeds, Tally};

/// Weft's reliability campaigns (see docs/RELIABILITY.md).
#[derive(Debug, Parser)]
#[command(name = "weft-torture")]
pub struct Cli {
    /// Campaigns to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub campaign: Vec<Campaign>,
    /// Rounds per campaign instead of each campaign's own number.
    #[arg(long)]
    pub rounds: Option<usize>,
    /// A few rounds of each (what ./scripts/test runs).
    #[arg(long)]
    pub short: bool,
    /// Seed the rounds' seeds derive from (default: from the clock).
    #[arg(long, value_parser = parse_seed)]
    pub seed: Option<u64>,
    /// Run the one round with this seed (printed with each failure) of the
    /// one campaign named with --campaign.
    #[arg(long, value_parser = parse_seed, conflicts_with_all = ["rounds", "seed", "short"])]
    pub replay: Option<u64>,
    /// The number of the round replayed (printed with it).
    #[arg(long, requires = "replay", default_value_t = 0)]
    pub round: usize,
    /// Acked writers in the crash campaigns.
    #[arg(long, default_value_t = 50)]
    pub writers: usize,
    /// How long the soak runs.
    #[arg(long, default_value_t = 30)]
    pub minutes: u64,
    /// Write the results into this report (docs/RELIABILITY.md).
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(subcommand)]
    pub child: Option<Child>,
}

/// Processes the campaigns start and kill; not for people.
#[derive(Debug, Subcommand)]
pub enum Child {
    /// An engine editing offline (`edit`) or syncing (`sync`).
    #[command(hide = true)]
    EngineChild {
        mode: String,
        url: String,
        dir: PathBuf,
    },
    /// Holds SQLite's exclusive lock on a database until killed.
    #[command(hide = true)]
    LockChild { db: PathBuf },
}

/// The campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Campaign {
    /// `kill -9` of weft-server under 50 acked writers, SQLite store.
    Crash,
    /// The same on three nodes, killing nodes or PostgreSQL.
    CrashCluster,
    /// Random edits by engine and yjs clients through offline spells,
    /// restarts and crashes; all must converge.
    Converge,
    /// An engine process killed while editing offline; every edit it
    /// committed locally must reach the server.
    Offline,
    /// Disk full, read-only, locked database, PostgreSQL and Redis down.
    Faults,
    /// Partitions and latency between a cluster node and its services.
    Net,
    /// 1,000 readers that never read on a busy document.
    Slow,
    /// 200 clients for `--minutes`, resources sampled (by hand only: not
    /// in the default set nor in --short).
    Soak,
}

impl Campaign {
    pub const ALL: [Campaign; 7] = [
        Campaign::Crash,
        Campaign::CrashCluster,
        Campaign::Converge,
        Campaign::Offline,
        Campaign::Faults,
        Campaign::Net,
        Campaign::Slow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Campaign::Crash => "crash",
            Campaign::CrashCluster => "crash-cluster",
            Campaign::Converge => "converge",
            Campaign::Offline => "offline",
            Campaign::Faults => "faults",
            Campaign::Net => "net",
            Campaign::Slow => "slow",
            Campaign::Soak => "soak",
        }
    }

    /// Rounds in a full run, and in a short one.
    fn rounds(self, short: bool) -> usize {
        match (self, short) {
            (Campaign::Crash, false) => 20,
            (Campaign::Crash, true) => 2,
            (Campaign::CrashCluster, false) => 20,
            (Campaign::CrashCluster, true) => 2,
            (Campaign::Converge, false) => 1000,
            (Campaign::Converge, true) => 20,
            (Campaign::Offline, false) => 50,
            (Campaign::Offline, true) => 3,
            // Each fault in turn.
            (Campaign::Faults, false) => 10,
            (Campaign::Faults, true) => 5,
            (Campaign::Net, false) => 20,
            (Campaign::Net, true) => 2,
            (Campaign::Slow, false) => 3,
            (Campaign::Slow, true) => 1,
            (Campaign::Soak, _) => 1,
        }
    }
}

fn parse_seed(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("not a seed: {e}"))
}

/// Runs the chosen campaigns (or a child process); fails if any round did.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.child {
        Some(Child::EngineChild { mode, url, dir }) => {
            return offline::engine_child(&mode, &url, &dir).await
        }
        Some(Child::LockChild { db }) => return faults::lock_child(&db),
        None => {}
    }
    let campaigns = if cli.campaign.is_empty() {
        Campaign::ALL.to_vec()
    } else {
        cli.campaign.clone()
    };
    if cli.replay.is_some() && campaigns.len() != 1 {
        bail!("--replay needs exactly one --campaign");
    }
    let base = cli.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    println!("weft-torture: base seed {base:#x}");
    let mut tallies = Vec::new();
    for c in campaigns {
        let seeds = match cli.replay {
            Some(seed) => Seeds::Replay {
                seed,
                round: cli.round,
            },
            None => Seeds::Base {
                base: base ^ (c as u64) << 56,
                rounds: cli.rounds.unwrap_or(c.rounds(cli.short)),
            },
        };
        println!("== {} ({} rounds)", c.name(), seeds.each().len());
        let tally = match c {
            Campaign::Crash => crash::sqlite(seeds, cli.writers).await?,
            Campaign::CrashCluster => crash::cluster(seeds, cli.writers).await?,
            Campaign::Converge => converge::run(seeds).await?,
            Campaign::Offline => offline::run(seeds).await?,
            Campaign::Faults => faults::run(seeds).await?,
            Campaign::Net => net::run(seeds).await?,
            Campaign::Slow => slow::run(seeds, cli.short).await?,
            Campaign::Soak => soak::run(seeds, cli.minutes).await?,
        };
        println!("{}", report::line(&tally));
        // Written as each campaign ends: a long run stopped half way keeps
        // what it finished.
        if let Some(path) = &cli.report {
            report::write(path, std::slice::from_ref(&tally), base)?;
            println!("wrote {}", path.display());
        }
        tallies.push(tally);
    }
    let failed: Vec<&Tally> = tallies.iter().filter(|t| !t.failures.is_empty()).collect();
    if !failed.is_empty() {
        for t in &failed {
            for f in &t.failures {
                println!(
                    "FAILED {} round {}: replay with `weft-torture --campaign {} --replay {:#x} --round {}`: {}",
                    t.campaign.name(),
                    f.round,
                    t.campaign.name(),
                    f.seed,
                    f.round,
                    f.what
                );
            }
        }
        bail!("{} campaign(s) had failures", failed.len());
    }
    Ok(())
}
