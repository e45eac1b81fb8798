//! Version history through the API, against an in-process server on
//! SQLite: automatic versions by an injected clock, named versions,
//! restoring as a forward edit with live and offline clients, diffs, and
//! who may do what.

mod common;

use std::time::Duration;

use common::api::*;
use common::*;
use serde_json::{json, Value};
use weft_core::time::Clock;
use weft_server::auth::Level;
use yrs::updates::decoder::Decode;
use yrs::{GetString, Text, Transact, Update};

const JSON: Option<&str> = Some("application/json");

fn versions(list: &Value) -> Vec<(String, String)> {
    list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap_or("").to_owned();
            (v["kind"].as_str().unwrap().to_owned(), name)
        })
        .collect()
}

async fn save(s: &Setup, doc: &str, name: &str, token: Option<&str>) -> (u16, Value) {
    let body = json!({ "name": name }).to_string();
    let path = format!("/api/v1/docs/{doc}/versions");
    let (status, body) = s.call("POST", &path, token, JSON, body.as_bytes()).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `Text("t")` of a version, read back through the API as a Yjs update.
async fn version_text(s: &Setup, doc: &str, vid: &str) -> String {
    let path = format!("/api/v1/docs/{doc}/versions/{vid}/content?format=update");
    let (status, body) = s.call("GET", &path, None, None, b"").await;
    assert_eq!(status, 200);
    let d = yrs::Doc::new();
    d.transact_mut()
        .apply_update(Update::decode_v1(&body).unwrap())
        .unwrap();
    let t = d.get_or_insert_text("t");
    let txn = d.transact();
    t.get_string(&txn)
}

async fn auto_list(s: &Setup, doc: &str) -> Vec<(String, String)> {
    versions(
        &s.json("GET", &format!("/api/v1/docs/{doc}/versions"), None)
            .await
            .1,
    )
}

/// Replaces all of `c`'s text with `s`, as one update.
async fn replace(c: &mut Client, s: &str) {
    let update = {
        let t = c.doc().get_or_insert_text("t");
        let mut txn = c.doc().transact_mut();
        let len = t.len(&txn);
        t.remove_range(&mut txn, 0, len);
        t.insert(&mut txn, 0, s);
        txn.encode_update_v1()
    };
    c.send_update(update).await.unwrap();
}

#[tokio::test]
async fn automatic_versions_come_on_the_interval_and_when_the_document_unloads() {
    let clock = Clock::manual(1_800_000_000_000);
    let s = setup_with(false, |c| {
        c.clock = clock.clone();
        c.unload_after = Duration::from_millis(200);
    })
    .await;
    let mut c = Client::synced(&s.ws("notes", None)).await.unwrap();
    c.insert("first").await.unwrap();
    c.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    assert!(
        auto_list(&s, "notes").await.is_empty(),
        "the interval has not passed"
    );

    // Ten minutes on, the next edit makes one; the one after does not.
    clock.advance(Duration::from_secs(600));
    c.insert(" second").await.unwrap();
    c.insert(" third").await.unwrap();
    c.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    assert_eq!(
        auto_list(&s, "notes").await,
        [("auto".into(), String::new())]
    );
    let all = s.json("GET", "/api/v1/docs/notes/versions", None).await.1;
    let first = all["versions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(version_text(&s, "notes", &first).await, "first second");
    assert_eq!(all["versions"][0]["created_at"], 1_800_000_600_000i64);

    // Leaving with changes since: one more when the document unloads.
    drop(c);
    wait_metric(s.server.addr, "weft_docs_loaded 0")
        .await
        .unwrap();
    assert_eq!(auto_list(&s, "notes").await.len(), 2);
    let all = s.json("GET", "/api/v1/docs/notes/versions", None).await.1;
    let newest = all["versions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        version_text(&s, "notes", &newest).await,
        "first second third"
    );

    // Opened and closed without a change: no version.
    let c = Client::synced(&s.ws("notes", None)).await.unwrap();
    wait_metric(s.server.addr, "weft_docs_loaded 1")
        .await
        .unwrap();
    drop(c);
    wait_metric(s.server.addr, "weft_docs_loaded 0")
        .await
        .unwrap();
    assert_eq!(
        auto_list(&s, "notes").await.len(),
        2,
        "nothing changed, nothing saved"
    );
}

/// The issue's scenario: "A" saved as v1; two clients make it "B"; a
/// third edits offline; v1 is restored while the two are connected; the
/// third comes back.
#[tokio::test]
async fn a_restore_reaches_live_clients_and_keeps_an_offline_edit() {
    let s = setup(false).await;
    let mut writer = Client::synced(&s.ws("plan", None)).await.unwrap();
    writer.insert("A").await.unwrap();
    writer.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    let (status, v1) = save(&s, "plan", "v1", None).await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(
        (v1["kind"].as_str(), v1["name"].as_str()),
        (Some("named"), Some("v1"))
    );
    let v1 = v1["id"].as_str().unwrap().to_owned();

    let mut one = writer;
    let mut two = Client::synced(&s.ws("plan", None)).await.unwrap();
    let mut three = Client::synced(&s.ws("plan", None)).await.unwrap();
    replace(&mut one, "B").await;
    two.wait_for(|c| c.text() == "B").await.unwrap();
    two.insert("!").await.unwrap();
    one.wait_for(|c| c.text() == "B!").await.unwrap();
    three.wait_for(|c| c.text() == "B!").await.unwrap();
    two.wait_for(|c| c.session.unacked() == 0).await.unwrap();

    // The third goes offline and edits.
    let offline = three.doc().clone();
    drop(three);
    let offline_edit = {
        let t = offline.get_or_insert_text("t");
        let mut txn = offline.transact_mut();
        let len = t.len(&txn);
        t.insert(&mut txn, len, " offline");
        txn.encode_update_v1()
    };

    let path = format!("/api/v1/docs/plan/versions/{v1}/restore");
    let (status, restored) = s.json("POST", &path, None).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["name"], "Restored “v1”");
    // Both live clients show v1 without reconnecting.
    one.wait_for(|c| c.text() == "A").await.unwrap();
    two.wait_for(|c| c.text() == "A").await.unwrap();

    // The third reconnects with its offline edit; all three converge.
    let mut three = Client::connect_doc(&s.ws("plan", None), offline)
        .await
        .unwrap();
    three.wait_for(|c| c.session.is_synced()).await.unwrap();
    three.send_update(offline_edit).await.unwrap();
    three.wait_for(|c| c.text() == "A offline").await.unwrap();
    one.wait_for(|c| c.text() == "A offline").await.unwrap();
    two.wait_for(|c| c.text() == "A offline").await.unwrap();

    // A pre-restore version holds "B!".
    let all = s.json("GET", "/api/v1/docs/plan/versions", None).await.1;
    let kinds = versions(&all);
    assert_eq!(kinds[0], ("named".into(), "Restored “v1”".into()));
    assert_eq!(kinds[1].0, "pre-restore");
    let pre = all["versions"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(version_text(&s, "plan", &pre).await, "B!");
    assert_eq!(version_text(&s, "plan", &v1).await, "A");
}

#[tokio::test]
async fn the_diff_marks_inserted_and_deleted_words() {
    let s = setup(false).await;
    let put = |md: &'static str| {
        let s = &s;
        async move {
            let ct = Some("text/markdown");
            let (status, _) = s
                .call("PUT", "/api/v1/docs/d/content", None, ct, md.as_bytes())
                .await;
            assert_eq!(status, 200);
        }
    };
    put("# Plan\n\nShip the old thing soon\n\nKeep this").await;
    let a = save(&s, "d", "draft", None).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    put("# Plan\n\nShip the new thing today\n\nKeep this\n\nAdded").await;
    let b = save(&s, "d", "final", None).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, d) = s
        .json(
            "GET",
            &format!("/api/v1/docs/d/versions/{a}/diff?against={b}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    let parts = |i: usize| -> Vec<(String, String)> {
        d["blocks"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["op"].as_str().unwrap().into(),
                    p["text"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let p = |op: &str, t: &str| (op.to_owned(), t.to_owned());
    assert_eq!(parts(0), [p("equal", "# Plan")]);
    assert_eq!(
        parts(1),
        [
            p("equal", "Ship the "),
            p("delete", "old"),
            p("insert", "new"),
            p("equal", " thing "),
            p("delete", "soon"),
            p("insert", "today"),
        ]
    );
    assert_eq!(parts(2), [p("equal", "Keep this")]);
    assert_eq!(parts(3), [p("insert", "Added")]);
    // Against the current document (the default), the same here.
    let (_, current) = s
        .json("GET", &format!("/api/v1/docs/d/versions/{a}/diff"), None)
        .await;
    assert_eq!(current["blocks"], d["blocks"]);
    assert_eq!(current["against"], "current");
}

#[tokio::test]
async fn read_tokens_may_look_but_not_save_or_restore_and_unknown_versions_are_404() {
    let s = setup(true).await;
    let write = s.token("doc", Level::Write);
    let read = s.token("doc", Level::Read);
    let mut c = Client::synced(&s.ws("doc", Some(&write))).await.unwrap();
    c.insert("text").await.unwrap();
    c.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    let (status, v) = save(&s, "doc", "mine", Some(&write)).await;
    assert_eq!(status, 201);
    assert_eq!(v["authors"], json!(["t"]), "the writer's token sub");
    let vid = v["id"].as_str().unwrap().to_owned();

    // Reading is allowed.
    let (status, list) = s
        .json("GET", "/api/v1/docs/doc/versions", Some(&read))
        .await;
    assert_eq!((status, versions(&list).len()), (200, 1));
    let path = format!("/api/v1/docs/doc/versions/{vid}/content?format=text");
    assert_eq!(s.call("GET", &path, Some(&read), None, b"").await.0, 200);
    // Saving, naming and restoring are not.
    assert_eq!(save(&s, "doc", "no", Some(&read)).await.0, 403);
    let restore = format!("/api/v1/docs/doc/versions/{vid}/restore");
    assert_eq!(s.json("POST", &restore, Some(&read)).await.0, 403);
    let rename = format!("/api/v1/docs/doc/versions/{vid}");
    let body = br#"{"name": "x"}"#;
    assert_eq!(
        s.call("PATCH", &rename, Some(&read), JSON, body).await.0,
        403
    );
    // Nothing changed.
    let (_, list) = s
        .json("GET", "/api/v1/docs/doc/versions", Some(&write))
        .await;
    assert_eq!(versions(&list), [("named".into(), "mine".into())]);

    // Unknown versions, and ids that could not be one.
    for bad in ["0123456789abcdefgh", "nope", "..%2F"] {
        let path = format!("/api/v1/docs/doc/versions/{bad}/restore");
        let (status, body) = s.json("POST", &path, Some(&write)).await;
        assert_eq!(status, 404, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "no_such_version");
    }
    // Naming works for a writer; a bad name is 400.
    let (status, named) = s
        .call(
            "PATCH",
            &rename,
            Some(&write),
            JSON,
            br#"{"name": "Launch"}"#,
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&named));
    assert_eq!(
        s.call("PATCH", &rename, Some(&write), JSON, br#"{"name": " "}"#)
            .await
            .0,
        400
    );
    assert_eq!(
        s.call("PATCH", &rename, Some(&write), None, br#"{"name": "x"}"#)
            .await
            .0,
        415
    );
}
