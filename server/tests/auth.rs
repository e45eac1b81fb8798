//! Every refusal path of token auth, with raw WebSocket clients. After each,
//! the doc is unchanged and the server keeps serving others.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::*;
use weft_core::client::ClientEvent;
use weft_server::auth::{Auth, Level};
use weft_server::store::MemoryStore;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

struct Setup {
    server: TestServer,
    auth: Auth,
    _dir: tempfile::TempDir,
}

async fn setup(origins: &[&str]) -> Setup {
    setup_with(origins, |_| {}).await
}

async fn setup_with(origins: &[&str], tweak: impl FnOnce(&mut weft_server::Config)) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let mut cfg = config();
    cfg.auth_secret_file = Some(secret.clone());
    cfg.allowed_origins = origins.iter().map(|s| s.to_string()).collect();
    tweak(&mut cfg);
    let server = TestServer::start(Arc::new(MemoryStore::default()), cfg).await;
    Setup {
        server,
        auth: Auth::hs256(&secret).unwrap(),
        _dir: dir,
    }
}

fn token(s: &Setup, doc: &str, access: Level) -> String {
    s.auth
        .mint(
            doc,
            access,
            Duration::from_secs(3600),
            Some("tester".into()),
        )
        .unwrap()
}

fn raw_jwt(header: &str, claims: &serde_json::Value, secret: &[u8]) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let head = b64(header.as_bytes());
    let body = b64(claims.to_string().as_bytes());
    if secret.is_empty() {
        return format!("{head}.{body}.");
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// The status of an upgrade request (reads only the response head, since a
/// 101 keeps the connection open).
async fn status(s: &Setup, path: &str, extra: &[(&str, &str)]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(s.server.addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n");
    for (k, v) in UPGRADE_HEADERS.iter().chain(extra) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A writer with a valid token keeps the doc at a known text.
async fn baseline(s: &Setup) -> Client {
    let url = format!(
        "{}?ack=1&token={}",
        s.server.url("doc"),
        token(s, "doc", Level::Write)
    );
    let mut w = Client::synced(&url).await.unwrap();
    w.insert("original").await.unwrap();
    w.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    w
}

async fn still_serving(s: &Setup) {
    let url = format!(
        "{}?token={}",
        s.server.url("doc"),
        token(s, "doc", Level::Read)
    );
    let c = Client::synced(&url).await.unwrap();
    assert_eq!(c.text(), "original", "the doc changed");
}

#[tokio::test]
async fn every_bad_token_gets_401_and_a_wrong_doc_403() {
    let s = setup(&[]).await;
    let _w = baseline(&s).await;
    let exp = weft_core::time::unix_secs() + 3600;
    let cases: Vec<(&str, String)> = vec![
        ("no token", String::new()),
        ("garbage", "not-a-jwt".into()),
        (
            "bad signature",
            raw_jwt(
                "",
                &serde_json::json!({"doc": "doc", "access": "write", "exp": exp}),
                b"another-secret-another-secret-xx",
            ),
        ),
        (
            "alg none",
            raw_jwt(
                r#"{"alg":"none","typ":"JWT"}"#,
                &serde_json::json!({"doc": "doc", "access": "write", "exp": exp}),
                b"",
            ),
        ),
        (
            "expired",
            raw_jwt(
                "",
                &serde_json::json!({"doc": "doc", "access": "write", "exp": 1000}),
                SECRET.as_bytes(),
            ),
        ),
        (
            "no exp",
            raw_jwt(
                "",
                &serde_json::json!({"doc": "doc", "access": "write"}),
                SECRET.as_bytes(),
            ),
        ),
        (
            "bad access",
            raw_jwt(
                "",
                &serde_json::json!({"doc": "doc", "access": "admin", "exp": exp}),
                SECRET.as_bytes(),
            ),
        ),
    ];
    for (what, t) in &cases {
        let path = if t.is_empty() {
            "/doc".to_string()
        } else {
            format!("/doc?token={t}")
        };
        assert_eq!(status(&s, &path, &[]).await, 401, "{what}");
        still_serving(&s).await;
    }
    // The Authorization header works like the query parameter.
    let bearer = format!("Bearer {}", token(&s, "doc", Level::Write));
    assert_eq!(status(&s, "/doc", &[("Authorization", &bearer)]).await, 101);
    assert_eq!(
        status(&s, "/doc", &[("Authorization", "Bearer nope")]).await,
        401
    );
    // Valid, for another doc.
    assert_eq!(
        status(
            &s,
            &format!("/doc?token={}", token(&s, "other", Level::Write)),
            &[]
        )
        .await,
        403
    );
    still_serving(&s).await;
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn prefix_tokens_cover_exactly_their_prefix() {
    let s = setup(&[]).await;
    let t = token(&s, "team-*", Level::Write);
    for (doc, code) in [
        ("team-a", 101),
        ("team-", 101),
        ("team", 403),
        ("teamx", 403),
        ("other", 403),
    ] {
        assert_eq!(
            status(&s, &format!("/{doc}?token={t}"), &[]).await,
            code,
            "{doc}"
        );
    }
    let all = token(&s, "*", Level::Read);
    assert_eq!(
        status(&s, &format!("/anything?token={all}"), &[]).await,
        101
    );
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn one_token_can_create_only_so_many_documents() {
    let s = setup_with(&[], |c| c.max_new_docs = 2).await;
    let _w = baseline(&s).await;
    let mint = |sub: &str| {
        s.auth
            .mint(
                "*",
                Level::Write,
                Duration::from_secs(3600),
                Some(sub.into()),
            )
            .unwrap()
    };
    let alice = mint("alice");
    let url = |doc: &str, t: &str| format!("{}?ack=1&token={t}", s.server.url(doc));
    for doc in ["new-1", "new-2"] {
        let mut c = Client::synced(&url(doc, &alice)).await.unwrap();
        c.insert("x").await.unwrap();
        c.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    }
    // The third new document is refused before anything is applied.
    let mut c = Client::synced(&url("new-3", &alice)).await.unwrap();
    c.insert("x").await.unwrap();
    assert_eq!(c.close_code().await, 1008);
    let check = Client::synced(&url("new-3", &mint("reader")))
        .await
        .unwrap();
    assert_eq!(check.text(), "", "the refused document was created");
    // Existing documents stay writable, and other users have their own budget.
    let mut c = Client::synced(&url("new-1", &alice)).await.unwrap();
    c.insert("y").await.unwrap();
    c.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    let mut bob = Client::synced(&url("new-3", &mint("bob"))).await.unwrap();
    bob.insert("bob's").await.unwrap();
    bob.wait_for(|c| c.session.unacked() == 0).await.unwrap();
    still_serving(&s).await;
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn read_tokens_read_and_show_presence_but_cannot_write() {
    let s = setup(&[]).await;
    let mut writer = baseline(&s).await;
    let url = format!(
        "{}?token={}",
        s.server.url("doc"),
        token(&s, "doc", Level::Read)
    );
    let mut viewer = Client::synced(&url).await.unwrap();
    assert_eq!(viewer.text(), "original");
    // Presence works for viewers.
    let mut a = yrs::sync::Awareness::new(yrs::Doc::with_client_id(4242));
    a.set_local_state_raw(r#"{"user":{"name":"viewer"}}"#);
    viewer
        .send_raw(
            weft_core::protocol::encode(&yrs::sync::Message::Awareness(a.update().unwrap()))
                .to_vec(),
        )
        .await
        .unwrap();
    writer
        .wait_for(|c| {
            c.session
                .awareness()
                .iter()
                .any(|(id, s)| id.get() == 4242 && s.data.is_some())
        })
        .await
        .unwrap();
    // Changes are refused with y-protocols' permission-denied message.
    viewer.insert(" vandalised").await.unwrap();
    viewer
        .wait_for(|c| c.events.iter().any(|e| matches!(e, ClientEvent::Denied(_))))
        .await
        .unwrap();
    still_serving(&s).await;
    writer.insert(" + more").await.unwrap();
    // The viewer still receives changes (its refused edit only lives locally).
    viewer
        .wait_for(|c| c.text().contains(" + more"))
        .await
        .unwrap();
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_session_ends_when_its_token_expires() {
    let s = setup(&[]).await;
    let _w = baseline(&s).await;
    let short = s
        .auth
        .mint("doc", Level::Write, Duration::from_secs(2), None)
        .unwrap();
    let mut c = Client::synced(&format!("{}?token={short}", s.server.url("doc")))
        .await
        .unwrap();
    assert_eq!(c.close_code().await, 4401);
    still_serving(&s).await;
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn origins_outside_the_list_get_403() {
    let s = setup(&["https://app.example"]).await;
    let t = token(&s, "doc", Level::Write);
    let path = format!("/doc?token={t}");
    assert_eq!(
        status(&s, &path, &[("Origin", "https://evil.example")]).await,
        403
    );
    assert_eq!(
        status(&s, &path, &[("Origin", "https://app.example")]).await,
        101
    );
    // No Origin: not a browser, so not a cross-site request.
    assert_eq!(status(&s, &path, &[]).await, 101);
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_write_token_mints_a_read_only_link() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = setup(&[]).await;
    let _w = baseline(&s).await;
    let post = |token: String| async move {
        let mut tcp = tokio::net::TcpStream::connect(s.server.addr).await.unwrap();
        let req = format!("POST /share/doc HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.unwrap();
        out
    };
    let res = post(token(&s, "doc", Level::Write)).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let body: serde_json::Value =
        serde_json::from_str(res.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let read = body["token"].as_str().unwrap().to_owned();
    let claims = s.auth.verify(&read).unwrap();
    assert_eq!((claims.doc.as_str(), claims.access), ("doc", Level::Read));
    // The minted token reads but cannot write, and cannot mint in turn.
    let mut v = Client::synced(&format!("{}?token={read}", s.server.url("doc")))
        .await
        .unwrap();
    v.insert("x").await.unwrap();
    v.wait_for(|c| c.events.iter().any(|e| matches!(e, ClientEvent::Denied(_))))
        .await
        .unwrap();
    assert!(post(read).await.starts_with("HTTP/1.1 403"));
    still_serving(&s).await;
    s.server.stop().await.unwrap();
}
