//! The `weft` command-line client: a thin layer over weft-core's engine.
//!
//! # Layout
//! - [`Cli`]/[`Command`]: the clap definitions.
//! - [`run`]: opens a session, does the one thing asked, closes it.
//! - [`comments`]: `weft comment` and `weft comments`.
//! - `assets`: images beside Markdown (`put`'s uploads, `cat --assets`).

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

mod assets;
mod comments;

use clap::{Parser, Subcommand, ValueEnum};
use weft_core::convert::{self, PutMode};
use weft_core::engine::{
    api, history as versions, DocUrl, EngineError, Event, Session, SessionOptions, Status,
};

/// Read, write, watch, list and manage Weft documents. A document URL looks
/// like ws://HOST:PORT/DOC-ID, optionally with ?token=TOKEN.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Give up connecting after this long (e.g. 10s).
    #[arg(long, global = true, env = "WEFT_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Output formats of `cat` and `watch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// CommonMark with GFM task lists and strikethrough.
    Md,
    /// An HTML fragment.
    Html,
    /// Plain text, one line per paragraph.
    Text,
    /// ProseMirror JSON, as TipTap's editor.getJSON() returns it.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a document.
    Cat {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "md")]
        format: Format,
        /// Add the comment threads: footnotes in Markdown, `<mark>`s and
        /// `<aside>`s in HTML.
        #[arg(long)]
        comments: bool,
        /// Save the document's images and files into DIR and point the
        /// output at them (so `weft put` can upload them again).
        #[arg(long, value_name = "DIR")]
        assets: Option<PathBuf>,
    },
    /// Write a Markdown file into a document. Replaces the whole document
    /// unless --append is given. Images it names by a local path are
    /// uploaded first. Waits until the server has stored it; if it does not
    /// confirm that within --timeout, says "not saved" and exits 1.
    Put {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The Markdown file, or - for standard input.
        file: PathBuf,
        /// Add after the existing content instead of replacing it.
        #[arg(long)]
        append: bool,
    },
    /// Print an edit link and a view-only link for a document. The view-only
    /// link is minted by the server from the write token in URL.
    Share {
        /// ws://HOST:PORT/DOC-ID?token=WRITE-TOKEN
        url: String,
    },
    /// List the documents on a server that the token may open, newest
    /// first: id, title and when it last changed.
    Ls {
        /// ws://HOST:PORT (or any document URL on it), with ?token= if the server needs one.
        server: String,
        /// Only documents whose title contains this.
        #[arg(long, short)]
        search: Option<String>,
        /// Print JSON (one array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Move a document to the server's trash. It can be restored until the
    /// server's trash retention passes (`weft restore`).
    Rm {
        /// ws://HOST:PORT/DOC-ID
        url: String,
    },
    /// Take a document back out of the server's trash.
    Restore {
        /// ws://HOST:PORT/DOC-ID
        url: String,
    },
    /// Print a document's title, or set it (an empty title removes it).
    Title {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The new title.
        title: Option<String>,
    },
    /// A document's version history: list, show, save and restore versions.
    History {
        /// What to do with it.
        #[command(subcommand)]
        command: HistoryCommand,
    },
    /// List, resolve or reopen a document's comment threads.
    Comments {
        /// What to do with them.
        #[command(subcommand)]
        command: CommentsCommand,
    },
    /// Comment on the first occurrence of some text (within one paragraph).
    Comment {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The text to comment on.
        #[arg(long, required_unless_present = "thread")]
        quote: Option<String>,
        /// The comment.
        message: String,
        /// Reply to this thread instead (from `weft comments ls`).
        #[arg(long, conflicts_with = "quote")]
        thread: Option<String>,
        /// Your name, as others see it.
        #[arg(long, env = "WEFT_NAME")]
        name: Option<String>,
    },
    /// Print the document, then print it again every time it changes,
    /// until interrupted.
    Watch {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "md")]
        format: Format,
    },
}

