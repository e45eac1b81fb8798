//! Tests that run `weft-server` as a separate process.

use weft_e2e::{server_bin, Client, ServerProcess, WAIT};

/// Acked updates survive `kill -9` while more writes are in flight.
#[tokio::test]
async fn acked_updates_survive_kill_9() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), &[]).await?;
    let url = server.url("crash");
    let mut writers = Vec::new();
    for _ in 0..3 {
        writers.push(Client::synced(&format!("{url}?ack=1")).await?);
    }
    // Each writer appends numbered tokens; its acks say how many are durable.
    let mut sent = vec![0usize; writers.len()];
    for round in 0..150 {
        for (w, c) in writers.iter_mut().enumerate() {
            c.insert(&format!("[{w}:{round}]")).await?;
            sent[w] += 1;
        }
        for c in writers.iter_mut() {
            c.drain().await?;
        }
    }
    // Wait until at least some writes are acked, then kill mid-stream.
    writers[0].wait_for(|c| c.session.acked() > 50).await?;
    for c in writers.iter_mut() {
        c.drain().await?;
    }
    // A last burst nobody has seen acked yet, so the kill lands with writes
    // in flight.
    for round in 150..200 {
        for (w, c) in writers.iter_mut().enumerate() {
            c.insert(&format!("[{w}:{round}]")).await?;
            sent[w] += 1;
        }
    }
    // Acks count the handshake's step 2 first, then each update in order.
    let durable: Vec<usize> = writers
        .iter()
        .map(|c| c.session.acked().saturating_sub(1) as usize)
        .collect();
    server.kill9().await?;
    for (w, (&acked, &sent)) in durable.iter().zip(&sent).enumerate() {
        assert!(
            acked < sent,
            "writer {w}: all {sent} acked before the kill: not mid-stream"
        );
    }

    let server = ServerProcess::start(dir.path(), &[]).await?;
    let reader = Client::synced(&server.url("crash")).await?;
    let text = reader.text();
    let mut checked = 0;
    for (w, &n) in durable.iter().enumerate() {
        for round in 0..n {
            assert!(
                text.contains(&format!("[{w}:{round}]")),
                "acked update [{w}:{round}] lost after kill -9"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 50,
        "too few acked updates to prove anything: {checked}"
    );
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn sigterm_exits_0_after_flushing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), &[]).await?;
    let url = server.url("term");
    let mut c = Client::synced(&url).await?;
    let mut watcher = Client::synced(&url).await?;
    for i in 0..100 {
        c.insert(&format!("{i};")).await?;
    }
    let expected: String = (0..100).map(|i| format!("{i};")).collect();
    watcher.wait_for(|w| w.text() == expected).await?;
    let code = tokio::spawn(server.terminate());
    assert_eq!(watcher.close_code().await, 1001);
    assert_eq!(code.await??, 0);

    let server = ServerProcess::start(dir.path(), &[]).await?;
    assert_eq!(Client::synced(&server.url("term")).await?.text(), expected);
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn no_arguments_means_loopback_4455_and_weft_data() -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir()?;
    // A busy port fails the test rather than passing it unchecked.
    if std::net::TcpListener::bind("127.0.0.1:4455").is_err() {
        anyhow::bail!("port 4455 is busy (a weft-server running here?): the default-address check needs it free");
    }
    let mut child = tokio::process::Command::new(server_bin()?)
        .current_dir(dir.path())
        .env_remove("WEFT_LISTEN")
        .env_remove("WEFT_DATA_DIR")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await??
        .unwrap_or_default();
    assert!(line.contains("ws://127.0.0.1:4455"), "{line}");
    let mut c = Client::synced("ws://127.0.0.1:4455/defaults").await?;
    c.insert("x").await?;
    assert!(dir.path().join("weft-data").join("weft.db").exists());
    child.kill().await?;
    Ok(())
}

#[test]
fn help_documents_every_option_and_its_env_twin() -> anyhow::Result<()> {
    let out = std::process::Command::new(server_bin()?)
        .arg("--help")
        .output()?;
    let help = String::from_utf8(out.stdout)?;
    // Every option clap lists (each entry starts "      --flag"), whatever
    // it is: each has its WEFT_ twin.
    let options = help.split_once("Options:").map_or("", |(_, o)| o);
    let mut entries: Vec<String> = Vec::new();
    for line in options.lines() {
        let starts =
            line.trim_start().starts_with('-') && line.len() - line.trim_start().len() <= 6;
        match entries.last_mut() {
            Some(e) if !starts => e.push_str(line),
            _ => entries.push(line.to_owned()),
        }
    }
    let mut checked = 0;
    for e in &entries {
        let Some(flag) = e.split_whitespace().find(|w| w.starts_with("--")) else {
            continue;
        };
        if flag == "--help" || flag == "--version" {
            continue;
        }
        // (Env names may differ from the flag's: --allowed-origin is
        // WEFT_ALLOWED_ORIGINS.)
        assert!(
            e.contains("[env: WEFT_"),
            "{flag} has no WEFT_ twin in --help: {e}"
        );
        checked += 1;
    }
    assert!(
        checked >= 30,
        "only {checked} options found in --help:\n{help}"
    );
    Ok(())
}

