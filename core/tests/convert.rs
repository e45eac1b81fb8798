//! Round trips: Markdown → fragment → Markdown, and fragment → Markdown →
//! fragment, over a corpus and over random documents.

use weft_core::convert::{self, html, md_read, md_write, yxml, Block, Inline, Marks, PutMode};
use yrs::{Doc, Transact};

fn through_fragment(blocks: &[Block]) -> Vec<Block> {
    let doc = Doc::new();
    let frag = convert::fragment(&doc);
    yxml::write_blocks(&mut doc.transact_mut(), &frag, blocks, PutMode::Replace);
    convert::read(&doc)
}

fn corpus() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn markdown_to_fragment_to_markdown() {
    for (name, md) in corpus() {
        let parsed = md_read::parse(&md);
        assert!(!parsed.is_empty(), "{name}: nothing parsed");
        let stored = through_fragment(&parsed);
        assert_eq!(stored, parsed, "{name}: the fragment changed the document");
        let out = md_write::render_markdown(&stored);
        assert_eq!(
            md_read::parse(&out),
            parsed,
            "{name}: Markdown out does not parse back:\n{out}"
        );
        // Rendering is stable once normalised.
        assert_eq!(
            md_write::render_markdown(&md_read::parse(&out)),
            out,
            "{name}"
        );
    }
}

#[test]
fn every_construct_survives() {
    let (_, md) = corpus()
        .into_iter()
        .find(|(n, _)| n.ends_with("all-constructs.md"))
        .unwrap();
    let blocks = through_fragment(&md_read::parse(&md));
    let out = md_write::render_markdown(&blocks);
    for needle in [
        "# Heading one",
        "###### Level six",
        "**bold**",
        "*italic*",
        "~~strike~~",
        "`code`",
        "<u>underline</u>",
        "[link](https://example.com/path?q=1&r=2)",
        "- [ ] open task",
        "- [x] done task",
        "7. starts at seven",
        "> A quote",
        "```rust",
        "---",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    let html = html::render_html(&blocks);
    for needle in [
        "<h1>Heading one</h1>",
        "<strong>bold</strong>",
        "<em>italic</em>",
        "<del>strike</del>",
        "<code>code</code>",
        "<u>underline</u>",
        "<a href=\"https://example.com/path?q=1&amp;r=2\">link</a>",
        "<ol start=\"7\">",
        "<input disabled=\"\" type=\"checkbox\" checked=\"\"/>",
        "<blockquote>",
        "<pre><code class=\"language-rust\">",
        "<hr />",
        "<br />",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in:\n{html}");
    }
}

// ---- random documents ----

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const WORDS: &[&str] = &[
    "alpha",
    "beta",
    "x*y",
    "a_b",
    "[br]",
    "#tag",
    "1.",
    "back\\slash",
    "`tick`",
    "<tag>",
    "~tilde~",
    "& amp",
    "q!",
];

fn words(rng: &mut Rng, n: u64) -> String {
    (0..1 + rng.below(n))
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn inlines(rng: &mut Rng) -> Vec<Inline> {
    let mut out = Vec::new();
    for i in 0..1 + rng.below(4) {
        if i > 0 {
            // Marked runs are separated by plain text, since Markdown cannot
            // express every adjacency of differently marked runs.
            convert::model::push_text(&mut out, " ", &Marks::default());
        }
        if rng.chance(10) && !out.is_empty() {
            out.push(Inline::HardBreak);
        }
        let code = rng.chance(15);
        let marks = Marks {
            bold: rng.chance(25),
            italic: rng.chance(25),
            strike: rng.chance(15),
            underline: rng.chance(10),
            code,
            link: rng
                .chance(15)
                .then(|| format!("https://example.com/{}", rng.below(100))),
        };
        let text = if code || marks == Marks::default() {
            words(rng, 4)
        } else {
            ["word", "two words", "it"][rng.below(3) as usize].to_owned()
        };
        convert::model::push_text(&mut out, &text, &marks);
    }
    out
}

fn blocks(rng: &mut Rng, depth: u32) -> Vec<Block> {
    (0..1 + rng.below(4)).map(|_| block(rng, depth)).collect()
}

fn item(rng: &mut Rng, depth: u32) -> Vec<Block> {
    let mut v = vec![Block::Paragraph(inlines(rng))];
    if depth < 2 && rng.chance(30) {
        v.push(block(rng, depth + 1));
    }
    v
}

fn block(rng: &mut Rng, depth: u32) -> Block {
    let kinds = if depth >= 2 { 3 } else { 8 };
    match rng.below(kinds) {
        0 => Block::Paragraph(inlines(rng)),
        1 => Block::Heading {
            level: 1 + rng.below(6) as u8,
            content: inlines(rng),
        },
        2 => Block::CodeBlock {
            language: rng.chance(50).then(|| "rust".to_owned()),
            text: format!("let x = {};\n  *not markdown*", rng.below(9)),
        },
        3 => Block::BulletList(
            (0..1 + rng.below(3))
                .map(|_| item(rng, depth + 1))
                .collect(),
        ),
        4 => Block::OrderedList {
            start: 1 + rng.below(20),
            items: (0..1 + rng.below(3))
                .map(|_| item(rng, depth + 1))
                .collect(),
        },
        5 => Block::TaskList(
            (0..1 + rng.below(3))
                .map(|_| (rng.chance(50), item(rng, depth + 1)))
                .collect(),
        ),
        6 => Block::Blockquote(blocks(rng, depth + 1)),
        _ => Block::HorizontalRule,
    }
}

/// Two lists of the same kind in a row merge in Markdown; a paragraph
/// between them is how TipTap users would see them anyway.
fn separate_lists(mut doc: Vec<Block>) -> Vec<Block> {
    fn fix(blocks: &mut Vec<Block>) {
        let mut out = Vec::new();
        for b in blocks.drain(..) {
            let is_list = |b: &Block| {
                matches!(
                    b,
                    Block::BulletList(_) | Block::OrderedList { .. } | Block::TaskList(_)
                )
            };
            if let Some(prev) = out.last() {
                if is_list(prev) && is_list(&b)
                    || matches!((prev, &b), (Block::Blockquote(_), Block::Blockquote(_)))
                {
                    out.push(Block::Paragraph(vec![Inline::Text(
                        "between".into(),
                        Marks::default(),
                    )]));
                }
            }
            out.push(b);
        }
        for b in out.iter_mut() {
            match b {
                Block::Blockquote(inner) => fix(inner),
                Block::BulletList(items) | Block::OrderedList { items, .. } => {
                    items.iter_mut().for_each(fix)
                }
                Block::TaskList(items) => items.iter_mut().for_each(|(_, i)| fix(i)),
                _ => {}
            }
        }
        *blocks = out;
    }
    fix(&mut doc);
    doc
}

#[test]
fn fragment_to_markdown_to_fragment_on_random_documents() {
    for seed in 1..=1000u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let doc = separate_lists(blocks(&mut rng, 0));
        let stored = through_fragment(&doc);
        assert_eq!(stored, doc, "seed {seed}: fragment changed the document");
        let md = md_write::render_markdown(&stored);
        let back = through_fragment(&md_read::parse(&md));
        assert!(
            back == doc,
            "seed {seed}: Markdown round trip changed the document:\n{md}\n{}",
            first_difference(&doc, &back)
        );
    }
}

/// The first place two block lists differ, for readable failures.
#[allow(dead_code)]
fn first_difference(a: &[Block], b: &[Block]) -> String {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x != y {
            return format!("block {i}:\n  {x:?}\n  {y:?}");
        }
    }
    format!("lengths {} vs {}", a.len(), b.len())
}

