//! Integration tests: the real server on 127.0.0.1:0, real WebSocket clients.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use weft_core::client::ClientEvent;
use weft_core::protocol;
use weft_server::store::{MemoryStore, SqliteStore, Store};
use yrs::sync::{Awareness, Message};
use yrs::{Doc, Text, Transact};

fn mem() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::default())
}

#[tokio::test]
async fn several_writers_converge() -> anyhow::Result<()> {
    let server = TestServer::start(mem(), config()).await;
    let url = server.url("converge");
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(Client::synced(&url).await?);
    }
    for (i, c) in clients.iter_mut().enumerate() {
        for j in 0..10 {
            c.insert(&format!("<{i}.{j}>")).await?;
        }
    }
    let expected_len: usize = (0..4)
        .map(|i| (0..10).map(|j| format!("<{i}.{j}>").len()).sum::<usize>())
        .sum();
    for c in clients.iter_mut() {
        c.wait_for(|c| c.text().len() == expected_len).await?;
    }
    let first = clients[0].text();
    for c in &clients {
        assert_eq!(c.text(), first);
    }
    server.stop().await
}

#[tokio::test]
async fn late_joiner_gets_the_full_state() -> anyhow::Result<()> {
    let server = TestServer::start(mem(), config()).await;
    let url = server.url("late");
    let mut a = Client::synced(&format!("{url}?ack=1")).await?;
    a.insert("hello ").await?;
    a.insert("world").await?;
    a.wait_for(|c| c.session.unacked() == 0).await?;
    let late = Client::synced(&url).await?;
    assert_eq!(late.text(), "hello world");
    server.stop().await
}

/// A client may send its first frame before it sees the 101; hyper has
/// then read it past the request, and the server must still apply it.
#[tokio::test]
async fn a_frame_sent_with_the_upgrade_request_is_not_lost() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use yrs::updates::encoder::Encode;
    use yrs::ReadTxn;
    let server = TestServer::start(mem(), config()).await;
    let doc = Doc::new();
    let text = doc.get_or_insert_text("t");
    text.insert(&mut doc.transact_mut(), 0, "sent early");
    let update = doc
        .transact()
        .encode_state_as_update_v1(&Default::default());
    let payload = Message::Sync(yrs::sync::SyncMessage::Update(update)).encode_v1();
    // One masked binary frame (RFC 6455 5.2), right after the request.
    let mut bytes = String::from("GET /early HTTP/1.1\r\nHost: test\r\n");
    for (k, v) in UPGRADE_HEADERS {
        bytes.push_str(&format!("{k}: {v}\r\n"));
    }
    bytes.push_str("\r\n");
    let mut bytes = bytes.into_bytes();
    let mask = [7u8, 1, 2, 3];
    bytes.push(0x82);
    assert!(payload.len() < 126);
    bytes.push(0x80 | payload.len() as u8);
    bytes.extend_from_slice(&mask);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await?;
    tcp.write_all(&bytes).await?;
    let mut head = [0u8; 12];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut head)).await??;
    assert_eq!(&head, b"HTTP/1.1 101");

    let mut late = Client::synced(&server.url("early")).await?;
    late.wait_for(|c| c.text() == "sent early").await?;
    drop(tcp);
    server.stop().await
}

#[tokio::test]
async fn state_survives_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(Arc::new(SqliteStore::open(dir.path())?), config()).await;
    let mut a = Client::synced(&format!("{}?ack=1", server.url("persist"))).await?;
    for i in 0..50 {
        a.insert(&format!("{i},")).await?;
    }
    a.wait_for(|c| c.session.unacked() == 0).await?;
    let before = a.text();
    drop(a);
    server.stop().await?;

    let server = TestServer::start(Arc::new(SqliteStore::open(dir.path())?), config()).await;
    let b = Client::synced(&server.url("persist")).await?;
    assert_eq!(b.text(), before);
    server.stop().await
}

