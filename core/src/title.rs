//! A document's shared title: the string at key `title` of the root map
//! `meta` (`doc.getMap('meta').get('title')` in Yjs). It lives in the
//! document, so it syncs, works offline, and any Yjs client can set it.

use yrs::{Any, Map, Out, ReadTxn, TransactionMut, WriteTxn};

/// The root map holding document-level metadata.
pub const META: &str = "meta";
/// The title's key in [`META`].
pub const TITLE: &str = "title";

/// Longest title kept, in characters; longer ones are cut (the index and
/// the sidebar have no use for more).
pub const MAX_CHARS: usize = 300;

/// The title, if one is set and is a non-empty string.
pub fn read<T: ReadTxn>(txn: &T) -> Option<String> {
    let meta = txn.get_map(META)?;
    match meta.get(txn, TITLE)? {
        Out::Any(Any::String(s)) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.chars().take(MAX_CHARS).collect())
        }
        _ => None,
    }
}

/// Sets the title (trimmed, at most [`MAX_CHARS`]); an empty one removes it.
pub fn set(txn: &mut TransactionMut, title: &str) {
    let meta = txn.get_or_insert_map(META);
    let t: String = title.trim().chars().take(MAX_CHARS).collect();
    if t.is_empty() {
        meta.remove(txn, TITLE);
    } else {
        meta.insert(txn, TITLE, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Doc, Transact};

    #[test]
    fn set_and_read_round_trip_through_an_update() {
        let doc = Doc::new();
        assert_eq!(read(&doc.transact()), None);
        set(&mut doc.transact_mut(), "  Q3 plans ");
        assert_eq!(read(&doc.transact()).as_deref(), Some("Q3 plans"));
        // What another client receives.
        let update = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let other = Doc::new();
        other
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(&update).unwrap())
            .unwrap();
        assert_eq!(read(&other.transact()).as_deref(), Some("Q3 plans"));
        set(&mut doc.transact_mut(), "");
        assert_eq!(read(&doc.transact()), None);
        set(&mut doc.transact_mut(), &"x".repeat(1000));
        assert_eq!(read(&doc.transact()).unwrap().len(), MAX_CHARS);
    }

    use yrs::updates::decoder::Decode;
}
