//! Version history's document work, without IO: restoring a version as one
//! forward edit, and what changed between two states.
//!
//! A restore never rewinds the CRDT. It edits the current document until
//! its body equals the version's, touching only what differs: equal blocks
//! stay the same items, a changed paragraph is edited character by
//! character. So an edit someone makes offline meanwhile still has its
//! place, and merges on top of the restore when they reconnect. The body is
//! every root type except `meta` (the title) and `comments`.

use similar::{capture_diff_slices_deadline, Algorithm, ChangeTag, DiffOp, TextDiff};
use std::sync::Arc;
use yrs::types::text::{Diff, YChange};

use yrs::types::AsPrelim;
use yrs::types::{Attrs, ToJson};
use yrs::{
    Any, Array, ArrayRef, Doc, GetString, Map, MapRef, Out, ReadTxn, Text, Transact,
    TransactionMut, Xml, XmlElementRef, XmlFragment, XmlOut, XmlTextRef,
};
use yrs::{OffsetKind, WriteTxn};

/// How long one diff may search for the smallest edit before it settles
/// for a larger one (still correct): a long document rewritten throughout
/// would otherwise take quadratic time.
const DIFF_TIME: std::time::Duration = std::time::Duration::from_millis(50);

fn diff_slices<T: Eq + std::hash::Hash + Ord>(old: &[T], new: &[T]) -> Vec<DiffOp> {
    let deadline = std::time::Instant::now() + DIFF_TIME;
    capture_diff_slices_deadline(Algorithm::Myers, old, new, Some(deadline))
}

/// Root types that are not the body: a restore leaves them as they are.
pub const NOT_BODY: [&str; 2] = ["meta", "comments"];

/// What kind of shared type a root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fragment,
    Text,
    Array,
    Map,
}

/// The kind of root `name` in `doc`, from its defined type or, for a root
/// only known from updates, from what it holds. `None` when it is empty.
fn kind_of<T: ReadTxn>(txn: &T, name: &str) -> Option<Kind> {
    let (_, out) = txn.root_refs().find(|(n, _)| *n == name)?;
    match out {
        Out::YXmlFragment(_) | Out::YXmlElement(_) => Some(Kind::Fragment),
        Out::YText(_) | Out::YXmlText(_) => Some(Kind::Text),
        Out::YArray(_) => Some(Kind::Array),
        Out::YMap(_) => Some(Kind::Map),
        Out::UndefinedRef(_) => match out.as_prelim(txn) {
            yrs::In::Text(_) | yrs::In::XmlText(_) => Some(Kind::Text),
            yrs::In::Map(m) if m.is_empty() => None,
            yrs::In::Map(_) => Some(Kind::Map),
            yrs::In::XmlElement(_) | yrs::In::XmlFragment(_) => Some(Kind::Fragment),
            // yrs guesses "array" for a list of XML nodes: a fragment.
            yrs::In::Array(items) => Some(match items.first() {
                Some(yrs::In::XmlElement(_) | yrs::In::XmlText(_)) => Kind::Fragment,
                _ => Kind::Array,
            }),
            _ => Some(Kind::Array),
        },
        _ => None,
    }
}

fn body_roots<T: ReadTxn>(txn: &T) -> Vec<(String, Kind)> {
    let names: Vec<String> = txn
        .root_refs()
        .map(|(n, _)| n.to_owned())
        .filter(|n| !NOT_BODY.contains(&n.as_str()))
        .collect();
    names
        .into_iter()
        .filter_map(|n| kind_of(txn, &n).map(|k| (n, k)))
        .collect()
}

/// Edits the document under `txn` so that its body equals `version`'s.
/// Returns whether anything changed.
pub fn restore(txn: &mut TransactionMut, version: &Doc) -> bool {
    let vtxn = version.transact();
    let mut roots = body_roots(&vtxn);
    for (name, kind) in body_roots(txn) {
        if !roots.iter().any(|(n, _)| *n == name) {
            roots.push((name, kind));
        }
    }
    let mut changed = false;
    for (name, kind) in roots {
        let name = name.as_str();
        changed |= match kind {
            Kind::Fragment => {
                let cur = txn.get_or_insert_xml_fragment(name);
                let ver = vtxn.get_xml_fragment(name);
                children(txn, &cur, ver.as_ref(), &vtxn)
            }
            Kind::Text => {
                let cur = txn.get_or_insert_text(name);
                let target = vtxn
                    .get_text(name)
                    .map(|t| runs(&t.diff(&vtxn, YChange::identity)));
                text(txn, &cur, &target.unwrap_or_default())
            }
            Kind::Map => {
                let cur = txn.get_or_insert_map(name);
                map(txn, &cur, vtxn.get_map(name).as_ref(), &vtxn)
            }
            Kind::Array => {
                let cur = txn.get_or_insert_array(name);
                array(txn, &cur, vtxn.get_array(name).as_ref(), &vtxn)
            }
        };
    }
    changed
}

