//! Weft's benchmarks. Numbers are printed, never asserted: speed targets
//! are judged here, not in the test suite.
//!
//! # Layout
//! - [`api`]: the document API: paging a large index, and an update over
//!   HTTP against one over the WebSocket.
//! - [`trace`]: loading the editing traces in `../shared/traces`.
//! - [`join`]: how long the engine takes to join a large document, from
//!   the server and from the local store.
//! - [`durable`]: acked (committed to SQLite) updates per second.
//! - [`compare`]: weft-server side by side with the other Yjs servers and a
//!   plain broadcast baseline ([`baseline`]), on seven workloads.
//! - [`cluster`]: cluster mode against single-node SQLite, and one node
//!   against three.
//! - [`blobs`]: images and files: upload and download throughput, and the
//!   server's memory under 20 uploads at once.

pub mod api;
pub mod baseline;
pub mod blobs;
pub mod cluster;
pub mod compare;
pub mod durable;
pub mod history;
pub mod join;
pub mod trace;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Weft benchmarks.
#[derive(Debug, Parser)]
pub struct Cli {
    /// Which benchmark.
    #[command(subcommand)]
    pub bench: Bench,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Engine join time for a document holding a trace's final state.
    Join {
        /// The gzipped trace.
        #[arg(long, default_value = "../shared/traces/automerge-paper.json.gz")]
        trace: PathBuf,
        /// Joins to time, per source.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Run the server with `--no-deflate` (the engine offers deflate either way).
        #[arg(long)]
        no_deflate: bool,
    },
    /// Every server in turn on the same workloads (see docs/BENCHMARKS.md).
    Compare(compare::Options),
    /// Cluster mode's cost: SQLite vs PostgreSQL + Redis, one node vs three.
    Cluster(cluster::Options),
    /// The document API: listing a large index, and POST …/updates against
    /// the WebSocket.
    Api {
        /// Documents in the index.
        #[arg(long, default_value_t = 100_000)]
        docs: usize,
        /// Documents per page (over one kept-alive connection, within the
        /// shipped per-connection budget of 200 requests a second).
        #[arg(long, default_value_t = 200)]
        page: usize,
        /// Updates timed each way.
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// Images and files: 10 MiB up and down, then 20 uploads at once
    /// with the server's memory watched.
    Blobs {
        /// The weft-server binary.
        #[arg(long, default_value = "target/release/weft-server")]
        server: PathBuf,
        /// File size in MiB.
        #[arg(long, default_value_t = 10)]
        mib: usize,
        /// Timed uploads and downloads.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Uploads at once.
        #[arg(long, default_value_t = 20)]
        parallel: usize,
    },
    /// Version history on a real document: making, restoring and diffing
    /// a version, and the storage a whole trace's versions take.
    History {
        /// The gzipped trace.
        #[arg(long, default_value = "../shared/traces/automerge-paper.json.gz")]
        trace: PathBuf,
        /// A version every this many edits while replaying.
        #[arg(long, default_value_t = 1000)]
        every: usize,
        /// Timed runs of each operation.
        #[arg(long, default_value_t = 10)]
        samples: usize,
    },
    /// The broadcast baseline server (started by `compare`).
    BaselineServer {
        /// host:port to listen on.
        addr: String,
    },
    /// Durable writes: clients send updates as fast as acks allow.
    Durable {
        /// Concurrent writers, each on its own doc.
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Updates per writer.
        #[arg(long, default_value_t = 2000)]
        updates: usize,
    },
}

/// Runs the chosen benchmark.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.bench {
        Bench::Join {
            trace,
            runs,
            no_deflate,
        } => join::run(&trace, runs, no_deflate).await,
        Bench::Durable { clients, updates } => durable::run(clients, updates).await,
        Bench::Compare(opts) => compare::run(opts).await,
        Bench::Cluster(opts) => cluster::run(opts).await,
        Bench::BaselineServer { addr } => baseline::serve(&addr).await,
        Bench::Api {
            docs,
            page,
            samples,
        } => api::run(docs, page, samples).await,
        Bench::History {
            trace,
            every,
            samples,
        } => history::run(&trace, every, samples).await,
        Bench::Blobs {
            server,
            mib,
            runs,
            parallel,
        } => blobs::run(server, mib << 20, runs, parallel).await,
    }
}

/// Median and 95th percentile of durations in milliseconds.
pub fn summary(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.95))
}
