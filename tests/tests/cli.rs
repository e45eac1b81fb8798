//! The `weft` CLI against a real weft-server process.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use weft_e2e::{cli_bin, Client, ServerProcess, WAIT};

fn weft(args: &[&str]) -> std::process::Output {
    std::process::Command::new(cli_bin().unwrap())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const DOC: &str = "# Title

Some **bold**, *italic*, ~~strike~~, <u>underline</u>, `code` and a [link](https://example.com).

- bullet
  - nested

3. three
4. four

- [x] done
- [ ] todo

> quoted

```rust
fn main() {}
```

---
";

#[tokio::test]
async fn put_then_cat_returns_every_construct() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let url = server.url("cli");
    let file = data.path().join("in.md");
    std::fs::write(&file, DOC)?;
    let put = weft(&["put", &url, file.to_str().unwrap()]);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let md = weft(&["cat", &url, "--format", "md"]);
    assert!(md.status.success());
    assert_eq!(stdout(&md), DOC);

    let html = stdout(&weft(&["cat", &url, "--format", "html"]));
    for needle in [
        "<h1>Title</h1>",
        "<strong>bold</strong>",
        "<del>strike</del>",
        "<u>underline</u>",
        "<ol start=\"3\">",
        "checked",
        "<blockquote>",
        "<hr />",
    ] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&weft(&["cat", &url, "--format", "json"])))?;
    assert_eq!(json["content"][0]["type"], "heading");
    assert_eq!(json["content"][0]["attrs"]["level"], 1);
    let text = stdout(&weft(&["cat", &url, "--format", "text"]));
    assert!(text.starts_with("Title\n"), "{text}");

    // Replace is the default; --append adds at the end.
    let more = data.path().join("more.md");
    std::fs::write(&more, "Appended.\n")?;
    assert!(weft(&["put", &url, more.to_str().unwrap(), "--append"])
        .status
        .success());
    assert!(stdout(&weft(&["cat", &url])).ends_with("---\n\nAppended.\n"));
    assert!(weft(&["put", &url, more.to_str().unwrap()])
        .status
        .success());
    assert_eq!(stdout(&weft(&["cat", &url])), "Appended.\n");
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn watch_prints_each_change() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let url = server.url("watched");
    let mut child = tokio::process::Command::new(cli_bin()?)
        .args(["watch", &url])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut editor = Client::synced(&server.url("watched")).await?;
    // The watcher shows the empty doc first, then each version.
    let doc = editor.doc().clone();
    let frag = weft_core::convert::fragment(&doc);
    for word in ["first", "second"] {
        let update = {
            use yrs::Transact;
            let mut txn = doc.transact_mut();
            weft_core::convert::put_markdown(
                &mut txn,
                &frag,
                &format!("{word} version"),
                weft_core::convert::PutMode::Replace,
            );
            txn.encode_update_v1()
        };
        editor.send_update(update).await?;
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await? {
                if line == format!("{word} version") {
                    return Ok::<_, anyhow::Error>(true);
                }
            }
            Ok(false)
        })
        .await??;
        assert!(found, "watch never printed the {word} version");
    }
    child.kill().await?;
    server.terminate().await?;
    Ok(())
}

