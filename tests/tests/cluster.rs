//! Cluster mode with real processes: `weft-server` nodes sharing one real
//! PostgreSQL and one real Redis (private instances on loopback).

use std::time::Duration;

use anyhow::{anyhow, Result};
use tempfile::TempDir;
use weft_e2e::services::{Postgres, Redis};
use weft_e2e::{http_get, Client, ServerProcess, WAIT};
use yrs::sync::{Awareness, Message};
use yrs::Doc;

/// Longer than one heartbeat timeout plus two checks.
const NODE_DEATH: Duration = Duration::from_secs(25);

struct Services {
    pg: Postgres,
    redis: Redis,
    dirs: Vec<TempDir>,
}

impl Services {
    async fn start() -> Result<Self> {
        Ok(Services {
            pg: Postgres::start().await?,
            redis: Redis::start().await?,
            dirs: Vec::new(),
        })
    }

    async fn node(&mut self) -> Result<ServerProcess> {
        let dir = tempfile::tempdir()?;
        let (pg, redis) = (self.pg.url(), self.redis.url());
        let node = ServerProcess::start(
            dir.path(),
            &["--store", &pg, "--redis", &redis, "--unload-after", "1s"],
        )
        .await?;
        self.dirs.push(dir);
        Ok(node)
    }
}

fn awareness_frame(client_id: u64, state: &str) -> Vec<u8> {
    let mut a = Awareness::new(Doc::with_client_id(client_id));
    a.set_local_state_raw(state);
    weft_core::protocol::encode(&Message::Awareness(a.update().unwrap())).to_vec()
}

fn has_state(c: &Client, id: u64) -> bool {
    c.session
        .awareness()
        .iter()
        .any(|(cid, s)| cid.get() == id && s.data.is_some())
}

