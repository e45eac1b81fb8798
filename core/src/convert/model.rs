//! The document tree every format converts through.

use serde_json::{json, Map, Value};

/// A block node. Names follow TipTap's node types.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// `paragraph`.
    Paragraph(Vec<Inline>),
    /// `heading` with `level` 1-6.
    Heading {
        /// 1 to 6.
        level: u8,
        /// The text.
        content: Vec<Inline>,
    },
    /// `bulletList` of `listItem`s.
    BulletList(Vec<Vec<Block>>),
    /// `orderedList` of `listItem`s, numbered from `start`.
    OrderedList {
        /// The first number.
        start: u64,
        /// The items.
        items: Vec<Vec<Block>>,
    },
    /// `taskList` of `taskItem`s with `checked`.
    TaskList(Vec<(bool, Vec<Block>)>),
    /// `blockquote`.
    Blockquote(Vec<Block>),
    /// `codeBlock` with an optional `language`.
    CodeBlock {
        /// The info string's first word, if any.
        language: Option<String>,
        /// The code, without a trailing newline.
        text: String,
    },
    /// `horizontalRule`.
    HorizontalRule,
    /// `image` (TipTap's Image extension, as a block).
    Image(Image),
    /// `table`: rows of `tableRow`, each of `tableHeader`/`tableCell`s.
    Table(Vec<Vec<Cell>>),
    /// `fileAttachment`: Weft's file chip (a name, a size, an address).
    File(FileRef),
}

/// An image's attrs, as TipTap's Image extension names them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Image {
    /// Its address (a blob's URL, or any URL).
    pub src: String,
    /// The text shown instead of it.
    pub alt: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Width in pixels, once resized.
    pub width: Option<u64>,
    /// Height in pixels, once resized.
    pub height: Option<u64>,
}

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// `tableHeader` rather than `tableCell`.
    pub header: bool,
    /// Columns it spans (1 in Markdown, which cannot merge cells).
    pub colspan: u64,
    /// Rows it spans.
    pub rowspan: u64,
    /// Its content: at least one block.
    pub blocks: Vec<Block>,
}

impl Cell {
    /// A one-by-one cell holding `blocks` (an empty paragraph if none).
    pub fn new(header: bool, mut blocks: Vec<Block>) -> Self {
        if blocks.is_empty() {
            blocks.push(Block::Paragraph(Vec::new()));
        }
        Cell {
            header,
            colspan: 1,
            rowspan: 1,
            blocks,
        }
    }
}

/// A file attachment's attrs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileRef {
    /// Its address.
    pub src: String,
    /// The file's name.
    pub name: String,
    /// Bytes, if known.
    pub size: Option<u64>,
    /// Its content type, if known.
    pub kind: Option<String>,
}

/// An inline node.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// `text` with marks.
    Text(String, Marks),
    /// `hardBreak`.
    HardBreak,
}

/// The marks on a run of text. Names follow TipTap's mark types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Marks {
    /// `bold`.
    pub bold: bool,
    /// `italic`.
    pub italic: bool,
    /// `strike`.
    pub strike: bool,
    /// `code`.
    pub code: bool,
    /// `underline`.
    pub underline: bool,
    /// `link` with its `href`.
    pub link: Option<String>,
}

impl Marks {
    /// The names of the set marks that carry no attrs (all but `link`).
    pub fn plain_names(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.bold, "bold"),
            (self.italic, "italic"),
            (self.strike, "strike"),
            (self.underline, "underline"),
            (self.code, "code"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
    }
}

/// A mark that wraps text in Markdown and HTML, in nesting order: the
/// link outermost. `code` is not here: it is a leaf span, not a wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    /// `link`.
    Link,
    /// `bold`.
    Bold,
    /// `italic`.
    Italic,
    /// `strike`.
    Strike,
    /// `underline`.
    Underline,
}

/// The wrappers `marks` needs, outermost first.
/// A link mark's attrs as TipTap writes them, as JSON (see `yxml` for the
/// yrs form).
pub fn link_attrs_json(href: &str) -> serde_json::Value {
    json!({ "href": href, "target": "_blank", "rel": "noopener noreferrer nofollow", "class": null, "title": null })
}

pub fn wraps(marks: &Marks) -> Vec<Wrap> {
    let mut v = Vec::new();
    if marks.link.is_some() {
        v.push(Wrap::Link);
    }
    for (on, w) in [
        (marks.bold, Wrap::Bold),
        (marks.italic, Wrap::Italic),
        (marks.strike, Wrap::Strike),
        (marks.underline, Wrap::Underline),
    ] {
        if on {
            v.push(w);
        }
    }
    v
}

/// How many of the `open` wrappers the next run can keep: the longest
/// common prefix with `want`, where a link only stays open for the same href.
pub fn kept(open: &[Wrap], want: &[Wrap], same_link: bool) -> usize {
    open.iter()
        .zip(want)
        .take_while(|(o, w)| o == w && (**o != Wrap::Link || same_link))
        .count()
}

/// Appends text, merging with the previous run when the marks match, so
/// trees built from different sources compare equal.
pub fn push_text(inlines: &mut Vec<Inline>, text: &str, marks: &Marks) {
    if text.is_empty() {
        return;
    }
    if let Some(Inline::Text(prev, prev_marks)) = inlines.last_mut() {
        if prev_marks == marks {
            prev.push_str(text);
            return;
        }
    }
    inlines.push(Inline::Text(text.to_owned(), marks.clone()));
}

