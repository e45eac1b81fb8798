//! Markdown in: pulldown-cmark's events (CommonMark + GFM task lists,
//! strikethrough and tables) built into the [`model`](super::model) tree.
//!
//! Underline has no Markdown syntax; it is read as `<u>…</u>`. Images are
//! blocks in the editor, so one inside a paragraph splits it there.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::model::{push_text, Block, Cell, Image, Inline, Marks};

/// The Markdown dialect read and written: CommonMark with GFM task lists,
/// strikethrough and tables.
pub fn options() -> Options {
    Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES
}

enum Frame {
    /// Blocks being collected: the document, a quote, or a list item.
    Blocks { blocks: Vec<Block>, kind: Container },
    /// Inline content of a paragraph or heading.
    Inlines {
        inlines: Vec<Inline>,
        heading: Option<u8>,
        implicit: bool,
        /// The rest of a paragraph an image split: dropped if empty.
        rest: bool,
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
    /// An image; its text is the alt text.
    Image {
        src: String,
        title: String,
        alt: String,
    },
    /// A table's rows so far.
    Table(Vec<Vec<Cell>>),
    /// A row's cells so far (the head row's are header cells).
    Row { cells: Vec<Cell>, header: bool },
}

#[derive(PartialEq)]
enum Container {
    Root,
    Quote,
    Item { task: Option<bool> },
    Cell,
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
            if let Some(Frame::Inlines { inlines, rest, .. }) = self.stack.pop() {
                if !(rest && inlines.is_empty()) {
                    self.blocks_mut().push(Block::Paragraph(inlines));
                }
            }
        }
    }

    /// An image ends: a block of its own, splitting the paragraph it
    /// was in (what comes after goes on in a new one).
    fn image(&mut self, image: Image) {
        let Some(Frame::Inlines { .. }) = self.stack.last() else {
            return self.push_block(Block::Image(image));
        };
        let Some(Frame::Inlines {
            mut inlines,
            heading,
            implicit,
            ..
        }) = self.stack.pop()
        else {
            return;
        };
        // The space before the image ends the paragraph: Markdown would
        // drop it there, so it goes now.
        if let Some(Inline::Text(t, _)) = inlines.last_mut() {
            t.truncate(t.trim_end().len());
            if t.is_empty() {
                inlines.pop();
            }
        }
        if !inlines.is_empty() {
            let before = match heading {
                Some(level) => Block::Heading {
                    level,
                    content: inlines,
                },
                None => Block::Paragraph(inlines),
            };
            self.blocks_mut().push(before);
        }
        self.blocks_mut().push(Block::Image(image));
        self.stack.push(Frame::Inlines {
            inlines: Vec::new(),
            heading,
            implicit,
            rest: true,
        });
    }

    fn inlines_mut(&mut self) -> Option<&mut Vec<Inline>> {
        match self.stack.last() {
            Some(Frame::Inlines { .. }) => {}
            Some(Frame::Blocks { .. }) => {
                self.stack.push(Frame::Inlines {
                    inlines: Vec::new(),
                    heading: None,
                    implicit: true,
                    rest: false,
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
        if let Some(Frame::Code { text, .. } | Frame::Image { alt: text, .. }) =
            self.stack.last_mut()
        {
            text.push_str(s);
            return;
        }
        // Likewise the space after an image, at the start of the rest.
        let s = match self.stack.last() {
            Some(Frame::Inlines {
                rest: true,
                inlines,
                ..
            }) if inlines.is_empty() => s.trim_start(),
            _ => s,
        };
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
            rest: false,
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
            Tag::Image {
                dest_url, title, ..
            } => self.stack.push(Frame::Image {
                src: dest_url.to_string(),
                title: title.to_string(),
                alt: String::new(),
            }),
            Tag::Table(_) => {
                self.close_implicit();
                self.stack.push(Frame::Table(Vec::new()));
            }
            Tag::TableHead | Tag::TableRow => self.stack.push(Frame::Row {
                cells: Vec::new(),
                header: matches!(tag, Tag::TableHead),
            }),
            Tag::TableCell => self.stack.push(Frame::Blocks {
                blocks: Vec::new(),
                kind: Container::Cell,
            }),
            _ => {}
        }
    }

    // A long match, one arm per kind of block that can end; images and
    // tables have theirs in `end_image_or_table`.
    fn end(&mut self, end: TagEnd) {
        match end {
            TagEnd::Paragraph | TagEnd::Heading(_) => {
                if let Some(Frame::Inlines {
                    inlines,
                    heading,
                    rest,
                    ..
                }) = self.stack.pop()
                {
                    if rest && inlines.is_empty() {
                        return;
                    }
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
            TagEnd::Link => {
                self.links.pop();
            }
            TagEnd::Image
            | TagEnd::TableCell
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::Table => self.end_image_or_table(end),
            _ => {}
        }
    }

    /// The end of an image, or of a table or a part of one.
    fn end_image_or_table(&mut self, end: TagEnd) {
        match end {
            TagEnd::Image => {
                if let Some(Frame::Image { src, title, alt }) = self.stack.pop() {
                    let some = |s: String| (!s.is_empty()).then_some(s);
                    self.image(Image {
                        src,
                        alt: some(alt),
                        title: some(title),
                        ..Image::default()
                    });
                }
            }
            TagEnd::TableCell => {
                self.close_implicit();
                if let Some(Frame::Blocks { blocks, .. }) = self.stack.pop() {
                    if let Some(Frame::Row { cells, header }) = self.stack.last_mut() {
                        cells.push(Cell::new(*header, blocks));
                    }
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(Frame::Row { cells, .. }) = self.stack.pop() {
                    if let Some(Frame::Table(rows)) = self.stack.last_mut() {
                        rows.push(cells);
                    }
                }
            }
            TagEnd::Table => {
                if let Some(Frame::Table(rows)) = self.stack.pop() {
                    self.blocks_mut().push(Block::Table(rows));
                }
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
