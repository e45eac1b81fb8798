//! The `weft` binary: parse arguments, run, print errors on one line.

use clap::Parser;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = weft_cli::Cli::parse();
    if let Err(e) = weft_cli::run(cli, &mut std::io::stdout()).await {
        eprintln!("weft: error: {e}");
        std::process::exit(1);
    }
}
