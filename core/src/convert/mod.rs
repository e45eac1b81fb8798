//! Conversion between the editor's document and Markdown, HTML, plain text
//! and ProseMirror JSON.
//!
//! The document is TipTap 3's collaboration shape: `Y.XmlFragment("default")`
//! holding one `Y.XmlElement` per ProseMirror node (attributes as node
//! attrs) and `Y.XmlText` runs whose formatting attributes are the marks,
//! exactly as `y-prosemirror` writes them. Everything goes through the small
//! [`model`] tree, so each format is one reader or one writer.
//!
//! # Layout
//! - [`model`]: the block/inline tree and its ProseMirror JSON form.
//! - [`yxml`]: reading and writing that tree in a yrs `XmlFragment`.
//! - [`md_read`]: Markdown in (pulldown-cmark, with GFM task lists and
//!   strikethrough).
//! - [`md_write`]: Markdown out, escaping what must be.
//! - [`html`]: HTML out.
//! - [`html_read`]: HTML in (through Markdown).

pub mod html;
pub mod html_read;
pub mod md_read;
pub mod md_write;
pub mod model;
pub mod yxml;

use yrs::{Doc, ReadTxn, Transact, TransactionMut, XmlFragmentRef};

pub use model::{Block, Cell, FileRef, Image, Inline, Marks};

/// The fragment TipTap's Collaboration extension binds to by default.
pub const FRAGMENT: &str = "default";

/// How [`put_markdown`] combines new content with what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Remove everything, then insert.
    Replace,
    /// Insert after the last block.
    Append,
}

/// The document's fragment.
pub fn fragment(doc: &Doc) -> XmlFragmentRef {
    doc.get_or_insert_xml_fragment(FRAGMENT)
}

/// The document as blocks.
pub fn read(doc: &Doc) -> Vec<Block> {
    let frag = fragment(doc);
    let txn = doc.transact();
    yxml::read_fragment(&txn, &frag)
}

/// Writes `markdown` into the document in one transaction.
pub fn put_markdown(
    txn: &mut TransactionMut,
    frag: &XmlFragmentRef,
    markdown: &str,
    mode: PutMode,
) {
    let blocks = md_read::parse(markdown);
    yxml::write_blocks(txn, frag, &blocks, mode);
}

/// Writes blocks into the document in one transaction.
pub fn put_blocks(
    txn: &mut TransactionMut,
    frag: &XmlFragmentRef,
    blocks: &[Block],
    mode: PutMode,
) {
    yxml::write_blocks(txn, frag, blocks, mode);
}

/// The document as Markdown.
pub fn to_markdown(doc: &Doc) -> String {
    md_write::render_markdown(&read(doc))
}

/// The document as an HTML fragment.
pub fn to_html(doc: &Doc) -> String {
    html::render_html(&read(doc))
}

/// The document's text, one line per text block.
pub fn to_text(doc: &Doc) -> String {
    model::plain_text(&read(doc))
}

/// The document as ProseMirror JSON (what TipTap's `editor.getJSON()` gives).
pub fn to_json(doc: &Doc) -> serde_json::Value {
    model::to_prosemirror_json(&read(doc))
}

/// Reads blocks inside an existing transaction.
pub fn read_in<T: ReadTxn>(txn: &T, frag: &XmlFragmentRef) -> Vec<Block> {
    yxml::read_fragment(txn, frag)
}