/// A node's identity for the block diff: its whole serialised content.
fn key<T: ReadTxn>(txn: &T, node: &XmlOut) -> String {
    match node {
        XmlOut::Element(e) => e.get_string(txn),
        XmlOut::Text(t) => format!("\u{0}{}", runs_key(&runs(&t.diff(txn, YChange::identity)))),
        XmlOut::Fragment(f) => f.get_string(txn),
    }
}

fn kids<T: ReadTxn, F: XmlFragment>(txn: &T, parent: &F) -> Vec<XmlOut> {
    (0..parent.len(txn))
        .filter_map(|i| parent.get(txn, i))
        .collect()
}

/// Makes `cur`'s children equal `ver`'s: equal ones kept, pairs of the
/// same element recursed into, the rest removed or copied in.
fn children<F: XmlFragment>(
    txn: &mut TransactionMut,
    cur: &F,
    ver: Option<&impl XmlFragment>,
    vtxn: &impl ReadTxn,
) -> bool {
    let now = kids(txn, cur);
    let want = ver.map(|v| kids(vtxn, v)).unwrap_or_default();
    let now_keys: Vec<String> = now.iter().map(|n| key(txn, n)).collect();
    let want_keys: Vec<String> = want.iter().map(|n| key(vtxn, n)).collect();
    if now_keys == want_keys {
        return false;
    }
    let ops = diff_slices(&now_keys, &want_keys);
    // From the end, so the indexes of what is still to do stay valid.
    for op in ops.iter().rev() {
        match *op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => cur.remove_range(txn, old_index as u32, old_len as u32),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => {
                for (i, node) in want[new_index..new_index + new_len].iter().enumerate() {
                    copy_in(txn, cur, (old_index + i) as u32, node, vtxn);
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let paired = old_len.min(new_len);
                // Past the pairs first: extra old nodes go, extra new come in.
                if old_len > paired {
                    cur.remove_range(txn, (old_index + paired) as u32, (old_len - paired) as u32);
                }
                for i in paired..new_len {
                    copy_in(txn, cur, (old_index + i) as u32, &want[new_index + i], vtxn);
                }
                for i in (0..paired).rev() {
                    let at = old_index + i;
                    if !merge(txn, &now[at], &want[new_index + i], vtxn) {
                        cur.remove_range(txn, at as u32, 1);
                        copy_in(txn, cur, at as u32, &want[new_index + i], vtxn);
                    }
                }
            }
        }
    }
    true
}

/// Edits node `now` into `want` in place when they are the same kind of
/// node (text, or elements with one tag); false when it must be replaced.
fn merge(txn: &mut TransactionMut, now: &XmlOut, want: &XmlOut, vtxn: &impl ReadTxn) -> bool {
    match (now, want) {
        (XmlOut::Text(a), XmlOut::Text(b)) => {
            text(txn, a, &runs(&b.diff(vtxn, YChange::identity)));
            true
        }
        (XmlOut::Element(a), XmlOut::Element(b)) if a.tag() == b.tag() => {
            attributes(txn, a, b, vtxn);
            children(txn, a, Some(b), vtxn);
            true
        }
        _ => false,
    }
}

fn attributes(txn: &mut TransactionMut, a: &XmlElementRef, b: &XmlElementRef, vtxn: &impl ReadTxn) {
    let have: Vec<(String, String)> = a
        .attributes(txn)
        .map(|(k, v)| (k.to_owned(), v.to_string(txn)))
        .collect();
    let want: Vec<(String, Out)> = b.attributes(vtxn).map(|(k, v)| (k.to_owned(), v)).collect();
    for (k, _) in &have {
        if !want.iter().any(|(w, _)| w == k) {
            a.remove_attribute(txn, k);
        }
    }
    for (k, v) in want {
        let text = v.clone().to_string(vtxn);
        let same = have.iter().any(|(h, hv)| *h == k && *hv == text);
        if !same {
            a.insert_attribute(txn, k, v.as_prelim(vtxn));
        }
    }
}

