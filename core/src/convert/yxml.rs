//! The document tree in a yrs `XmlFragment`, in exactly the shape
//! y-prosemirror (and so TipTap's Collaboration extension) uses:
//! elements named after node types with node attrs as attributes (null
//! attrs omitted), text in `XmlText` with each mark as a formatting
//! attribute whose value is the mark's attrs (`{}` when it has none).

use std::collections::HashMap;
use std::sync::Arc;

use yrs::types::text::{Diff, YChange};
use yrs::types::Attrs;
use yrs::{
    Any, GetString, Number, Out, ReadTxn, Text, TransactionMut, Xml, XmlElementPrelim,
    XmlElementRef, XmlFragment, XmlFragmentRef, XmlOut, XmlTextPrelim, XmlTextRef,
};

use super::model::{push_text, Block, Cell, FileRef, Image, Inline, Marks};
use super::PutMode;

/// TipTap's Link mark attrs, with its defaults for everything but `href`.
fn link_attrs(href: &str) -> Any {
    let mut m = HashMap::new();
    m.insert("href".to_owned(), Any::from(href));
    m.insert("target".to_owned(), Any::from("_blank"));
    m.insert("rel".to_owned(), Any::from("noopener noreferrer nofollow"));
    m.insert("class".to_owned(), Any::Null);
    m.insert("title".to_owned(), Any::Null);
    Any::from(m)
}

fn empty_mark() -> Any {
    Any::from(HashMap::<String, Any>::new())
}

// ---- reading ----

/// Reads every block of `frag`.
pub fn read_fragment<T: ReadTxn>(txn: &T, frag: &XmlFragmentRef) -> Vec<Block> {
    read_blocks(txn, frag.children(txn))
}

fn read_blocks<T: ReadTxn>(txn: &T, children: impl Iterator<Item = XmlOut>) -> Vec<Block> {
    let mut out = Vec::new();
    for child in children {
        match child {
            XmlOut::Element(e) => out.extend(read_element(txn, &e)),
            // Stray text at block level (not written by TipTap): keep it visible.
            XmlOut::Text(t) => {
                let mut inl = Vec::new();
                read_text(txn, &t, &mut inl);
                out.push(Block::Paragraph(inl));
            }
            XmlOut::Fragment(f) => out.extend(read_blocks(txn, f.children(txn))),
        }
    }
    out
}

fn attr_u64<T: ReadTxn>(txn: &T, e: &XmlElementRef, name: &str) -> Option<u64> {
    match e.get_attribute(txn, name)? {
        Out::Any(Any::Number(n)) => n.as_i64().and_then(|n| u64::try_from(n).ok()),
        Out::Any(Any::String(s)) => s.parse().ok(),
        _ => None,
    }
}

fn attr_string<T: ReadTxn>(txn: &T, e: &XmlElementRef, name: &str) -> Option<String> {
    match e.get_attribute(txn, name)? {
        Out::Any(Any::String(s)) if !s.is_empty() => Some(s.to_string()),
        _ => None,
    }
}

fn attr_bool<T: ReadTxn>(txn: &T, e: &XmlElementRef, name: &str) -> bool {
    match e.get_attribute(txn, name) {
        Some(Out::Any(Any::Bool(b))) => b,
        Some(Out::Any(Any::String(s))) => &*s == "true",
        _ => false,
    }
}

fn read_element<T: ReadTxn>(txn: &T, e: &XmlElementRef) -> Vec<Block> {
    let items = |txn: &T| -> Vec<Vec<Block>> {
        e.children(txn)
            .map(|c| match c {
                XmlOut::Element(li) => read_blocks(txn, li.children(txn)),
                other => read_blocks(txn, std::iter::once(other)),
            })
            .collect()
    };
    let block = match e.tag().as_ref() {
        "paragraph" => Block::Paragraph(read_inlines(txn, e)),
        "heading" => Block::Heading {
            level: attr_u64(txn, e, "level").unwrap_or(1).clamp(1, 6) as u8,
            content: read_inlines(txn, e),
        },
        "bulletList" => Block::BulletList(items(txn)),
        "orderedList" => Block::OrderedList {
            start: attr_u64(txn, e, "start").unwrap_or(1),
            items: items(txn),
        },
        "taskList" => Block::TaskList(
            e.children(txn)
                .map(|c| match c {
                    XmlOut::Element(item) => (
                        attr_bool(txn, &item, "checked"),
                        read_blocks(txn, item.children(txn)),
                    ),
                    other => (false, read_blocks(txn, std::iter::once(other))),
                })
                .collect(),
        ),
        "blockquote" => Block::Blockquote(read_blocks(txn, e.children(txn))),
        "codeBlock" => {
            let mut text = String::new();
            for c in e.children(txn) {
                if let XmlOut::Text(t) = c {
                    text.push_str(&t.get_string(txn));
                }
            }
            Block::CodeBlock {
                language: attr_string(txn, e, "language"),
                text,
            }
        }
        "horizontalRule" => Block::HorizontalRule,
        "image" => Block::Image(Image {
            src: attr_string(txn, e, "src").unwrap_or_default(),
            alt: attr_string(txn, e, "alt"),
            title: attr_string(txn, e, "title"),
            width: attr_u64(txn, e, "width"),
            height: attr_u64(txn, e, "height"),
        }),
        "table" => Block::Table(
            e.children(txn)
                .filter_map(|row| match row {
                    XmlOut::Element(row) => Some(read_row(txn, &row)),
                    _ => None,
                })
                .collect(),
        ),
        "fileAttachment" => Block::File(FileRef {
            src: attr_string(txn, e, "src").unwrap_or_default(),
            name: attr_string(txn, e, "name").unwrap_or_default(),
            size: attr_u64(txn, e, "size"),
            kind: attr_string(txn, e, "type"),
        }),
        // A list item or unknown container: its children are blocks.
        _ => return read_blocks(txn, e.children(txn)),
    };
    vec![block]
}

