//! Exponential backoff: the one formula for every retry loop (the client's
//! reconnects, the server's store repairs, the cluster's Redis reads).

use std::time::Duration;

/// Delays that double from `base` up to `cap`, back to `base` on
/// [`Backoff::reset`].
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// Starts at `base`, never above `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The ceiling for the current attempt, then moves to the next one.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// The current attempt's ceiling: `min(cap, base · 2^attempt)`.
    pub fn ceiling(&self) -> Duration {
        self.base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.cap)
    }

    /// Back to `base` after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(250), ms(5000));
        let got: Vec<_> = (0..7).map(|_| b.next_delay()).collect();
        assert_eq!(
            got,
            [250, 500, 1000, 2000, 4000, 5000, 5000].map(ms).to_vec()
        );
        b.reset();
        assert_eq!(b.next_delay(), ms(250));
        // Many failures never overflow.
        for _ in 0..100 {
            b.next_delay();
        }
        assert_eq!(b.ceiling(), ms(5000));
    }
}
