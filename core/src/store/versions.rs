//! Version history as the store keeps it: each version is the document's
//! whole encoded state at a moment (so it survives garbage collection),
//! with who changed it since the previous one. And the retention rule that
//! thins automatic versions as they age.

use std::time::Duration;

use bytes::Bytes;

use crate::doc_id::DocId;

/// Why a version was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionKind {
    /// On the interval while edited, or when the document unloaded.
    Auto,
    /// Someone asked for it, with a name.
    Named,
    /// The state just before a restore replaced the body.
    PreRestore,
}

impl VersionKind {
    /// The stored and API form.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Auto => "auto",
            VersionKind::Named => "named",
            VersionKind::PreRestore => "pre-restore",
        }
    }

    /// Reads [`VersionKind::as_str`]'s form.
    pub fn parse(s: &str) -> Option<VersionKind> {
        Some(match s {
            "auto" => VersionKind::Auto,
            "named" => VersionKind::Named,
            "pre-restore" => VersionKind::PreRestore,
            _ => return None,
        })
    }
}

/// One version, without its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMeta {
    /// Unique within the document; sorts by time (see [`new_id`]).
    pub id: String,
    /// Why it was made.
    pub kind: VersionKind,
    /// Its name, for named versions (and automatic ones named later).
    pub name: Option<String>,
    /// When it was made (unix milliseconds).
    pub created_at: i64,
    /// Who edited since the previous version (token `sub`s), sorted.
    pub authors: Vec<String>,
    /// The state's size in bytes.
    pub size: u64,
}

/// A version to store: its description and the document's state.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The document.
    pub doc: DocId,
    /// What is listed (its `size` is the state's length).
    pub meta: VersionMeta,
    /// The whole document state, Yjs update v1.
    pub state: Bytes,
}

/// A version id made at `millis`: the time in hex, then random letters,
/// so ids sort by time and two made in one millisecond differ.
pub fn new_id(millis: i64) -> String {
    let tail: String = (0..6)
        .map(|_| char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[rand::random_range(0..32)]))
        .collect();
    format!("{millis:012x}{tail}")
}

