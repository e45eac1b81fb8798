//! When a room makes an automatic version: at most one per
//! `--version-interval` while it is edited, and one when it unloads with
//! changes since the last. A leaf the rooms use; the versions themselves
//! are in the store, and what the API does with them is `versions`'.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use weft_core::doc_id::DocId;
use weft_core::store::versions::new_id;
use weft_core::store::{NewVersion, VersionKind, VersionMeta};
use weft_core::time::Clock;

/// When a room makes automatic versions, and by which clock.
#[derive(Debug, Clone)]
pub struct Policy {
    /// At most one automatic version per this while edited.
    pub interval: Duration,
    /// The clock (a test's, or the system's).
    pub clock: Clock,
}

/// What a room has seen since its last version.
#[derive(Debug)]
pub struct Edits {
    /// When the last version was made, or the doc loaded (unix ms).
    since: i64,
    /// Changed since then.
    dirty: bool,
    /// Who changed it (token `sub`s).
    authors: BTreeSet<String>,
}

impl Edits {
    /// Nothing seen yet, as of `now`.
    pub fn new(now: i64) -> Edits {
        Edits {
            since: now,
            dirty: false,
            authors: BTreeSet::new(),
        }
    }

    /// Notes a change, by `author` if known.
    pub fn record(&mut self, author: Option<&str>) {
        self.dirty = true;
        if let Some(a) = author {
            if !self.authors.contains(a) {
                self.authors.insert(a.to_owned());
            }
        }
    }

    /// True if there are changes and the interval has passed.
    pub fn due(&self, now: i64, interval: Duration) -> bool {
        self.dirty && now - self.since >= interval.as_millis() as i64
    }

    /// True if anything changed since the last version.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// A version of `state` made now; starts a new span.
    pub fn take(
        &mut self,
        doc: &DocId,
        state: Bytes,
        kind: VersionKind,
        name: Option<String>,
        now: i64,
    ) -> NewVersion {
        let authors = std::mem::take(&mut self.authors).into_iter().collect();
        self.since = now;
        self.dirty = false;
        NewVersion {
            doc: doc.clone(),
            meta: VersionMeta {
                id: new_id(now),
                kind,
                name,
                created_at: now,
                authors,
                size: state.len() as u64,
            },
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_due_after_the_interval_and_only_when_changed() {
        let ten = Duration::from_secs(600);
        let mut e = Edits::new(0);
        assert!(!e.due(10 * 60_000, ten), "nothing changed");
        e.record(Some("ann"));
        e.record(None);
        e.record(Some("ann"));
        e.record(Some("bob"));
        assert!(!e.due(9 * 60_000, ten), "too soon");
        assert!(e.due(10 * 60_000, ten));
        let doc = DocId::new("d").unwrap();
        let v = e.take(
            &doc,
            Bytes::from_static(b"s"),
            VersionKind::Auto,
            None,
            10 * 60_000,
        );
        assert_eq!(v.meta.authors, ["ann", "bob"]);
        assert_eq!((v.meta.size, v.meta.created_at), (1, 10 * 60_000));
        assert!(!e.dirty() && e.authors.is_empty());
        e.record(None);
        assert!(!e.due(15 * 60_000, ten), "the span restarts at the version");
    }
}