/// A `tableRow`'s cells.
fn read_row<T: ReadTxn>(txn: &T, row: &XmlElementRef) -> Vec<Cell> {
    row.children(txn)
        .filter_map(|cell| match cell {
            XmlOut::Element(cell) => {
                let mut c = Cell::new(
                    cell.tag().as_ref() == "tableHeader",
                    read_blocks(txn, cell.children(txn)),
                );
                c.colspan = attr_u64(txn, &cell, "colspan").unwrap_or(1).max(1);
                c.rowspan = attr_u64(txn, &cell, "rowspan").unwrap_or(1).max(1);
                Some(c)
            }
            _ => None,
        })
        .collect()
}

fn read_inlines<T: ReadTxn>(txn: &T, e: &XmlElementRef) -> Vec<Inline> {
    let mut out = Vec::new();
    for c in e.children(txn) {
        match c {
            XmlOut::Text(t) => read_text(txn, &t, &mut out),
            XmlOut::Element(el) if el.tag().as_ref() == "hardBreak" => out.push(Inline::HardBreak),
            // Unknown inline nodes (e.g. from other extensions): keep their text.
            XmlOut::Element(el) => {
                for inner in read_inlines(txn, &el) {
                    match inner {
                        Inline::Text(t, m) => push_text(&mut out, &t, &m),
                        other => out.push(other),
                    }
                }
            }
            XmlOut::Fragment(_) => {}
        }
    }
    out
}

fn read_text<T: ReadTxn>(txn: &T, t: &XmlTextRef, out: &mut Vec<Inline>) {
    let diffs: Vec<Diff<YChange>> = t.diff(txn, YChange::identity);
    for d in diffs {
        let text = match d.insert {
            Out::Any(Any::String(s)) => s.to_string(),
            _ => continue,
        };
        push_text(out, &text, &marks_of(d.attributes.as_deref()));
    }
}

