//! `weft comment` and `weft comments`: threads read from and written into
//! the document, as the app writes them (weft_core::comments).

use std::io::Write;
use std::time::Duration;

use weft_core::comments::{self, Author, Thread};
use weft_core::engine::share::peek;
use weft_core::engine::{is_comment_only, is_view_only, DocUrl};
use weft_core::time::unix_millis;

use super::{io, open, CliError, CommentsCommand};

/// Where `weft comment` goes.
pub enum To {
    /// A new thread on this text.
    Quote(String),
    /// A reply in this thread.
    Thread(String),
}

pub async fn run(
    command: CommentsCommand,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        CommentsCommand::Ls { url, json, all } => {
            let session = open(&url, timeout).await?;
            let threads: Vec<Thread> = comments::threads(session.doc())
                .into_iter()
                .filter(|t| all || !t.resolved)
                .collect();
            session.close().await;
            if json {
                let text = serde_json::to_string_pretty(&threads)
                    .map_err(|e| CliError::Io(e.to_string()))?;
                return writeln!(out, "{text}").map_err(io);
            }
            print(&threads, out)
        }
        CommentsCommand::Resolve { url, thread, name } => {
            resolve(&url, &thread, true, name, timeout).await
        }
        CommentsCommand::Reopen { url, thread, name } => {
            resolve(&url, &thread, false, name, timeout).await
        }
    }
}

fn print(threads: &[Thread], out: &mut dyn Write) -> Result<(), CliError> {
    for t in threads {
        let state = match (t.resolved, t.detached) {
            (true, _) => " (resolved)",
            (false, true) => " (its text was deleted)",
            _ => "",
        };
        writeln!(out, "{}{state}  “{}”", t.id, t.quote).map_err(io)?;
        for m in &t.messages {
            let edited = if m.edited.is_some() { " (edited)" } else { "" };
            writeln!(out, "    {}: {}{edited}", m.author, m.text).map_err(io)?;
        }
    }
    if threads.is_empty() {
        eprintln!("weft: no open comment threads (--all shows resolved ones)");
    }
    Ok(())
}

/// A view-only link cannot comment: say so before waiting for a refusal.
fn may_comment(url: &DocUrl) -> Result<(), CliError> {
    if is_view_only(url) && !is_comment_only(url) {
        return Err(CliError::Io(
            "this link is view-only: it cannot comment (ask for a comment link)".into(),
        ));
    }
    Ok(())
}

/// Who the caller is: their name, and the token's `sub` as the owner.
fn author(url: &DocUrl, name: Option<String>) -> Author {
    let sub = url.token.as_deref().and_then(peek).and_then(|c| c.sub);
    let name = name
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .or_else(|| sub.clone())
        .unwrap_or_else(|| "weft".into());
    Author {
        name,
        color: "#6b7280".into(),
        sub,
    }
}

pub async fn add(
    url: &str,
    to: To,
    message: &str,
    name: Option<String>,
    timeout: Duration,
) -> Result<(), CliError> {
    let id = change(url, name, timeout, |doc, who, now| match &to {
        To::Quote(q) => comments::create(doc, q, message, who, now),
        To::Thread(t) => comments::reply(doc, t, message, who, now).map(|()| t.clone()),
    })
    .await?;
    eprintln!("weft: commented on {}", DocUrl::parse(url)?);
    println!("{id}");
    Ok(())
}

async fn resolve(
    url: &str,
    thread: &str,
    resolved: bool,
    name: Option<String>,
    timeout: Duration,
) -> Result<(), CliError> {
    change(url, name, timeout, |doc, who, now| {
        comments::set_resolved(doc, thread, resolved, who, now)
    })
    .await?;
    let verb = if resolved { "resolved" } else { "reopened" };
    eprintln!("weft: {verb} {thread}");
    Ok(())
}

/// Opens the document, makes one comment change as the caller, and waits
/// until the server has stored it.
async fn change<T>(
    url: &str,
    name: Option<String>,
    timeout: Duration,
    f: impl FnOnce(&yrs::Doc, &Author, f64) -> Result<T, comments::CommentError>,
) -> Result<T, CliError> {
    let parsed = DocUrl::parse(url)?;
    may_comment(&parsed)?;
    let who = author(&parsed, name);
    let session = open(url, timeout).await?;
    let done = f(session.doc(), &who, unix_millis() as f64);
    let saved = match done {
        Ok(_) => session.wait_saved(timeout).await.map_err(CliError::from),
        Err(ref e) => Err(CliError::Io(e.to_string())),
    };
    session.close().await;
    saved.and(done.map_err(|e| CliError::Io(e.to_string())))
}
