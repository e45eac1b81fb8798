//! The `weft-server` binary: read the config, set up logging, execute.

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let config = weft_server::Config::load().unwrap_or_else(|e| e.exit());
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // One line a person can read, and a non-zero exit.
    if let Err(e) = weft_server::execute(config, weft_server::shutdown_signal()).await {
        eprintln!("weft-server: error: {e}");
        std::process::exit(1);
    }
}
