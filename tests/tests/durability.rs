//! "Stored" means stored: real `weft-server` processes whose store stops
//! taking writes (a full filesystem, PostgreSQL stopped or read-only), the
//! real `weft` CLI writing to them. Every `weft put` that exits 0 must be
//! in the document after a restart, and the server must recover by itself.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use weft_e2e::services::{is_root, Postgres};
use weft_e2e::{cli_bin, http_get, server_bin, ServerProcess};

/// How long `weft put` waits for the server to confirm a write.
const PUT_TIMEOUT: &str = "3s";

struct Put {
    marker: String,
    saved: bool,
    stderr: String,
}

/// `weft put --append` of `body` after a line naming `marker`.
async fn put(url: &str, dir: &Path, marker: &str, body: &str) -> Result<Put> {
    let started = Instant::now();
    let file = dir.join(format!("{marker}.md"));
    std::fs::write(&file, format!("{marker}\n\n{body}\n"))?;
    let out = tokio::process::Command::new(cli_bin()?)
        .args(["--timeout", PUT_TIMEOUT, "put", "--append", url])
        .arg(&file)
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!(
        "put {marker}: {} in {:?}",
        if out.status.success() {
            "saved"
        } else {
            "not saved"
        },
        started.elapsed()
    );
    if !out.status.success() {
        assert!(
            stderr.contains("not saved"),
            "a put that fails says why: {stderr}"
        );
    }
    Ok(Put {
        marker: marker.to_owned(),
        saved: out.status.success(),
        stderr,
    })
}

