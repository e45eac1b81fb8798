//! Comment threads, kept in the document under the root map `comments` so
//! they sync, work offline and travel with backups and exports. The shape
//! is in docs/PROTOCOL.md ("Comments"); the desktop app and the web editor
//! write the same shape from TypeScript (ui/src/comments/model.ts).
//!
//! Threads and messages are keyed `<owner>:<random>`, the owner being the
//! token's `sub` (empty without one). Keeping the owner in the key, which
//! never changes, rather than in a field someone could overwrite is what
//! lets [`access`] check ownership from the update alone.

pub mod access;
pub mod export;

use serde::Serialize;
use yrs::types::text::{Diff, YChange};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Assoc, Doc, IndexedSequence, Map, MapPrelim, MapRef,
    OffsetKind, Out, ReadTxn, StickyIndex, Text, Transact, TransactionMut, WriteTxn, XmlFragment,
    XmlOut, XmlTextRef,
};

use crate::convert::FRAGMENT;

/// The root map holding every thread.
pub const ROOT: &str = "comments";
/// A thread's map of messages.
pub const MESSAGES: &str = "messages";
/// A thread's append-only log of resolve and reopen.
pub const RESOLUTION: &str = "resolution";

/// The owner part of a thread or message key.
pub fn owner_of(key: &str) -> &str {
    key.rsplit_once(':').map_or("", |(owner, _)| owner)
}

/// Who writes a comment.
#[derive(Debug, Clone)]
pub struct Author {
    /// Shown name.
    pub name: String,
    /// CSS colour.
    pub color: String,
    /// The token's `sub`, if it names one: the owner.
    pub sub: Option<String>,
}

/// One thread as read from the document.
#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    /// Its key in `comments`.
    pub id: String,
    /// The owner (token `sub`), empty if none.
    pub owner: String,
    /// The text when the thread was made.
    pub quote: String,
    /// Who made it.
    pub author: String,
    /// Their colour.
    pub color: String,
    /// Unix milliseconds.
    pub created: f64,
    /// The last resolve or reopen says resolved.
    pub resolved: bool,
    /// Its text was deleted: shown apart, never dropped.
    pub detached: bool,
    /// Offset of the anchor in the document's plain text (blocks joined by
    /// newlines), for ordering and exports; `None` when detached.
    pub at: Option<usize>,
    /// The anchored text as it is now.
    pub anchored: String,
    /// Oldest first.
    pub messages: Vec<Message>,
}

/// One message of a thread.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// Its key in the thread's `messages`.
    pub id: String,
    /// The owner (token `sub`), empty if none.
    pub owner: String,
    /// Shown name.
    pub author: String,
    /// Their colour.
    pub color: String,
    /// The message.
    pub text: String,
    /// Unix milliseconds.
    pub created: f64,
    /// Unix milliseconds of the last edit, if edited.
    pub edited: Option<f64>,
}

/// Why a comment could not be made or changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommentError {
    /// `--quote` text that is not in the document (within one paragraph).
    #[error("the text {0:?} is not in the document (a quote must lie within one paragraph)")]
    QuoteNotFound(String),
    /// A thread id that is not in the document.
    #[error("there is no comment thread {0:?}")]
    NoThread(String),
    /// An empty message.
    #[error("a comment needs some text")]
    Empty,
}

