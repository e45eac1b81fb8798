//! The editing traces (`../shared/traces`, CC BY 4.0): each is a list of
//! transactions of `[position, deleted, inserted]` patches.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use yrs::{
    Doc, Text, Transact, WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim, XmlTextRef,
};

#[derive(Deserialize)]
struct Trace {
    #[serde(rename = "endContent")]
    end_content: String,
    txns: Vec<Txn>,
}

#[derive(Deserialize)]
struct Txn {
    patches: Vec<(u32, u32, String)>,
}

/// A trace replayed into a document in the editor's shape: one paragraph
/// in `XmlFragment("default")`, typed character by character, so the doc
/// carries the trace's full CRDT history. Returns the doc and its text.
pub fn replay(path: &Path) -> anyhow::Result<(Doc, String)> {
    replay_every(path, usize::MAX, |_, _| {})
}

/// [`replay`], calling `each(doc, edits so far)` after every `every`
/// patches (edits).
pub fn replay_every(
    path: &Path,
    every: usize,
    mut each: impl FnMut(&Doc, usize),
) -> anyhow::Result<(Doc, String)> {
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut json)?;
    let trace: Trace = serde_json::from_str(&json)?;
    let doc = Doc::new();
    let text: XmlTextRef = {
        let mut txn = doc.transact_mut();
        let frag = txn.get_or_insert_xml_fragment("default");
        let p = frag.insert(&mut txn, 0, XmlElementPrelim::empty("paragraph"));
        p.insert(&mut txn, 0, XmlTextPrelim::new(""))
    };
    let mut edits = 0;
    for t in &trace.txns {
        {
            let mut txn = doc.transact_mut();
            for (pos, del, ins) in &t.patches {
                if *del > 0 {
                    text.remove_range(&mut txn, *pos, *del);
                }
                if !ins.is_empty() {
                    text.insert(&mut txn, *pos, ins);
                }
            }
        }
        let before = edits;
        edits += t.patches.len();
        if edits / every.max(1) > before / every.max(1) {
            each(&doc, edits);
        }
    }
    let got = text.get_string(&doc.transact());
    anyhow::ensure!(
        got == trace.end_content,
        "replay diverged from the trace's end content"
    );
    Ok((doc, got))
}

use yrs::GetString;