#[test]
fn a_public_address_without_auth_is_refused_unless_anonymous_is_explicit() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = std::process::Command::new(server_bin()?)
        .args(["--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("WEFT_ALLOW_ANONYMOUS")
        .output()?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without auth") && err.contains("--allow-anonymous"),
        "{err}"
    );

    let mut child = std::process::Command::new(server_bin()?)
        .args(["--listen", "0.0.0.0:0", "--allow-anonymous", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line)?;
    assert!(line.contains("ws://0.0.0.0:"), "{line}");
    child.kill()?;
    let err = std::io::read_to_string(child.stderr.take().unwrap())?;
    assert!(err.contains("WARNING"), "{err}");
    Ok(())
}

#[test]
fn the_token_subcommand_mints_tokens_the_server_accepts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "a-long-enough-secret-for-hs256-signing!")?;
    let out = std::process::Command::new(server_bin()?)
        .args(["--auth-secret-file"])
        .arg(&secret)
        .args(["token", "--doc", "notes", "--access", "read", "--ttl", "1h"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)?.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    // The server with the same key takes it: it syncs, cannot write, and
    // opens no other document.
    let checked = tokio::runtime::Runtime::new()?.block_on(async {
        let key = secret.to_str().unwrap();
        let server =
            ServerProcess::start(&dir.path().join("data"), &["--auth-secret-file", key]).await?;
        let mut reader = Client::synced(&format!("{}?token={token}", server.url("notes"))).await?;
        reader.insert("from a reader").await?;
        reader
            .wait_for(|c| {
                c.events
                    .iter()
                    .any(|e| matches!(e, weft_core::client::ClientEvent::Denied(_)))
            })
            .await?;
        let fresh = Client::synced(&format!("{}?token={token}", server.url("notes"))).await?;
        assert_eq!(fresh.text(), "", "a read token changed the document");
        let bearer = format!("Bearer {token}");
        let auth = [("Authorization", bearer.as_str())];
        let (status, _) = weft_e2e::http_get(server.addr, "/api/v1/docs/other", &auth).await?;
        assert_eq!(status, 403, "a token for notes opened another document");
        let (status, _) = weft_e2e::http_get(server.addr, "/api/v1/docs/notes", &[]).await?;
        assert_eq!(status, 401, "no token, no document");
        server.terminate().await?;
        anyhow::Ok(())
    });
    checked?;
    // Without a key there is nothing to sign with.
    let out = std::process::Command::new(server_bin()?)
        .args(["token", "--doc", "x", "--access", "read"])
        .output()?;
    assert!(!out.status.success());
    Ok(())
}

/// Starts the server with `args` and `env`, returns the address it prints.
fn listening_on(args: &[&str], env: &[(&str, &str)]) -> String {
    use std::io::BufRead;
    let mut child = std::process::Command::new(weft_e2e::server_bin().unwrap())
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line.split("ws://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_config_file_sets_defaults_that_env_and_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.toml");
    let port = |p: u16| format!("127.0.0.1:{p}");
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (a, b, c) = (free(), free(), free());
    std::fs::write(
        &file,
        format!("listen = \"{}\"\nin-memory = true\n", port(a)),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    assert_eq!(listening_on(&["--config", f], &[]), port(a), "file");
    assert_eq!(
        listening_on(&["--config", f], &[("WEFT_LISTEN", &port(b))]),
        port(b),
        "env beats file"
    );
    assert_eq!(
        listening_on(
            &["--config", f, "--listen", &port(c)],
            &[("WEFT_LISTEN", &port(b))]
        ),
        port(c),
        "flag beats env"
    );
    // WEFT_CONFIG names the file too; a mistake in it stops the server.
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nmax-conections = 5\n").unwrap();
    let out = std::process::Command::new(weft_e2e::server_bin().unwrap())
        .env("WEFT_CONFIG", f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key `max-conections`"));
}

/// SIGTERM the moment the server prints its address still shuts it down
/// cleanly (exit 0): the handler is installed before the line is printed.
/// weft-torture's convergence campaign found a restart followed at once by
/// a SIGTERM killing the server outright (the handler was registered only
/// when the serve loop first ran). The signal is sent with `kill(2)` as
/// soon as the line is read, so it lands inside that window.
#[tokio::test]
#[allow(unsafe_code)]
async fn sigterm_right_after_the_address_line_exits_0() -> anyhow::Result<()> {
    use std::io::BufRead;
    for _ in 0..20 {
        let dir = tempfile::tempdir()?;
        let mut child = std::process::Command::new(server_bin()?)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "off")
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
        assert!(line.contains("ws://"), "{line}");
        // SAFETY: kill(2) with a pid we own and a valid signal number.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait()?;
        assert_eq!(status.code(), Some(0), "{status:?}");
    }
    Ok(())
}