/// Every thread, in document order; detached ones last, oldest first.
pub fn threads(doc: &Doc) -> Vec<Thread> {
    let txn = doc.transact();
    let Some(root) = txn.get_map(ROOT) else {
        return Vec::new();
    };
    let texts = text_runs(&txn);
    let mut out: Vec<Thread> = root
        .iter(&txn)
        .filter_map(|(key, value)| match value {
            Out::YMap(m) => Some(read_thread(&txn, key, &m, &texts, doc.offset_kind())),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| {
        (a.at.is_none(), a.at, a.created)
            .partial_cmp(&(b.at.is_none(), b.at, b.created))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

/// Makes a thread on the first occurrence of `quote` with its first
/// message; returns its id.
pub fn create(
    doc: &Doc,
    quote: &str,
    text: &str,
    author: &Author,
    now_ms: f64,
) -> Result<String, CommentError> {
    if text.trim().is_empty() {
        return Err(CommentError::Empty);
    }
    let mut txn = doc.transact_mut();
    let (run, index, len) = find_quote(&txn, quote, doc.offset_kind())
        .ok_or_else(|| CommentError::QuoteNotFound(quote.to_owned()))?;
    let start = run.sticky_index(&txn, index, Assoc::After);
    let end = run.sticky_index(&txn, index + len, Assoc::Before);
    let (Some(start), Some(end)) = (start, end) else {
        return Err(CommentError::QuoteNotFound(quote.to_owned()));
    };
    let id = new_key(author, doc.client_id().get(), now_ms);
    let root = txn.get_or_insert_map(ROOT);
    let thread = root.insert(
        &mut txn,
        id.clone(),
        MapPrelim::from([
            ("start", Any::Buffer(start.encode_v1().into())),
            ("end", Any::Buffer(end.encode_v1().into())),
            ("quote", Any::from(quote)),
            ("author", Any::from(author.name.as_str())),
            ("color", Any::from(author.color.as_str())),
            ("created", Any::from(now_ms)),
        ]),
    );
    thread.insert(&mut txn, MESSAGES, MapPrelim::default());
    thread.insert(&mut txn, RESOLUTION, ArrayPrelim::default());
    add_message(&mut txn, &thread, text, author, now_ms);
    Ok(id)
}

/// Adds a reply to thread `id`.
pub fn reply(
    doc: &Doc,
    id: &str,
    text: &str,
    author: &Author,
    now_ms: f64,
) -> Result<(), CommentError> {
    if text.trim().is_empty() {
        return Err(CommentError::Empty);
    }
    let mut txn = doc.transact_mut();
    let thread = thread_map(&txn, id)?;
    add_message(&mut txn, &thread, text, author, now_ms);
    Ok(())
}

/// Resolves (or reopens) thread `id`, by appending to its log.
pub fn set_resolved(
    doc: &Doc,
    id: &str,
    resolved: bool,
    author: &Author,
    now_ms: f64,
) -> Result<(), CommentError> {
    let mut txn = doc.transact_mut();
    let thread = thread_map(&txn, id)?;
    let log = match thread.get(&txn, RESOLUTION) {
        Some(Out::YArray(a)) => a,
        _ => thread.insert(&mut txn, RESOLUTION, ArrayPrelim::default()),
    };
    let entry = Any::from(std::collections::HashMap::from([
        ("resolved".to_owned(), Any::Bool(resolved)),
        ("by".to_owned(), Any::from(author.name.as_str())),
        (
            "sub".to_owned(),
            Any::from(author.sub.as_deref().unwrap_or("")),
        ),
        ("at".to_owned(), Any::from(now_ms)),
    ]));
    log.push_back(&mut txn, entry);
    Ok(())
}

fn thread_map(txn: &TransactionMut, id: &str) -> Result<MapRef, CommentError> {
    match txn.get_map(ROOT).and_then(|r| r.get(txn, id)) {
        Some(Out::YMap(m)) => Ok(m),
        _ => Err(CommentError::NoThread(id.to_owned())),
    }
}

fn add_message(
    txn: &mut TransactionMut,
    thread: &MapRef,
    text: &str,
    author: &Author,
    now_ms: f64,
) {
    let client = txn.doc().client_id().get();
    let messages = match thread.get(txn, MESSAGES) {
        Some(Out::YMap(m)) => m,
        _ => thread.insert(txn, MESSAGES, MapPrelim::default()),
    };
    messages.insert(
        txn,
        new_key(author, client, now_ms),
        MapPrelim::from([
            ("author", Any::from(author.name.as_str())),
            ("color", Any::from(author.color.as_str())),
            ("text", Any::from(text)),
            ("created", Any::from(now_ms)),
        ]),
    );
}

/// `<owner>:<random>`; the random part from the doc's client id and the
/// time, unique per client and millisecond plus a counter.
fn new_key(author: &Author, client: u64, now_ms: f64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}:{client:x}{:x}{seq:x}",
        author.sub.as_deref().unwrap_or(""),
        now_ms as u64
    )
}

/// A thread's stored anchor, or `None` if it does not decode. Anyone who
/// may comment writes these bytes, and yrs panics on some (a client id over
/// 53 bits), so decoding is guarded: a bad anchor makes a detached thread,
/// never a crash.
pub(crate) fn decode_anchor(bytes: &[u8]) -> Option<StickyIndex> {
    crate::protocol::guarded(|| StickyIndex::decode_v1(bytes)).ok()
}

fn read_thread<T: ReadTxn>(
    txn: &T,
    key: &str,
    m: &MapRef,
    texts: &[Run],
    kind: OffsetKind,
) -> Thread {
    let s = |k: &str| string_at(txn, m, k);
    let anchor = |k: &str| match m.get(txn, k) {
        Some(Out::Any(Any::Buffer(b))) => decode_anchor(&b),
        _ => None,
    };
    let (at, anchored) = match (anchor("start"), anchor("end")) {
        (Some(a), Some(b)) => resolve(txn, &a, &b, texts, kind),
        _ => (None, String::new()),
    };
    let mut messages: Vec<Message> = match m.get(txn, MESSAGES) {
        Some(Out::YMap(msgs)) => msgs
            .iter(txn)
            .filter_map(|(k, v)| match v {
                Out::YMap(msg) => Some(read_message(txn, k, &msg)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    messages.sort_by(|a, b| {
        (a.created, &a.id)
            .partial_cmp(&(b.created, &b.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let resolved = match m.get(txn, RESOLUTION) {
        Some(Out::YArray(log)) => last_resolved(txn, &log),
        _ => false,
    };
    Thread {
        id: key.to_owned(),
        owner: owner_of(key).to_owned(),
        quote: s("quote"),
        author: s("author"),
        color: s("color"),
        created: number(m.get(txn, "created")).unwrap_or(0.0),
        resolved,
        detached: at.is_none(),
        at,
        anchored,
        messages,
    }
}

fn read_message<T: ReadTxn>(txn: &T, key: &str, m: &MapRef) -> Message {
    let s = |k: &str| string_at(txn, m, k);
    Message {
        id: key.to_owned(),
        owner: owner_of(key).to_owned(),
        author: s("author"),
        color: s("color"),
        text: s("text"),
        created: number(m.get(txn, "created")).unwrap_or(0.0),
        edited: number(m.get(txn, "edited")),
    }
}

/// The string at `k` of map `m`, empty if it is none.
fn string_at<T: ReadTxn>(txn: &T, m: &MapRef, k: &str) -> String {
    match m.get(txn, k) {
        Some(Out::Any(Any::String(s))) => s.to_string(),
        _ => String::new(),
    }
}

fn number(v: Option<Out>) -> Option<f64> {
    match v? {
        Out::Any(Any::Number(n)) => n.as_f64(),
        _ => None,
    }
}

fn last_resolved<T: ReadTxn>(txn: &T, log: &ArrayRef) -> bool {
    let last = log.len(txn).checked_sub(1).and_then(|i| log.get(txn, i));
    match last {
        Some(Out::Any(Any::Map(e))) => matches!(e.get("resolved"), Some(Any::Bool(true))),
        _ => false,
    }
}

/// One text node of the body, with where its text starts in the plain text.
struct Run {
    text: XmlTextRef,
    chars: String,
    base: usize,
}

/// The body's text nodes in document order.
fn text_runs<T: ReadTxn>(txn: &T) -> Vec<Run> {
    let mut runs = Vec::new();
    let Some(frag) = txn.get_xml_fragment(FRAGMENT) else {
        return runs;
    };
    let mut base = 0;
    let mut stack: Vec<XmlOut> = frag.children(txn).collect::<Vec<_>>();
    stack.reverse();
    while let Some(node) = stack.pop() {
        match node {
            XmlOut::Text(t) => {
                let chars = plain(txn, &t);
                let n = chars.chars().count();
                runs.push(Run {
                    text: t,
                    chars,
                    base,
                });
                base += n;
            }
            XmlOut::Element(e) => {
                let kids: Vec<XmlOut> = e.children(txn).collect();
                stack.extend(kids.into_iter().rev());
                base += 1; // blocks are joined by a newline
            }
            XmlOut::Fragment(_) => {}
        }
    }
    runs
}

fn plain<T: ReadTxn>(txn: &T, t: &XmlTextRef) -> String {
    let diffs: Vec<Diff<YChange>> = t.diff(txn, YChange::identity);
    diffs
        .into_iter()
        .filter_map(|d| match d.insert {
            Out::Any(Any::String(s)) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Where `quote` first occurs inside one text node: the node, and the
/// index and length in the document's offset units.
fn find_quote<T: ReadTxn>(
    txn: &T,
    quote: &str,
    doc_kind: OffsetKind,
) -> Option<(XmlTextRef, u32, u32)> {
    if quote.is_empty() {
        return None;
    }
    let kind = doc_kind;
    text_runs(txn).into_iter().find_map(|run| {
        let at = run.chars.find(quote)?;
        Some((
            run.text.clone(),
            units(&run.chars[..at], kind),
            units(quote, kind),
        ))
    })
}

fn units(s: &str, kind: OffsetKind) -> u32 {
    match kind {
        OffsetKind::Bytes => s.len() as u32,
        OffsetKind::Utf16 => s.encode_utf16().count() as u32,
    }
}

/// The plain-text offset and current text of a range, or `(None, "")` once
/// its text is gone (both ends collapsed together) or the ends are not in
/// one text node any more.
fn resolve<T: ReadTxn>(
    txn: &T,
    start: &StickyIndex,
    end: &StickyIndex,
    runs: &[Run],
    kind: OffsetKind,
) -> (Option<usize>, String) {
    let at = |s: &StickyIndex| {
        let o = s.get_offset(txn)?;
        let run = runs.iter().find(|r| {
            let branch: &yrs::branch::Branch = r.text.as_ref();
            *branch == *o.branch
        })?;
        Some((run, run.base + char_at(&run.chars, o.index, kind)))
    };
    let (Some((first, from)), Some((_, to))) = (at(start), at(end)) else {
        return (None, String::new());
    };
    if from >= to {
        return (None, String::new());
    }
    // The text between, blocks joined by newlines as `at` counts them.
    let mut text = String::new();
    for run in runs.iter().skip_while(|r| !std::ptr::eq(*r, first)) {
        if run.base >= to {
            break;
        }
        if run.base > from && !text.is_empty() {
            text.push('\n');
        }
        let skip = from.saturating_sub(run.base);
        let take = to - run.base.max(from);
        text.extend(run.chars.chars().skip(skip).take(take));
    }
    (Some(from), text)
}

/// How many characters of `s` lie within its first `units` offset units.
fn char_at(s: &str, units: u32, kind: OffsetKind) -> usize {
    let mut used = 0;
    s.chars()
        .take_while(|c| {
            let step = match kind {
                OffsetKind::Bytes => c.len_utf8(),
                OffsetKind::Utf16 => c.len_utf16(),
            } as u32;
            let keep = used + step <= units;
            if keep {
                used += step;
            }
            keep
        })
        .count()
}

#[cfg(test)]
mod tests;
