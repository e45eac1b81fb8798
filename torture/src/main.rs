//! `weft-torture`: parse the arguments and run the campaigns.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = weft_torture::Cli::parse();
    // The servers' logs are mostly the faults we cause; set RUST_LOG to
    // see them. Set before any thread exists.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "off");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(weft_torture::run(cli))
}