#[tokio::test]
async fn compaction_keeps_everything() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cfg = config();
    cfg.compact_after = 7;
    let server = TestServer::start(Arc::new(SqliteStore::open(dir.path())?), cfg.clone()).await;
    let mut a = Client::synced(&format!("{}?ack=1", server.url("compact"))).await?;
    for i in 0..40 {
        a.insert(&format!("{i},")).await?;
    }
    a.wait_for(|c| c.session.unacked() == 0).await?;
    let before = a.text();
    drop(a);
    server.stop().await?;
    let store = SqliteStore::open(dir.path())?;
    let stored = store
        .load(&weft_core::doc_id::DocId::new("compact")?)
        .await?;
    assert!(
        stored.log_len < 7,
        "log was not compacted: {} entries",
        stored.log_len
    );
    let server = TestServer::start(Arc::new(store), cfg).await;
    let b = Client::synced(&server.url("compact")).await?;
    assert_eq!(b.text(), before);
    server.stop().await
}

fn awareness_frame(client_id: u64, state: &str) -> Vec<u8> {
    let mut a = Awareness::new(Doc::with_client_id(client_id));
    a.set_local_state_raw(state);
    protocol::encode(&Message::Awareness(a.update().unwrap())).to_vec()
}

fn remote_state(c: &Client, id: u64) -> Option<String> {
    c.session
        .awareness()
        .iter()
        .find(|(cid, _)| cid.get() == id)
        .and_then(|(_, s)| s.data.map(|d| d.to_string()))
}

