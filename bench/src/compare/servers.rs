//! The servers under test: how to start each one, reach a document on it,
//! read its CPU time and memory, and stop it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

use super::client::Framing;

/// A server implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// weft-server (release build), on its SQLite store.
    Weft,
    /// `@y/websocket-server@0.1.1`, the y-websocket reference (Node).
    YWebsocket,
    /// `@hocuspocus/server@4` (Node).
    Hocuspocus,
    /// y-sweet (Rust), on its file store.
    YSweet,
    /// A tokio-tungstenite broadcast server doing no CRDT work: the ceiling.
    Baseline,
    /// weft-server on PostgreSQL with Redis fan-out, one node (`weft-bench cluster`).
    WeftPostgres,
    /// Three weft-server nodes on one PostgreSQL and one Redis, clients
    /// spread over them in turn (`weft-bench cluster`).
    WeftCluster,
}

impl Kind {
    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Weft => "weft-server",
            Kind::YWebsocket => "@y/websocket-server",
            Kind::Hocuspocus => "@hocuspocus/server",
            Kind::YSweet => "y-sweet",
            Kind::Baseline => "baseline (broadcast)",
            Kind::WeftPostgres => "weft, 1 node on PostgreSQL + Redis",
            Kind::WeftCluster => "weft, 3 nodes on PostgreSQL + Redis",
        }
    }

    /// Whether it answers sync step 1 (the baseline relays only).
    pub fn syncs(self) -> bool {
        self != Kind::Baseline
    }

    /// Whether documents outlive the process.
    pub fn persists(self) -> bool {
        matches!(
            self,
            Kind::Weft | Kind::YSweet | Kind::WeftPostgres | Kind::WeftCluster
        )
    }
}

/// Paths to the programs.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The weft-server binary.
    pub weft_server: PathBuf,
    /// The workspace root.
    pub root: PathBuf,
    /// This binary (for the baseline server).
    pub bench: PathBuf,
    /// `taskset -c N` prefix for servers, if pinning is possible.
    pub pin: Option<String>,
    /// PostgreSQL and Redis URLs, for the cluster kinds.
    pub services: Option<(String, String)>,
    /// Flags added to weft-server's (a named change from the defaults).
    pub weft_extra: Vec<String>,
}

/// A running server.
pub struct Running {
    /// Which one.
    pub kind: Kind,
    /// `127.0.0.1:port`.
    pub addr: String,
    child: Child,
    /// Further nodes (cluster kinds) and their addresses.
    more: Vec<(Child, String)>,
    next: std::sync::atomic::AtomicUsize,
    data: PathBuf,
    /// y-sweet's per-doc URLs, each fetched once (concurrent creation of
    /// one doc makes it answer 500).
    urls: std::sync::Mutex<std::collections::HashMap<String, Arc<OnceCell<String>>>>,
}

impl Programs {
    /// The same programs, with `flags` added to weft-server's.
    pub fn with_weft_flags(&self, flags: &[&str]) -> Programs {
        let mut p = self.clone();
        p.weft_extra = flags.iter().map(|f| f.to_string()).collect();
        p
    }

    fn command(&self, kind: Kind, port: u16, data: &Path) -> Result<Command> {
        let root = &self.root;
        let (program, args, env): (PathBuf, Vec<String>, Vec<(&str, String)>) = match kind {
            Kind::WeftPostgres | Kind::WeftCluster => {
                let (pg, redis) = self
                    .services
                    .clone()
                    .context("the cluster kinds need PostgreSQL and Redis")?;
                let mut cmd = self.command(Kind::Weft, port, data)?;
                cmd.args(["--store", &pg, "--redis", &redis]);
                return Ok(cmd);
            }
            Kind::Weft => (
                root.join(&self.weft_server),
                weft_args(port, data, &self.weft_extra),
                vec![("RUST_LOG", "warn".into())],
            ),
            Kind::YWebsocket => (
                "node".into(),
                vec![root
                    .join("bench/peers/node_modules/@y/websocket-server/src/server.js")
                    .display()
                    .to_string()],
                vec![("HOST", "127.0.0.1".into()), ("PORT", port.to_string())],
            ),
            Kind::Hocuspocus => (
                "node".into(),
                vec![
                    root.join("bench/peers/hocuspocus.mjs")
                        .display()
                        .to_string(),
                    port.to_string(),
                ],
                vec![],
            ),
            Kind::YSweet => (
                "y-sweet".into(),
                vec![
                    "serve".into(),
                    data.display().to_string(),
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    port.to_string(),
                ],
                vec![("RUST_LOG", "warn".into())],
            ),
            Kind::Baseline => (
                self.bench.clone(),
                vec!["baseline-server".into(), format!("127.0.0.1:{port}")],
                vec![],
            ),
        };
        let mut cmd = match &self.pin {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpu]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        cmd.args(args)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        Ok(cmd)
    }

