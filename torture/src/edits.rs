//! The random edits of the convergence campaign, and how a document's
//! content is compared. `torture/yjs/pool.mjs` applies the same edits to
//! stock yjs documents; both sides turn positions into indexes alike.

use rand::rngs::StdRng;
use rand::Rng;
use serde::Serialize;
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, GetString, Text, TextRef, Transact, TransactionMut, Update, XmlElementPrelim,
    XmlFragment, XmlFragmentRef, XmlOut, XmlTextPrelim,
};

/// One random edit. Positions are fractions of the current length, so the
/// same edit means something on any replica; both the Rust side and
/// `pool.mjs` turn them into indexes the same way ([`at`]).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edit {
    TextInsert { at: f64, s: String },
    TextDelete { at: f64, len: u32 },
    ParaInsert { at: f64, s: String },
    ParaDelete { at: f64 },
    ParaType { at: f64, pos: f64, s: String },
    ParaBold { at: f64, pos: f64, len: u32 },
}

/// `f` of `len` as an index in `0..=len`.
fn at(f: f64, len: u32) -> u32 {
    ((f * f64::from(len + 1)).floor() as u32).min(len)
}

pub fn random_edit(rng: &mut StdRng) -> Edit {
    let word = |rng: &mut StdRng| -> String {
        let n = rng.random_range(1..8);
        (0..n)
            .map(|_| rng.random_range(b'a'..=b'z') as char)
            .collect()
    };
    let f = |rng: &mut StdRng| rng.random::<f64>();
    match rng.random_range(0..10) {
        0..=2 => Edit::TextInsert {
            at: f(rng),
            s: word(rng),
        },
        3 => Edit::TextDelete {
            at: f(rng),
            len: rng.random_range(1..6),
        },
        4 | 5 => Edit::ParaInsert {
            at: f(rng),
            s: word(rng),
        },
        6 => Edit::ParaDelete { at: f(rng) },
        7 | 8 => Edit::ParaType {
            at: f(rng),
            pos: f(rng),
            s: word(rng),
        },
        _ => Edit::ParaBold {
            at: f(rng),
            pos: f(rng),
            len: rng.random_range(1..4),
        },
    }
}

/// Applies `e` to a yrs document the way `pool.mjs` applies it to a yjs
/// one. The roots are looked up before the transaction: yrs cannot while
/// one is open.
pub fn apply(text: &TextRef, frag: &XmlFragmentRef, txn: &mut TransactionMut, e: &Edit) {
    match e {
        Edit::TextInsert { at: f, s } => text.insert(txn, at(*f, text.len(txn)), s),
        Edit::TextDelete { at: f, len } => {
            let n = text.len(txn);
            let i = at(*f, n);
            text.remove_range(txn, i, (*len).min(n - i));
        }
        Edit::ParaInsert { at: f, s } => {
            let p = frag.insert(
                txn,
                at(*f, frag.len(txn)),
                XmlElementPrelim::empty("paragraph"),
            );
            p.insert(txn, 0, XmlTextPrelim::new(s.as_str()));
        }
        Edit::ParaDelete { at: f } => {
            let n = frag.len(txn);
            if n > 0 {
                frag.remove_range(txn, at(*f, n - 1).min(n - 1), 1);
            }
        }
        Edit::ParaType { at: f, pos, s } => {
            if let Some(t) = para_text(frag, txn, *f) {
                let i = at(*pos, t.len(txn));
                t.insert(txn, i, s);
            }
        }
        Edit::ParaBold { at: f, pos, len } => {
            if let Some(t) = para_text(frag, txn, *f) {
                let n = t.len(txn);
                let i = at(*pos, n);
                let bold = Attrs::from([("bold".into(), Any::Bool(true))]);
                t.format(txn, i, (*len).min(n - i), bold);
            }
        }
    }
}

/// The text inside paragraph number `f` (a fraction) of the fragment.
fn para_text(frag: &XmlFragmentRef, txn: &TransactionMut, f: f64) -> Option<yrs::XmlTextRef> {
    let n = frag.len(txn);
    if n == 0 {
        return None;
    }
    match frag.get(txn, at(f, n - 1).min(n - 1))? {
        XmlOut::Element(p) => match p.get(txn, 0)? {
            XmlOut::Text(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// A document's content as one string: the text, then the fragment as XML.
pub fn content(state: &[u8]) -> anyhow::Result<String> {
    let doc = Doc::new();
    {
        let mut txn = doc.transact_mut();
        txn.apply_update(Update::decode_v1(state)?)?;
    }
    let text = doc.get_or_insert_text("t");
    let frag = doc.get_or_insert_xml_fragment("default");
    let txn = doc.transact();
    Ok(format!(
        "{}\n{}",
        text.get_string(&txn),
        frag.get_string(&txn)
    ))
}