#[tokio::test]
async fn awareness_propagates_and_is_removed_on_abrupt_disconnect() -> anyhow::Result<()> {
    let server = TestServer::start(mem(), config()).await;
    let url = server.url("presence");
    let mut a = Client::synced(&url).await?;
    let mut b = Client::synced(&url).await?;
    a.send_raw(awareness_frame(777, r#"{"user":{"name":"ann"}}"#))
        .await?;
    b.wait_for(|b| remote_state(b, 777).is_some()).await?;
    assert!(remote_state(&b, 777).unwrap().contains("ann"));

    // A joiner gets current states at connect.
    let c = Client::connect(&url).await?;
    let mut c = c;
    c.wait_for(|c| remote_state(c, 777).is_some()).await?;

    // Abrupt: drop the TCP socket with no close frame.
    let tcp = a.ws.into_inner();
    drop(tcp);
    b.wait_for(|b| remote_state(b, 777).is_none()).await?;
    c.wait_for(|c| remote_state(c, 777).is_none()).await?;
    server.stop().await
}

#[tokio::test]
async fn every_message_of_a_frame_is_handled() -> anyhow::Result<()> {
    let server = TestServer::start(mem(), config()).await;
    let url = server.url("multi");
    let mut a = Client::synced(&url).await?;
    let mut b = Client::synced(&url).await?;
    let src = Doc::new();
    let t = src.get_or_insert_text("t");
    let mut frame = Vec::new();
    for word in ["one ", "two ", "three"] {
        let mut txn = src.transact_mut();
        let len = t.len(&txn);
        t.insert(&mut txn, len, word);
        frame.extend_from_slice(&protocol::update(txn.encode_update_v1()));
    }
    frame.extend_from_slice(&awareness_frame(4242, r#"{"n":1}"#));
    frame.extend_from_slice(&protocol::encode(&Message::AwarenessQuery));
    a.send_raw(frame).await?;
    b.wait_for(|b| b.text() == "one two three" && remote_state(b, 4242).is_some())
        .await?;
    // The query got an answer too: a holds the awareness it set, echoed back.
    a.wait_for(|a| remote_state(a, 4242).is_some()).await?;
    server.stop().await
}

#[tokio::test]
async fn unknown_tags_are_ignored() -> anyhow::Result<()> {
    let server = TestServer::start(mem(), config()).await;
    let url = server.url("unknown");
    let mut a = Client::synced(&format!("{url}?ack=1")).await?;
    a.send_raw(protocol::encode(&Message::Custom(77, vec![1, 2, 3])).to_vec())
        .await?;
    a.insert("still fine").await?;
    a.wait_for(|c| c.session.unacked() == 0).await?;
    let b = Client::synced(&url).await?;
    assert_eq!(b.text(), "still fine");
    server.stop().await
}

async fn assert_refused(url: &str, frame: Vec<u8>, code: u16) -> anyhow::Result<()> {
    let mut bad = Client::synced(url).await?;
    bad.send_raw(frame).await?;
    assert_eq!(bad.close_code().await, code);
    Ok(())
}

#[tokio::test]
async fn garbage_hurts_only_its_sender() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.max_message_size = 64 * 1024;
    let server = TestServer::start(mem(), cfg).await;
    let url = server.url("garbage");
    let mut good = Client::synced(&url).await?;
    good.insert("keep me").await?;
    let mut watcher = Client::synced(&url).await?;
    watcher.wait_for(|c| c.text() == "keep me").await?;

    // Truncated sync message: protocol error.
    let mut truncated = protocol::update(vec![1, 2, 3, 4, 5]).to_vec();
    truncated.truncate(4);
    assert_refused(&url, truncated, 1002).await?;
    // A valid message carrying an undecodable update: invalid payload.
    assert_refused(&url, protocol::update(vec![200, 1, 2, 3]).to_vec(), 1007).await?;
    // A good update followed by garbage in one frame: nothing is applied.
    let mut mixed = {
        let d = Doc::new();
        let t = d.get_or_insert_text("t");
        let mut txn = d.transact_mut();
        t.insert(&mut txn, 0, "SHOULD NOT APPEAR");
        protocol::update(txn.encode_update_v1()).to_vec()
    };
    mixed.extend_from_slice(&protocol::update(vec![255, 255, 255]));
    assert_refused(&url, mixed, 1007).await?;
    // Oversized.
    assert_refused(&url, protocol::update(vec![0; 100 * 1024]).to_vec(), 1009).await?;
    // Text frame.
    {
        use futures_util::SinkExt;
        let mut c = Client::synced(&url).await?;
        c.ws.send(tokio_tungstenite::tungstenite::Message::Text("hi".into()))
            .await?;
        assert_eq!(c.close_code().await, 1003);
    }
    // Random bytes.
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..30 {
        let len = rng.random_range(1..200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let mut c = Client::synced(&url).await?;
        c.send_raw(bytes).await?;
        // Either refused or harmlessly ignored (e.g. an unknown tag).
        let _ = tokio::time::timeout(Duration::from_millis(100), c.close_code()).await;
    }

    // Everyone else is untouched and still served.
    good.insert(" and me").await?;
    watcher.wait_for(|c| c.text() == "keep me and me").await?;
    let fresh = Client::synced(&url).await?;
    assert_eq!(fresh.text(), "keep me and me");
    assert!(!fresh.text().contains("SHOULD NOT"));
    server.stop().await
}

#[tokio::test]
async fn acks_count_durable_updates_and_only_opt_in_clients_get_them() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(Arc::new(SqliteStore::open(dir.path())?), config()).await;
    let mut acked = Client::synced(&format!("{}?ack=1", server.url("acks"))).await?;
    let mut plain = Client::synced(&server.url("acks")).await?;
    for i in 0..20 {
        acked.insert(&format!("{i}")).await?;
    }
    acked.wait_for(|c| c.session.unacked() == 0).await?;
    // The handshake's step 2 plus 20 updates.
    assert_eq!(acked.session.acked(), 21);
    plain.insert("x").await?;
    acked.wait_for(|c| c.text().contains('x')).await?;
    // The plain client saw the acked client's updates but never an ack.
    plain
        .wait_for(|c| c.text().len() == acked.text().len())
        .await?;
    assert!(!plain
        .events
        .iter()
        .any(|e| matches!(e, ClientEvent::Acked(_))));
    server.stop().await
}

#[tokio::test]
async fn bad_doc_ids_get_400_and_capacity_503() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.max_connections = 1;
    let server = TestServer::start(mem(), cfg).await;
    for path in [
        "/",
        "/a%2Fb",
        "/..",
        "/%2E",
        "/a%20b",
        &format!("/{}", "x".repeat(256)),
        "/%FF",
    ] {
        let (status, _) = http_get(server.addr, path, UPGRADE_HEADERS).await?;
        assert_eq!(status, 400, "{path}");
    }
    let (status, _) = http_get(server.addr, &format!("/{}", "x".repeat(255)), &[]).await?;
    assert_eq!(status, 426);
    let _held = Client::synced(&server.url("one")).await?;
    let (status, _) = http_get(server.addr, "/two", UPGRADE_HEADERS).await?;
    assert_eq!(status, 503);
    let (status, body) = http_get(server.addr, "/healthz", &[]).await?;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body) = http_get(server.addr, "/metrics", &[]).await?;
    assert_eq!(status, 200);
    assert!(body.contains("weft_connections 1"), "{body}");
    assert!(
        body.contains("weft_connections_rejected_total{reason=\"capacity\"} 1"),
        "{body}"
    );
    server.stop().await
}

#[tokio::test]
async fn healthz_fails_when_the_store_cannot_write() -> anyhow::Result<()> {
    let store = mem();
    let server = TestServer::start(store.clone(), config()).await;
    store.fail_writes(true);
    let (status, _) = http_get(server.addr, "/healthz", &[]).await?;
    assert_eq!(status, 503);
    store.fail_writes(false);
    server.stop().await
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_1013_and_others_continue() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.send_queue = 8;
    // 20 MB in a second is far over the default byte rate; this test is about queues.
    cfg.rate_bytes = 0;
    let server = TestServer::start(mem(), cfg).await;
    let url = server.url("slow");
    let mut slow = Client::synced(&url).await?;
    let mut writer = Client::synced(&url).await?;
    let mut fast = Client::synced(&url).await?;
    let chunk = "x".repeat(64 * 1024);
    // The slow client reads nothing while ~20 MB goes out: its socket fills,
    // then its queue, then the server gives up on it.
    for i in 0..300 {
        writer.insert(&chunk).await?;
        if i % 10 == 0 {
            fast.wait_for(|c| c.text().len() >= (i + 1) * chunk.len())
                .await?;
        }
    }
    fast.wait_for(|c| c.text().len() == 300 * chunk.len())
        .await?;
    assert_eq!(slow.close_code().await, 1013);
    // Reconnecting resyncs everything.
    let again = Client::synced(&url).await?;
    assert_eq!(again.text().len(), 300 * chunk.len());
    server.stop().await
}

#[tokio::test]
async fn graceful_shutdown_flushes_and_closes_with_1001() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(Arc::new(SqliteStore::open(dir.path())?), config()).await;
    let url = server.url("shutdown");
    let mut a = Client::synced(&url).await?;
    let mut watcher = Client::synced(&url).await?;
    for i in 0..200 {
        a.insert(&format!("{i};")).await?;
    }
    // Wait until the server has applied everything (the watcher saw it), but
    // not for acks: the writes may still be queued when shutdown begins.
    let expected: String = (0..200).map(|i| format!("{i};")).collect();
    watcher.wait_for(|c| c.text() == expected).await?;
    let stop = tokio::spawn(server.stop());
    assert_eq!(watcher.close_code().await, 1001);
    stop.await??;
    let store = SqliteStore::open(dir.path())?;
    let server = TestServer::start(Arc::new(store), config()).await;
    let b =
        Client::synced(&url.replace(&url[5..url.rfind('/').unwrap()], &server.addr.to_string()))
            .await?;
    assert_eq!(b.text(), expected);
    server.stop().await
}