fn copy_in<F: XmlFragment>(
    txn: &mut TransactionMut,
    parent: &F,
    at: u32,
    node: &XmlOut,
    vtxn: &impl ReadTxn,
) {
    match node {
        XmlOut::Element(e) => {
            parent.insert(txn, at, e.as_prelim(vtxn));
        }
        XmlOut::Text(t) => {
            let added: XmlTextRef = parent.insert(txn, at, yrs::XmlTextPrelim::new(""));
            text(txn, &added, &runs(&t.diff(vtxn, YChange::identity)));
        }
        XmlOut::Fragment(f) => {
            for (i, child) in kids(vtxn, f).iter().enumerate() {
                copy_in(txn, parent, at + i as u32, child, vtxn);
            }
        }
    }
}

/// One character or embed: what the text diff compares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Unit {
    Char(char),
    /// An embed, by its JSON.
    Embed(String),
}

/// A unit with its formatting, so a change of formatting is a change too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Run {
    unit: Unit,
    /// A hash of the formatting (sorted), comparable across documents.
    attrs: u64,
}

/// A run with what inserting it takes: its formatting (shared by the
/// chunk it came from) and, for an embed, its value.
struct Piece {
    run: Run,
    attrs: Option<Arc<Attrs>>,
    embed: Option<Any>,
}

fn attrs_key(attrs: Option<&Attrs>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut pairs: Vec<(String, String)> = attrs
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pairs.hash(&mut h);
    h.finish()
}

fn runs(chunks: &[Diff<YChange>]) -> Vec<Piece> {
    let mut out = Vec::new();
    for chunk in chunks {
        let attrs = chunk.attributes.as_deref().cloned().map(Arc::new);
        let key = attrs_key(attrs.as_deref());
        match &chunk.insert {
            Out::Any(Any::String(s)) => out.extend(s.chars().map(|c| Piece {
                run: Run {
                    unit: Unit::Char(c),
                    attrs: key,
                },
                attrs: attrs.clone(),
                embed: None,
            })),
            Out::Any(any) => out.push(Piece {
                run: Run {
                    unit: Unit::Embed(any.to_string()),
                    attrs: key,
                },
                attrs: attrs.clone(),
                embed: Some(any.clone()),
            }),
            // Shared types embedded in text do not occur in TipTap's model.
            _ => {}
        }
    }
    out
}

fn runs_key(runs: &[Piece]) -> String {
    let mut out = String::new();
    for p in runs {
        match &p.run.unit {
            Unit::Char(c) => out.push(*c),
            Unit::Embed(e) => out.push_str(e),
        }
        out.push_str(&format!("\u{1}{:x}\u{2}", p.run.attrs));
    }
    out
}

/// The length of a unit in the document's offset unit.
fn unit_len(unit: &Unit, kind: OffsetKind) -> u32 {
    match (unit, kind) {
        (Unit::Embed(_), _) => 1,
        (Unit::Char(c), OffsetKind::Bytes) => c.len_utf8() as u32,
        (Unit::Char(c), OffsetKind::Utf16) => c.len_utf16() as u32,
    }
}

/// Makes text `cur` equal `target` (from [`runs`]) with the fewest
/// character edits.
fn text<T: Text>(txn: &mut TransactionMut, cur: &T, target: &[Piece]) -> bool {
    let now = runs(&cur.diff(txn, YChange::identity));
    let a: Vec<&Run> = now.iter().map(|p| &p.run).collect();
    let b: Vec<&Run> = target.iter().map(|p| &p.run).collect();
    if a == b {
        return false;
    }
    let kind = txn.doc().offset_kind();
    // Offsets of each old run, in the document's unit.
    let mut offsets = Vec::with_capacity(a.len() + 1);
    let mut at = 0u32;
    for r in &a {
        offsets.push(at);
        at += unit_len(&r.unit, kind);
    }
    offsets.push(at);
    let ops = diff_slices(&a, &b);
    for op in ops.iter().rev() {
        let (old_index, old_len, new_index, new_len) = match *op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index, old_len, ..
            } => (old_index, old_len, 0, 0),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index, 0, new_index, new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index, old_len, new_index, new_len),
        };
        let start = offsets[old_index];
        // New text first, then the old removed after it: the new text
        // keeps the left neighbour of what it replaces, so an edit made
        // elsewhere after the old text (offline, say) stays after it.
        let mut pos = start;
        let mut i = new_index;
        while i < new_index + new_len {
            let piece = &target[i];
            let attrs = || piece.attrs.as_deref().cloned().unwrap_or_default();
            if let Some(any) = &piece.embed {
                cur.insert_embed_with_attributes(txn, pos, any.clone(), attrs());
                pos += 1;
                i += 1;
                continue;
            }
            // A run of characters with the same formatting, in one insert.
            let mut chunk = String::new();
            let mut len = 0;
            let mut j = i;
            while j < new_index + new_len && target[j].run.attrs == piece.run.attrs {
                let Unit::Char(c) = target[j].run.unit else {
                    break;
                };
                chunk.push(c);
                len += unit_len(&target[j].run.unit, kind);
                j += 1;
            }
            // Explicit (empty) formatting, so it does not take on a neighbour's marks.
            cur.insert_with_attributes(txn, pos, &chunk, attrs());
            pos += len;
            i = j;
        }
        if old_len > 0 {
            cur.remove_range(txn, pos, offsets[old_index + old_len] - start);
        }
    }
    true
}

