//! Wall-clock time as Unix timestamps: the one helper for stored times,
//! token expiry and cluster heartbeats.

use std::time::{SystemTime, UNIX_EPOCH};

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

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_and_millis_agree() {
        let s = super::unix_secs();
        let ms = super::unix_millis();
        // Later than 2024 and the two within a second of each other.
        assert!(s > 1_700_000_000);
        assert!(ms / 1000 >= s && ms / 1000 - s <= 1);
    }
}
