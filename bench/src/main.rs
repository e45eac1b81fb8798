//! `weft-bench`: parse the arguments and run the chosen benchmark.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    weft_bench::run(weft_bench::Cli::parse()).await
}