/// `weft comments` subcommands.
#[derive(Debug, Subcommand)]
pub enum CommentsCommand {
    /// The threads in document order: id, state, quote, then the messages.
    Ls {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
        /// Include resolved threads.
        #[arg(long, short)]
        all: bool,
    },
    /// Mark a thread resolved.
    Resolve {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The thread's id (from `weft comments ls`).
        thread: String,
        /// Your name, as others see it.
        #[arg(long, env = "WEFT_NAME")]
        name: Option<String>,
    },
    /// Open a resolved thread again.
    Reopen {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The thread's id.
        thread: String,
        /// Your name, as others see it.
        #[arg(long, env = "WEFT_NAME")]
        name: Option<String>,
    },
}

/// `weft history` subcommands.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// List the versions, newest first: id, time, kind, name, authors.
    Ls {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one version.
    Show {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The version's id (from `weft history ls`).
        vid: String,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "md")]
        format: Format,
    },
    /// Save the document as it is now as a named version.
    Save {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The version's name.
        name: String,
    },
    /// Make the document's body what it was in a version. The current
    /// state is saved as a `pre-restore` version first; the title and
    /// comments stay; edits made offline meanwhile are kept.
    Restore {
        /// ws://HOST:PORT/DOC-ID
        url: String,
        /// The version's id.
        vid: String,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the engine (URL, network, server, store).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Reading the input file or writing output.
    #[error("{0}")]
    Io(String),
}

fn render(session: &Session, format: Format) -> String {
    let doc = session.doc();
    match format {
        Format::Md => convert::to_markdown(doc),
        Format::Html => convert::to_html(doc),
        Format::Text => convert::to_text(doc),
        Format::Json => format!("{:#}\n", convert::to_json(doc)),
    }
}

/// `weft cat`: the document in `format`, with comments or assets if asked.
async fn cat(
    url: &str,
    format: Format,
    comments: bool,
    assets: Option<&std::path::Path>,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if assets.is_some() && (comments || format == Format::Text) {
        return Err(CliError::Io(
            "--assets works with --format md, html or json, without --comments".into(),
        ));
    }
    let session = open(url, timeout).await?;
    let text = match (comments, format) {
        (false, _) => match assets {
            Some(dir) => {
                let got = with_assets(&session, url, format, dir, timeout).await;
                if got.is_err() {
                    session.close().await;
                }
                got?
            }
            None => render(&session, format),
        },
        (true, Format::Md) => weft_core::comments::export::markdown(session.doc()),
        (true, Format::Html) => weft_core::comments::export::html(session.doc()),
        (true, _) => {
            session.close().await;
            return Err(CliError::Io(
                "--comments works with --format md or html".into(),
            ));
        }
    };
    out.write_all(text.as_bytes()).map_err(io)?;
    session.close().await;
    Ok(())
}

/// The document in `format`, its images and files saved into `dir`.
async fn with_assets(
    session: &Session,
    url: &str,
    format: Format,
    dir: &std::path::Path,
    timeout: Duration,
) -> Result<String, CliError> {
    let mut blocks = convert::read(session.doc());
    let n = assets::download_all(&DocUrl::parse(url)?, &mut blocks, dir, timeout).await?;
    eprintln!("weft: saved {n} images and files into {}", dir.display());
    Ok(match format {
        Format::Html => convert::html::render_html(&blocks),
        Format::Json => format!("{:#}\n", convert::model::to_prosemirror_json(&blocks)),
        _ => convert::md_write::render_markdown(&blocks),
    })
}

async fn open(url: &str, timeout: Duration) -> Result<Session, CliError> {
    let url = DocUrl::parse(url)?;
    let session = Session::open(SessionOptions::new(url)).await?;
    if let Err(e) = session.wait_synced(timeout).await {
        session.close().await;
        return Err(e.into());
    }
    Ok(session)
}

fn io(e: std::io::Error) -> CliError {
    CliError::Io(e.to_string())
}

