//! Markdown out. Each block renders to lines; containers (lists, quotes)
//! prefix their children's lines, so nesting is just indentation.
//!
//! Text is escaped so it reads back as the same text: inline punctuation
//! always, and line-start markers (`#`, `-`, `1.`, …) where they would start
//! a block. Adjacent lists of the same kind alternate their markers (`-`/`*`,
//! `.`/`)`), because CommonMark would otherwise merge them.

use super::model::{kept, wraps, Block, Cell, Inline, Marks, Wrap};

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

/// Renders each block to a chunk of lines (no trailing newline).
pub fn render_blocks(blocks: &[Block]) -> Vec<String> {
    let mut out = Vec::new();
    let mut prev_marker: Option<char> = None;
    for b in blocks {
        let (chunk, marker) = render_block(b, prev_marker);
        prev_marker = marker;
        out.push(chunk);
    }
    out
}

/// Joins rendered blocks with blank lines.
fn join(blocks: &[Block], sep: &str) -> String {
    render_blocks(blocks).join(sep)
}

/// An item that can sit in a tight list: a paragraph, optionally followed
/// by lists that can interrupt it (an ordered list only if it starts at 1).
fn simple_item(blocks: &[Block]) -> bool {
    match blocks.split_first() {
        Some((Block::Paragraph(_), rest)) => rest.iter().all(|b| match b {
            Block::BulletList(_) | Block::TaskList(_) => true,
            Block::OrderedList { start, .. } => *start == 1,
            _ => false,
        }),
        _ => false,
    }
}

/// Renders list items: tight (no blank lines) when every item is simple.
fn render_items<'a>(items: impl Iterator<Item = (String, &'a [Block])> + Clone) -> String {
    let tight = items.clone().all(|(_, blocks)| simple_item(blocks));
    let (item_sep, block_sep) = if tight {
        ("\n", "\n")
    } else {
        ("\n\n", "\n\n")
    };
    items
        .map(|(marker, blocks)| {
            let body = join(blocks, block_sep);
            if body.is_empty() {
                marker.trim_end().to_owned()
            } else {
                prefix(
                    &body,
                    &marker,
                    &" ".repeat(
                        marker
                            .chars()
                            .take_while(|c| *c != '[')
                            .count()
                            .min(marker.len()),
                    ),
                )
            }
        })
        .collect::<Vec<_>>()
        .join(item_sep)
}

/// Prefixes the first line with `first` and the rest with `rest`
/// (blank lines get the prefix trimmed, so nothing ends in spaces).
fn prefix(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let p = if n == 0 { first } else { rest };
        if line.is_empty() {
            out.push_str(p.trim_end());
        } else {
            out.push_str(p);
            out.push_str(line);
        }
    }
    out
}

fn render_block(b: &Block, prev_marker: Option<char>) -> (String, Option<char>) {
    match b {
        Block::Paragraph(inl) => (escape_line_starts(&render_inlines(inl)), None),
        Block::Heading { level, content } => {
            // ATX headings are one line: a break becomes `<br>`.
            let text = render_inlines(content).replace("\\\n", "<br>");
            let hashes = "#".repeat(usize::from(*level));
            (
                if text.is_empty() {
                    hashes
                } else {
                    format!("{hashes} {text}")
                },
                None,
            )
        }
        Block::BulletList(items) => {
            let bullet = if prev_marker == Some('-') { '*' } else { '-' };
            let marker = format!("{bullet} ");
            (
                render_items(items.iter().map(|i| (marker.clone(), i.as_slice()))),
                Some(bullet),
            )
        }
        Block::TaskList(items) => {
            let bullet = if prev_marker == Some('-') { '*' } else { '-' };
            let rendered = render_items(items.iter().map(|(checked, i)| {
                (
                    format!("{bullet} [{}] ", if *checked { 'x' } else { ' ' }),
                    i.as_slice(),
                )
            }));
            (rendered, Some(bullet))
        }
        Block::OrderedList { start, items } => {
            let delim = if prev_marker == Some('.') { ')' } else { '.' };
            let rendered = render_items(
                items
                    .iter()
                    .enumerate()
                    .map(|(n, i)| (format!("{}{delim} ", start + n as u64), i.as_slice())),
            );
            (rendered, Some(delim))
        }
        Block::Blockquote(inner) => (prefix(&join(inner, "\n\n"), "> ", "> "), None),
        Block::CodeBlock { language, text } => {
            // A fence longer than any backtick run inside it.
            let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            let lang = language.as_deref().unwrap_or("");
            if text.is_empty() {
                (format!("{fence}{lang}\n{fence}"), None)
            } else {
                (format!("{fence}{lang}\n{text}\n{fence}"), None)
            }
        }
        Block::HorizontalRule => ("---".to_owned(), None),
        Block::Image(i) => {
            let alt = escape_text(i.alt.as_deref().unwrap_or(""));
            let title = match &i.title {
                Some(t) => format!(" \"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")),
                None => String::new(),
            };
            (format!("![{alt}]({}{title})", link_dest(&i.src)), None)
        }
        Block::Table(rows) => (render_table(rows), None),
        Block::File(f) => (
            format!("[{}]({})", escape_text(&f.name), link_dest(&f.src)),
            None,
        ),
    }
}