async fn cat(url: &str) -> Result<String> {
    let out = tokio::process::Command::new(cli_bin()?)
        .args(["--timeout", "10s", "cat", "--format", "text", url])
        .output()
        .await?;
    if !out.status.success() {
        bail!("weft cat: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Waits until `/healthz` answers `status`; returns its body.
async fn health(addr: std::net::SocketAddr, status: u16, within: Duration) -> Result<String> {
    let until = Instant::now() + within;
    loop {
        let (got, body) = http_get(addr, "/healthz", &[]).await?;
        if got == status {
            return Ok(body);
        }
        if Instant::now() > until {
            bail!("/healthz stayed {got} (wanted {status}): {body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tmpfs of `size` mounted on a fresh directory; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()?
            .success();
        if !ok {
            bail!("mounting a tmpfs failed");
        }
        Ok(Tmpfs { dir })
    }

    fn resize(&self, size: &str) -> Result<()> {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.dir.path())
            .status()?
            .success();
        if !ok {
            bail!("remounting the tmpfs failed");
        }
        Ok(())
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Mounting needs root: CI runs as root, so there the test must run.
fn can_mount() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run as root for the full-disk tests"
    );
    eprintln!("skipping: mounting a small tmpfs needs root");
    false
}

/// About 270 KB of prose, different for each `seed`.
fn chunk(seed: usize) -> String {
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let mut out = String::new();
    let mut i = seed;
    while out.len() < 270_000 {
        for _ in 0..12 {
            out.push_str(words[i % words.len()]);
            out.push(' ');
            i = i.wrapping_mul(31).wrapping_add(7);
        }
        out.push_str("\n\n");
    }
    out
}

#[tokio::test]
async fn a_full_disk_never_turns_into_saved_and_the_server_recovers_by_itself() -> Result<()> {
    if !can_mount() {
        return Ok(());
    }
    let disk = Tmpfs::mount("3m")?;
    let work = tempfile::tempdir()?;
    let server = ServerProcess::start(disk.path(), &[]).await?;
    let listen = server.addr.to_string();
    let url = server.url("fill");

    let mut puts = Vec::new();
    let mut saw_503 = None;
    for i in 0..10 {
        let p = put(&url, work.path(), &format!("marker-{i}"), &chunk(i)).await?;
        if !p.saved && saw_503.is_none() {
            // While the disk is full the server says so.
            saw_503 = Some(health(server.addr, 503, Duration::from_secs(5)).await?);
        }
        puts.push(p);
    }
    let saved = puts.iter().filter(|p| p.saved).count();
    assert!(
        saved > 0 && saved < puts.len(),
        "the disk must fill part way through: {saved} of {} saved",
        puts.len()
    );
    let body = saw_503.context("no 503 while full")?;
    assert!(body.contains("fill"), "{body}");
    let failed = puts.iter().find(|p| !p.saved).expect("checked");
    assert!(
        failed
            .stderr
            .contains("the server cannot write (disk full?)"),
        "{}",
        failed.stderr
    );

    // Space returns: the server writes what it held and acks resume, with
    // no restart.
    disk.resize("60m")?;
    health(server.addr, 200, Duration::from_secs(15)).await?;
    let after = put(
        &url,
        work.path(),
        "marker-after",
        "written after the disk had room",
    )
    .await?;
    assert!(
        after.saved,
        "not acked after space returned: {}",
        after.stderr
    );
    puts.push(after);

    assert_eq!(server.terminate().await?, 0, "a clean shutdown");
    let server = ServerProcess::start_on(&listen, disk.path(), &[]).await?;
    let text = cat(&server.url("fill")).await?;
    for p in puts.iter().filter(|p| p.saved) {
        assert!(
            text.contains(&p.marker),
            "{} was reported saved but is gone",
            p.marker
        );
    }
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn shutdown_on_a_full_disk_names_the_documents_on_one_line() -> Result<()> {
    if !can_mount() {
        return Ok(());
    }
    let disk = Tmpfs::mount("1m")?;
    let work = tempfile::tempdir()?;
    let mut child = tokio::process::Command::new(server_bin()?)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(disk.path())
        .args(["--shutdown-timeout", "2s"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let line = lines.next_line().await?.context("no address line")?;
    let addr = line
        .split("ws://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .context("no address")?
        .to_owned();
    let url = format!("ws://{addr}/fill");
    let mut i = 0;
    while put(&url, work.path(), &format!("m{i}"), &chunk(i))
        .await?
        .saved
    {
        i += 1;
        assert!(i < 10, "1 MiB never filled up");
    }
    let pid = child.id().context("exited")?;
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await??;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "weft-server: error: the latest changes of 1 document: fill could not be saved"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn postgres_restarting_or_refusing_writes_never_turns_into_saved() -> Result<()> {
    let mut pg = Postgres::start().await?;
    let work = tempfile::tempdir()?;
    let dir = tempfile::tempdir()?;
    let store = pg.url();
    let args = ["--store", store.as_str()];
    let node = ServerProcess::start(dir.path(), &args).await?;
    let listen = node.addr.to_string();
    let url = node.url("pg");
    let mut puts = vec![put(&url, work.path(), "b4", "before the outage").await?];
    assert!(puts[0].saved, "{}", puts[0].stderr);

    // PostgreSQL goes away at once, as in a crash.
    pg.stop_immediate().await?;
    let during = put(&url, work.path(), "d4", "during the outage").await?;
    assert!(!during.saved, "acked while PostgreSQL was down");
    health(node.addr, 503, Duration::from_secs(5)).await?;
    puts.push(during);

    pg.start_again().await?;
    // The node reconnects and writes what it held, by itself.
    health(node.addr, 200, Duration::from_secs(20)).await?;
    let back = put(&url, work.path(), "a4", "after it came back").await?;
    assert!(back.saved, "{}", back.stderr);
    puts.push(back);

    // PostgreSQL refuses writes (what a full disk looks like from here).
    pg.psql(&[
        "ALTER SYSTEM SET default_transaction_read_only = on",
        "SELECT pg_reload_conf()",
    ])
    .await?;
    let refused = put(&url, work.path(), "r4", "while read-only").await?;
    assert!(!refused.saved, "acked while PostgreSQL refused writes");
    assert!(
        refused.stderr.contains("the server cannot write"),
        "{}",
        refused.stderr
    );
    health(node.addr, 503, Duration::from_secs(5)).await?;
    puts.push(refused);
    pg.psql(&[
        "SET default_transaction_read_only = off",
        "ALTER SYSTEM RESET default_transaction_read_only",
        "SELECT pg_reload_conf()",
    ])
    .await?;
    health(node.addr, 200, Duration::from_secs(20)).await?;
    let writable = put(&url, work.path(), "w4", "writable again").await?;
    assert!(writable.saved, "{}", writable.stderr);
    puts.push(writable);

    // No chance to flush anything: what is in PostgreSQL is all there is.
    node.kill9().await?;
    let node = ServerProcess::start_on(&listen, dir.path(), &args).await?;
    let text = cat(&node.url("pg")).await?;
    for p in &puts {
        // Those that failed were held and written once the store was back.
        assert!(text.contains(&p.marker), "{} is gone: {text}", p.marker);
    }
    node.kill9().await?;
    Ok(())
}

/// Another process holding SQLite's write lock: `/healthz` answers 503
/// promptly instead of waiting behind the queued writes' busy timeouts
/// (weft-torture's `faults` campaign found it hanging for over 10 s), no
/// write is acked while it lasts, and all resumes when the lock goes.
#[tokio::test]
async fn a_database_locked_by_another_process_fails_healthz_at_once_and_recovers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), &[]).await?;
    let mut c = weft_e2e::Client::synced(&format!("{}?ack=1", server.url("locked"))).await?;
    c.insert("before;").await?;
    // The handshake's step 2 is acked first, then the update.
    c.wait_for(|c| c.session.acked() >= 2).await?;

    let lock = rusqlite::Connection::open(dir.path().join("weft.db"))?;
    lock.busy_timeout(Duration::from_secs(10))?;
    lock.execute_batch("BEGIN EXCLUSIVE")?;
    c.insert("during;").await?;
    for _ in 0..3 {
        // A probe that hangs fails a load balancer's check just the same,
        // but says nothing; the answer must come, and say why.
        let (status, body) = tokio::time::timeout(
            Duration::from_secs(6),
            http_get(server.addr, "/healthz", &[]),
        )
        .await
        .context("/healthz hung while the database was locked")??;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("store not writable"), "{body}");
    }
    c.drain().await?;
    assert_eq!(c.session.acked(), 2, "acked while the database was locked");

    lock.execute_batch("ROLLBACK")?;
    drop(lock);
    c.wait_for(|c| c.session.acked() >= 3).await?;
    health(server.addr, 200, Duration::from_secs(15)).await?;
    server.kill9().await?;
    let server = ServerProcess::start(dir.path(), &[]).await?;
    let reader = weft_e2e::Client::synced(&server.url("locked")).await?;
    assert_eq!(reader.text(), "before;during;");
    server.terminate().await?;
    Ok(())
}
