//! Markdown in (pulldown-cmark: CommonMark + GFM task lists and
//! strikethrough), HTML out (pulldown-cmark's writer over the same events),
//! and Markdown out through [`super::serialize`].
//!
//! Underline has no Markdown syntax; it is written and read as `<u>…</u>`.

use pulldown_cmark::{
    CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};

use super::model::{kept, push_text, wraps, Block, Inline, Marks, Wrap};
use super::serialize::render_blocks;

fn options() -> Options {
    Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

// ---- parsing ----

enum Frame {
    /// Blocks being collected: the document, a quote, or a list item.
    Blocks { blocks: Vec<Block>, kind: Container },
    /// Inline content of a paragraph or heading.
    Inlines {
        inlines: Vec<Inline>,
        heading: Option<u8>,
        implicit: bool,
    },
    /// A list's items so far.
    List {
        start: Option<u64>,
        items: Vec<(Option<bool>, Vec<Block>)>,
    },
    /// A code block's text.
    Code {
        language: Option<String>,
        text: String,
    },
}

#[derive(PartialEq)]
enum Container {
    Root,
    Quote,
    Item { task: Option<bool> },
}

struct Builder {
    stack: Vec<Frame>,
    marks: Marks,
    /// Open link destinations, innermost last.
    links: Vec<String>,
}

impl Builder {
    fn blocks_mut(&mut self) -> &mut Vec<Block> {
        // Inline content without a paragraph (tight list items) gets one.
        for f in self.stack.iter_mut().rev() {
            if let Frame::Blocks { blocks, .. } = f {
                return blocks;
            }
        }
        unreachable!("the root frame is never popped")
    }

    fn close_implicit(&mut self) {
        if let Some(Frame::Inlines { implicit: true, .. }) = self.stack.last() {
            if let Some(Frame::Inlines { inlines, .. }) = self.stack.pop() {
                self.blocks_mut().push(Block::Paragraph(inlines));
            }
        }
    }

    fn inlines_mut(&mut self) -> Option<&mut Vec<Inline>> {
        match self.stack.last() {
            Some(Frame::Inlines { .. }) => {}
            Some(Frame::Blocks { .. }) => {
                self.stack.push(Frame::Inlines {
                    inlines: Vec::new(),
                    heading: None,
                    implicit: true,
                });
            }
            _ => return None,
        }
        match self.stack.last_mut() {
            Some(Frame::Inlines { inlines, .. }) => Some(inlines),
            _ => None,
        }
    }

    fn text(&mut self, s: &str, extra: Option<&dyn Fn(&mut Marks)>) {
        if let Some(Frame::Code { text, .. }) = self.stack.last_mut() {
            text.push_str(s);
            return;
        }
        let mut marks = self.marks.clone();
        marks.link = self.links.last().cloned();
        if let Some(f) = extra {
            f(&mut marks);
        }
        if let Some(inl) = self.inlines_mut() {
            push_text(inl, s, &marks);
        }
    }

    fn push_block(&mut self, b: Block) {
        self.close_implicit();
        self.blocks_mut().push(b);
    }
}

/// Parses Markdown into blocks.
pub fn parse(markdown: &str) -> Vec<Block> {
    let mut b = Builder {
        stack: vec![Frame::Blocks {
            blocks: Vec::new(),
            kind: Container::Root,
        }],
        marks: Marks::default(),
        links: Vec::new(),
    };
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => {
                    b.close_implicit();
                    b.stack.push(Frame::Inlines {
                        inlines: Vec::new(),
                        heading: None,
                        implicit: false,
                    });
                }
                Tag::Heading { level, .. } => {
                    b.close_implicit();
                    b.stack.push(Frame::Inlines {
                        inlines: Vec::new(),
                        heading: Some(level as u8),
                        implicit: false,
                    });
                }
                Tag::BlockQuote(_) => {
                    b.close_implicit();
                    b.stack.push(Frame::Blocks {
                        blocks: Vec::new(),
                        kind: Container::Quote,
                    });
                }
                Tag::CodeBlock(kind) => {
                    b.close_implicit();
                    let language = match kind {
                        CodeBlockKind::Fenced(info) => {
                            info.split_whitespace().next().map(str::to_owned)
                        }
                        CodeBlockKind::Indented => None,
                    };
                    b.stack.push(Frame::Code {
                        language,
                        text: String::new(),
                    });
                }
                Tag::List(start) => {
                    b.close_implicit();
                    b.stack.push(Frame::List {
                        start,
                        items: Vec::new(),
                    });
                }
                Tag::Item => b.stack.push(Frame::Blocks {
                    blocks: Vec::new(),
                    kind: Container::Item { task: None },
                }),
                Tag::Emphasis => b.marks.italic = true,
                Tag::Strong => b.marks.bold = true,
                Tag::Strikethrough => b.marks.strike = true,
                Tag::Link { dest_url, .. } => b.links.push(dest_url.to_string()),
                // StarterKit has no image node: keep the alt text, linked to the image.
                Tag::Image { dest_url, .. } => b.links.push(dest_url.to_string()),
                _ => {}
            },
            Event::End(end) => match end {
                TagEnd::Paragraph | TagEnd::Heading(_) => {
                    if let Some(Frame::Inlines {
                        inlines, heading, ..
                    }) = b.stack.pop()
                    {
                        let block = match heading {
                            Some(level) => Block::Heading {
                                level,
                                content: inlines,
                            },
                            None => Block::Paragraph(inlines),
                        };
                        b.blocks_mut().push(block);
                    }
                }
                TagEnd::BlockQuote(_) => {
                    b.close_implicit();
                    if let Some(Frame::Blocks { blocks, .. }) = b.stack.pop() {
                        b.blocks_mut().push(Block::Blockquote(blocks));
                    }
                }
                TagEnd::CodeBlock => {
                    if let Some(Frame::Code { language, mut text }) = b.stack.pop() {
                        if text.ends_with('\n') {
                            text.pop();
                        }
                        b.push_block(Block::CodeBlock { language, text });
                    }
                }
                TagEnd::Item => {
                    b.close_implicit();
                    if let Some(Frame::Blocks {
                        blocks,
                        kind: Container::Item { task },
                    }) = b.stack.pop()
                    {
                        if let Some(Frame::List { items, .. }) = b.stack.last_mut() {
                            items.push((task, blocks));
                        }
                    }
                }
                TagEnd::List(_) => {
                    if let Some(Frame::List { start, items }) = b.stack.pop() {
                        let block = if items.iter().any(|(t, _)| t.is_some()) {
                            Block::TaskList(
                                items
                                    .into_iter()
                                    .map(|(t, blocks)| (t.unwrap_or(false), blocks))
                                    .collect(),
                            )
                        } else {
                            let items = items.into_iter().map(|(_, blocks)| blocks).collect();
                            match start {
                                Some(start) => Block::OrderedList { start, items },
                                None => Block::BulletList(items),
                            }
                        };
                        b.blocks_mut().push(block);
                    }
                }
                TagEnd::Emphasis => b.marks.italic = false,
                TagEnd::Strong => b.marks.bold = false,
                TagEnd::Strikethrough => b.marks.strike = false,
                TagEnd::Link | TagEnd::Image => {
                    b.links.pop();
                }
                _ => {}
            },
            Event::TaskListMarker(checked) => {
                for f in b.stack.iter_mut().rev() {
                    if let Frame::Blocks {
                        kind: Container::Item { task },
                        ..
                    } = f
                    {
                        *task = Some(checked);
                        break;
                    }
                }
            }
            Event::Text(t) => b.text(&t, None),
            Event::Code(t) => b.text(&t, Some(&|m: &mut Marks| m.code = true)),
            Event::SoftBreak => b.text(" ", None),
            Event::HardBreak => {
                if let Some(inl) = b.inlines_mut() {
                    inl.push(Inline::HardBreak);
                }
            }
            Event::Rule => b.push_block(Block::HorizontalRule),
            Event::InlineHtml(html) => match html.trim().to_ascii_lowercase().as_str() {
                "<u>" => b.marks.underline = true,
                "<br>" | "<br/>" | "<br />" => {
                    if let Some(inl) = b.inlines_mut() {
                        inl.push(Inline::HardBreak);
                    }
                }
                "</u>" => b.marks.underline = false,
                _ => b.text(&html, None),
            },
            Event::Html(html) => {
                let text = html.trim_end_matches('\n').to_owned();
                b.push_block(Block::Paragraph(vec![Inline::Text(text, Marks::default())]));
            }
            _ => {}
        }
    }
    b.close_implicit();
    match b.stack.into_iter().next() {
        Some(Frame::Blocks { blocks, .. }) => blocks,
        _ => Vec::new(),
    }
}

// ---- rendering ----

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
    }
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

/// Renders blocks as Markdown.
pub fn render_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for (n, chunk) in render_blocks(blocks).iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str(chunk);
        out.push('\n');
    }
    out
}

/// Renders blocks as an HTML fragment.
pub fn render_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events(blocks).into_iter());
    out
}
