//! The `weft-server` binary: parse the config, set up logging, run.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = weft_server::Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Some(weft_server::config::Command::Token {
        doc,
        access,
        ttl,
        sub,
    }) = &config.command
    {
        println!(
            "{}",
            weft_server::mint_token(&config, doc, *access, *ttl, sub.clone())?
        );
        return Ok(());
    }
    weft_server::run(config, weft_server::shutdown_signal()).await?;
    Ok(())
}
