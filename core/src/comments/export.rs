//! Threads in exports: Markdown footnotes at their anchors, and HTML
//! `<mark>`s with the threads in `<aside>`s.
//!
//! Markers go into a copy of the document at each anchor (the anchors
//! follow the copy's edits like any sticky index), the copy goes through the
//! usual converter, and the markers become footnote references or tags in
//! its output. So the converters need to know nothing about comments.

use std::fmt::Write as _;

use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, Map, Out, ReadTxn, StateVector, StickyIndex, Text, Transact, Update};

use super::{threads, Thread, ROOT};
use crate::convert;

/// Private-use characters: they survive the converters untouched and
/// never occur in documents Weft writes.
const OPEN: char = '\u{F0100}';
const CLOSE: char = '\u{F0101}';
const END: char = '\u{F0102}';

/// The document as Markdown, each open thread a footnote at the end of its
/// text; resolved and detached threads are listed too, marked so.
pub fn markdown(doc: &Doc) -> String {
    let (copy, listed) = marked(doc, false);
    let mut out = replace_markers(&convert::to_markdown(&copy), |n, m| match m {
        Marker::Open => String::new(),
        Marker::Close | Marker::Alone => format!("[^c{n}]"),
    });
    if !listed.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    for (n, t) in listed.iter().enumerate() {
        let note = match (t.resolved, t.detached) {
            (false, false) => String::new(),
            (true, false) => "(resolved) ".into(),
            (resolved, true) => format!(
                "(on “{}”, its text deleted{}) ",
                one_line(&t.quote),
                if resolved { ", resolved" } else { "" }
            ),
        };
        let said: Vec<String> = t
            .messages
            .iter()
            .map(|m| format!("**{}**: {}", m.author, one_line(&m.text)))
            .collect();
        let _ = writeln!(out, "[^c{}]: {note}{}", n + 1, said.join(" — "));
    }
    out
}

/// The document as HTML: anchored text in `<mark>`, threads in `<aside>`s
/// after the document, linked both ways.
pub fn html(doc: &Doc) -> String {
    let (copy, listed) = marked(doc, true);
    let mut out = replace_markers(&convert::to_html(&copy), |n, m| match m {
        Marker::Open => format!("<mark id=\"comment-ref-{n}\"><a href=\"#comment-{n}\">"),
        Marker::Close => "</a></mark>".to_owned(),
        // Across blocks a <mark> cannot close where it opened.
        Marker::Alone => {
            format!("<sup id=\"comment-ref-{n}\"><a href=\"#comment-{n}\">{n}</a></sup>")
        }
    });
    if listed.is_empty() {
        return out;
    }
    out.push_str("<section class=\"comments\">\n");
    for (n, t) in listed.iter().enumerate() {
        let n = n + 1;
        let _ = write!(
            out,
            "<aside id=\"comment-{n}\" class=\"comment{}\"><blockquote>{}</blockquote>",
            if t.resolved { " resolved" } else { "" },
            escape(&t.quote)
        );
        for m in &t.messages {
            let _ = write!(
                out,
                "<p><strong>{}</strong> {}</p>",
                escape(&m.author),
                escape(&m.text)
            );
        }
        if !t.detached {
            let _ = write!(out, "<p><a href=\"#comment-ref-{n}\">↩</a></p>");
        }
        out.push_str("</aside>\n");
    }
    out.push_str("</section>\n");
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A copy of `doc` with markers at each listed thread's anchor (numbered in
/// document order), and the threads. `starts`: mark the start too.
fn marked(doc: &Doc, starts: bool) -> (Doc, Vec<Thread>) {
    let listed = threads(doc);
    let copy = Doc::new();
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    if let Ok(update) = Update::decode_v1(&state) {
        let _ = copy.transact_mut().apply_update(update);
    }
    for (n, t) in listed.iter().enumerate() {
        if t.detached {
            continue;
        }
        let n = n + 1;
        let Some((start, end)) = anchors(&copy, &t.id) else {
            continue;
        };
        let mut txn = copy.transact_mut();
        let one_block = match (start.get_offset(&txn), end.get_offset(&txn)) {
            (Some(a), Some(b)) => a.branch == b.branch,
            _ => false,
        };
        // The end first: the start's index does not move with it.
        if let Some(o) = end.get_offset(&txn) {
            let text: yrs::XmlTextRef = o.branch.into();
            text.insert(&mut txn, o.index, &format!("{END}{n}{CLOSE}"));
        }
        if starts && one_block {
            if let Some(o) = start.get_offset(&txn) {
                let text: yrs::XmlTextRef = o.branch.into();
                text.insert(&mut txn, o.index, &format!("{OPEN}{n}{CLOSE}"));
            }
        }
    }
    (copy, listed)
}

fn anchors(doc: &Doc, id: &str) -> Option<(StickyIndex, StickyIndex)> {
    let txn = doc.transact();
    let Some(Out::YMap(t)) = txn.get_map(ROOT)?.get(&txn, id) else {
        return None;
    };
    let read = |k: &str| match t.get(&txn, k) {
        Some(Out::Any(Any::Buffer(b))) => super::decode_anchor(&b),
        _ => None,
    };
    Some((read("start")?, read("end")?))
}

/// Which marker a thread's number stands at.
enum Marker {
    /// Where its text starts.
    Open,
    /// Where its text ends, after an `Open`.
    Close,
    /// Where its text ends, with no `Open` (the text spans blocks).
    Alone,
}

/// Replaces `OPEN n CLOSE` and `END n CLOSE` with what `f` makes of them.
fn replace_markers(s: &str, f: impl Fn(usize, Marker) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut opened = std::collections::HashSet::new();
    let mut rest = s;
    while let Some(at) = rest.find([OPEN, END]) {
        out.push_str(&rest[..at]);
        let closing = rest[at..].starts_with(END);
        let after = &rest[at + OPEN.len_utf8()..];
        let Some(stop) = after.find(CLOSE) else {
            rest = after;
            continue;
        };
        let n = after[..stop].parse().unwrap_or(0);
        let marker = match closing {
            false => {
                opened.insert(n);
                Marker::Open
            }
            true if opened.contains(&n) => Marker::Close,
            true => Marker::Alone,
        };
        out.push_str(&f(n, marker));
        rest = &after[stop + CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    out
}