async fn wait_long(c: &mut Client, limit: Duration, pred: impl Fn(&Client) -> bool) -> Result<()> {
    tokio::time::timeout(limit, async {
        while !pred(c) {
            c.step().await?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await
    .map_err(|_| anyhow!("timed out after {limit:?}; text={:?}", c.text()))?
}

fn tokens(text: &str) -> usize {
    text.matches('[').count()
}

#[tokio::test]
async fn three_nodes_converge_and_share_presence() -> Result<()> {
    let mut s = Services::start().await?;
    let nodes = [s.node().await?, s.node().await?, s.node().await?];
    let mut clients = Vec::new();
    for n in &nodes {
        clients.push(Client::synced(&n.url("shared")).await?);
    }
    for round in 0..30 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.insert(&format!("[{i}:{round}]")).await?;
        }
    }
    for c in clients.iter_mut() {
        c.wait_for(|c| tokens(&c.text()) == 90).await?;
    }
    let text = clients[0].text();
    for c in &clients {
        assert_eq!(c.text(), text, "nodes diverged");
    }
    for i in 0..3 {
        for round in 0..30 {
            assert!(text.contains(&format!("[{i}:{round}]")));
        }
    }

    // Presence set on node 0 reaches clients on nodes 1 and 2.
    clients[0]
        .send_raw(awareness_frame(4001, r#"{"user":{"name":"ann"}}"#))
        .await?;
    clients[1].wait_for(|c| has_state(c, 4001)).await?;
    clients[2].wait_for(|c| has_state(c, 4001)).await?;
    // A client joining node 2 later sees it at connect.
    let mut late = Client::connect(&nodes[2].url("shared")).await?;
    late.wait_for(|c| has_state(c, 4001)).await?;

    // Node 0 dies: its client's cursor must not linger on the others.
    let [n0, n1, n2] = nodes;
    n0.kill9().await?;
    wait_long(&mut clients[2], NODE_DEATH, |c| !has_state(c, 4001)).await?;
    wait_long(&mut late, NODE_DEATH, |c| !has_state(c, 4001)).await?;
    // The survivors still work together.
    clients[1].insert("[after]").await?;
    clients[2]
        .wait_for(|c| c.text().contains("[after]"))
        .await?;
    drop((n1, n2));
    Ok(())
}

#[tokio::test]
async fn a_node_that_opens_a_doc_mid_edit_misses_nothing() -> Result<()> {
    let mut s = Services::start().await?;
    let a = s.node().await?;
    let b = s.node().await?;
    let docs: Vec<String> = (0..4).map(|i| format!("late-{i}")).collect();
    let mut writers = Vec::new();
    for d in &docs {
        writers.push(Client::synced(&a.url(d)).await?);
        writers.push(Client::synced(&b.url(d)).await?);
    }
    // A third node starts while both keep writing, and opens each doc at a
    // different moment of the stream.
    let mut c_node = None;
    let mut joiners = Vec::new();
    for round in 0..120 {
        for (i, w) in writers.iter_mut().enumerate() {
            w.insert(&format!("[{i}:{round}]")).await?;
            w.drain().await?;
        }
        if round == 20 {
            c_node = Some(s.node().await?);
        }
        if let Some(c) = &c_node {
            if round % 20 == 0 && joiners.len() < docs.len() {
                joiners.push(Client::connect(&c.url(&docs[joiners.len()])).await?);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(joiners.len(), docs.len());
    for (d, j) in joiners.iter_mut().enumerate() {
        // Two writers per doc, 120 tokens each.
        j.wait_for(|c| tokens(&c.text()) == 240).await?;
        for w in [2 * d, 2 * d + 1] {
            writers[w].wait_for(|c| tokens(&c.text()) == 240).await?;
            assert_eq!(writers[w].text(), j.text());
        }
    }
    Ok(())
}

#[tokio::test]
async fn killing_a_node_under_load_loses_nothing_acked() -> Result<()> {
    let mut s = Services::start().await?;
    let victim = s.node().await?;
    let b = s.node().await?;
    let c = s.node().await?;
    let mut watcher = Client::synced(&c.url("crash")).await?;
    let mut writers = Vec::new();
    for _ in 0..3 {
        writers.push(Client::synced(&format!("{}?ack=1", victim.url("crash"))).await?);
    }
    let mut sent = vec![0usize; writers.len()];
    for round in 0..150 {
        for (w, cl) in writers.iter_mut().enumerate() {
            cl.insert(&format!("[{w}:{round}]")).await?;
            sent[w] += 1;
        }
        for cl in writers.iter_mut() {
            cl.drain().await?;
        }
    }
    writers[0].wait_for(|c| c.session.acked() > 50).await?;
    for cl in writers.iter_mut() {
        cl.drain().await?;
    }
    // A last burst nobody has seen acked, so the kill lands mid-stream.
    for round in 150..200 {
        for (w, cl) in writers.iter_mut().enumerate() {
            cl.insert(&format!("[{w}:{round}]")).await?;
            sent[w] += 1;
        }
    }
    // The handshake's step 2 is acked first, then each update in order.
    let durable: Vec<usize> = writers
        .iter()
        .map(|c| c.session.acked().saturating_sub(1) as usize)
        .collect();
    victim.kill9().await?;
    for (w, (&acked, &sent)) in durable.iter().zip(&sent).enumerate() {
        assert!(
            acked < sent,
            "writer {w}: all {sent} acked before the kill: not mid-stream"
        );
    }

    let acked = |text: &str| {
        durable
            .iter()
            .enumerate()
            .all(|(w, &n)| (0..n).all(|r| text.contains(&format!("[{w}:{r}]"))))
    };
    // A client that was on another node all along gets every acked update
    // (re-joined from PostgreSQL once the node's death is noticed) ...
    wait_long(&mut watcher, NODE_DEATH, |c| acked(&c.text())).await?;
    // ... and so does one that reconnects (as the killed node's clients do).
    let fresh = Client::synced(&b.url("crash")).await?;
    assert!(acked(&fresh.text()), "acked updates missing after kill -9");
    let checked: usize = durable.iter().sum();
    assert!(
        checked > 50,
        "too few acked updates to prove anything: {checked}"
    );
    Ok(())
}

#[tokio::test]
async fn restarting_redis_mid_edit_loses_nothing() -> Result<()> {
    let mut s = Services::start().await?;
    let a = s.node().await?;
    let b = s.node().await?;
    let mut wa = Client::synced(&format!("{}?ack=1", a.url("redis"))).await?;
    let mut wb = Client::synced(&format!("{}?ack=1", b.url("redis"))).await?;
    let mut round = 0;
    let mut write = async |wa: &mut Client, wb: &mut Client, n: usize| -> Result<()> {
        for _ in 0..n {
            wa.insert(&format!("[a:{round}]")).await?;
            wb.insert(&format!("[b:{round}]")).await?;
            wa.drain().await?;
            wb.drain().await?;
            round += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    };
    write(&mut wa, &mut wb, 30).await?;
    s.redis.stop().await?;
    // Edits go on while Redis is away: still acked (PostgreSQL), not yet fanned out.
    write(&mut wa, &mut wb, 30).await?;
    s.redis.start_again().await?;
    write(&mut wa, &mut wb, 30).await?;
    for c in [&mut wa, &mut wb] {
        wait_long(c, Duration::from_secs(20), |c| tokens(&c.text()) == 180).await?;
    }
    assert_eq!(wa.text(), wb.text());
    wa.wait_for(|c| c.session.acked() as usize == 91).await?;
    // Nothing acked is missing from what a new client loads.
    let fresh = Client::synced(&b.url("redis")).await?;
    assert_eq!(fresh.text(), wa.text());
    Ok(())
}

#[tokio::test]
async fn health_and_stream_metrics_follow_redis_and_unloading() -> Result<()> {
    let mut s = Services::start().await?;
    let a = s.node().await?;
    let (code, body) = http_get(a.addr, "/healthz", &[]).await?;
    assert_eq!((code, body.as_str()), (200, "store: ok\nredis: ok\n"));

    let metric = |body: &str, name: &str| -> Option<f64> {
        body.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    };
    let c = Client::synced(&a.url("unload")).await?;
    let (_, m) = http_get(a.addr, "/metrics", &[]).await?;
    assert_eq!(metric(&m, "weft_stream_subscriptions"), Some(1.0), "{m}");
    assert!(metric(&m, "weft_stream_lag_seconds").is_some());
    drop(c);
    // With no clients, the doc unloads (1 s) and its stream is no longer read.
    let mut unloaded = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, m) = http_get(a.addr, "/metrics", &[]).await?;
        if metric(&m, "weft_stream_subscriptions") == Some(0.0)
            && metric(&m, "weft_docs_loaded") == Some(0.0)
        {
            unloaded = true;
            break;
        }
    }
    assert!(unloaded, "doc stayed loaded or subscribed");

    s.redis.stop().await?;
    let (code, body) = http_get(a.addr, "/healthz", &[]).await?;
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("store: ok") && body.contains("redis unreachable"),
        "{body}"
    );
    s.redis.start_again().await?;
    let (code, _) = http_get(a.addr, "/healthz", &[]).await?;
    assert_eq!(code, 200);
    Ok(())
}

/// nginx with the config in `packaging/nginx/weft-cluster.conf`, rewritten
/// to point at `nodes` and listen on a free port.
struct Nginx {
    child: tokio::process::Child,
    port: u16,
    _dir: TempDir,
}

impl Nginx {
    async fn start(nodes: &[&ServerProcess]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let example = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../packaging/nginx/weft-cluster.conf"),
        )?;
        let mut conf = example
            .replace("127.0.0.1:4455", &nodes[0].addr.to_string())
            .replace("127.0.0.1:4456", &nodes[1].addr.to_string())
            .replace("listen 8080;", &format!("listen 127.0.0.1:{port};"));
        assert_ne!(
            conf, example,
            "the example's addresses changed; update this test"
        );
        conf = format!(
            "daemon off;\nworker_processes 1;\n{}pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\naccess_log off;\nclient_body_temp_path {d};\nproxy_temp_path {d};\n{conf}\n}}\n",
            // Workers read the temp dirs as the master's user (root in CI).
            "user root;\n",
            d = dir.path().display(),
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf)?;
        let child = tokio::process::Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                anyhow!("starting nginx (apt-get install nginx; scripts/test does it): {e}")
            })?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(Nginx {
                    child,
                    port,
                    _dir: dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        Err(anyhow!("nginx did not start: {log}"))
    }

    fn url(&self, doc: &str) -> String {
        format!("ws://127.0.0.1:{}/{doc}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master then stops its workers, which
        // would otherwise outlive the test holding the port.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }
}

/// The documented nginx config balances two nodes, and a client whose
/// node died reconnects through it and finds every acked update.
#[tokio::test]
async fn the_documented_nginx_config_balances_nodes_and_survives_one_dying() -> Result<()> {
    let mut s = Services::start().await?;
    let a = s.node().await?;
    let b = s.node().await?;
    let proxy = Nginx::start(&[&a, &b]).await?;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(Client::synced(&format!("{}?ack=1", proxy.url("lb"))).await?);
    }
    for round in 0..25 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.insert(&format!("[{i}:{round}]")).await?;
        }
    }
    for c in clients.iter_mut() {
        c.wait_for(|c| tokens(&c.text()) == 100 && c.session.acked() == 26)
            .await?;
    }
    // least_conn put clients on both nodes: each node has the doc open.
    for node in [&a, &b] {
        let (_, m) = http_get(node.addr, "/metrics", &[]).await?;
        assert!(
            m.lines().any(|l| l == "weft_docs_loaded 1"),
            "a node got no clients: {m}"
        );
    }
    let text = clients[0].text();
    a.kill9().await?;
    // Reconnecting through nginx lands on the survivor, which has it all.
    let again = Client::synced(&proxy.url("lb")).await?;
    assert_eq!(again.text(), text);
    Ok(())
}

/// One upgrade attempt (refused after the rate check: a bad doc id) from
/// `source`, through the proxy on `port`; the status code.
async fn attempt_from(source: &str, port: u16) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse()?)?;
    let mut tcp = socket.connect(format!("127.0.0.1:{port}").parse()?).await?;
    let mut req = "GET /a%2Fb HTTP/1.1\r\nHost: test\r\nConnection: close\r\n".to_owned();
    for (k, v) in weft_e2e::UPGRADE_HEADERS {
        if *k != "Connection" {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    // A client trying to pass for someone else: nginx appends the real one.
    req.push_str("X-Forwarded-For: 9.9.9.9\r\n\r\n");
    tcp.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf);
    Ok(text.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

/// Behind the documented nginx config with `--trusted-proxy`, two clients
/// (from 127.0.0.2 and 127.0.0.3) each get their own connect limit.
#[tokio::test]
async fn behind_the_documented_nginx_each_client_has_its_own_limit() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let node = ServerProcess::start(
        dir.path(),
        &["--trusted-proxy", "127.0.0.1", "--rate-connects", "2"],
    )
    .await?;
    let proxy = Nginx::start(&[&node, &node]).await?;
    let mut codes = Vec::new();
    for source in [
        "127.0.0.2",
        "127.0.0.2",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.3",
    ] {
        codes.push(attempt_from(source, proxy.port).await?);
    }
    assert_eq!(codes, [400, 400, 429, 400, 400]);
    Ok(())
}

/// A node that cannot reach PostgreSQL or Redis refuses to start, says
/// which and where, and never prints a password.
#[tokio::test]
async fn unreachable_services_fail_the_start_clearly() -> Result<()> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let start = |store: String, redis: Option<String>| async move {
        let dir = tempfile::tempdir()?;
        let mut cmd = tokio::process::Command::new(weft_e2e::server_bin()?);
        // Even so, one line for a person, no backtrace.
        cmd.env("RUST_BACKTRACE", "1");
        cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(["--store", &store]);
        if let Some(r) = &redis {
            cmd.args(["--redis", r]);
        }
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output()).await??;
        Ok::<_, anyhow::Error>((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    };
    let (code, stdout, stderr) = start(
        format!("postgres://weft:hunter2@127.0.0.1:{closed}/weft"),
        None,
    )
    .await?;
    assert_eq!(code, Some(1));
    assert!(!stdout.contains("listening"), "{stdout}");
    assert_eq!(
        stderr.trim(),
        format!("weft-server: error: cannot connect to PostgreSQL at 127.0.0.1:{closed}/weft (connection refused)")
    );
    assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");

    let pg = Postgres::start().await?;
    let (code, stdout, stderr) =
        start(pg.url(), Some(format!("redis://127.0.0.1:{closed}"))).await?;
    assert_eq!(code, Some(1));
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(
        stderr.contains("redis") && stderr.contains(&closed.to_string()),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    Ok(())
}

/// Nodes reach Redis over TLS (`rediss://`), trusting its certificate
/// through `SSL_CERT_FILE`, and fan out through it.
#[tokio::test]
async fn nodes_fan_out_through_redis_over_tls() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    let (cert_path, key_path) = (dir.path().join("redis.crt"), dir.path().join("redis.key"));
    std::fs::write(&cert_path, cert.cert.pem())?;
    std::fs::write(&key_path, cert.signing_key.serialize_pem())?;
    let pg = Postgres::start().await?;
    let redis = Redis::start_tls(cert_path.clone(), key_path).await?;
    assert!(redis.url().starts_with("rediss://"));
    let (pg_url, redis_url) = (pg.url(), redis.url());
    let args = ["--store", &pg_url, "--redis", &redis_url];
    let trust = [("SSL_CERT_FILE", cert_path.to_str().unwrap())];
    let (da, db) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = ServerProcess::start_with_env("127.0.0.1:0", da.path(), &args, &trust).await?;
    let b = ServerProcess::start_with_env("127.0.0.1:0", db.path(), &args, &trust).await?;
    let mut ca = Client::synced(&a.url("tls")).await?;
    let mut cb = Client::synced(&b.url("tls")).await?;
    ca.insert("[over tls]").await?;
    cb.wait_for(|c| c.text() == "[over tls]").await?;
    let (code, body) = http_get(b.addr, "/healthz", &[]).await?;
    assert_eq!((code, body.as_str()), (200, "store: ok\nredis: ok\n"));
    drop(ca);

    // Without the trust, the node refuses to start rather than run blind,
    // and says it is the certificate.
    let dc = tempfile::tempdir()?;
    let refused = tokio::process::Command::new(weft_e2e::server_bin()?)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dc.path())
        .args(args)
        .env_remove("SSL_CERT_FILE")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT, refused).await??;
    assert!(
        !out.status.success(),
        "a node trusted an unknown certificate"
    );
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("certificate"),
        "the refusal does not name the certificate: {err}"
    );
    Ok(())
}