/// Runs one command; output goes to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<(), CliError> {
    match cli.command {
        Command::Cat {
            url,
            format,
            comments,
            assets,
        } => cat(&url, format, comments, assets.as_deref(), cli.timeout, out).await,
        Command::Put { url, file, append } => put(&url, &file, append, cli.timeout).await,
        Command::Share { url } => share(&url, cli.timeout, out).await,
        Command::Watch { url, format } => watch(&url, format, cli.timeout, out).await,
        Command::Ls {
            server,
            search,
            json,
        } => ls(&server, search.as_deref(), json, cli.timeout, out).await,
        Command::Rm { url } => {
            let url = DocUrl::parse(&url)?;
            api::trash(&url, cli.timeout).await?;
            eprintln!("weft: moved {url} to the trash (weft restore brings it back)");
            Ok(())
        }
        Command::Restore { url } => {
            let url = DocUrl::parse(&url)?;
            api::restore(&url, cli.timeout).await?;
            eprintln!("weft: restored {url}");
            Ok(())
        }
        Command::History { command } => history(command, cli.timeout, out).await,
        Command::Comments { command } => comments::run(command, cli.timeout, out).await,
        Command::Comment {
            url,
            quote,
            message,
            thread,
            name,
        } => {
            let to = match (thread, quote) {
                (Some(t), _) => comments::To::Thread(t),
                (None, q) => comments::To::Quote(q.unwrap_or_default()),
            };
            comments::add(&url, to, &message, name, cli.timeout).await
        }
        Command::Title { url, title } => {
            let url = DocUrl::parse(&url)?;
            let doc = match title {
                Some(t) => api::set_title(&url, &t, cli.timeout).await?,
                None => api::get(&url, cli.timeout).await?,
            };
            writeln!(out, "{}", doc.title.unwrap_or_default()).map_err(io)
        }
    }
}

/// `weft ls`: a table (or JSON) of the server's documents.
async fn ls(
    server: &str,
    search: Option<&str>,
    json: bool,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let docs = api::list(&api::server_of(server)?, search, 100_000, timeout).await?;
    if json {
        let text = serde_json::to_string_pretty(&docs).map_err(|e| CliError::Io(e.to_string()))?;
        return writeln!(out, "{text}").map_err(io);
    }
    let width = docs.iter().map(|d| d.id.len()).max().unwrap_or(2).max(2);
    for d in &docs {
        let when = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_secs(d.updated_at.max(0) as u64),
        );
        let title = d.title.as_deref().unwrap_or("(untitled)");
        writeln!(out, "{:width$}  {when}  {title}", d.id).map_err(io)?;
    }
    if docs.is_empty() {
        eprintln!("weft: no documents (that this token may open)");
    }
    Ok(())
}

/// `weft put`: replaces (or appends to) the document, and waits until the
/// server says it is stored.
async fn put(
    url: &str,
    file: &std::path::Path,
    append: bool,
    timeout: Duration,
) -> Result<(), CliError> {
    let markdown = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(io)?;
        s
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| CliError::Io(format!("{}: {e}", file.display())))?
    };
    let parsed = DocUrl::parse(url)?;
    // Refused here, before connecting: the server would refuse it anyway.
    if weft_core::engine::is_comment_only(&parsed) {
        return Err(CliError::Io(
            "this link can comment (weft comment) but not change the document".into(),
        ));
    }
    if weft_core::engine::is_view_only(&parsed) {
        return Err(CliError::Io(
            "this link is view-only: it cannot change the document".into(),
        ));
    }
    // Local images go up first: the document only ever names stored ones.
    let mut blocks = convert::md_read::parse(&markdown);
    let base = match file.parent() {
        Some(dir) if file.as_os_str() != "-" => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    assets::upload_local(&parsed, &mut blocks, &base, timeout).await?;
    let session = open(url, timeout).await?;
    let frag = convert::fragment(session.doc());
    let mode = if append {
        PutMode::Append
    } else {
        PutMode::Replace
    };
    session.transact(|txn| convert::put_blocks(txn, &frag, &blocks, mode));
    let saved = session.wait_saved(timeout).await;
    session.close().await;
    saved?;
    let verb = if append { "appended to" } else { "replaced" };
    // Display drops the token: it should not land in terminal logs.
    eprintln!("weft: {verb} {parsed}");
    Ok(())
}