    /// Starts `kind` on a free port (or `port`) with `data` as its store, and
    /// waits until it accepts connections.
    pub async fn start(&self, kind: Kind, data: &Path, port: Option<u16>) -> Result<Running> {
        std::fs::create_dir_all(data)?;
        let port = match port {
            Some(p) => p,
            None => std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port(),
        };
        let child = self.spawn(kind, port, data).await?;
        let mut more = Vec::new();
        if kind == Kind::WeftCluster {
            for _ in 0..2 {
                let port = std::net::TcpListener::bind("127.0.0.1:0")?
                    .local_addr()?
                    .port();
                more.push((
                    self.spawn(kind, port, data).await?,
                    format!("127.0.0.1:{port}"),
                ));
            }
        }
        Ok(Running {
            kind,
            addr: format!("127.0.0.1:{port}"),
            child,
            more,
            next: Default::default(),
            data: data.to_owned(),
            urls: Default::default(),
        })
    }

    async fn spawn(&self, kind: Kind, port: u16, data: &Path) -> Result<Child> {
        let child = self
            .command(kind, port, data)?
            .spawn()
            .with_context(|| format!("starting {}", kind.name()))?;
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("{} did not start", kind.name());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(child)
    }
}

impl Running {
    /// The server's process id (taskset execs the server, so it is the same).
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Every node's process id.
    fn pids(&self) -> Vec<u32> {
        std::iter::once(&self.child)
            .chain(self.more.iter().map(|(c, _)| c))
            .filter_map(|c| c.id())
            .collect()
    }

    /// Every node's address (one but for the cluster kind).
    pub fn addrs(&self) -> Vec<String> {
        std::iter::once(self.addr.clone())
            .chain(self.more.iter().map(|(_, a)| a.clone()))
            .collect()
    }

    /// The next node's address, in turn.
    fn next_addr(&self) -> String {
        let all = self.addrs();
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        all[i % all.len()].clone()
    }

    /// The URL and framing a client uses for `doc`.
    pub async fn url(&self, doc: &str) -> Result<(String, Framing)> {
        Ok(match self.kind {
            Kind::Hocuspocus => (format!("ws://{}", self.addr), Framing::Hocus(doc.into())),
            Kind::YSweet => {
                let cell = self
                    .urls
                    .lock()
                    .unwrap()
                    .entry(doc.to_owned())
                    .or_default()
                    .clone();
                let url = cell
                    .get_or_try_init(|| async {
                        // y-sweet hands out per-doc WebSocket URLs through its API.
                        post_json(&self.addr, "/doc/new", &format!(r#"{{"docId":"{doc}"}}"#))
                            .await?;
                        let auth = post_json(&self.addr, &format!("/doc/{doc}/auth"), "{}").await?;
                        let v: serde_json::Value = serde_json::from_str(&auth)?;
                        let base = v["url"].as_str().context("no url in y-sweet auth")?;
                        // Its client appends the doc id, as y-websocket does.
                        Ok::<_, anyhow::Error>(format!("{base}/{doc}"))
                    })
                    .await?;
                (url.clone(), Framing::Plain)
            }
            _ => (format!("ws://{}/{doc}", self.next_addr()), Framing::Plain),
        })
    }

    /// Resident memory (`Rss` in smaps_rollup), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.pids()
            .into_iter()
            .map(|pid| {
                let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
                    .unwrap_or_default();
                text.lines()
                    .find_map(|l| l.strip_prefix("Rss:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// CPU time used so far (user + system, from /proc/PID/stat), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        self.pids().into_iter().map(cpu_of).sum()
    }

    /// Stops it (SIGTERM, then SIGKILL after 10 s).
    pub async fn stop(mut self) -> Result<PathBuf> {
        for pid in self.pids() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        for child in std::iter::once(&mut self.child).chain(self.more.iter_mut().map(|(c, _)| c)) {
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        Ok(self.data.clone())
    }
}

/// CPU time a process used so far (user + system, from /proc/PID/stat), in seconds.
fn cpu_of(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU time the hypervisor gave to other guests while this machine wanted
/// it (the `steal` column of /proc/stat), and all CPU time, in ticks.
pub fn steal_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let total = f.iter().take(8).sum();
    (f.get(7).copied().unwrap_or(0), total)
}

/// One HTTP POST with a JSON body; the response body.
async fn post_json(addr: &str, path: &str, body: &str) -> Result<String> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::post(path)
        .header(hyper::header::HOST, addr)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() && status.as_u16() != 409 {
        bail!("POST {path}: {status} {text}");
    }
    Ok(text)
}

/// weft-server's flags in the comparison: its shipped defaults, but for
/// one. The load generator is one machine standing in for many, so weft
/// trusts it as a proxy that names each client's own address
/// (`X-Forwarded-For`, see `client::open`); otherwise its per-IP connect
/// limit (600 a minute) refuses every crowd. `extra` adds a named change.
fn weft_args(port: u16, data: &Path, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        &data.display().to_string(),
        "--trusted-proxy",
        "127.0.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().cloned());
    args
}
