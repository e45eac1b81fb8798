//! Wall-clock time as Unix timestamps: the one helper for stored times,
//! token expiry and cluster heartbeats.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_secs() -> u64 {
    since_epoch().as_secs()
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_millis() -> u64 {
    since_epoch().as_millis() as u64
}

fn since_epoch() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Unix milliseconds as a person reads them: `2026-12-02 14:05:09 UTC`.
pub fn readable_utc(millis: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    format!("{} UTC", text.replace('T', " ").trim_end_matches('Z'))
}

/// The time as something that can be handed around: the system's, or one
/// a test sets and moves by hand (so no test has to sleep through an
/// interval).
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock standing at `millis` (unix milliseconds) until moved.
    pub fn manual(millis: i64) -> Clock {
        Clock(Some(Arc::new(AtomicI64::new(millis))))
    }

    /// Unix milliseconds.
    pub fn now_millis(&self) -> i64 {
        match &self.0 {
            None => unix_millis() as i64,
            Some(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock on (a system clock moves by itself).
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.0 {
            t.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_utc() {
        assert_eq!(
            super::readable_utc(1_764_684_309_000),
            "2025-12-02 14:05:09 UTC"
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = super::Clock::manual(1_000);
        assert_eq!(c.now_millis(), 1_000);
        c.clone().advance(std::time::Duration::from_secs(2));
        assert_eq!(c.now_millis(), 3_000, "clones share the time");
        assert!(super::Clock::system().now_millis() > 1_700_000_000_000);
    }

    #[test]
    fn seconds_and_millis_agree() {
        let s = super::unix_secs();
        let ms = super::unix_millis();
        // Later than 2024 and the two within a second of each other.
        assert!(s > 1_700_000_000);
        assert!(ms / 1000 >= s && ms / 1000 - s <= 1);
    }
}
