//! The client engine against a real weft-server process.

use std::sync::Arc;
use std::time::Duration;

use weft_core::engine::{DocUrl, Session, SessionOptions, Status};
use weft_core::store::SqliteStore;
use weft_e2e::{Client, ServerProcess, WAIT};
use yrs::{GetString, Text, Transact};

fn text(s: &Session) -> String {
    let t = s.doc().get_or_insert_text("t");
    let txn = s.doc().transact();
    t.get_string(&txn)
}

fn append(s: &Session, what: &str) {
    let t = s.doc().get_or_insert_text("t");
    s.transact(|txn| {
        let len = t.len(txn);
        t.insert(txn, len, what);
    });
}

/// Polls `cond` every 10 ms until it holds, failing with `what` after [`WAIT`].
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

async fn session(url: &str, dir: Option<&std::path::Path>) -> anyhow::Result<Session> {
    let mut opts = SessionOptions::new(DocUrl::parse(url)?);
    opts.max_backoff = Duration::from_millis(500);
    if let Some(dir) = dir {
        opts.store = Arc::new(SqliteStore::open(dir)?);
    }
    Ok(Session::open(opts).await?)
}

#[tokio::test]
async fn acks_move_edits_from_pending_to_saved() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let s = session(&server.url("acks"), None).await?;
    s.wait_synced(WAIT).await?;
    for i in 0..25 {
        append(&s, &format!("{i} "));
    }
    s.wait_saved(WAIT).await?;
    let c = s.counts();
    assert_eq!((c.pending, c.saved, c.saved_locally), (0, 25, 25));
    s.close().await;
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn reconnects_after_a_server_restart_and_merges_offline_edits() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let addr = server.addr;
    let url = server.url("restart");
    let s = session(&url, None).await?;
    s.wait_synced(WAIT).await?;
    append(&s, "before ");
    s.wait_saved(WAIT).await?;

    server.kill9().await?;
    let mut status = s.watch_status();
    tokio::time::timeout(WAIT, status.wait_for(|st| *st != Status::Synced)).await??;
    // Edits while the server is down stay local and pending.
    append(&s, "offline ");
    assert_eq!(s.counts().pending, 1);

    // Meanwhile someone else edits on the restarted server.
    let server = ServerProcess::start_on(&addr.to_string(), data.path(), &[]).await?;
    let mut other = Client::synced(&url).await?;
    other.insert("other ").await?;
    s.wait_synced(WAIT).await?;
    s.wait_saved(WAIT).await?;
    assert_eq!(s.counts().pending, 0);
    other.wait_for(|c| c.text().contains("offline")).await?;
    eventually("the remote edit to arrive", || text(&s).contains("other")).await?;
    assert_eq!(text(&s), other.text());
    s.close().await;
    server.terminate().await?;
    Ok(())
}

/// A session dropped without closing (its writes not flushed by a close)
/// still left its edit in the local store. Killing a real engine process
/// offline is the reliability campaign's (issue 24), not this test's.
#[tokio::test]
async fn offline_edits_survive_a_dropped_session_and_sync_later() -> anyhow::Result<()> {
    let local = tempfile::tempdir()?;
    let data = tempfile::tempdir()?;
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("ws://127.0.0.1:{port}/offline");
    {
        let s = session(&url, Some(local.path())).await?;
        assert_ne!(s.status(), Status::Synced);
        append(&s, "written offline");
        eventually("the edit to be saved locally", || {
            s.counts().saved_locally >= 1
        })
        .await?;
        // Dropped without close().
    }
    let s = session(&url, Some(local.path())).await?;
    assert_eq!(
        text(&s),
        "written offline",
        "the local copy must load with no server"
    );
    let server = ServerProcess::start_on(&format!("127.0.0.1:{port}"), data.path(), &[]).await?;
    s.wait_synced(WAIT).await?;
    s.wait_saved(WAIT).await?;
    let fresh = Client::synced(&url).await?;
    assert_eq!(fresh.text(), "written offline");
    s.close().await;
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn the_handshake_sends_only_what_the_server_lacks() -> anyhow::Result<()> {
    let local = tempfile::tempdir()?;
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let url = server.url("delta");
    let big = "x".repeat(200_000);
    {
        let s = session(&url, Some(local.path())).await?;
        s.wait_synced(WAIT).await?;
        append(&s, &big);
        s.wait_saved(WAIT).await?;
        s.close().await;
    }
    let metric = |body: &str, name: &str| -> u64 {
        body.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no metric {name} in /metrics"))
    };
    let (_, before) = weft_e2e::http_get(server.addr, "/metrics", &[]).await?;
    let s = session(&url, Some(local.path())).await?;
    s.wait_synced(WAIT).await?;
    append(&s, "!");
    s.wait_saved(WAIT).await?;
    let (_, after) = weft_e2e::http_get(server.addr, "/metrics", &[]).await?;
    let sent = metric(&after, "weft_bytes_in_total") - metric(&before, "weft_bytes_in_total");
    assert!(
        sent < 2_000,
        "reconnecting re-sent {sent} bytes for a one-character edit"
    );
    s.close().await;
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn awareness_goes_both_ways_and_leaves_with_the_session() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let url = server.url("presence");
    let a = session(&url, None).await?;
    let b = session(&url, None).await?;
    a.wait_synced(WAIT).await?;
    b.wait_synced(WAIT).await?;
    a.set_awareness(r##"{"user":{"name":"Ann","color":"#f00"}}"##);
    b.set_awareness(r##"{"user":{"name":"Bob","color":"#00f"}}"##);
    let seen = |s: &Session, name: &str| s.awareness_states().iter().any(|(_, j)| j.contains(name));
    eventually("awareness to cross", || seen(&a, "Bob") && seen(&b, "Ann")).await?;
    a.close().await;
    eventually("Ann's cursor to go after she left", || !seen(&b, "Ann")).await?;
    b.close().await;
    server.terminate().await?;
    Ok(())
}

/// The server's counter of connections that agreed permessage-deflate.
async fn deflate_connections(server: &ServerProcess) -> anyhow::Result<f64> {
    let (_, m) = weft_e2e::http_get(server.addr, "/metrics", &[]).await?;
    m.lines()
        .find_map(|l| l.strip_prefix("weft_deflate_connections_accepted_total "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no deflate counter in {m}"))
}

#[tokio::test]
async fn the_engine_speaks_permessage_deflate_and_a_large_document_goes_both_ways(
) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let big = "Text compresses several times over in a first sync. ".repeat(2000);
    let a = session(&server.url("deflate"), None).await?;
    a.wait_synced(WAIT).await?;
    append(&a, &big);
    a.wait_saved(WAIT).await?;
    let b = session(&server.url("deflate"), None).await?;
    b.wait_synced(WAIT).await?;
    eventually("the large document at the second session", || {
        text(&b) == big
    })
    .await?;
    append(&b, "and back");
    eventually("an edit back", || text(&a).ends_with("and back")).await?;
    assert_eq!(deflate_connections(&server).await?, 2.0);
    a.close().await;
    b.close().await;
    server.terminate().await?;

    // With --no-deflate the same offer is declined and everything still works.
    let server = ServerProcess::start(data.path(), &["--no-deflate"]).await?;
    let c = session(&server.url("deflate"), None).await?;
    c.wait_synced(WAIT).await?;
    eventually("the document without deflate", || {
        text(&c).starts_with(&big)
    })
    .await?;
    assert_eq!(deflate_connections(&server).await?, 0.0);
    c.close().await;
    server.terminate().await?;
    Ok(())
}
