//! Stock `yjs` clients over `y-websocket`, in one Node process
//! (`torture/yjs/pool.mjs`) driven one JSON line at a time.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::edits::Edit;

/// The Node process holding the clients.
pub struct Pool {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

/// Where `pool.mjs` and its `node_modules` are.
fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("yjs")
}

impl Pool {
    pub async fn start() -> Result<Self> {
        let dir = dir();
        if !dir.join("node_modules").join("yjs").exists() {
            bail!(
                "{} has no node_modules: run `npm ci --prefix {}`",
                dir.display(),
                dir.display()
            );
        }
        let mut child = Command::new("node")
            .arg(dir.join("pool.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting node")?;
        let stdin = child.stdin.take().context("stdin")?;
        let lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        Ok(Pool {
            _child: child,
            stdin,
            lines,
        })
    }

    async fn call(&mut self, msg: Value) -> Result<Value> {
        let mut line = msg.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        let answer = self
            .lines
            .next_line()
            .await?
            .context("the yjs pool exited")?;
        let v: Value = serde_json::from_str(&answer)?;
        if v["ok"] != true {
            bail!("yjs client: {}", v["error"]);
        }
        Ok(v)
    }

    /// A client on `room` at `url` (`ws://host:port`).
    pub async fn open(&mut self, id: usize, url: &str, room: &str) -> Result<()> {
        self.call(json!({"op": "open", "id": id, "url": url, "room": room}))
            .await
            .map(drop)
    }

    pub async fn edit(&mut self, id: usize, edit: &Edit) -> Result<()> {
        self.call(json!({"op": "edit", "id": id, "edit": edit}))
            .await
            .map(drop)
    }

    /// The client's whole document as one update.
    pub async fn state(&mut self, id: usize) -> Result<Vec<u8>> {
        let v = self.call(json!({"op": "state", "id": id})).await?;
        let b64 = v["state"].as_str().context("no state")?;
        Ok(base64::engine::general_purpose::STANDARD.decode(b64)?)
    }

    pub async fn close(&mut self, id: usize) -> Result<()> {
        self.call(json!({"op": "close", "id": id})).await.map(drop)
    }
}
