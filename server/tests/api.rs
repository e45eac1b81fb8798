//! The HTTP API under /api/v1, against an in-process server on SQLite:
//! what it returns, who may do what, the trash and share links, and that
//! refused requests change nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::api::*;
use common::*;
use serde_json::Value;
use weft_server::auth::{Claims, Level};
use weft_server::store::SqliteStore;
use yrs::updates::decoder::Decode;
use yrs::{Map, ReadTxn, Text, Transact, WriteTxn};

/// A stock-shaped update: text in `Text("t")`, and the title if given.
fn update(text: &str, title: Option<&str>) -> Vec<u8> {
    let doc = yrs::Doc::new();
    {
        let mut txn = doc.transact_mut();
        txn.get_or_insert_text("t").insert(&mut txn, 0, text);
        if let Some(t) = title {
            txn.get_or_insert_map("meta").insert(&mut txn, "title", t);
        }
    }
    let state = doc
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    state
}

fn ids(list: &Value) -> Vec<String> {
    list["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_title_set_by_a_client_is_listed_and_an_update_reaches_live_peers() {
    let s = setup(false).await;
    let mut writer = Client::synced(&s.ws("plans", None)).await.unwrap();
    let title_update = {
        let doc = writer.doc().clone();
        let mut txn = doc.transact_mut();
        txn.get_or_insert_map("meta")
            .insert(&mut txn, "title", "Q3 plans");
        txn.encode_update_v1()
    };
    writer.send_update(title_update).await.unwrap();
    writer.wait_for(|c| c.session.unacked() == 0).await.unwrap();

    // The title is indexed by a write queued just after the update's: it
    // may land a moment after the ack.
    let deadline = tokio::time::Instant::now() + WAIT;
    let list = loop {
        let (status, list) = s.json("GET", "/api/v1/docs", None).await;
        assert_eq!(status, 200);
        if list["docs"][0]["title"] == "Q3 plans" || tokio::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(list["docs"][0]["id"], "plans");
    assert_eq!(list["docs"][0]["title"], "Q3 plans");
    assert!(list["docs"][0]["size"].as_u64().unwrap() > 0);

    // An update posted over HTTP reaches the live client, and answers only
    // once it is durable (a fresh connection sees it at once).
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/docs/plans/updates",
            None,
            Some("application/octet-stream"),
            &update("from http", None),
        )
        .await;
    assert_eq!(status, 200);
    writer
        .wait_for(|c| c.text().contains("from http"))
        .await
        .unwrap();
    let fresh = Client::synced(&s.ws("plans", None)).await.unwrap();
    assert!(fresh.text().contains("from http"));

    let (status, meta) = s.json("GET", "/api/v1/docs/plans", None).await;
    assert_eq!((status, meta["title"].as_str()), (200, Some("Q3 plans")));
    assert_eq!(s.json("GET", "/api/v1/docs/nope", None).await.0, 404);
}

#[tokio::test]
async fn content_comes_in_every_format_and_put_replaces_it_for_live_editors() {
    let s = setup(false).await;
    let (status, _) = s
        .call(
            "PUT",
            "/api/v1/docs/notes/content",
            None,
            Some("text/markdown"),
            b"# Notes\n\nSome *words*.\n",
        )
        .await;
    assert_eq!(status, 200);
    let live = Client::synced(&s.ws("notes", None)).await.unwrap();
    let (status, md) = s
        .call(
            "GET",
            "/api/v1/docs/notes/content?format=md",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(
        (status, String::from_utf8(md).unwrap().as_str()),
        (200, "# Notes\n\nSome *words*.\n")
    );
    let (_, html) = s
        .call(
            "GET",
            "/api/v1/docs/notes/content?format=html",
            None,
            None,
            &[],
        )
        .await;
    assert!(String::from_utf8(html).unwrap().contains("<h1>Notes</h1>"));
    let (_, text) = s
        .call(
            "GET",
            "/api/v1/docs/notes/content?format=text",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(String::from_utf8(text).unwrap(), "Notes\nSome words.\n");
    let (_, json) = s
        .json("GET", "/api/v1/docs/notes/content?format=json", None)
        .await;
    assert_eq!(json["type"], "doc");
    let (_, state) = s
        .call(
            "GET",
            "/api/v1/docs/notes/content?format=update",
            None,
            None,
            &[],
        )
        .await;
    let copy = yrs::Doc::new();
    copy.transact_mut()
        .apply_update(yrs::Update::decode_v1(&state).unwrap())
        .unwrap();
    assert_eq!(
        weft_core::convert::to_markdown(&copy),
        "# Notes\n\nSome *words*.\n"
    );

    // HTML replaces it, as one change the live client receives.
    let (status, _) = s
        .call(
            "PUT",
            "/api/v1/docs/notes/content",
            None,
            Some("text/html; charset=utf-8"),
            b"<h2>Done</h2><p>All <strong>of it</strong></p>",
        )
        .await;
    assert_eq!(status, 200);
    let mut live = live;
    live.wait_for(|c| weft_core::convert::to_markdown(c.doc()) == "## Done\n\nAll **of it**\n")
        .await
        .unwrap();
    assert_eq!(
        s.call(
            "GET",
            "/api/v1/docs/notes/content?format=pdf",
            None,
            None,
            &[]
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn bad_bodies_get_400_413_415_and_change_nothing() {
    let s = setup_with(false, |c| c.max_message_size = 4096).await;
    let good = update("kept", Some("Kept"));
    assert_eq!(
        s.call(
            "POST",
            "/api/v1/docs/d/updates",
            None,
            Some("application/octet-stream"),
            &good
        )
        .await
        .0,
        200
    );
    let before = s
        .call(
            "GET",
            "/api/v1/docs/d/content?format=update",
            None,
            None,
            &[],
        )
        .await
        .1;
    let cases: Vec<(&str, &str, &str, Vec<u8>, u16)> = vec![
        (
            "POST",
            "/api/v1/docs/d/updates",
            "application/octet-stream",
            vec![0xff, 0x01, 0x02],
            400,
        ),
        (
            "POST",
            "/api/v1/docs/d/updates",
            "application/octet-stream",
            vec![0; 10_000],
            413,
        ),
        (
            "POST",
            "/api/v1/docs/d/updates",
            "text/plain",
            good.clone(),
            415,
        ),
        (
            "PUT",
            "/api/v1/docs/d/content",
            "application/pdf",
            b"x".to_vec(),
            415,
        ),
        (
            "PUT",
            "/api/v1/docs/d/content",
            "text/markdown",
            vec![0xff, 0xfe],
            400,
        ),
        (
            "PATCH",
            "/api/v1/docs/d",
            "application/json",
            b"{\"name\": 1}".to_vec(),
            400,
        ),
        (
            "PATCH",
            "/api/v1/docs/d",
            "text/plain",
            b"{\"title\": \"x\"}".to_vec(),
            415,
        ),
        (
            "POST",
            "/api/v1/docs/bad%2Fid/updates",
            "application/octet-stream",
            good.clone(),
            400,
        ),
    ];
    for (method, path, ct, body, want) in cases {
        let (status, body) = s.call(method, path, None, Some(ct), &body).await;
        assert_eq!(
            status,
            want,
            "{method} {path} {ct}: {}",
            String::from_utf8_lossy(&body)
        );
        let err: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            err["error"]["code"].is_string() && err["error"]["message"].is_string(),
            "{err}"
        );
    }
    let after = s
        .call(
            "GET",
            "/api/v1/docs/d/content?format=update",
            None,
            None,
            &[],
        )
        .await
        .1;
    assert_eq!(before, after, "a refused request changed the document");
    let (_, meta) = s.json("GET", "/api/v1/docs/d", None).await;
    assert_eq!(meta["title"], "Kept");
}

#[tokio::test]
async fn listing_is_scoped_by_the_token_and_pages_newest_first() {
    let s = setup(true).await;
    let admin = s.token("*", Level::Write);
    for id in ["a", "b", "team-x", "team-y", "teammate"] {
        let (status, _) = s
            .call(
                "POST",
                &format!("/api/v1/docs/{id}/updates"),
                Some(&admin),
                Some("application/octet-stream"),
                &update(id, Some(&format!("Doc {id}"))),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (_, all) = s.json("GET", "/api/v1/docs", Some(&admin)).await;
    assert_eq!(ids(&all).len(), 5);

    let (_, only_a) = s
        .json("GET", "/api/v1/docs", Some(&s.token("a", Level::Read)))
        .await;
    assert_eq!(ids(&only_a), vec!["a"]);
    let (_, team) = s
        .json("GET", "/api/v1/docs", Some(&s.token("team-*", Level::Read)))
        .await;
    let mut team_ids = ids(&team);
    team_ids.sort();
    assert_eq!(team_ids, vec!["team-x", "team-y"]);
    // Asking for a wider prefix does not widen the token.
    let (_, wider) = s
        .json(
            "GET",
            "/api/v1/docs?prefix=t",
            Some(&s.token("team-*", Level::Read)),
        )
        .await;
    assert_eq!(ids(&wider).len(), 2);
    let (_, other) = s
        .json(
            "GET",
            "/api/v1/docs?prefix=b",
            Some(&s.token("team-*", Level::Read)),
        )
        .await;
    assert!(ids(&other).is_empty());
    assert_eq!(
        s.json("GET", "/api/v1/docs/b", Some(&s.token("a", Level::Read)))
            .await
            .0,
        403
    );
    assert_eq!(s.json("GET", "/api/v1/docs", None).await.0, 401);

    // Search by title, and pages that together list everything once.
    let (_, found) = s
        .json("GET", "/api/v1/docs?q=doc%20TEAM-X", Some(&admin))
        .await;
    assert_eq!(ids(&found), vec!["team-x"]);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = s
            .json(
                "GET",
                &format!("/api/v1/docs?limit=2{cursor}"),
                Some(&admin),
            )
            .await;
        assert_eq!(status, 200);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["a", "b", "team-x", "team-y", "teammate"]);
    assert_eq!(
        s.json("GET", "/api/v1/docs?cursor=nonsense", Some(&admin))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn a_read_token_gets_403_on_every_change() {
    let s = setup(true).await;
    let write = s.token("d", Level::Write);
    let read = s.token("d", Level::Read);
    assert_eq!(
        s.call(
            "POST",
            "/api/v1/docs/d/updates",
            Some(&write),
            Some("application/octet-stream"),
            &update("x", None)
        )
        .await
        .0,
        200
    );
    let before = s
        .call(
            "GET",
            "/api/v1/docs/d/content?format=update",
            Some(&read),
            None,
            &[],
        )
        .await;
    assert_eq!(before.0, 200);
    for (method, path, ct, body) in [
        (
            "POST",
            "/api/v1/docs/d/updates",
            "application/octet-stream",
            update("y", None),
        ),
        (
            "PUT",
            "/api/v1/docs/d/content",
            "text/markdown",
            b"# no".to_vec(),
        ),
        (
            "PATCH",
            "/api/v1/docs/d",
            "application/json",
            b"{\"title\": \"no\"}".to_vec(),
        ),
        ("DELETE", "/api/v1/docs/d", "application/json", Vec::new()),
        (
            "POST",
            "/api/v1/docs/d/restore",
            "application/json",
            Vec::new(),
        ),
        (
            "POST",
            "/api/v1/docs/d/links/reset",
            "application/json",
            Vec::new(),
        ),
    ] {
        let (status, body) = s.call(method, path, Some(&read), Some(ct), &body).await;
        assert_eq!(
            status,
            403,
            "{method} {path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let after = s
        .call(
            "GET",
            "/api/v1/docs/d/content?format=update",
            Some(&read),
            None,
            &[],
        )
        .await;
    assert_eq!(before.1, after.1);
}

#[tokio::test]
async fn the_trash_closes_connections_answers_410_and_restore_brings_everything_back() {
    let s = setup(false).await;
    let mut c = Client::synced(&s.ws("old", None)).await.unwrap();
    c.insert("everything in it").await.unwrap();
    c.wait_for(|c| c.session.unacked() == 0).await.unwrap();

    assert_eq!(
        s.call("DELETE", "/api/v1/docs/old", None, None, &[])
            .await
            .0,
        204
    );
    assert_eq!(
        c.close_code().await,
        4410,
        "live connections close with 4410"
    );
    let (status, _) = http_get(s.server.addr, "/old", UPGRADE_HEADERS)
        .await
        .unwrap();
    assert_eq!(status, 410);
    assert!(Client::connect(&s.ws("old", None)).await.is_err());
    let (_, list) = s.json("GET", "/api/v1/docs", None).await;
    assert!(ids(&list).is_empty(), "a trashed doc is listed: {list}");
    let (status, meta) = s.json("GET", "/api/v1/docs/old", None).await;
    assert_eq!((status, meta["trashed"].as_bool()), (200, Some(true)));
    assert_eq!(
        s.call("GET", "/api/v1/docs/old/content", None, None, &[])
            .await
            .0,
        410
    );
    assert_eq!(
        s.call(
            "POST",
            "/api/v1/docs/old/updates",
            None,
            Some("application/octet-stream"),
            &update("x", None)
        )
        .await
        .0,
        410
    );

    assert_eq!(
        s.json("POST", "/api/v1/docs/old/restore", None).await.0,
        200
    );
    let back = Client::synced(&s.ws("old", None)).await.unwrap();
    assert_eq!(back.text(), "everything in it");
    let (_, list) = s.json("GET", "/api/v1/docs", None).await;
    assert_eq!(ids(&list), vec!["old"]);
}

#[tokio::test]
async fn trashed_docs_are_deleted_for_good_after_the_retention() {
    let s = setup_with(false, |c| c.trash_retention = Duration::from_secs(1)).await;
    assert_eq!(
        s.call(
            "POST",
            "/api/v1/docs/gone/updates",
            None,
            Some("application/octet-stream"),
            &update("x", None)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        s.call("DELETE", "/api/v1/docs/gone", None, None, &[])
            .await
            .0,
        204
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.json("GET", "/api/v1/docs/gone", None).await.0 != 404 {
        assert!(tokio::time::Instant::now() < deadline, "not purged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Gone for good: a new connection finds an empty document.
    let c = Client::synced(&s.ws("gone", None)).await.unwrap();
    assert_eq!(c.text(), "");
}

fn claims_of(token: &str) -> Claims {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn links_name_exactly_their_document_and_a_reset_revokes_them() {
    let s = setup(true).await;
    let star = s.token("*", Level::Write);
    for id in ["shared", "private"] {
        s.call(
            "POST",
            &format!("/api/v1/docs/{id}/updates"),
            Some(&star),
            Some("application/octet-stream"),
            &update(id, None),
        )
        .await;
    }
    let mint = |access: &'static str| {
        let s = &s;
        let star = star.clone();
        async move {
            let body = format!("{{\"access\": \"{access}\", \"expires_in\": 600}}");
            let (status, body) = s
                .call(
                    "POST",
                    "/api/v1/docs/shared/links",
                    Some(&star),
                    Some("application/json"),
                    body.as_bytes(),
                )
                .await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let link = mint("write").await;
    let token = link["token"].as_str().unwrap().to_owned();
    let claims = claims_of(&token);
    assert_eq!(claims.doc, "shared", "the link names exactly its document");
    assert_eq!(claims.access, Level::Write);
    assert_eq!(claims.gen, Some(0));
    let own_exp = claims_of(&star).exp;
    assert!(claims.exp <= own_exp && claims.exp <= weft_core::time::unix_secs() + 601);
    assert!(link["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/shared?token={token}")));

    // It opens its document, and nothing else.
    let mut live = Client::synced(&s.ws("shared", Some(&token))).await.unwrap();
    assert_eq!(
        s.json("GET", "/api/v1/docs/private", Some(&token)).await.0,
        403
    );
    let (status, _) = http_get(
        s.server.addr,
        &format!("/private?token={token}"),
        UPGRADE_HEADERS,
    )
    .await
    .unwrap();
    assert_eq!(status, 403);
    // A view link from a read token; a read token cannot mint a write one.
    let read = s.token("shared", Level::Read);
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/docs/shared/links",
            Some(&read),
            Some("application/json"),
            b"{\"access\": \"write\", \"expires_in\": null}",
        )
        .await;
    assert_eq!(status, 403);

    // Reset: the old link gets 401 and its live session closes; a new one works.
    assert_eq!(
        s.call(
            "POST",
            "/api/v1/docs/shared/links/reset",
            Some(&star),
            None,
            &[]
        )
        .await
        .0,
        204
    );
    assert_eq!(live.close_code().await, 4401);
    let (status, _) = http_get(
        s.server.addr,
        &format!("/shared?token={token}"),
        UPGRADE_HEADERS,
    )
    .await
    .unwrap();
    assert_eq!(status, 401);
    assert_eq!(
        s.json("GET", "/api/v1/docs/shared", Some(&token)).await.0,
        401
    );
    let fresh = mint("read").await;
    let fresh_token = fresh["token"].as_str().unwrap();
    assert_eq!(claims_of(fresh_token).gen, Some(1));
    let c = Client::synced(&s.ws("shared", Some(fresh_token)))
        .await
        .unwrap();
    assert_eq!(c.text(), "shared");
    // The owner's own token is not a link, and keeps working.
    Client::synced(&s.ws("shared", Some(&star))).await.unwrap();
}

/// Statuses of `n` requests sent on one kept-alive connection.
async fn on_one_connection(addr: std::net::SocketAddr, n: usize) -> Vec<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut reqs = String::new();
    for i in 0..n {
        let close = if i + 1 == n {
            "Connection: close\r\n"
        } else {
            ""
        };
        reqs.push_str(&format!(
            "GET /api/v1/docs HTTP/1.1\r\nHost: x\r\n{close}\r\n"
        ));
    }
    tcp.write_all(reqs.as_bytes()).await.unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    out.split("HTTP/1.1 ")
        .skip(1)
        .map(|r| r[..3].parse().unwrap())
        .collect()
}

#[tokio::test]
async fn api_requests_are_rate_limited_per_connection_and_per_address() {
    let s = setup_with(false, |c| {
        c.rate_connects = 2;
        c.rate_messages = 3;
    })
    .await;
    // A kept-alive connection: one connection attempt, then a burst of two
    // seconds of messages (6), as a WebSocket would get.
    let statuses = on_one_connection(s.server.addr, 8).await;
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
    let body = s.call("GET", "/api/v1/docs", None, None, b"").await;
    assert_eq!(body.0, 200, "a second connection is the second attempt");
    let (status, body) = s.call("GET", "/api/v1/docs", None, None, b"").await;
    assert_eq!(
        status, 429,
        "the third connection from the address is one too many"
    );
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn the_openapi_description_names_every_endpoint() {
    let s = setup(false).await;
    let (status, doc) = s.json("GET", "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/docs",
        "/api/v1/docs/{id}",
        "/api/v1/docs/{id}/content",
        "/api/v1/docs/{id}/updates",
        "/api/v1/docs/{id}/restore",
        "/api/v1/docs/{id}/links",
        "/api/v1/docs/{id}/links/reset",
    ] {
        assert!(paths.contains_key(p), "{p} missing from {:?}", paths.keys());
    }
    assert!(paths["/api/v1/docs/{id}"].get("delete").is_some());
    let (status, err) = s.json("GET", "/api/v1/nothing", None).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("no_such_endpoint"))
    );
}

#[tokio::test]
async fn an_old_database_gets_its_index_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A database as version 1 wrote it: updates and snapshots, no index.
    {
        let conn = rusqlite::Connection::open(data.join("weft.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, data BLOB NOT NULL);
             CREATE INDEX updates_by_doc ON updates(doc, id);
             CREATE TABLE snapshots (doc TEXT PRIMARY KEY, data BLOB NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
             PRAGMA user_version=1;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO updates (doc, data) VALUES ('older', ?1)",
            [update("from before", None)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO snapshots (doc, data, updated_at) VALUES ('snap', ?1, 1700000000)",
            [update("snapshot", None)],
        )
        .unwrap();
    }
    let store = Arc::new(SqliteStore::open(&data).unwrap());
    let server = TestServer::start(store, config()).await;
    let (_, body) = http_get(server.addr, "/api/v1/docs", &[]).await.unwrap();
    let list: Value = serde_json::from_str(&body).unwrap();
    let mut got = ids(&list);
    got.sort();
    assert_eq!(got, vec!["older", "snap"]);
    let snap = list["docs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "snap")
        .unwrap();
    assert_eq!(snap["updated_at"], 1700000000);
    let c = Client::synced(&format!("ws://{}/older", server.addr))
        .await
        .unwrap();
    assert_eq!(c.text(), "from before");
    let conn = rusqlite::Connection::open(data.join("weft.db")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version, 4,
        "the index (2), then version history (3), then blobs (4)"
    );
    let (versions, blobs): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM versions), (SELECT count(*) FROM blobs)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((versions, blobs), (0, 0));
}