/// `weft share`: the edit and view-only links.
async fn share(url: &str, timeout: Duration, out: &mut dyn Write) -> Result<(), CliError> {
    let links = weft_core::engine::share_links(&DocUrl::parse(url)?, timeout).await?;
    if let Some(edit) = &links.edit {
        writeln!(out, "edit: {edit}").map_err(io)?;
    }
    if let Some(view) = &links.view {
        writeln!(out, "view: {view}").map_err(io)?;
    }
    eprintln!("weft: {}", links.note);
    Ok(())
}

/// `weft watch`: prints the document again whenever it changes.
async fn watch(
    url: &str,
    format: Format,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let session = open(url, timeout).await?;
    let tty = std::io::stdout().is_terminal();
    let mut events = session.subscribe();
    let mut last = String::new();
    let mut version = 0u64;
    loop {
        let now = render(&session, format);
        if now != last {
            version += 1;
            if tty {
                // Clear the screen so the document reads top to bottom.
                write!(out, "\x1b[2J\x1b[H").map_err(io)?;
            } else if version > 1 {
                writeln!(out, "<!-- weft: version {version} -->").map_err(io)?;
            }
            out.write_all(now.as_bytes()).map_err(io)?;
            out.flush().map_err(io)?;
            last = now;
        }
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(Event::Status(s)) if s != Status::Synced => eprintln!("weft: {s:?}"),
                Ok(Event::Error(e)) => eprintln!("weft: {e}"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                _ => {}
            },
            _ = tokio::signal::ctrl_c() => break,
        }
        // Let a burst of updates settle before printing again.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    session.close().await;
    Ok(())
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Md => "md",
        Format::Html => "html",
        Format::Text => "text",
        Format::Json => "json",
    }
}

/// `weft history …`.
async fn history(
    command: HistoryCommand,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        HistoryCommand::Ls { url, json } => {
            let url = DocUrl::parse(&url)?;
            let all = versions::list(&url, timeout).await?;
            if json {
                let text =
                    serde_json::to_string_pretty(&all).map_err(|e| CliError::Io(e.to_string()))?;
                return writeln!(out, "{text}").map_err(io);
            }
            if all.is_empty() {
                eprintln!("weft: no versions yet (weft history save URL NAME makes one)");
            }
            for v in all {
                let authors = if v.authors.is_empty() {
                    String::new()
                } else {
                    format!("  by {}", v.authors.join(", "))
                };
                writeln!(
                    out,
                    "{}  {}  {:<11}  {}{authors}",
                    v.id,
                    weft_core::time::readable_utc(v.created_at),
                    v.kind,
                    v.name.unwrap_or_default()
                )
                .map_err(io)?;
            }
            Ok(())
        }
        HistoryCommand::Show { url, vid, format } => {
            let url = DocUrl::parse(&url)?;
            let body = versions::content(&url, &vid, format_name(format), timeout).await?;
            out.write_all(&body).map_err(io)
        }
        HistoryCommand::Save { url, name } => {
            let url = DocUrl::parse(&url)?;
            let v = versions::save(&url, &name, timeout).await?;
            writeln!(out, "{}", v.id).map_err(io)?;
            eprintln!("weft: saved “{name}” ({} bytes)", v.size);
            Ok(())
        }
        HistoryCommand::Restore { url, vid } => {
            let url = DocUrl::parse(&url)?;
            let v = versions::restore(&url, &vid, timeout).await?;
            eprintln!(
                "weft: restored; the state before is kept as a pre-restore version, this one as {}",
                v.id
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_works_before_or_after_the_subcommand() {
        for args in [
            &["weft", "--timeout", "2s", "cat", "ws://h/d"][..],
            &["weft", "cat", "ws://h/d", "--timeout", "2s"],
            &["weft", "put", "--timeout", "2s", "ws://h/d", "f.md"],
            &["weft", "watch", "ws://h/d", "--timeout=2s"],
            &["weft", "share", "ws://h/d", "--timeout", "2s"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.timeout, Duration::from_secs(2), "{args:?}");
        }
    }
}