/// The document API on a three-node cluster: a write through one node is
/// listed and readable through the others, reaches clients on another
/// node, and trashing through a third closes every node's connections.
#[tokio::test]
async fn the_document_api_works_from_any_node() -> Result<()> {
    let mut s = Services::start().await?;
    let nodes = [s.node().await?, s.node().await?, s.node().await?];
    let mut watcher = Client::synced(&nodes[1].url("api-doc")).await?;
    let doc = Doc::new();
    let update = {
        use yrs::{Map, Text, Transact, WriteTxn};
        let mut txn = doc.transact_mut();
        txn.get_or_insert_text("t")
            .insert(&mut txn, 0, "through node 0");
        txn.get_or_insert_map("meta")
            .insert(&mut txn, "title", "Cluster doc");
        txn.encode_update_v1()
    };
    let ct = [("Content-Type", "application/octet-stream")];
    let (status, _) = weft_e2e::http(
        nodes[0].addr,
        "POST",
        "/api/v1/docs/api-doc/updates",
        &ct,
        &update,
    )
    .await?;
    assert_eq!(status, 200);
    wait_long(&mut watcher, Duration::from_secs(10), |c| {
        c.text() == "through node 0"
    })
    .await?;

    for n in &nodes {
        let (status, body) = http_get(n.addr, "/api/v1/docs", &[]).await?;
        assert_eq!(status, 200);
        let list: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(list["docs"][0]["id"], "api-doc", "node {}: {body}", n.addr);
        assert_eq!(list["docs"][0]["title"], "Cluster doc");
        let (status, text) =
            http_get(n.addr, "/api/v1/docs/api-doc/content?format=text", &[]).await?;
        assert_eq!(
            (status, text.as_str()),
            (200, ""),
            "the text lives in Text(\"t\"), not the editor's fragment"
        );
    }
    let (status, _) = weft_e2e::http(
        nodes[2].addr,
        "PATCH",
        "/api/v1/docs/api-doc",
        &[("Content-Type", "application/json")],
        br#"{"title": "Renamed on node 2"}"#,
    )
    .await?;
    assert_eq!(status, 200);
    let (_, meta) = http_get(nodes[0].addr, "/api/v1/docs/api-doc", &[]).await?;
    assert!(meta.contains("Renamed on node 2"), "{meta}");

    let (status, _) =
        weft_e2e::http(nodes[2].addr, "DELETE", "/api/v1/docs/api-doc", &[], &[]).await?;
    assert_eq!(status, 204);
    assert_eq!(
        watcher.close_code().await,
        4410,
        "a client on another node is closed"
    );
    for n in &nodes {
        let (status, _) = http_get(n.addr, "/api-doc", weft_e2e::UPGRADE_HEADERS).await?;
        assert_eq!(status, 410, "node {}", n.addr);
    }
    let (status, _) = weft_e2e::http(
        nodes[1].addr,
        "POST",
        "/api/v1/docs/api-doc/restore",
        &[],
        &[],
    )
    .await?;
    assert_eq!(status, 200);
    let back = Client::synced(&nodes[0].url("api-doc")).await?;
    assert_eq!(back.text(), "through node 0");
    Ok(())
}