fn map(txn: &mut TransactionMut, cur: &MapRef, ver: Option<&MapRef>, vtxn: &impl ReadTxn) -> bool {
    let want: Vec<(String, Out)> = ver
        .map(|m| m.iter(vtxn).map(|(k, v)| (k.to_owned(), v)).collect())
        .unwrap_or_default();
    let mut changed = false;
    let keys: Vec<String> = cur.keys(txn).map(str::to_owned).collect();
    for k in keys {
        if !want.iter().any(|(w, _)| *w == k) {
            cur.remove(txn, &k);
            changed = true;
        }
    }
    for (k, v) in want {
        let same = cur.get(txn, &k).map(|c| c.to_json(txn)) == Some(v.to_json(vtxn));
        if !same {
            cur.insert(txn, k, v.as_prelim(vtxn));
            changed = true;
        }
    }
    changed
}

fn array(
    txn: &mut TransactionMut,
    cur: &ArrayRef,
    ver: Option<&ArrayRef>,
    vtxn: &impl ReadTxn,
) -> bool {
    let want: Vec<Out> = ver.map(|a| a.iter(vtxn).collect()).unwrap_or_default();
    let now: Vec<Any> = cur.iter(txn).map(|v| v.to_json(txn)).collect();
    if now == want.iter().map(|v| v.to_json(vtxn)).collect::<Vec<_>>() {
        return false;
    }
    let len = cur.len(txn);
    cur.remove_range(txn, 0, len);
    for (i, v) in want.into_iter().enumerate() {
        cur.insert(txn, i as u32, v.as_prelim(vtxn));
    }
    true
}

/// One piece of a block's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `equal`, `insert` or `delete`.
    pub op: &'static str,
    /// The text of this piece.
    pub text: String,
}

/// The body's blocks as Markdown, one entry per block: the unit the
/// version diff compares.
pub fn blocks(doc: &Doc) -> Vec<String> {
    let md = crate::convert::to_markdown(doc);
    let mut out: Vec<String> = md
        .split("\n\n")
        .map(|b| b.trim_end().to_owned())
        .filter(|b| !b.is_empty())
        .collect();
    // Plain text roots (a Y.Text some client uses) follow the TipTap body.
    let txn = doc.transact();
    for (name, kind) in body_roots(&txn) {
        if kind == Kind::Text && name != crate::convert::FRAGMENT {
            if let Some(t) = txn.get_text(name.as_str()) {
                out.extend(t.get_string(&txn).split("\n\n").map(str::to_owned));
            }
        }
    }
    out
}

/// What changed from `old` to `new`, block by block, and word by word
/// inside a changed block.
pub fn diff(old: &[String], new: &[String]) -> Vec<Vec<Part>> {
    let whole = |op, text: &String| {
        vec![Part {
            op,
            text: text.clone(),
        }]
    };
    let mut out = Vec::new();
    for op in diff_slices(old, new) {
        match op {
            DiffOp::Equal { old_index, len, .. } => out.extend(
                old[old_index..old_index + len]
                    .iter()
                    .map(|b| whole("equal", b)),
            ),
            DiffOp::Delete {
                old_index, old_len, ..
            } => out.extend(
                old[old_index..old_index + old_len]
                    .iter()
                    .map(|b| whole("delete", b)),
            ),
            DiffOp::Insert {
                new_index, new_len, ..
            } => out.extend(
                new[new_index..new_index + new_len]
                    .iter()
                    .map(|b| whole("insert", b)),
            ),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let paired = old_len.min(new_len);
                for i in 0..paired {
                    out.push(words(&old[old_index + i], &new[new_index + i]));
                }
                out.extend(
                    old[old_index + paired..old_index + old_len]
                        .iter()
                        .map(|b| whole("delete", b)),
                );
                out.extend(
                    new[new_index + paired..new_index + new_len]
                        .iter()
                        .map(|b| whole("insert", b)),
                );
            }
        }
    }
    out
}

