//! What a connection shares with the rooms and its own tasks: how to close
//! it, and how many of its updates are durable.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use weft_core::protocol::close;

/// A fresh connection id (WebSocket connections and API writes alike; ids
/// at or above [`crate::documents::peers::REMOTE`] stand for other nodes).
pub fn next_conn_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What one connection shares with the room and its own tasks.
#[derive(Default)]
pub struct ConnControl {
    closed: CancellationToken,
    code: AtomicU16,
    reason: Mutex<String>,
    /// Update messages of this connection that are durable (see `durability`).
    pub durable: AtomicU64,
    /// Woken when `durable` changes, or the doc's store starts failing.
    pub acked: Notify,
}

impl ConnControl {
    /// A control block whose `closed` also fires when `parent` is
    /// cancelled (server shutdown): one future to wait on instead of two.
    pub fn new(parent: &CancellationToken) -> Self {
        ConnControl {
            closed: parent.child_token(),
            ..Default::default()
        }
    }

    /// True once [`ConnControl::close`] was called or the parent cancelled.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Asks the connection to close with `code`; the first request wins.
    pub fn close(&self, code: u16, reason: &str) {
        if self
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            *self.reason.lock().unwrap() = reason.to_owned();
        }
        self.closed.cancel();
    }

    /// The close code and reason requested, if any.
    pub fn close_frame(&self) -> Option<(u16, String)> {
        match self.code.load(Ordering::SeqCst) {
            // Closed with no code: only the parent (shutdown) does that. The
            // writer can see it before the reader records why.
            0 if self.is_closed() => Some((close::GOING_AWAY, "server shutting down".to_owned())),
            0 => None,
            code => Some((code, self.reason.lock().unwrap().clone())),
        }
    }

    /// Resolves once [`ConnControl::close`] has been called or the parent
    /// was cancelled.
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_code_first_wins_and_shutdown_means_going_away() {
        let parent = CancellationToken::new();
        let fresh = ConnControl::new(&parent);
        assert_eq!(fresh.close_frame(), None);
        let closed = ConnControl::new(&parent);
        closed.close(close::POLICY, "rate limit exceeded");
        closed.close(close::NORMAL, "");
        parent.cancel();
        assert!(fresh.is_closed());
        assert_eq!(
            fresh.close_frame(),
            Some((close::GOING_AWAY, "server shutting down".into()))
        );
        assert_eq!(
            closed.close_frame(),
            Some((close::POLICY, "rate limit exceeded".into())),
            "an earlier reason survives shutdown"
        );
    }
}