#[tokio::test]
async fn idle_docs_unload_and_reload_intact() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.unload_after = Duration::from_millis(50);
    let store = mem();
    let server = TestServer::start(store.clone(), cfg).await;
    for i in 0..30 {
        let mut c = Client::synced(&format!("{}?ack=1", server.url(&format!("doc{i}")))).await?;
        c.insert(&format!("content {i}")).await?;
        c.wait_for(|c| c.session.unacked() == 0).await?;
    }
    wait_metric(server.addr, "weft_docs_loaded 0").await?;
    let c = Client::synced(&server.url("doc17")).await?;
    assert_eq!(c.text(), "content 17");
    server.stop().await
}

#[tokio::test]
async fn a_quiet_open_doc_rests_and_wakes_intact() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.rest_after = Duration::from_millis(50);
    let store = mem();
    let server = TestServer::start(store.clone(), cfg).await;
    let url = format!("{}?ack=1", server.url("quiet"));
    let mut ann = Client::synced(&url).await?;
    ann.insert("written before ").await?;
    ann.wait_for(|c| c.session.unacked() == 0).await?;
    // Ann stays connected and says nothing: the doc rests.
    wait_metric(server.addr, "weft_docs_resting 1").await?;
    let mut bob = Client::synced(&server.url("quiet")).await?;
    assert_eq!(
        bob.text(),
        "written before ",
        "a joiner gets the resting bytes"
    );
    // A change wakes it, and reaches the others as before.
    ann.insert("and after").await?;
    bob.wait_for(|c| c.text() == "written before and after")
        .await?;
    ann.wait_for(|c| c.session.unacked() == 0).await?;
    assert_eq!(
        stored_text(&store, "quiet").await?,
        "written before and after"
    );
    // Quiet again: it rests again, and still answers whole.
    wait_metric(server.addr, "weft_docs_resting 1").await?;
    let carl = Client::synced(&server.url("quiet")).await?;
    assert_eq!(carl.text(), "written before and after");
    server.stop().await
}