fn words(old: &str, new: &str) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for change in TextDiff::configure()
        .timeout(DIFF_TIME)
        .diff_words(old, new)
        .iter_all_changes()
    {
        let op = match change.tag() {
            ChangeTag::Equal => "equal",
            ChangeTag::Insert => "insert",
            ChangeTag::Delete => "delete",
        };
        // Neighbouring words with one op read as one piece.
        match parts.last_mut() {
            Some(last) if last.op == op => last.text.push_str(change.value()),
            _ => parts.push(Part {
                op,
                text: change.value().to_owned(),
            }),
        }
    }
    parts
}

/// A document from an encoded state (a version's).
pub fn load(state: &[u8]) -> Result<Doc, crate::ProtocolError> {
    let update = crate::protocol::decode_update(state)?;
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(update)
        .map_err(crate::ProtocolError::from)?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{self, PutMode};
    use yrs::updates::decoder::Decode;
    use yrs::{StateVector, Update};

    fn state(doc: &Doc) -> Vec<u8> {
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// A document as the server holds one: built from updates only, so its
    /// root types are not declared.
    fn from_updates(updates: &[Vec<u8>]) -> Doc {
        let doc = Doc::new();
        let mut txn = doc.transact_mut();
        for u in updates {
            txn.apply_update(Update::decode_v1(u).unwrap()).unwrap();
        }
        drop(txn);
        doc
    }

    fn put_md(doc: &Doc, md: &str) {
        let frag = convert::fragment(doc);
        convert::put_markdown(&mut doc.transact_mut(), &frag, md, PutMode::Replace);
    }

    /// Restores `version` on a copy of `doc` under its own client id, as
    /// the server does, and returns that one update.
    fn restore_update(doc: &Doc, version: &[u8]) -> Vec<u8> {
        let copy = from_updates(&[state(doc)]);
        let v = load(version).unwrap();
        let mut txn = copy.transact_mut();
        assert!(restore(&mut txn, &v));
        txn.encode_update_v1()
    }

    fn apply(doc: &Doc, update: &[u8]) {
        doc.transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }

    #[test]
    fn a_restore_brings_the_body_back_and_leaves_title_and_comments() {
        let doc = Doc::new();
        put_md(
            &doc,
            "# Plan\n\nAlpha **beta** gamma\n\n- one\n- two\n\nEnd",
        );
        doc.get_or_insert_map("meta")
            .insert(&mut doc.transact_mut(), "title", "First");
        let v1 = state(&doc);
        let v1_md = convert::to_markdown(&load(&v1).unwrap());

        put_md(
            &doc,
            "# Plan B\n\nAlpha gamma delta\n\n- one\n\nEnd\n\nMore",
        );
        doc.get_or_insert_map("meta")
            .insert(&mut doc.transact_mut(), "title", "Second");
        doc.get_or_insert_map("comments")
            .insert(&mut doc.transact_mut(), "c1", "a thread");
        assert_ne!(convert::to_markdown(&doc), v1_md);

        apply(&doc, &restore_update(&doc, &v1));
        assert_eq!(
            convert::to_markdown(&doc),
            v1_md,
            "bold, the list and the heading are back"
        );
        let txn = doc.transact();
        let meta = txn.get_map("meta").unwrap();
        assert_eq!(meta.get(&txn, "title").unwrap().to_string(&txn), "Second");
        assert!(txn.get_map("comments").unwrap().get(&txn, "c1").is_some());
    }

    #[test]
    fn an_equal_body_is_no_change() {
        let doc = Doc::new();
        put_md(&doc, "Same\n\nText");
        let copy = from_updates(&[state(&doc)]);
        let v = load(&state(&doc)).unwrap();
        assert!(!restore(&mut copy.transact_mut(), &v));
    }

    /// The scenario at the CRDT level: "A" saved as a version, two
    /// writers make it "B", a third edits offline, the version is restored
    /// while it is away, and it reconnects.
    #[test]
    fn an_offline_edit_survives_a_restore_made_meanwhile() {
        let server = Doc::new();
        put_md(&server, "A\n\nKept paragraph");
        let v1 = state(&server);
        // Two clients turn it into "B" (server holds what they send).
        put_md(&server, "B\n\nKept paragraph");
        // A third goes offline with that state and edits: it types into the
        // kept paragraph and adds a paragraph of its own.
        let offline = from_updates(&[state(&server)]);
        {
            let frag = offline.get_or_insert_xml_fragment(convert::FRAGMENT);
            let mut txn = offline.transact_mut();
            let kept: XmlElementRef = frag.get(&txn, 1).unwrap().try_into().unwrap();
            let text: XmlTextRef = kept.get(&txn, 0).unwrap().try_into().unwrap();
            let end = text.len(&txn);
            text.insert(&mut txn, end, ", edited offline");
            let p = frag.insert(&mut txn, 2, yrs::XmlElementPrelim::empty("paragraph"));
            p.insert(&mut txn, 0, yrs::XmlTextPrelim::new("Written offline"));
        }
        let offline_edit = {
            let sv = Update::decode_v1(&state(&server)).unwrap().state_vector();
            offline.transact().encode_state_as_update_v1(&sv)
        };
        // The restore, while the third is away.
        apply(&server, &restore_update(&server, &v1));
        assert_eq!(convert::to_markdown(&server).trim(), "A\n\nKept paragraph");
        // It comes back: both sides exchange what the other lacks.
        let restored = state(&server);
        apply(&server, &offline_edit);
        apply(&offline, &restored);
        let md = convert::to_markdown(&server);
        assert_eq!(md, convert::to_markdown(&offline), "converged");
        assert_eq!(
            md.trim(),
            "A\n\nKept paragraph, edited offline\n\nWritten offline",
            "the version's body plus the offline edits"
        );
    }

    #[test]
    fn text_maps_and_arrays_used_by_other_clients_are_restored_too() {
        let doc = Doc::new();
        {
            let mut txn = doc.transact_mut();
            txn.get_or_insert_text("notes")
                .insert(&mut txn, 0, "hello world");
            txn.get_or_insert_map("settings")
                .insert(&mut txn, "size", 12);
            let list = txn.get_or_insert_array("list");
            list.insert(&mut txn, 0, 1);
            list.insert(&mut txn, 1, 2);
        }
        let v1 = state(&doc);
        {
            let mut txn = doc.transact_mut();
            let notes = txn.get_or_insert_text("notes");
            notes.remove_range(&mut txn, 0, 5);
            notes.insert(&mut txn, 0, "goodbye");
            txn.get_or_insert_map("settings")
                .insert(&mut txn, "size", 14);
            txn.get_or_insert_map("settings")
                .insert(&mut txn, "extra", true);
            txn.get_or_insert_array("list").push_back(&mut txn, 3);
        }
        // Someone else types into "world" concurrently with the restore.
        let other = from_updates(&[state(&doc)]);
        {
            let notes = other.get_or_insert_text("notes");
            let mut txn = other.transact_mut();
            let at = notes.get_string(&txn).len() as u32;
            notes.insert(&mut txn, at, "!");
        }
        let update = restore_update(&doc, &v1);
        apply(&doc, &update);
        apply(
            &doc,
            &other
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
        );
        let txn = doc.transact();
        assert_eq!(
            txn.get_text("notes").unwrap().get_string(&txn),
            "hello world!"
        );
        let settings = txn.get_map("settings").unwrap();
        assert_eq!(settings.get(&txn, "size").unwrap().to_string(&txn), "12");
        assert!(settings.get(&txn, "extra").is_none());
        assert_eq!(txn.get_array("list").unwrap().len(&txn), 2);
    }

    #[test]
    fn the_diff_marks_inserted_and_deleted_words_per_block() {
        let old = Doc::new();
        put_md(&old, "Hello world\n\nSame block\n\nGone block");
        let new = Doc::new();
        put_md(&new, "Hello brave new world\n\nSame block\n\nAdded block");
        let d = diff(&blocks(&old), &blocks(&new));
        fn ops(b: &[Part]) -> Vec<(&'static str, &str)> {
            b.iter().map(|p| (p.op, p.text.as_str())).collect()
        }
        assert_eq!(
            ops(&d[0]),
            [
                ("equal", "Hello "),
                ("insert", "brave new "),
                ("equal", "world")
            ]
        );
        assert_eq!(ops(&d[1]), [("equal", "Same block")]);
        assert_eq!(
            ops(&d[2]),
            [("delete", "Gone"), ("insert", "Added"), ("equal", " block")]
        );
        assert_eq!(d.len(), 3);
    }
}
