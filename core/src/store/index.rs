//! The document index: what the server knows about each document without
//! loading it (title, times, size, trash, link generation), and how a
//! listing is asked for and paged. Every store keeps it beside the updates
//! and maintains it as writes commit; nothing scans at startup.

use crate::doc_id::DocId;

/// One document's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMeta {
    /// The id.
    pub id: DocId,
    /// `meta.title` as last written, if any.
    pub title: Option<String>,
    /// When its first update was stored (unix seconds).
    pub created_at: i64,
    /// When its last update was stored (unix seconds).
    pub updated_at: i64,
    /// Stored bytes (snapshot and log).
    pub size: u64,
    /// When it was moved to the trash, if it is there (unix seconds).
    pub trashed_at: Option<i64>,
    /// Bumped by "reset links": tokens minted as links carry the
    /// generation they were minted at, and older ones stop working.
    pub link_gen: u64,
}

/// Which documents a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every document.
    All,
    /// Only this one.
    Exact(DocId),
    /// Those whose ids start with this.
    Prefix(String),
}

impl Scope {
    /// This scope narrowed by an id prefix asked for; `None` when nothing
    /// can match both.
    pub fn narrowed(self, prefix: &str) -> Option<Scope> {
        if prefix.is_empty() {
            return Some(self);
        }
        match self {
            Scope::All => Some(Scope::Prefix(prefix.to_owned())),
            Scope::Exact(d) => d.as_str().starts_with(prefix).then_some(Scope::Exact(d)),
            Scope::Prefix(p) if prefix.starts_with(&p) => Some(Scope::Prefix(prefix.to_owned())),
            Scope::Prefix(p) if p.starts_with(prefix) => Some(Scope::Prefix(p)),
            Scope::Prefix(_) => None,
        }
    }

    /// True if `id` is in the scope.
    pub fn contains(&self, id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Exact(d) => d.as_str() == id,
            Scope::Prefix(p) => id.starts_with(p.as_str()),
        }
    }
}

/// A listing request: documents not in the trash, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Which documents.
    pub scope: Scope,
    /// Only titles containing this (case-insensitive).
    pub q: Option<String>,
    /// At most this many.
    pub limit: usize,
    /// Continue after this entry (from [`Page::next`]).
    pub after: Option<Cursor>,
}

/// Where a page ended: the last entry's `(updated_at, id)`, the listing's
/// sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last entry's `updated_at`.
    pub updated_at: i64,
    /// The last entry's id.
    pub id: String,
}

impl Cursor {
    /// The opaque form handed to clients.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.updated_at, self.id)
    }

    /// Reads [`Cursor::encode`]'s form; `None` if it is not one.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (t, id) = s.split_once('.')?;
        Some(Cursor {
            updated_at: t.parse().ok()?,
            id: DocId::new(id).ok()?.to_string(),
        })
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The entries, newest first.
    pub docs: Vec<DocMeta>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
}

/// The `LIKE` pattern for a prefix, with SQL's wildcards escaped (`\`).
pub fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The `LIKE` pattern for "contains", escaped like [`like_prefix`].
pub fn like_contains(q: &str) -> String {
    format!("%{}", like_prefix(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_narrow_by_the_asked_prefix() {
        let team = Scope::Prefix("team-".into());
        assert_eq!(
            team.clone().narrowed("team-a"),
            Some(Scope::Prefix("team-a".into()))
        );
        assert_eq!(team.clone().narrowed("te"), Some(team.clone()));
        assert_eq!(team.narrowed("other"), None);
        let a = Scope::Exact(DocId::new("a").unwrap());
        assert_eq!(a.clone().narrowed("b"), None);
        assert!(a.contains("a") && !a.contains("ab"));
        assert!(Scope::All.narrowed("").unwrap().contains("anything"));
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let c = Cursor {
            updated_at: 1_700_000_000,
            id: "team-a.b".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("x.y"), None);
        assert_eq!(Cursor::decode("12.a/b"), None);
        assert_eq!(like_prefix("a_b%"), "a\\_b\\%%");
    }
}
