//! Markdown in: pulldown-cmark's events (CommonMark + GFM task lists and
//! strikethrough) built into the [`model`](super::model) tree.
//!
//! Underline has no Markdown syntax; it is read as `<u>…</u>`.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::model::{push_text, Block, Inline, Marks};

/// The Markdown dialect read and written: CommonMark with GFM task lists
/// and strikethrough.
pub fn options() -> Options {
    Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

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

    fn open_inlines(&mut self, heading: Option<u8>) {
        self.close_implicit();
        self.stack.push(Frame::Inlines {
            inlines: Vec::new(),
            heading,
            implicit: false,
        });
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.open_inlines(None),
            Tag::Heading { level, .. } => self.open_inlines(Some(level as u8)),
            Tag::BlockQuote(_) => {
                self.close_implicit();
                self.stack.push(Frame::Blocks {
                    blocks: Vec::new(),
                    kind: Container::Quote,
                });
            }
            Tag::CodeBlock(kind) => {
                self.close_implicit();
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().map(str::to_owned)
                    }
                    CodeBlockKind::Indented => None,
                };
                self.stack.push(Frame::Code {
                    language,
                    text: String::new(),
                });
            }
            Tag::List(start) => {
                self.close_implicit();
                self.stack.push(Frame::List {
                    start,
                    items: Vec::new(),
                });
            }
            Tag::Item => self.stack.push(Frame::Blocks {
                blocks: Vec::new(),
                kind: Container::Item { task: None },
            }),
            Tag::Emphasis => self.marks.italic = true,
            Tag::Strong => self.marks.bold = true,
            Tag::Strikethrough => self.marks.strike = true,
            Tag::Link { dest_url, .. } => self.links.push(dest_url.to_string()),
            // StarterKit has no image node: keep the alt text, linked to the image.
            Tag::Image { dest_url, .. } => self.links.push(dest_url.to_string()),
            _ => {}
        }
    }

    fn end(&mut self, end: TagEnd) {
        match end {
            TagEnd::Paragraph | TagEnd::Heading(_) => {
                if let Some(Frame::Inlines {
                    inlines, heading, ..
                }) = self.stack.pop()
                {
                    let block = match heading {
                        Some(level) => Block::Heading {
                            level,
                            content: inlines,
                        },
                        None => Block::Paragraph(inlines),
                    };
                    self.blocks_mut().push(block);
                }
            }
            TagEnd::BlockQuote(_) => {
                self.close_implicit();
                if let Some(Frame::Blocks { blocks, .. }) = self.stack.pop() {
                    self.blocks_mut().push(Block::Blockquote(blocks));
                }
            }
            TagEnd::CodeBlock => {
                if let Some(Frame::Code { language, mut text }) = self.stack.pop() {
                    if text.ends_with('\n') {
                        text.pop();
                    }
                    self.push_block(Block::CodeBlock { language, text });
                }
            }
            TagEnd::Item => {
                self.close_implicit();
                if let Some(Frame::Blocks {
                    blocks,
                    kind: Container::Item { task },
                }) = self.stack.pop()
                {
                    if let Some(Frame::List { items, .. }) = self.stack.last_mut() {
                        items.push((task, blocks));
                    }
                }
            }
            TagEnd::List(_) => {
                if let Some(Frame::List { start, items }) = self.stack.pop() {
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
                    self.blocks_mut().push(block);
                }
            }
            TagEnd::Emphasis => self.marks.italic = false,
            TagEnd::Strong => self.marks.bold = false,
            TagEnd::Strikethrough => self.marks.strike = false,
            TagEnd::Link | TagEnd::Image => {
                self.links.pop();
            }
            _ => {}
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(end) => self.end(end),
            Event::TaskListMarker(checked) => {
                for f in self.stack.iter_mut().rev() {
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
            Event::Text(t) => self.text(&t, None),
            Event::Code(t) => self.text(&t, Some(&|m: &mut Marks| m.code = true)),
            Event::SoftBreak => self.text(" ", None),
            Event::HardBreak => {
                if let Some(inl) = self.inlines_mut() {
                    inl.push(Inline::HardBreak);
                }
            }
            Event::Rule => self.push_block(Block::HorizontalRule),
            Event::InlineHtml(html) => match html.trim().to_ascii_lowercase().as_str() {
                "<u>" => self.marks.underline = true,
                "<br>" | "<br/>" | "<br />" => {
                    if let Some(inl) = self.inlines_mut() {
                        inl.push(Inline::HardBreak);
                    }
                }
                "</u>" => self.marks.underline = false,
                _ => self.text(&html, None),
            },
            Event::Html(html) => {
                let text = html.trim_end_matches('\n').to_owned();
                self.push_block(Block::Paragraph(vec![Inline::Text(text, Marks::default())]));
            }
            _ => {}
        }
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
        b.event(event);
    }
    b.close_implicit();
    match b.stack.into_iter().next() {
        Some(Frame::Blocks { blocks, .. }) => blocks,
        _ => Vec::new(),
    }
}