/// True if `s` has [`new_id`]'s form (it goes into SQL and URLs).
pub fn is_id(s: &str) -> bool {
    s.len() == 18 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// How long automatic versions are kept, and how densely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Younger than this, every automatic version is kept.
    pub all: Duration,
    /// Then, until this age, the last one of each hour.
    pub hourly: Duration,
    /// Then, until this age, the last one of each day. Older ones go.
    pub daily: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            all: Duration::from_secs(24 * 3600),
            hourly: Duration::from_secs(7 * 24 * 3600),
            daily: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// The automatic versions of one document that `retention` no longer
/// keeps at `now` (unix milliseconds). Named and pre-restore versions are
/// kept forever. Buckets are fixed hours and days since the epoch, so a
/// version kept once stays kept until it leaves its window.
pub fn thin(versions: &[VersionMeta], now: i64, retention: &Retention) -> Vec<String> {
    const HOUR: i64 = 3600 * 1000;
    const DAY: i64 = 24 * HOUR;
    let ms = |d: Duration| d.as_millis() as i64;
    let mut autos: Vec<&VersionMeta> = versions
        .iter()
        .filter(|v| v.kind == VersionKind::Auto && v.name.is_none())
        .collect();
    // Newest first: the first seen in a bucket is the one kept.
    autos.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let mut kept_hours = std::collections::HashSet::new();
    let mut kept_days = std::collections::HashSet::new();
    let mut drop = Vec::new();
    for v in autos {
        let age = now - v.created_at;
        let keep = if age < ms(retention.all) {
            true
        } else if age < ms(retention.hourly) {
            kept_hours.insert(v.created_at.div_euclid(HOUR))
        } else if age < ms(retention.daily) {
            kept_days.insert(v.created_at.div_euclid(DAY))
        } else {
            false
        };
        if !keep {
            drop.push(v.id.clone());
        }
    }
    drop
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60 * 1000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    fn v(id: &str, kind: VersionKind, created_at: i64) -> VersionMeta {
        VersionMeta {
            id: id.into(),
            kind,
            name: None,
            created_at,
            authors: vec![],
            size: 1,
        }
    }

    /// An automatic version every 10 minutes for 100 days, plus a named
    /// and a pre-restore version at the start, thinned once at the end.
    #[test]
    fn thinning_keeps_all_then_hourly_then_daily_and_every_named_one() {
        let start = 1_000 * DAY; // midnight, so buckets line up with the count
        let now = start + 100 * DAY;
        let mut all = vec![
            VersionMeta {
                name: Some("Launch".into()),
                ..v("named", VersionKind::Named, start)
            },
            v("pre", VersionKind::PreRestore, start),
            // Named after the fact: kept like a named one.
            VersionMeta {
                name: Some("Kept".into()),
                ..v("auto-named", VersionKind::Auto, start + 5 * MIN)
            },
        ];
        let mut t = start;
        while t < now {
            all.push(v(&format!("a{t}"), VersionKind::Auto, t));
            t += 10 * MIN;
        }
        let drop: std::collections::HashSet<String> =
            thin(&all, now, &Retention::default()).into_iter().collect();
        let kept: Vec<&VersionMeta> = all.iter().filter(|v| !drop.contains(&v.id)).collect();
        // Per window: how many automatic versions there were, how many are
        // kept, and in how many distinct buckets of `size` they fall.
        let window = |vs: &[&VersionMeta], from: i64, to: i64, size: i64| {
            let inside: Vec<&&VersionMeta> = vs
                .iter()
                .filter(|v| v.kind == VersionKind::Auto && v.name.is_none())
                .filter(|v| now - v.created_at >= from && now - v.created_at < to)
                .collect();
            let buckets: std::collections::HashSet<i64> = inside
                .iter()
                .map(|v| v.created_at.div_euclid(size))
                .collect();
            (inside.len(), buckets.len())
        };
        let everything: Vec<&VersionMeta> = all.iter().collect();
        let (made, _) = window(&everything, 0, DAY, 1);
        assert_eq!(
            window(&kept, 0, DAY, 1).0,
            made,
            "every one of the last day"
        );
        assert_eq!(made, 6 * 24 - 1);
        let (_, hours) = window(&everything, DAY, 7 * DAY, HOUR);
        assert_eq!(
            window(&kept, DAY, 7 * DAY, HOUR),
            (hours, hours),
            "one an hour"
        );
        assert!(hours >= 6 * 24);
        let (_, days) = window(&everything, 7 * DAY, 90 * DAY, DAY);
        assert_eq!(
            window(&kept, 7 * DAY, 90 * DAY, DAY),
            (days, days),
            "one a day"
        );
        assert!(days >= 83);
        assert_eq!(window(&kept, 90 * DAY, i64::MAX, 1).0, 0, "none older");
        for id in ["named", "pre", "auto-named"] {
            assert!(!drop.contains(id), "{id} is kept forever");
        }
        // The one kept in each hour is its last: minute 50 (or the single
        // version of an hour cut by the window's edge).
        let hourly: Vec<i64> = kept
            .iter()
            .filter(|v| (DAY + HOUR..7 * DAY).contains(&(now - v.created_at)))
            .map(|v| v.created_at % HOUR)
            .collect();
        assert!(!hourly.is_empty() && hourly.iter().all(|m| *m == 50 * MIN));
        // Thinning again later drops only what has aged out since.
        let left: Vec<VersionMeta> = kept.into_iter().cloned().collect();
        assert!(thin(&left, now, &Retention::default()).is_empty());
        let later = thin(&left, now + HOUR, &Retention::default());
        // The hour that left the first window keeps 1 of its 6, and the
        // hour that left the hourly window shares a day with the one kept.
        assert_eq!(later.len(), 6);
    }

    #[tokio::test]
    async fn memory_and_sqlite_keep_versions() {
        super::super::contract::versions(&crate::store::MemoryStore::default()).await;
        let dir = tempfile::tempdir().unwrap();
        super::super::contract::versions(&crate::store::SqliteStore::open(dir.path()).unwrap())
            .await;
    }

    #[test]
    fn ids_sort_by_time_and_kinds_round_trip() {
        let (a, b) = (new_id(1_700_000_000_000), new_id(1_700_000_000_001));
        assert!(a < b && is_id(&a) && is_id(&b));
        assert!(!is_id("x'; drop table") && !is_id(""));
        for k in [
            VersionKind::Auto,
            VersionKind::Named,
            VersionKind::PreRestore,
        ] {
            assert_eq!(VersionKind::parse(k.as_str()), Some(k));
        }
    }
}