/// The doc's text as the store holds it (what a restart would load).
async fn stored_text(store: &MemoryStore, doc: &str) -> anyhow::Result<String> {
    use weft_core::doc_id::DocId;
    let stored = store.load(&DocId::new(doc)?).await?;
    let (room, skipped) = weft_core::room::Room::load(&stored.updates);
    assert_eq!(skipped, 0);
    let t = room.doc().get_or_insert_text("t");
    let s = yrs::GetString::get_string(&t, &room.doc().transact());
    Ok(s)
}

fn told_cannot_save(c: &Client) -> Option<bool> {
    c.events.iter().rev().find_map(|e| match e {
        ClientEvent::StoreNotice(n) => Some(n.is_some()),
        _ => None,
    })
}

#[tokio::test]
async fn nothing_is_acked_while_the_store_fails_and_acks_resume_by_themselves() -> anyhow::Result<()>
{
    let store = mem();
    let server = TestServer::start(store.clone(), config()).await;
    let url = format!("{}?ack=1", server.url("full"));
    let mut a = Client::synced(&url).await?;
    a.insert("saved ").await?;
    a.wait_for(|c| c.session.unacked() == 0).await?;

    store.fail_writes(true);
    a.insert("unsaved").await?;
    // The server says why instead of acking, and keeps the connection.
    a.wait_for(|c| told_cannot_save(c) == Some(true)).await?;
    assert_eq!(a.session.unacked(), 1);
    let (status, body) = http_get(server.addr, "/healthz", &[]).await?;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("cannot save changes to 1 document(s) (full)"),
        "{body}"
    );
    wait_metric(server.addr, "weft_docs_unsaved 1").await?;

    // What used to turn memory into "saved": a client holding the same
    // edits connects; its step 2 brings nothing new to the server.
    let mut b = Client::connect_doc(&url, a.doc().clone()).await?;
    b.wait_for(|c| c.session.is_synced() && told_cannot_save(c) == Some(true))
        .await?;
    assert_eq!(b.session.sent(), 1, "b sent its (empty) step 2");
    assert_eq!(b.session.acked(), 0, "an edit only in memory is not saved");
    assert_eq!(stored_text(&store, "full").await?, "saved ");

    // Space returns: the repair snapshot lands and acks resume on the
    // same connections, with no restart and no reconnect.
    store.fail_writes(false);
    a.wait_for(|c| c.session.unacked() == 0 && told_cannot_save(c) == Some(false))
        .await?;
    b.wait_for(|c| c.session.unacked() == 0).await?;
    assert_eq!(stored_text(&store, "full").await?, "saved unsaved");
    let (status, _) = http_get(server.addr, "/healthz", &[]).await?;
    assert_eq!(status, 200);
    wait_metric(server.addr, "weft_docs_unsaved 0").await?;
    // And new writes are acked as before.
    a.insert(" more").await?;
    a.wait_for(|c| c.session.unacked() == 0).await?;
    server.stop().await
}

