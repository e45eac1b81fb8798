//! HTML out: the [`model`](super::model) tree as pulldown-cmark events,
//! written by pulldown-cmark's HTML writer (so it escapes as CommonMark
//! does). Underline becomes `<u>`.

use pulldown_cmark::{
    Alignment, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Tag, TagEnd,
};

use super::model::{kept, wraps, Block, Cell, Image, Inline, Marks, Wrap};

fn events(blocks: &[Block]) -> Vec<Event<'static>> {
    let mut out = Vec::new();
    for b in blocks {
        block_events(b, &mut out);
    }
    out
}

/// Items holding a single paragraph are written tight (no `<p>`), as
/// CommonMark renders tight lists.
fn item_events(blocks: &[Block], out: &mut Vec<Event<'static>>) {
    match blocks {
        [Block::Paragraph(inl)] => inline_events(inl, out),
        _ => blocks.iter().for_each(|b| block_events(b, out)),
    }
}

fn block_events(b: &Block, out: &mut Vec<Event<'static>>) {
    match b {
        Block::Paragraph(inl) => {
            out.push(Event::Start(Tag::Paragraph));
            inline_events(inl, out);
            out.push(Event::End(TagEnd::Paragraph));
        }
        Block::Heading { level, content } => {
            let level = HeadingLevel::try_from(*level as usize).unwrap_or(HeadingLevel::H1);
            out.push(Event::Start(Tag::Heading {
                level,
                id: None,
                classes: vec![],
                attrs: vec![],
            }));
            inline_events(content, out);
            out.push(Event::End(TagEnd::Heading(level)));
        }
        Block::BulletList(items) | Block::OrderedList { items, .. } => {
            let start = match b {
                Block::OrderedList { start, .. } => Some(*start),
                _ => None,
            };
            out.push(Event::Start(Tag::List(start)));
            for item in items {
                out.push(Event::Start(Tag::Item));
                item_events(item, out);
                out.push(Event::End(TagEnd::Item));
            }
            out.push(Event::End(TagEnd::List(start.is_some())));
        }
        Block::TaskList(items) => {
            out.push(Event::Start(Tag::List(None)));
            for (checked, item) in items {
                out.push(Event::Start(Tag::Item));
                out.push(Event::TaskListMarker(*checked));
                item_events(item, out);
                out.push(Event::End(TagEnd::Item));
            }
            out.push(Event::End(TagEnd::List(false)));
        }
        Block::Blockquote(inner) => {
            out.push(Event::Start(Tag::BlockQuote(None)));
            inner.iter().for_each(|b| block_events(b, out));
            out.push(Event::End(TagEnd::BlockQuote(None)));
        }
        Block::CodeBlock { language, text } => {
            let info = CowStr::from(language.clone().unwrap_or_default());
            out.push(Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))));
            if !text.is_empty() {
                out.push(Event::Text(CowStr::from(format!("{text}\n"))));
            }
            out.push(Event::End(TagEnd::CodeBlock));
        }
        Block::HorizontalRule => out.push(Event::Rule),
        Block::Image(i) => image_events(i, out),
        Block::Table(rows) => table_events(rows, out),
        Block::File(f) => {
            let name = Inline::Text(
                f.name.clone(),
                Marks {
                    link: Some(f.src.clone()),
                    ..Marks::default()
                },
            );
            block_events(&Block::Paragraph(vec![name]), out);
        }
    }
}

/// `<p><img …></p>`.
fn image_events(i: &Image, out: &mut Vec<Event<'static>>) {
    out.push(Event::Start(Tag::Paragraph));
    out.push(Event::Start(Tag::Image {
        link_type: LinkType::Inline,
        dest_url: CowStr::from(i.src.clone()),
        title: CowStr::from(i.title.clone().unwrap_or_default()),
        id: CowStr::from(""),
    }));
    if let Some(alt) = &i.alt {
        out.push(Event::Text(CowStr::from(alt.clone())));
    }
    out.push(Event::End(TagEnd::Image));
    out.push(Event::End(TagEnd::Paragraph));
}

/// `<table>`: a first row of header cells becomes `<thead>`.
fn table_events(rows: &[Vec<Cell>], out: &mut Vec<Event<'static>>) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    out.push(Event::Start(Tag::Table(vec![Alignment::None; width])));
    for (n, row) in rows.iter().enumerate() {
        let head = n == 0 && !row.is_empty() && row.iter().all(|c| c.header);
        out.push(Event::Start(if head {
            Tag::TableHead
        } else {
            Tag::TableRow
        }));
        for cell in row {
            out.push(Event::Start(Tag::TableCell));
            item_events(&cell.blocks, out);
            out.push(Event::End(TagEnd::TableCell));
        }
        out.push(Event::End(if head {
            TagEnd::TableHead
        } else {
            TagEnd::TableRow
        }));
    }
    out.push(Event::End(TagEnd::Table));
}

fn open(w: Wrap, marks: &Marks, out: &mut Vec<Event<'static>>) {
    out.push(match w {
        Wrap::Link => Event::Start(Tag::Link {
            link_type: LinkType::Inline,
            dest_url: CowStr::from(marks.link.clone().unwrap_or_default()),
            title: CowStr::from(""),
            id: CowStr::from(""),
        }),
        Wrap::Bold => Event::Start(Tag::Strong),
        Wrap::Italic => Event::Start(Tag::Emphasis),
        Wrap::Strike => Event::Start(Tag::Strikethrough),
        Wrap::Underline => Event::InlineHtml(CowStr::from("<u>")),
    });
}

fn close(w: Wrap, out: &mut Vec<Event<'static>>) {
    out.push(match w {
        Wrap::Link => Event::End(TagEnd::Link),
        Wrap::Bold => Event::End(TagEnd::Strong),
        Wrap::Italic => Event::End(TagEnd::Emphasis),
        Wrap::Strike => Event::End(TagEnd::Strikethrough),
        Wrap::Underline => Event::InlineHtml(CowStr::from("</u>")),
    });
}

fn inline_events(inlines: &[Inline], out: &mut Vec<Event<'static>>) {
    // Marks open in a fixed order (link outermost) and close innermost
    // first, so the events always nest.
    let mut open_marks: Vec<Wrap> = Vec::new();
    let mut open_link: Option<String> = None;
    for i in inlines {
        let (text, marks) = match i {
            Inline::Text(t, m) => (Some(t), m.clone()),
            Inline::HardBreak => (
                None,
                Marks {
                    link: open_link.clone(),
                    ..Marks::default()
                },
            ),
        };
        let want = wraps(&marks);
        let keep = kept(&open_marks, &want, open_link == marks.link);
        while open_marks.len() > keep {
            close(open_marks.pop().unwrap_or(Wrap::Bold), out);
        }
        for m in &want[keep..] {
            open(*m, &marks, out);
            open_marks.push(*m);
        }
        open_link = marks.link.clone();
        match text {
            Some(t) if marks.code => out.push(Event::Code(CowStr::from(t.clone()))),
            Some(t) => out.push(Event::Text(CowStr::from(t.clone()))),
            None => out.push(Event::HardBreak),
        }
    }
    while let Some(m) = open_marks.pop() {
        close(m, out);
    }
}

/// Renders blocks as an HTML fragment.
pub fn render_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events(blocks).into_iter());
    out
}