/// Version history through any node: saved on one, read on another,
/// restored from a third, and the restore reaches clients on every node.
#[tokio::test]
async fn history_works_from_any_node() -> Result<()> {
    let mut s = Services::start().await?;
    let nodes = [s.node().await?, s.node().await?, s.node().await?];
    let mut writer = Client::synced(&format!("{}?ack=1", nodes[1].url("hist"))).await?;
    writer.insert("first text").await?;
    wait_long(&mut writer, Duration::from_secs(10), |c| {
        c.session.unacked() == 0
    })
    .await?;
    let json = [("Content-Type", "application/json")];
    let (status, body) = weft_e2e::http(
        nodes[0].addr,
        "POST",
        "/api/v1/docs/hist/versions",
        &json,
        br#"{"name": "v1"}"#,
    )
    .await?;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let v1: serde_json::Value = serde_json::from_slice(&body)?;
    let v1 = v1["id"].as_str().unwrap().to_owned();

    // Read back on another node.
    let path = format!("/api/v1/docs/hist/versions/{v1}/content?format=update");
    let (status, state) = weft_e2e::http(nodes[2].addr, "GET", &path, &[], &[]).await?;
    assert_eq!(status, 200);
    let d = Doc::new();
    {
        use yrs::{updates::decoder::Decode, Transact};
        d.transact_mut()
            .apply_update(yrs::Update::decode_v1(&state)?)?;
    }
    let t = d.get_or_insert_text("t");
    assert_eq!(
        yrs::GetString::get_string(&t, &yrs::Transact::transact(&d)),
        "first text"
    );

    let mut watcher = Client::synced(&nodes[2].url("hist")).await?;
    writer.insert(", then more").await?;
    wait_long(&mut watcher, Duration::from_secs(10), |c| {
        c.text() == "first text, then more"
    })
    .await?;

    // Restored from the third node: clients on nodes 1 and 2 see it.
    let restore = format!("/api/v1/docs/hist/versions/{v1}/restore");
    let (status, body) = weft_e2e::http(nodes[0].addr, "POST", &restore, &[], &[]).await?;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    wait_long(&mut writer, Duration::from_secs(10), |c| {
        c.text() == "first text"
    })
    .await?;
    wait_long(&mut watcher, Duration::from_secs(10), |c| {
        c.text() == "first text"
    })
    .await?;

    let (_, list) = http_get(nodes[1].addr, "/api/v1/docs/hist/versions", &[]).await?;
    let list: serde_json::Value = serde_json::from_str(&list)?;
    let kinds: Vec<&str> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["named", "pre-restore", "named"]);
    Ok(())
}

/// An image uploaded through one node reads back, byte for byte, through
/// the others; the same bytes uploaded through another node stay one blob.
#[tokio::test]
async fn blobs_work_from_any_node() -> Result<()> {
    let mut s = Services::start().await?;
    let nodes = [s.node().await?, s.node().await?, s.node().await?];
    let mut bytes = vec![0u8; 700 << 10];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    bytes[..4].copy_from_slice(b"%PDF");
    let ct = [("Content-Type", "application/octet-stream")];
    let path = "/api/v1/docs/clustered/blobs";
    let (status, body) = weft_e2e::http(nodes[0].addr, "POST", path, &ct, &bytes).await?;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let got: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(got["type"], "application/pdf");
    let url = got["url"].as_str().unwrap();
    for node in &nodes[1..] {
        let (status, back) = weft_e2e::http(node.addr, "GET", url, &[], &[]).await?;
        assert_eq!(status, 200);
        assert!(back == bytes, "node {} read other bytes", node.addr);
    }
    let (status, body) = weft_e2e::http(nodes[2].addr, "POST", path, &ct, &bytes).await?;
    let again: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!((status, &again["hash"]), (201, &got["hash"]));
    Ok(())
}