#[tokio::test]
async fn a_doc_with_unsaved_changes_stays_loaded_until_the_store_takes_them() -> anyhow::Result<()>
{
    let mut cfg = config();
    cfg.unload_after = Duration::from_millis(20);
    let store = mem();
    let server = TestServer::start(store.clone(), cfg).await;
    let url = format!("{}?ack=1", server.url("kept"));
    let mut c = Client::synced(&url).await?;
    store.fail_writes(true);
    c.insert("only in memory").await?;
    c.wait_for(|c| told_cannot_save(c) == Some(true)).await?;
    drop(c);
    wait_metric(server.addr, "weft_connections 0").await?;
    // Well past the grace period: memory is the only copy, so it stays.
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_metric(server.addr, "weft_docs_loaded 1").await?;
    store.fail_writes(false);
    wait_metric(server.addr, "weft_docs_loaded 0").await?;
    assert_eq!(stored_text(&store, "kept").await?, "only in memory");
    server.stop().await
}

#[tokio::test]
async fn shutdown_with_a_failing_store_names_the_unsaved_docs() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.shutdown_timeout = Duration::from_millis(500);
    let store = mem();
    let server = TestServer::start(store.clone(), cfg).await;
    let mut c = Client::synced(&format!("{}?ack=1", server.url("lost-at-exit"))).await?;
    store.fail_writes(true);
    c.insert("x").await?;
    c.wait_for(|c| told_cannot_save(c) == Some(true)).await?;
    let err = server.stop().await.unwrap_err().to_string();
    assert!(
        err.contains("1 document: lost-at-exit could not be saved"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn unresponsive_connections_are_closed_by_keepalive() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.ping_interval = Duration::from_millis(100);
    let server = TestServer::start(mem(), cfg).await;
    let _silent = Client::synced(&server.url("ka")).await?;
    // Never read again: pings go unanswered.
    wait_metric(server.addr, "weft_connections 0").await?;
    server.stop().await
}

#[tokio::test]
async fn concurrent_first_connections_share_one_load() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    {
        let store = SqliteStore::open(dir.path())?;
        let d = Doc::new();
        let t = d.get_or_insert_text("t");
        let mut txn = d.transact_mut();
        t.insert(&mut txn, 0, "preloaded");
        let update = txn.encode_update_v1();
        drop(txn);
        weft_server::store::append(
            &store,
            &weft_core::doc_id::DocId::new("shared")?,
            update.into(),
        )
        .await?;
    }
    let server = TestServer::start(Arc::new(SqliteStore::open(dir.path())?), config()).await;
    let url = server.url("shared");
    let joins = (0..20).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { Client::synced(&url).await.map(|c| c.text()) })
    });
    for j in joins {
        assert_eq!(j.await??, "preloaded");
    }
    let (_, metrics) = http_get(server.addr, "/metrics", &[]).await?;
    assert!(metrics.contains("weft_docs_loaded 1"), "{metrics}");
    server.stop().await
}