fn marks_of(attrs: Option<&Attrs>) -> Marks {
    let mut m = Marks::default();
    let Some(attrs) = attrs else { return m };
    for (key, value) in attrs {
        if matches!(value, Any::Null) {
            continue;
        }
        // y-prosemirror suffixes overlapping marks with `--hash`.
        match key.split("--").next().unwrap_or_default() {
            "bold" => m.bold = true,
            "italic" => m.italic = true,
            "strike" => m.strike = true,
            "code" => m.code = true,
            "underline" => m.underline = true,
            "link" => {
                if let Any::Map(map) = value {
                    if let Some(Any::String(href)) = map.get("href") {
                        m.link = Some(href.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    m
}

// ---- writing ----

/// Writes `blocks` into `frag`, replacing or appending.
pub fn write_blocks(
    txn: &mut TransactionMut,
    frag: &XmlFragmentRef,
    blocks: &[Block],
    mode: PutMode,
) {
    if mode == PutMode::Replace {
        let len = frag.len(txn);
        if len > 0 {
            frag.remove_range(txn, 0, len);
        }
    }
    for b in blocks {
        let at = frag.len(txn);
        let el = frag.insert(txn, at, XmlElementPrelim::empty(tag_of(b)));
        fill_block(txn, &el, b);
    }
}

fn tag_of(b: &Block) -> &'static str {
    match b {
        Block::Paragraph(_) => "paragraph",
        Block::Heading { .. } => "heading",
        Block::BulletList(_) => "bulletList",
        Block::OrderedList { .. } => "orderedList",
        Block::TaskList(_) => "taskList",
        Block::Blockquote(_) => "blockquote",
        Block::CodeBlock { .. } => "codeBlock",
        Block::HorizontalRule => "horizontalRule",
        Block::Image(_) => "image",
        Block::Table(_) => "table",
        Block::File(_) => "fileAttachment",
    }
}

/// A whole-number attribute, as Yjs stores a JavaScript integer.
fn int(n: u64) -> Any {
    Any::Number(Number::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// Sets the attributes that have a value (y-prosemirror leaves null ones out).
fn set_attrs(txn: &mut TransactionMut, el: &XmlElementRef, attrs: Vec<(&str, Option<Any>)>) {
    for (name, value) in attrs {
        if let Some(v) = value {
            el.insert_attribute(txn, name, v);
        }
    }
}

fn push_block(txn: &mut TransactionMut, parent: &XmlElementRef, b: &Block) {
    let at = parent.len(txn);
    let el = parent.insert(txn, at, XmlElementPrelim::empty(tag_of(b)));
    fill_block(txn, &el, b);
}

fn push_item(
    txn: &mut TransactionMut,
    list: &XmlElementRef,
    tag: &str,
    checked: Option<bool>,
    blocks: &[Block],
) {
    let at = list.len(txn);
    let item = list.insert(txn, at, XmlElementPrelim::empty(tag));
    if let Some(c) = checked {
        item.insert_attribute(txn, "checked", Any::Bool(c));
    }
    for b in blocks {
        push_block(txn, &item, b);
    }
}

fn fill_block(txn: &mut TransactionMut, el: &XmlElementRef, b: &Block) {
    match b {
        Block::Paragraph(c) => write_inlines(txn, el, c),
        Block::Heading { level, content } => {
            el.insert_attribute(txn, "level", Any::Number(Number::Int(i64::from(*level))));
            write_inlines(txn, el, content);
        }
        Block::BulletList(items) => items
            .iter()
            .for_each(|i| push_item(txn, el, "listItem", None, i)),
        Block::OrderedList { start, items } => {
            el.insert_attribute(
                txn,
                "start",
                Any::Number(Number::Int(i64::try_from(*start).unwrap_or(1))),
            );
            items
                .iter()
                .for_each(|i| push_item(txn, el, "listItem", None, i));
        }
        Block::TaskList(items) => items
            .iter()
            .for_each(|(c, i)| push_item(txn, el, "taskItem", Some(*c), i)),
        Block::Blockquote(inner) => inner.iter().for_each(|b| push_block(txn, el, b)),
        Block::CodeBlock { language, text } => {
            if let Some(lang) = language {
                el.insert_attribute(txn, "language", Any::from(lang.as_str()));
            }
            if !text.is_empty() {
                el.insert(txn, 0, XmlTextPrelim::new(text.as_str()));
            }
        }
        Block::HorizontalRule => {}
        Block::Image(i) => set_attrs(
            txn,
            el,
            vec![
                ("src", Some(Any::from(i.src.as_str()))),
                ("alt", i.alt.as_deref().map(Any::from)),
                ("title", i.title.as_deref().map(Any::from)),
                ("width", i.width.map(int)),
                ("height", i.height.map(int)),
            ],
        ),
        Block::Table(rows) => {
            for cells in rows {
                let at = el.len(txn);
                let row = el.insert(txn, at, XmlElementPrelim::empty("tableRow"));
                for c in cells {
                    let at = row.len(txn);
                    let tag = if c.header { "tableHeader" } else { "tableCell" };
                    let cell = row.insert(txn, at, XmlElementPrelim::empty(tag));
                    let spans = vec![
                        ("colspan", Some(int(c.colspan))),
                        ("rowspan", Some(int(c.rowspan))),
                    ];
                    set_attrs(txn, &cell, spans);
                    c.blocks.iter().for_each(|b| push_block(txn, &cell, b));
                }
            }
        }
        Block::File(f) => set_attrs(
            txn,
            el,
            vec![
                ("src", Some(Any::from(f.src.as_str()))),
                ("name", Some(Any::from(f.name.as_str()))),
                ("size", f.size.map(int)),
                ("type", f.kind.as_deref().map(Any::from)),
            ],
        ),
    }
}

fn write_inlines(txn: &mut TransactionMut, el: &XmlElementRef, inlines: &[Inline]) {
    // Consecutive text runs share one XmlText, as y-prosemirror writes them.
    let mut current: Option<XmlTextRef> = None;
    for i in inlines {
        match i {
            Inline::HardBreak => {
                current = None;
                let at = el.len(txn);
                el.insert(txn, at, XmlElementPrelim::empty("hardBreak"));
            }
            Inline::Text(text, marks) => {
                let t = match &current {
                    Some(t) => t.clone(),
                    None => {
                        let at = el.len(txn);
                        let t = el.insert(txn, at, XmlTextPrelim::new(""));
                        current = Some(t.clone());
                        t
                    }
                };
                let at = t.len(txn);
                t.insert_with_attributes(txn, at, text, attrs_of(marks));
            }
        }
    }
}

fn attrs_of(m: &Marks) -> Attrs {
    let mut a: Attrs = m
        .plain_names()
        .map(|name| (Arc::from(name), empty_mark()))
        .collect();
    if let Some(href) = &m.link {
        a.insert(Arc::from("link"), link_attrs(href));
    }
    a
}
