//! Real PostgreSQL and Redis servers for cluster tests, each a private
//! instance on a free loopback port in a temporary directory, from Debian's
//! packages (`scripts/test` installs them). Never mocks.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// True when the tests run as root (as in CI).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `bin` as the `postgres` user when we are root (PostgreSQL refuses
/// to run as root); `setpriv` execs, so the child is the server itself.
fn as_postgres(bin: &PathBuf) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn pg_bin_dir() -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (apt-get install postgresql; scripts/test does it)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .context("no /usr/lib/postgresql/*/bin/postgres found")
}

/// A private PostgreSQL server.
pub struct Postgres {
    child: Option<Child>,
    port: u16,
    bin: PathBuf,
    /// What `postgres` was started with, to start it again the same way.
    args: Vec<std::ffi::OsString>,
    dir: tempfile::TempDir,
}

impl Postgres {
    /// `initdb` into a temporary directory and start on a free port, with
    /// fsync off: tests kill weft nodes, never the database.
    pub async fn start() -> Result<Self> {
        Self::start_with(false, None).await
    }

    /// Like [`Postgres::start`], with fsync on as in production (benchmarks).
    pub async fn start_durable() -> Result<Self> {
        Self::start_with(true, None).await
    }

    /// Like [`Postgres::start`], accepting only TLS connections, with this
    /// PEM certificate and key.
    pub async fn start_tls_only(cert_pem: &str, key_pem: &str) -> Result<Self> {
        Self::start_with(false, Some((cert_pem, key_pem))).await
    }

    async fn start_with(fsync: bool, tls: Option<(&str, &str)>) -> Result<Self> {
        let bin = pg_bin_dir()?;
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data)?;
        if is_root() {
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()?
                .success();
            if !ok {
                bail!("chown to postgres failed");
            }
        }
        let out = as_postgres(&bin.join("initdb"))
            .args([
                "-U",
                "weft",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .await?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let mut tls_args = Vec::new();
        if let Some((cert, key)) = tls {
            std::fs::write(data.join("server.crt"), cert)?;
            std::fs::write(data.join("server.key"), key)?;
            // Only encrypted connections get in.
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )?;
            let mut fix = std::process::Command::new("chmod");
            fix.args(["600"]).arg(data.join("server.key"));
            if !fix.status()?.success() {
                bail!("chmod failed");
            }
            if is_root() {
                std::process::Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&data)
                    .status()?;
            }
            tls_args = vec![
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
            ];
        }
        let port = free_port()?;
        let mut args: Vec<std::ffi::OsString> = vec!["-D".into(), data.into()];
        for a in [
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            if fsync { "fsync=on" } else { "fsync=off" },
            "-c",
            "max_connections=200",
            "-k",
        ] {
            args.push(a.into());
        }
        args.push(dir.path().into());
        args.extend(tls_args.iter().map(Into::into));
        let mut pg = Postgres {
            child: None,
            port,
            bin,
            args,
            dir,
        };
        pg.spawn().await?;
        Ok(pg)
    }

    async fn spawn(&mut self) -> Result<()> {
        let child = as_postgres(&self.bin.join("postgres"))
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting postgres")?;
        self.child = Some(child);
        let ready = self.bin.join("pg_isready");
        for _ in 0..200 {
            let ok = Command::new(&ready)
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .await?
                .success();
            if ok {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("postgres did not become ready on port {}", self.port)
    }

    /// `pg_ctl stop -m immediate`: SIGQUIT, no checkpoint; every client
    /// connection drops at once, as in a crash of the database server.
    pub async fn stop_immediate(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().context("postgres already exited")?;
            let ok = std::process::Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status()?
                .success();
            if !ok {
                bail!("kill -QUIT postgres failed");
            }
            tokio::time::timeout(Duration::from_secs(20), child.wait()).await??;
        }
        Ok(())
    }

    /// Starts it again, same data and port.
    pub async fn start_again(&mut self) -> Result<()> {
        self.spawn().await
    }

    /// Runs each statement with `psql`, in one session, one after another
    /// (so statements that refuse a transaction block work).
    pub async fn psql(&self, statements: &[&str]) -> Result<String> {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", "weft", "postgres"]);
        for st in statements {
            cmd.args(["-c", st]);
        }
        let out = cmd.output().await.context("running psql")?;
        if !out.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The connection URL.
    pub fn url(&self) -> String {
        format!("postgres://weft@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// A private Redis server (no persistence: a restart loses every stream,
/// the worst case for the nodes).
pub struct Redis {
    child: Option<Child>,
    port: u16,
    /// Certificate and key files when serving TLS only.
    tls: Option<(PathBuf, PathBuf)>,
}

impl Redis {
    /// Starts `redis-server` on a free loopback port.
    pub async fn start() -> Result<Self> {
        let mut r = Redis {
            child: None,
            port: free_port()?,
            tls: None,
        };
        r.spawn().await?;
        Ok(r)
    }

    /// Starts `redis-server` accepting only TLS (`rediss://`), with these
    /// PEM files.
    pub async fn start_tls(cert: PathBuf, key: PathBuf) -> Result<Self> {
        let mut r = Redis {
            child: None,
            port: free_port()?,
            tls: Some((cert, key)),
        };
        r.spawn().await?;
        Ok(r)
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut cmd = Command::new("redis-server");
        match &self.tls {
            None => cmd.args(["--port", &self.port.to_string()]),
            Some((cert, key)) => cmd
                .args(["--port", "0", "--tls-port", &self.port.to_string()])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .args(["--tls-auth-clients", "no"]),
        };
        let child = cmd
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context(
                "starting redis-server (apt-get install redis-server; scripts/test does it)",
            )?;
        self.child = Some(child);
        for _ in 0..200 {
            let ready = match self.tls {
                None => self.ping().await,
                Some(_) => TcpStream::connect(("127.0.0.1", self.port)).await.is_ok(),
            };
            if ready {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("redis did not become ready on port {}", self.port)
    }

    async fn ping(&self) -> bool {
        let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut buf = [0u8; 7];
        tcp.write_all(b"PING\r\n").await.is_ok()
            && tcp.read_exact(&mut buf).await.is_ok()
            && &buf == b"+PONG\r\n"
    }

    /// The connection URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Kills Redis, losing everything in it.
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill().await?;
        }
        Ok(())
    }

    /// Starts it again on the same port.
    pub async fn start_again(&mut self) -> Result<()> {
        self.spawn().await
    }

    /// Kills Redis (losing everything in it), waits `down`, and starts it
    /// again on the same port.
    pub async fn restart(&mut self, down: Duration) -> Result<()> {
        self.stop().await?;
        tokio::time::sleep(down).await;
        self.spawn().await
    }
}