/// Every image's and file's address in `blocks`, however deep (lists,
/// quotes, table cells), for `f` to read or rewrite.
pub fn sources_mut(blocks: &mut [Block], f: &mut dyn FnMut(&mut String)) {
    for b in blocks {
        match b {
            Block::Image(i) => f(&mut i.src),
            Block::File(file) => f(&mut file.src),
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                items.iter_mut().for_each(|i| sources_mut(i, f))
            }
            Block::TaskList(items) => items.iter_mut().for_each(|(_, i)| sources_mut(i, f)),
            Block::Blockquote(inner) => sources_mut(inner, f),
            Block::Table(rows) => rows
                .iter_mut()
                .flatten()
                .for_each(|c| sources_mut(&mut c.blocks, f)),
            Block::Paragraph(_)
            | Block::Heading { .. }
            | Block::CodeBlock { .. }
            | Block::HorizontalRule => {}
        }
    }
}

/// One line per text block, lists and quotes flattened.
pub fn plain_text(blocks: &[Block]) -> String {
    fn inline_text(out: &mut String, inlines: &[Inline]) {
        for i in inlines {
            match i {
                Inline::Text(t, _) => out.push_str(t),
                Inline::HardBreak => out.push('\n'),
            }
        }
        out.push('\n');
    }
    fn walk(out: &mut String, blocks: &[Block]) {
        for b in blocks {
            match b {
                Block::Paragraph(c) | Block::Heading { content: c, .. } => inline_text(out, c),
                Block::BulletList(items) | Block::OrderedList { items, .. } => {
                    items.iter().for_each(|i| walk(out, i))
                }
                Block::TaskList(items) => items.iter().for_each(|(_, i)| walk(out, i)),
                Block::Blockquote(inner) => walk(out, inner),
                Block::CodeBlock { text, .. } => {
                    out.push_str(text);
                    out.push('\n');
                }
                Block::HorizontalRule => {}
                Block::Image(i) => {
                    if let Some(alt) = &i.alt {
                        out.push_str(alt);
                        out.push('\n');
                    }
                }
                Block::Table(rows) => rows
                    .iter()
                    .flatten()
                    .for_each(|cell| walk(out, &cell.blocks)),
                Block::File(f) => {
                    out.push_str(&f.name);
                    out.push('\n');
                }
            }
        }
    }
    let mut out = String::new();
    walk(&mut out, blocks);
    out
}

/// ProseMirror JSON, as TipTap's `editor.getJSON()` returns it.
pub fn to_prosemirror_json(blocks: &[Block]) -> Value {
    json!({ "type": "doc", "content": blocks.iter().map(block_json).collect::<Vec<_>>() })
}

fn node(kind: &str, attrs: Option<Value>, content: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), kind.into());
    if let Some(a) = attrs {
        m.insert("attrs".into(), a);
    }
    if !content.is_empty() {
        m.insert("content".into(), content.into());
    }
    Value::Object(m)
}

fn block_json(b: &Block) -> Value {
    let items = |items: &Vec<Vec<Block>>| {
        items
            .iter()
            .map(|i| node("listItem", None, i.iter().map(block_json).collect()))
            .collect::<Vec<_>>()
    };
    match b {
        Block::Paragraph(c) => node("paragraph", None, inline_json(c)),
        Block::Heading { level, content } => node(
            "heading",
            Some(json!({ "level": level })),
            inline_json(content),
        ),
        Block::BulletList(i) => node("bulletList", None, items(i)),
        Block::OrderedList { start, items: i } => node(
            "orderedList",
            Some(json!({ "start": start, "type": null })),
            items(i),
        ),
        Block::TaskList(i) => node(
            "taskList",
            None,
            i.iter()
                .map(|(checked, blocks)| {
                    node(
                        "taskItem",
                        Some(json!({ "checked": checked })),
                        blocks.iter().map(block_json).collect(),
                    )
                })
                .collect(),
        ),
        Block::Blockquote(inner) => {
            node("blockquote", None, inner.iter().map(block_json).collect())
        }
        Block::CodeBlock { language, text } => node(
            "codeBlock",
            Some(json!({ "language": language })),
            if text.is_empty() {
                vec![]
            } else {
                vec![json!({ "type": "text", "text": text })]
            },
        ),
        Block::HorizontalRule => node("horizontalRule", None, vec![]),
        Block::Image(i) => node(
            "image",
            Some(
                json!({ "src": i.src, "alt": i.alt, "title": i.title, "width": i.width, "height": i.height }),
            ),
            vec![],
        ),
        Block::Table(rows) => node(
            "table",
            None,
            rows.iter()
                .map(|row| {
                    let cells = row.iter().map(|c| {
                        let kind = if c.header { "tableHeader" } else { "tableCell" };
                        let attrs =
                            json!({ "colspan": c.colspan, "rowspan": c.rowspan, "colwidth": null });
                        node(kind, Some(attrs), c.blocks.iter().map(block_json).collect())
                    });
                    node("tableRow", None, cells.collect())
                })
                .collect(),
        ),
        Block::File(f) => node(
            "fileAttachment",
            Some(json!({ "src": f.src, "name": f.name, "size": f.size, "type": f.kind })),
            vec![],
        ),
    }
}

fn inline_json(inlines: &[Inline]) -> Vec<Value> {
    inlines
        .iter()
        .map(|i| match i {
            Inline::HardBreak => json!({ "type": "hardBreak" }),
            Inline::Text(t, m) => {
                let mut marks: Vec<Value> = m
                    .plain_names()
                    .map(|name| json!({ "type": name }))
                    .collect();
                if let Some(href) = &m.link {
                    marks.push(json!({ "type": "link", "attrs": link_attrs_json(href) }));
                }
                let mut v = json!({ "type": "text", "text": t });
                if !marks.is_empty() {
                    v["marks"] = marks.into();
                }
                v
            }
        })
        .collect()
}
