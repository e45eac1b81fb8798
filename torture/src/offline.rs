//! Campaign 3: offline survival. An engine process (the app's engine: a
//! [`Session`] over the local SQLite store and library) edits with no
//! server and is `SIGKILL`ed at a random point, once or a few times; then
//! it is started with the server up and syncs. Every edit it reported
//! committed locally must be on the server, and still there after the
//! server itself is `kill -9`ed once the engine said "saved".
//!
//! The engine runs in a child process, `weft-torture engine-child`, which
//! prints `committed N` once edit `N` is in its local store.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rand::Rng;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use weft_core::engine::{DocUrl, Library, Session, SessionOptions};
use weft_core::store::SqliteStore;
use weft_e2e::{Client, ServerProcess};
use yrs::{GetString, Text, Transact};

use crate::rounds::{rng, RoundResult, Seeds, Tally};
use crate::writers::{missing, tokens};
use crate::Campaign;

/// How long the engine may take to sync and be told "saved".
const SYNC: Duration = Duration::from_secs(30);

pub async fn run(seeds: Seeds) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::Offline);
    let mut kills = 0;
    for (round, seed) in seeds.each() {
        let r = offline_round(round, seed, &mut kills).await;
        tally.record(round, seed, r);
    }
    tally.notes.push(format!("{kills} engine processes killed"));
    Ok(tally.finish())
}

async fn offline_round(round: usize, seed: u64, kills: &mut usize) -> Result<RoundResult> {
    let mut rng = rng(seed);
    let local = tempfile::tempdir()?;
    let data = tempfile::tempdir()?;
    // A port nobody listens on until the engine's offline spells are over.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("ws://127.0.0.1:{port}/offline-{round}");
    let mut committed = 0;
    let spells = rng.random_range(1..=3);
    for _ in 0..spells {
        let after = Duration::from_millis(rng.random_range(50..1500));
        let (lines, _) = child(&url, local.path(), "edit", Some(after)).await?;
        *kills += 1;
        committed = committed.max(last_committed(&lines).map_or(0, |n| n + 1));
    }
    let server = ServerProcess::start_on(&format!("127.0.0.1:{port}"), data.path(), &[]).await?;
    // Sometimes the engine is killed while it syncs, too.
    let mut sync_killed = false;
    if rng.random_ratio(1, 3) {
        let after = Duration::from_millis(rng.random_range(0..300));
        child(&url, local.path(), "sync", Some(after)).await?;
        sync_killed = true;
    }
    let (lines, ok) = child(&url, local.path(), "sync", None).await?;
    if !ok || !lines.iter().any(|l| l == "saved") {
        bail!("the engine did not sync: {}", lines.join(" / "));
    }
    // "Saved" must mean durable: the server dies at once, and its
    // restarted self is read.
    server.kill9().await?;
    let server = ServerProcess::start_on(&format!("127.0.0.1:{port}"), data.path(), &[]).await?;
    let reader = Client::synced(&url).await?;
    let (checked, lost, first) = missing(&reader.text(), &[committed]);
    server.terminate().await?;
    let mut note = format!(
        "{spells} offline spells killed, {committed} edits committed locally{}",
        if sync_killed {
            ", killed once while syncing"
        } else {
            ""
        }
    );
    if let Some(first) = first {
        note.push_str(&format!("; first missing {first}"));
    }
    Ok(RoundResult {
        checked,
        lost,
        mid_stream: true,
        note,
    })
}

/// Runs `weft-torture engine-child MODE`, killing it after `kill_after`
/// if given; its output lines, and whether it exited 0.
async fn child(
    url: &str,
    dir: &Path,
    mode: &str,
    kill_after: Option<Duration>,
) -> Result<(Vec<String>, bool)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["engine-child", mode, url])
        .arg(dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut out = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let reading = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Ok(Some(l)) = out.next_line().await {
            lines.push(l);
        }
        lines
    });
    let ok = match kill_after {
        Some(after) => {
            tokio::time::sleep(after).await;
            child.kill().await?;
            false
        }
        None => tokio::time::timeout(SYNC + Duration::from_secs(5), child.wait())
            .await
            .context("the engine process hung")??
            .success(),
    };
    Ok((reading.await?, ok))
}

/// The highest `committed N` line.
fn last_committed(lines: &[String]) -> Option<usize> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("committed ")?.parse().ok())
        .max()
}

/// The child process: `edit` appends tokens offline until killed, printing
/// each once it is in the local store; `sync` connects, waits for the
/// server's acks for everything, prints `saved` and exits.
pub async fn engine_child(mode: &str, url: &str, dir: &Path) -> Result<()> {
    use std::io::Write;
    let url = DocUrl::parse(url)?;
    let mut opts = SessionOptions::new(url.clone());
    opts.store = Arc::new(SqliteStore::open(dir)?);
    let library = Arc::new(Library::open(dir)?);
    library.touch(&url, None)?;
    opts.library = Some(library);
    opts.max_backoff = Duration::from_millis(200);
    let session = Session::open(opts).await?;
    let text = session.doc().get_or_insert_text("t");
    if mode == "sync" {
        session.wait_saved(SYNC).await?;
        println!("saved");
        session.close().await;
        return Ok(());
    }
    // Go on after whatever an earlier, killed, run left.
    let have = tokens(&text.get_string(&session.doc().transact()));
    let mut next = have.iter().map(|&(_, i)| i + 1).max().unwrap_or(0);
    let mut stdout = std::io::stdout();
    loop {
        let before = session.counts().saved_locally;
        session.transact(|txn| {
            let len = text.len(txn);
            text.insert(txn, len, &format!("[0:{next}]"));
        });
        while session.counts().saved_locally == before {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        writeln!(stdout, "committed {next}")?;
        stdout.flush()?;
        next += 1;
    }
}