#[test]
#[ignore = "prints the corpus as rendered, for eyeballing"]
fn show() {
    for (name, md) in corpus() {
        println!(
            "=== {name}\n{}",
            md_write::render_markdown(&md_read::parse(&md))
        );
    }
}

#[test]
fn tables_images_and_files_round_trip() {
    use convert::{Cell, FileRef, Image};
    let md = "| A | B |\n| --- | --- |\n| 1 | two<br>lines |\n| 3 |  |\n\n![alt text](/x.png \"A title\")\n";
    let blocks = md_read::parse(md);
    let text = |t: &str| Block::Paragraph(vec![Inline::Text(t.into(), Marks::default())]);
    let Block::Table(rows) = &blocks[0] else {
        panic!("{blocks:?}")
    };
    assert_eq!(rows.len(), 3);
    assert!(rows[0].iter().all(|c| c.header) && rows[1].iter().all(|c| !c.header));
    assert_eq!(rows[1][0], Cell::new(false, vec![text("1")]));
    assert_eq!(
        rows[1][1].blocks,
        [Block::Paragraph(vec![
            Inline::Text("two".into(), Marks::default()),
            Inline::HardBreak,
            Inline::Text("lines".into(), Marks::default())
        ])]
    );
    assert_eq!(
        rows[2][1],
        Cell::new(false, vec![]),
        "an empty cell has an empty paragraph"
    );
    let image = Image {
        src: "/x.png".into(),
        alt: Some("alt text".into()),
        title: Some("A title".into()),
        ..Image::default()
    };
    assert_eq!(blocks[1], Block::Image(image.clone()));
    assert_eq!(md_write::render_markdown(&blocks), md);

    // Through the fragment every attr survives, widths and spans included.
    let mut sized = image;
    sized.width = Some(320);
    let mut merged = Cell::new(true, vec![text("wide")]);
    merged.colspan = 2;
    let file = FileRef {
        src: "/api/v1/docs/d/blobs/ab".into(),
        name: "notes (final).pdf".into(),
        size: Some(12345),
        kind: Some("application/pdf".into()),
    };
    let rich = vec![
        Block::Image(sized),
        Block::Table(vec![
            vec![merged],
            vec![Cell::new(false, vec![]), Cell::new(false, vec![text("x")])],
        ]),
        Block::File(file),
    ];
    assert_eq!(through_fragment(&rich), rich);
    // In Markdown a file is a link to it.
    assert!(
        md_write::render_markdown(&rich).contains("[notes (final).pdf](/api/v1/docs/d/blobs/ab)")
    );
}

#[test]
fn an_image_inside_a_paragraph_splits_it() {
    let blocks = md_read::parse("Before ![a](p.png) after.\n");
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    assert!(matches!(&blocks[1], Block::Image(i) if i.src == "p.png"));
    assert!(
        matches!(&blocks[2], Block::Paragraph(p) if matches!(&p[0], Inline::Text(t, _) if t == "after."))
    );
    let only = md_read::parse("![a](p.png)\n");
    assert_eq!(
        only.len(),
        1,
        "no empty paragraphs around a lone image: {only:?}"
    );
}

#[test]
fn html_has_img_table_and_a_and_reads_back() {
    let md = "| A | B |\n| --- | --- |\n| 1 | 2 |\n\n![alt](/i.png)\n\n[f.pdf](/f.pdf)\n";
    let out = html::render_html(&md_read::parse(md));
    for needle in [
        "<table>",
        "<thead>",
        "<th>A</th>",
        "<td>2</td>",
        "<img src=\"/i.png\" alt=\"alt\"",
        "<a href=\"/f.pdf\">f.pdf</a>",
    ] {
        assert!(out.contains(needle), "{needle} missing from {out}");
    }
    let back = convert::html_read::parse(&out).unwrap();
    assert_eq!(back, md_read::parse(md), "{out}");
}
