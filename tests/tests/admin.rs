//! Operator commands against real processes: a backup taken under write
//! load restores with every update acked before it began; restore refuses a
//! running server; export writes each document as Markdown.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Result};
use weft_e2e::{server_bin, Client, ServerProcess};

const WRITERS: usize = 4;

fn admin(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(server_bin().unwrap())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_everything_acked_before_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let live = dir.path().join("live");
    let server = ServerProcess::start(&live, &["--rate-messages", "0"]).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (url, stop, acked) = (
            server.url(&format!("doc{w}")) + "?ack=1",
            stop.clone(),
            acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut c = Client::synced(&url).await?;
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                c.insert(&format!("w{w}-{n};")).await?;
                n += 1;
                // Keep a bounded window in flight, like a real client.
                if c.session.unacked() > 64 {
                    c.step().await?;
                }
                c.drain().await?;
                // Acks are cumulative and in order; the first covers our sync step 2.
                acked[w].store(c.session.acked().saturating_sub(1), Ordering::SeqCst);
            }
            c.wait_for(|c| c.session.unacked() == 0).await?;
            Ok::<_, anyhow::Error>(n)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Everything acked at this moment must be in the backup.
    let before: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    ensure!(
        before.iter().all(|&n| n > 0),
        "writers made no progress: {before:?}"
    );
    let file = dir.path().join("weft-backup.db");
    let (live2, file2) = (live.clone(), file.clone());
    let out =
        tokio::task::spawn_blocking(move || admin(&live2, &["backup", file2.to_str().unwrap()]))
            .await?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(String::from_utf8_lossy(&out.stderr).contains(&format!("({WRITERS} documents")));

    // Writes went on during the backup.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let mut written = Vec::new();
    for t in tasks {
        written.push(t.await??);
    }
    eprintln!("acked before the backup: {before:?}; written in all: {written:?}");
    ensure!(written.iter().zip(&before).all(|(w, b)| w > b));

    // Restore refuses while the server holds the directory.
    let refused = admin(&live, &["restore", file.to_str().unwrap()]);
    ensure!(!refused.status.success());
    ensure!(String::from_utf8_lossy(&refused.stderr).contains("in use by a running weft-server"));
    server.terminate().await?;

    // Into a fresh directory, and over the old one (which is kept).
    let fresh = dir.path().join("fresh");
    ensure!(admin(&fresh, &["restore", file.to_str().unwrap()])
        .status
        .success());
    let over = admin(&live, &["restore", file.to_str().unwrap()]);
    ensure!(over.status.success());
    ensure!(String::from_utf8_lossy(&over.stderr).contains("weft.db.before-restore-"));

    for data in [&fresh, &live] {
        let restored = ServerProcess::start(data, &[]).await?;
        for (w, &n) in before.iter().enumerate() {
            let c = Client::synced(&restored.url(&format!("doc{w}"))).await?;
            let text = c.text();
            for i in 0..n {
                ensure!(
                    text.contains(&format!("w{w}-{i};")),
                    "doc{w} lacks acked update {i} of {n}"
                );
            }
        }
        restored.terminate().await?;
    }
    Ok(())
}

#[tokio::test]
async fn export_writes_every_document_as_markdown_and_bad_backups_are_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let server = ServerProcess::start(&data, &[]).await?;
    let notes = dir.path().join("notes.md");
    for doc in ["alpha", "beta"] {
        std::fs::write(&notes, format!("# {doc}\n\n- [x] done\n"))?;
        let put = std::process::Command::new(weft_e2e::cli_bin()?)
            .args(["put", &server.url(doc), notes.to_str().unwrap()])
            .output()?;
        ensure!(put.status.success());
    }
    // While the server runs.
    let out_dir = dir.path().join("export");
    let out = admin(&data, &["export", out_dir.to_str().unwrap()]);
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(std::fs::read_to_string(out_dir.join("alpha.md"))? == "# alpha\n\n- [x] done\n");
    ensure!(std::fs::read_to_string(out_dir.join("beta.md"))? == "# beta\n\n- [x] done\n");

    // Restoring something that is not a Weft backup changes nothing.
    server.terminate().await?;
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database")?;
    let r = admin(&data, &["restore", junk.to_str().unwrap()]);
    ensure!(!r.status.success());
    ensure!(String::from_utf8_lossy(&r.stderr).contains("not a Weft database"));
    let again = dir.path().join("again");
    let out = admin(&data, &["export", again.to_str().unwrap()]);
    ensure!(out.status.success());
    ensure!(std::fs::read_to_string(again.join("alpha.md"))? == "# alpha\n\n- [x] done\n");
    Ok(())
}

/// People write options after the subcommand, as with git: both orders work.
#[test]
fn options_work_before_or_after_each_subcommand() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "a-secret-that-is-at-least-32-bytes-long")?;
    let secret = secret.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(server_bin().unwrap())
            .args(args)
            .output()
            .unwrap();
        ensure!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let token = ["token", "--doc", "x", "--access", "write", "--ttl", "1h"];
    let before = run(&[&["--auth-secret-file", secret][..], &token].concat())?;
    let after = run(&[&token[..], &["--auth-secret-file", secret]].concat())?;
    ensure!(before.starts_with("ey") && after.starts_with("ey"));

    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (one, two) = (dir.path().join("one.db"), dir.path().join("two.db"));
    let (one, two) = (one.to_str().unwrap(), two.to_str().unwrap());
    // A database to back up: the server makes it on its first start.
    weft_core::store::SqliteStore::open(std::path::Path::new(data))?;
    run(&["--data-dir", data, "backup", one])?;
    run(&["backup", two, "--data-dir", data])?;
    run(&["--data-dir", data, "restore", one])?;
    run(&["restore", two, "--data-dir", data])?;
    let (md1, md2) = (dir.path().join("md1"), dir.path().join("md2"));
    run(&["--data-dir", data, "export", md1.to_str().unwrap()])?;
    run(&["export", md2.to_str().unwrap(), "--data-dir", data])?;
    Ok(())
}
