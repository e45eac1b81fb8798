//! Rate limits: a token bucket per connection (messages and bytes),
//! connection attempts per IP per minute, and new documents per creator
//! per hour.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: `rate` per second, holding up to `burst`.
#[derive(Debug)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Bucket {
            rate,
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// Takes `n` tokens; false (taking nothing) if there are not enough.
    pub fn take(&mut self, n: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

/// Per-connection limits on what a client sends.
#[derive(Debug)]
pub struct ConnLimits {
    messages: Option<Bucket>,
    bytes: Option<Bucket>,
}

impl ConnLimits {
    /// `messages`/s and `bytes`/s (0: unlimited), each with a two-second
    /// burst; the byte burst always admits one message of `max_message` bytes.
    pub fn new(messages: u32, bytes: u64, max_message: usize, now: Instant) -> Self {
        let m = f64::from(messages);
        let b = bytes as f64;
        ConnLimits {
            messages: (messages > 0).then(|| Bucket::new(m, m * 2.0, now)),
            bytes: (bytes > 0).then(|| Bucket::new(b, (b * 2.0).max(max_message as f64), now)),
        }
    }

    /// Accounts one message of `len` bytes; false if over the limit.
    pub fn allow(&mut self, len: usize, now: Instant) -> bool {
        self.messages.as_mut().is_none_or(|m| m.take(1.0, now))
            && self.bytes.as_mut().is_none_or(|b| b.take(len as f64, now))
    }
}

/// At most `limit` events per key in fixed windows; the map is cleared at
/// each new window, so it never outgrows one window of keys.
#[derive(Debug)]
pub struct WindowLimiter<K> {
    limit: u32,
    span: Duration,
    window: Mutex<(Instant, HashMap<K, u32>)>,
}

impl<K: std::hash::Hash + Eq> WindowLimiter<K> {
    /// `limit` events per key per `span` (0 disables the limit).
    pub fn new(limit: u32, span: Duration) -> Self {
        WindowLimiter {
            limit,
            span,
            window: Mutex::new((Instant::now(), HashMap::new())),
        }
    }

    /// Counts an event for `key`; false (counting nothing) if over the limit.
    pub fn allow(&self, key: K) -> bool {
        if self.limit == 0 {
            return true;
        }
        let mut w = self.window.lock().unwrap();
        if w.0.elapsed() >= self.span {
            *w = (Instant::now(), HashMap::new());
        }
        let n = w.1.entry(key).or_insert(0);
        if *n >= self.limit {
            return false;
        }
        *n += 1;
        true
    }
}

/// Connection attempts per IP per minute.
pub type ConnectLimiter = WindowLimiter<IpAddr>;

/// The API's limits on one HTTP connection, as on a WebSocket: its first
/// request costs a connection attempt from the address, and every request
/// is a message on the connection's own message and byte budget. So a
/// client that keeps its connection alive may send as many requests as a
/// WebSocket may send messages, and one that reconnects for each request
/// is held to the connect rate.
#[derive(Debug, Default)]
pub struct RequestBudget(Mutex<Option<ConnLimits>>);

impl RequestBudget {
    /// Counts a request of `len` bytes from `ip`; false if over a limit.
    /// `limits` makes the connection's budget on its first request.
    pub fn allow(
        &self,
        connects: &ConnectLimiter,
        ip: IpAddr,
        limits: impl FnOnce(Instant) -> ConnLimits,
        len: usize,
    ) -> bool {
        let now = Instant::now();
        let mut slot = self.0.lock().unwrap();
        if slot.is_none() {
            if !connects.allow(ip) {
                return false;
            }
            *slot = Some(limits(now));
        }
        slot.as_mut().is_some_and(|l| l.allow(len, now))
    }
}

/// New documents per creator (a token's user and scope, or an IP without
/// auth) per hour, so one token cannot fill the disk with documents.
///
/// Keyed by a keyed hash of the creator, not the string: an hour of small
/// strings, each allocated between a new document's own allocations, kept
/// glibc from returning those pages once the documents unloaded (workload
/// 4 in docs/BENCHMARKS.md: 1.19–1.20× → 1.06× at 1,000 creators). A collision
/// (one in 2^64) only shares a budget.
#[derive(Debug)]
pub struct CreateLimiter {
    hasher: std::hash::RandomState,
    window: WindowLimiter<u64>,
}

impl CreateLimiter {
    /// `limit` new documents per creator per `span` (0 disables the limit).
    pub fn new(limit: u32, span: Duration) -> Self {
        CreateLimiter {
            hasher: std::hash::RandomState::new(),
            window: WindowLimiter::new(limit, span),
        }
    }

    /// Counts a new document for `creator`; false (counting nothing) if over.
    pub fn allow(&self, creator: &str) -> bool {
        use std::hash::BuildHasher;
        self.window.allow(self.hasher.hash_one(creator))
    }
}

/// One minute: the connect limiter's window.
pub const MINUTE: Duration = Duration::from_secs(60);
/// One hour: the new-document limiter's window.
pub const HOUR: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate_up_to_its_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, 20.0, t0);
        for _ in 0..20 {
            assert!(b.take(1.0, t0));
        }
        assert!(!b.take(1.0, t0));
        assert!(b.take(5.0, t0 + Duration::from_millis(500)));
        assert!(!b.take(1.0, t0 + Duration::from_millis(500)));
        // A long pause refills only to the burst.
        assert!(b.take(20.0, t0 + Duration::from_secs(100)));
        assert!(!b.take(1.0, t0 + Duration::from_secs(100)));
    }

    #[test]
    fn connection_limits_count_messages_and_bytes() {
        let t0 = Instant::now();
        let mut l = ConnLimits::new(10, 1000, 100, t0);
        assert!(l.allow(2000, t0), "a burst of two seconds");
        assert!(!l.allow(10, t0), "bytes exhausted");
        let mut l = ConnLimits::new(10, 1_000_000, 100, t0);
        assert!((0..20).all(|_| l.allow(1, t0)));
        assert!(!l.allow(1, t0), "messages exhausted");
        let mut off = ConnLimits::new(0, 0, 100, t0);
        assert!(
            (0..100_000).all(|_| off.allow(1 << 20, t0)),
            "0 means unlimited"
        );
    }

    #[test]
    fn create_limiter_is_per_creator() {
        let l = CreateLimiter::new(2, HOUR);
        assert!(l.allow("a") && l.allow("a"));
        assert!(!l.allow("a"));
        assert!(!l.allow("a"), "still refused");
        assert!(l.allow("b"));
        let off = CreateLimiter::new(0, HOUR);
        assert!((0..10_000).all(|_| off.allow("a")));
    }

    #[test]
    fn api_requests_cost_a_connect_per_connection_and_a_message_each() {
        let connects = ConnectLimiter::new(2, MINUTE);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let conn_limits = |now| ConnLimits::new(5, 0, 100, now);
        // One kept-alive connection: one connect, then its burst of messages.
        let kept = RequestBudget::default();
        assert!((0..10).all(|_| kept.allow(&connects, ip, conn_limits, 10)));
        assert!(
            !kept.allow(&connects, ip, conn_limits, 10),
            "message burst used up"
        );
        // A connection per request: one connect each.
        assert!(RequestBudget::default().allow(&connects, ip, conn_limits, 10));
        assert!(
            !RequestBudget::default().allow(&connects, ip, conn_limits, 10),
            "the address' connect budget is used up"
        );
    }

    #[test]
    fn connect_limiter_is_per_ip() {
        let l = ConnectLimiter::new(3, MINUTE);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| l.allow(a)));
        assert!(!l.allow(a));
        assert!(l.allow(b));
    }
}