#[test]
fn failures_are_one_line_and_prompt() {
    // A bad URL fails at once.
    let o = weft(&["cat", "http://example.com/doc"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad document URL"), "{err}");

    // Nobody listening: a clear error once the timeout passes, no hang.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // (A hang would hold the test until its harness gives up.)
    let o = weft(&[
        "cat",
        &format!("ws://127.0.0.1:{port}/doc"),
        "--timeout",
        "2s",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot reach the server"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test]
async fn a_full_server_is_retried_then_reported() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &["--max-connections", "0"]).await?;
    let o = weft(&["cat", &server.url("full"), "--timeout", "2s"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("HTTP 503"), "{err}");
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn a_rejected_token_fails_at_once() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that refuses every upgrade with 401, as one with auth would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = attempts.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let body = "invalid token";
            let _ = tcp
                .write_all(
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let url = format!("ws://{addr}/doc?token=nope");
    let o = tokio::task::spawn_blocking(move || weft(&["cat", &url, "--timeout", "30s"])).await?;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("HTTP 401") && err.contains("invalid token"),
        "{err}"
    );
    // Within a 30 s timeout the CLI would retry a failure it may recover
    // from; a 401 it must not.
    assert_eq!(
        attempts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a 401 must not be retried"
    );
    Ok(())
}

#[tokio::test]
async fn share_makes_a_view_link_that_reads_but_cannot_write() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let secret = data.path().join("secret");
    std::fs::write(&secret, "cli-share-secret-that-is-long-enough")?;
    let secret = secret.to_str().unwrap();
    let server = ServerProcess::start(data.path(), &["--auth-secret-file", secret]).await?;
    let mint = std::process::Command::new(weft_e2e::server_bin()?)
        .args([
            "--auth-secret-file",
            secret,
            "token",
            "--doc",
            "shared",
            "--access",
            "write",
        ])
        .output()?;
    let write = String::from_utf8(mint.stdout)?.trim().to_owned();
    let url = format!("{}?token={write}", server.url("shared"));
    let file = data.path().join("in.md");
    std::fs::write(&file, "For readers.\n")?;
    assert!(weft(&["put", &url, file.to_str().unwrap()])
        .status
        .success());

    let share = weft(&["share", &url]);
    assert!(
        share.status.success(),
        "{}",
        String::from_utf8_lossy(&share.stderr)
    );
    let out = stdout(&share);
    let view = out
        .lines()
        .find_map(|l| l.strip_prefix("view: "))
        .expect("a view link")
        .to_owned();
    let app_link = url.replacen("ws://", "weft://", 1);
    assert!(
        out.lines().any(|l| l == format!("edit: {app_link}")),
        "{out}"
    );
    assert_ne!(view, url);
    assert_eq!(stdout(&weft(&["cat", &view])), "For readers.\n");

    // The view link cannot write, and sharing it again yields only itself.
    std::fs::write(&file, "Vandalised.\n")?;
    let put = weft(&["put", &view, file.to_str().unwrap()]);
    assert!(!put.status.success());
    assert!(String::from_utf8_lossy(&put.stderr).contains("view-only"));
    assert_eq!(stdout(&weft(&["cat", &url])), "For readers.\n");
    let again = stdout(&weft(&["share", &view]));
    assert_eq!(again.trim(), format!("view: {view}"));

    // Without a token there is nothing to share on this server.
    let anon = weft(&["share", &server.url("shared")]);
    assert!(!anon.status.success());
    assert!(String::from_utf8_lossy(&anon.stderr).contains("401"));
    Ok(())
}

/// `weft ls`, `title`, `rm` and `restore` over the server's HTTP API, and
/// the API's Markdown matching `weft cat`.
#[tokio::test]
async fn ls_title_rm_and_restore_manage_documents_on_the_server() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let base = format!("ws://{}", server.addr);
    let file = data.path().join("in.md");
    std::fs::write(&file, DOC)?;
    for id in ["alpha", "beta"] {
        let put = weft(&["put", &server.url(id), file.to_str().unwrap()]);
        assert!(
            put.status.success(),
            "{}",
            String::from_utf8_lossy(&put.stderr)
        );
    }

    // The API's Markdown is what `weft cat` prints.
    let (status, md) = weft_e2e::http(
        server.addr,
        "GET",
        "/api/v1/docs/alpha/content?format=md",
        &[],
        &[],
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(md)?,
        stdout(&weft(&["cat", &server.url("alpha")]))
    );

    // Times are in seconds: let the title's change land in a later one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let set = weft(&["title", &server.url("alpha"), "Quarterly plan"]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert_eq!(
        stdout(&weft(&["title", &server.url("alpha")])),
        "Quarterly plan\n"
    );
    // Set through the API, the title is in the document for every client.
    let c = weft_e2e::Client::synced(&server.url("alpha")).await?;
    assert_eq!(
        weft_core::title::read(&yrs::Transact::transact(c.doc())).as_deref(),
        Some("Quarterly plan")
    );

    let ls = weft(&["ls", &base]);
    assert!(
        ls.status.success(),
        "{}",
        String::from_utf8_lossy(&ls.stderr)
    );
    let table = stdout(&ls);
    assert_eq!(table.lines().count(), 2, "{table}");
    // Newest first: alpha was changed last.
    assert!(
        table.lines().next().unwrap().starts_with("alpha") && table.contains("Quarterly plan"),
        "{table}"
    );
    assert!(
        table.contains("beta") && table.contains("(untitled)"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&weft(&["ls", &base, "--json"])))?;
    assert_eq!(json[0]["id"], "alpha");
    assert_eq!(json[0]["title"], "Quarterly plan");
    let found = stdout(&weft(&["ls", &base, "--search", "quarter"]));
    assert_eq!(found.lines().count(), 1, "{found}");

    let rm = weft(&["rm", &server.url("beta")]);
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
    assert!(!stdout(&weft(&["ls", &base])).contains("beta"));
    let cat = weft(&["cat", &server.url("beta"), "--timeout", "3s"]);
    assert!(!cat.status.success(), "a trashed document opened");
    assert!(
        String::from_utf8_lossy(&cat.stderr).contains("410"),
        "{}",
        String::from_utf8_lossy(&cat.stderr)
    );
    assert!(weft(&["restore", &server.url("beta")]).status.success());
    assert_eq!(stdout(&weft(&["cat", &server.url("beta")])), DOC);

    // Errors are the server's words, with a failing exit.
    let missing = weft(&["rm", &server.url("never-was")]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no document with this id"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn history_saves_lists_shows_and_restores_versions() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let url = server.url("notes");
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        stdout(&o)
    };
    let file = data.path().join("v1.md");
    std::fs::write(&file, DOC)?;
    ok(weft(&["put", &url, file.to_str().unwrap()]));
    let first = ok(weft(&["cat", &url]));
    let vid = ok(weft(&["history", "save", &url, "First draft"]));
    let vid = vid.trim();

    std::fs::write(&file, "# Rewritten\n\nSomething else entirely.\n")?;
    ok(weft(&["put", &url, file.to_str().unwrap()]));
    assert_ne!(ok(weft(&["cat", &url])), first);

    let table = ok(weft(&["history", "ls", &url]));
    assert!(
        table.starts_with(vid) && table.contains("named") && table.contains("First draft"),
        "{table}"
    );
    assert_eq!(
        ok(weft(&["history", "show", &url, vid])),
        first,
        "the version as saved"
    );

    ok(weft(&["history", "restore", &url, vid]));
    assert_eq!(ok(weft(&["cat", &url])), first, "the body is back");
    let json: serde_json::Value =
        serde_json::from_str(&ok(weft(&["history", "ls", "--json", &url])))?;
    let kinds: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["named", "pre-restore", "named"],
        "the restore, the state before it, v1"
    );
    let pre = json[1]["id"].as_str().unwrap();
    assert!(ok(weft(&["history", "show", &url, pre])).contains("Something else entirely."));

    // An unknown version is one readable line and exit 1.
    let missing = weft(&["history", "show", &url, "0123456789abcdefgh"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("no version"), "{err}");
    Ok(())
}

/// `weft put` uploads the local images a Markdown file names; `weft cat
/// --assets` saves them again beside its output; putting that output
/// back changes nothing. A GFM table comes along.
#[tokio::test]
async fn put_uploads_local_images_and_cat_assets_saves_them_back() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = ServerProcess::start(data.path(), &[]).await?;
    let url = server.url("pictures");
    let work = tempfile::tempdir()?;
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    png.extend((0..300_000u32).map(|i| (i * 7 % 251) as u8));
    std::fs::create_dir(work.path().join("shots"))?;
    std::fs::write(work.path().join("shots").join("white board.png"), &png)?;
    let md = "# Review\n\n![The whiteboard](shots/white%20board.png)\n\n| Item | Owner |\n| --- | --- |\n| Logo | Ann |\n";
    let file = work.path().join("notes.md");
    std::fs::write(&file, md)?;

    let put = weft(&["put", &url, file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&put.stderr);
    assert!(put.status.success(), "{err}");
    assert!(err.contains("uploaded shots/white%20board.png"), "{err}");
    let stored = stdout(&weft(&["cat", &url]));
    let blob = stored
        .split(['(', ')'])
        .find(|s| s.starts_with("/api/v1/docs/pictures/blobs/"))
        .unwrap_or_else(|| panic!("no blob address in {stored}"))
        .to_owned();
    assert_eq!(stored, md.replace("shots/white%20board.png", &blob));
    let (status, body) = weft_e2e::http(server.addr, "GET", &blob, &[], &[]).await?;
    assert!(status == 200 && body == png, "the server holds other bytes");

    // Saved back beside the output, by hash.
    let cat = std::process::Command::new(weft_e2e::cli_bin()?)
        .args(["cat", &url, "--assets", "assets"])
        .current_dir(work.path())
        .output()?;
    assert!(
        cat.status.success(),
        "{}",
        String::from_utf8_lossy(&cat.stderr)
    );
    let hash = blob.rsplit('/').next().unwrap();
    let saved = format!("assets/{}.png", &hash[..16]);
    assert_eq!(stdout(&cat), md.replace("shots/white%20board.png", &saved));
    assert_eq!(std::fs::read(work.path().join(&saved))?, png);

    // That output put back: the same blob, the same document.
    let again = work.path().join("again.md");
    std::fs::write(&again, stdout(&cat))?;
    assert!(weft(&["put", &url, again.to_str().unwrap()])
        .status
        .success());
    assert_eq!(stdout(&weft(&["cat", &url])), stored);

    // A missing image stops the put before anything changes.
    let broken = work.path().join("broken.md");
    std::fs::write(&broken, "Gone: ![x](nowhere.png)\n")?;
    let failed = weft(&["put", &url, broken.to_str().unwrap()]);
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("nowhere.png") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(stdout(&weft(&["cat", &url])), stored);
    server.terminate().await?;
    Ok(())
}