#[tokio::test]
async fn exceeding_the_rate_limit_closes_with_1008_and_hurts_nobody_else() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.rate_messages = 20;
    let server = TestServer::start(mem(), cfg).await;
    let url = server.url("rate");
    let mut good = Client::synced(&format!("{url}?ack=1")).await?;
    good.insert("calm").await?;
    good.wait_for(|c| c.session.unacked() == 0).await?;
    let mut flood = Client::synced(&url).await?;
    for _ in 0..200 {
        if flood
            .send_raw(protocol::encode(&Message::AwarenessQuery).to_vec())
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(flood.close_code().await, 1008);
    good.insert(" and fine").await?;
    good.wait_for(|c| c.session.unacked() == 0).await?;
    assert_eq!(Client::synced(&url).await?.text(), "calm and fine");
    server.stop().await
}

#[tokio::test]
async fn too_many_connection_attempts_from_one_ip_get_429() -> anyhow::Result<()> {
    let mut cfg = config();
    cfg.rate_connects = 5;
    let server = TestServer::start(mem(), cfg).await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        // Refused upgrades count as attempts too.
        codes.push(http_get(server.addr, "/a%2Fb", UPGRADE_HEADERS).await?.0);
    }
    assert_eq!(codes, vec![400, 400, 400, 400, 400, 429, 429]);
    server.stop().await
}

/// Upgrade attempts (refused after the rate check) as if forwarded for `ip`.
async fn attempts_from(addr: std::net::SocketAddr, ip: &str, n: usize) -> anyhow::Result<Vec<u16>> {
    let mut headers = UPGRADE_HEADERS.to_vec();
    headers.push(("X-Forwarded-For", ip));
    let mut codes = Vec::new();
    for _ in 0..n {
        codes.push(http_get(addr, "/a%2Fb", &headers).await?.0);
    }
    Ok(codes)
}

#[tokio::test]
async fn a_forwarded_address_counts_only_from_a_trusted_proxy() -> anyhow::Result<()> {
    // Nobody trusted: a client cannot dodge its limit by naming another IP.
    let mut cfg = config();
    cfg.rate_connects = 2;
    let server = TestServer::start(mem(), cfg.clone()).await;
    assert_eq!(attempts_from(server.addr, "1.1.1.1", 2).await?, [400, 400]);
    assert_eq!(attempts_from(server.addr, "2.2.2.2", 1).await?, [429]);
    server.stop().await?;

    // Behind a trusted proxy (here, loopback), each client has its own limit.
    cfg.trusted_proxies = vec!["127.0.0.1/32".parse()?];
    let server = TestServer::start(mem(), cfg).await;
    assert_eq!(
        attempts_from(server.addr, "1.1.1.1", 3).await?,
        [400, 400, 429]
    );
    assert_eq!(attempts_from(server.addr, "2.2.2.2", 2).await?, [400, 400]);
    // Behind two proxies, the address the outer one saw counts.
    assert_eq!(
        attempts_from(server.addr, "6.6.6.6, 3.3.3.3", 1).await?,
        [400]
    );
    assert_eq!(attempts_from(server.addr, "3.3.3.3", 2).await?, [400, 429]);
    server.stop().await
}

/// `weft_tasks` counts the runtime's live tasks: it rises with
/// connections and falls back once they close (a leaked task would not).
#[tokio::test]
async fn the_tasks_metric_rises_with_connections_and_falls_back() -> anyhow::Result<()> {
    let server = TestServer::start(mem(), config()).await;
    let tasks = || async {
        let (_, body) = http_get(server.addr, "/metrics", &[]).await?;
        body.lines()
            .find_map(|l| l.strip_prefix("weft_tasks ")?.parse::<i64>().ok())
            .ok_or_else(|| anyhow::anyhow!("no weft_tasks in:\n{body}"))
    };
    let before = tasks().await?;
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(Client::synced(&server.url("tasks")).await?);
    }
    let during = tasks().await?;
    assert!(
        during >= before + 20,
        "{before} tasks, then {during} with 20 connections"
    );
    drop(clients);
    let deadline = tokio::time::Instant::now() + weft_e2e::WAIT;
    loop {
        let now = tasks().await?;
        if now <= before + 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{now} tasks left after the connections closed ({before} before)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await
}