/// A GFM table. Its first row is the header row (GFM has to have one);
/// a cell's blocks become one line, joined by `<br>`. Merged cells are
/// written as one cell: GFM cannot merge.
fn render_table(rows: &[Vec<Cell>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    let mut out = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let mut cells: Vec<String> = row.iter().map(|c| cell_text(&c.blocks)).collect();
        cells.resize(width, String::new());
        out.push(line(cells));
        if n == 0 {
            out.push(line(vec!["---".to_owned(); width]));
        }
    }
    out.join("\n")
}

fn cell_text(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|b| match b {
            Block::Paragraph(inl) | Block::Heading { content: inl, .. } => render_inlines(inl),
            other => escape_text(super::model::plain_text(std::slice::from_ref(other)).trim_end()),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("<br>")
        .replace("\\\n", "<br>")
        .replace('\n', "<br>")
}

/// Escapes what would start a block at the beginning of a line.
fn escape_line_starts(text: &str) -> String {
    text.split('\n')
        .map(escape_line_start)
        .collect::<Vec<_>>()
        .join("\n")
}

fn escape_line_start(line: &str) -> String {
    let trimmed = line.trim_start_matches(' ');
    let indent = &line[..line.len() - trimmed.len()];
    let mut chars = trimmed.chars();
    let first = chars.next();
    let needs = match first {
        Some('#' | '=' | '+' | '-') => true,
        Some(c) if c.is_ascii_digit() => {
            let digits: String = trimmed.chars().take_while(char::is_ascii_digit).collect();
            matches!(trimmed[digits.len()..].chars().next(), Some('.' | ')'))
        }
        _ => false,
    };
    if !needs {
        return line.to_owned();
    }
    if first.is_some_and(|c| c.is_ascii_digit()) {
        let digits: String = trimmed.chars().take_while(char::is_ascii_digit).collect();
        format!("{indent}{digits}\\{}", &trimmed[digits.len()..])
    } else {
        format!("{indent}\\{trimmed}")
    }
}

/// Escapes inline punctuation that Markdown would read as syntax.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '&' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '!' if chars.peek() == Some(&'[') => out.push_str("\\!"),
            _ => out.push(c),
        }
    }
    out
}

fn code_span(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    // A span starting or ending with a backtick (or all spaces) needs padding.
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty());
    if pad {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

fn link_dest(href: &str) -> String {
    if href.contains([' ', '(', ')', '<', '>']) || href.is_empty() {
        format!("<{}>", href.replace('<', "%3C").replace('>', "%3E"))
    } else {
        href.to_owned()
    }
}

fn opener(d: Wrap) -> &'static str {
    match d {
        Wrap::Link => "[",
        Wrap::Bold => "**",
        Wrap::Italic => "*",
        Wrap::Strike => "~~",
        Wrap::Underline => "<u>",
    }
}

fn close(out: &mut String, d: Wrap, link: &Option<String>) {
    match d {
        Wrap::Link => {
            out.push_str("](");
            out.push_str(&link_dest(link.as_deref().unwrap_or("")));
            out.push(')');
        }
        Wrap::Bold => out.push_str("**"),
        Wrap::Italic => out.push('*'),
        Wrap::Strike => out.push_str("~~"),
        Wrap::Underline => out.push_str("</u>"),
    }
}

/// Renders inline content. Spaces next to a delimiter that opens or closes
/// there move outside it, since `** x**` is not bold in Markdown.
pub fn render_inlines(inlines: &[Inline]) -> String {
    let mut out = String::new();
    let mut open: Vec<Wrap> = Vec::new();
    let mut open_link: Option<String> = None;
    // Trailing spaces of the previous run, held until we know whether a
    // delimiter closes after them.
    let mut pending = "";
    for inline in inlines {
        let (text, marks) = match inline {
            Inline::Text(t, m) => (Some(t.as_str()), m.clone()),
            // A break keeps the surrounding link open but ends other marks.
            Inline::HardBreak => (
                None,
                Marks {
                    link: open_link.clone(),
                    ..Marks::default()
                },
            ),
        };
        let blank = text.is_some_and(|t| t.trim().is_empty());
        let want = if blank && marks.link.is_none() {
            vec![]
        } else {
            wraps(&marks)
        };
        let keep = kept(&open, &want, open_link == marks.link);
        while open.len() > keep {
            let d = open.pop().unwrap_or(Wrap::Bold);
            close(&mut out, d, &open_link);
        }
        out.push_str(&escape_text(pending));
        let (lead, body, trail) = match text {
            Some(t) if !marks.code && !blank => {
                let start = t.len() - t.trim_start_matches(' ').len();
                let end = t.trim_end_matches(' ').len();
                (&t[..start], &t[start..end], &t[end..])
            }
            Some(t) => ("", t, ""),
            None => ("", "", ""),
        };
        let opening = want.len() > keep;
        if opening {
            out.push_str(&escape_text(lead));
        }
        for d in &want[keep..] {
            out.push_str(opener(*d));
            open.push(*d);
        }
        open_link = marks.link.clone();
        if !opening {
            out.push_str(&escape_text(lead));
        }
        match text {
            Some(_) if marks.code && !body.is_empty() => out.push_str(&code_span(body)),
            Some(_) => out.push_str(&escape_text(body)),
            None => out.push_str("\\\n"),
        }
        pending = trail;
    }
    while let Some(d) = open.pop() {
        close(&mut out, d, &open_link);
    }
    out.push_str(&escape_text(pending));
    out
}
