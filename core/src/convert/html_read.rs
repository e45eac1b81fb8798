//! HTML in: htmd (turndown's rules, on html5ever) turns it into Markdown,
//! which [`md_read`](super::md_read) reads like any other. Underline has
//! no Markdown form; htmd keeps its text.

use super::md_read;
use super::model::Block;

/// Parses an HTML fragment or page into blocks; `None` if it is not HTML
/// htmd can read.
pub fn parse(html: &str) -> Option<Vec<Block>> {
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec!["script", "style", "head"])
        .build();
    let markdown = converter.convert(html).ok()?;
    Some(md_read::parse(&markdown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::model::{Inline, Marks};

    #[test]
    fn headings_paragraphs_and_marks_come_through() {
        let blocks =
            parse("<h2>Plan</h2><p>Ship <strong>soon</strong></p><script>x()</script>").unwrap();
        assert_eq!(
            blocks[0],
            Block::Heading {
                level: 2,
                content: vec![Inline::Text("Plan".into(), Marks::default())]
            }
        );
        let Block::Paragraph(p) = &blocks[1] else {
            panic!("{blocks:?}")
        };
        assert!(matches!(&p[1], Inline::Text(t, m) if t == "soon" && m.bold));
        assert_eq!(blocks.len(), 2);
    }
}
