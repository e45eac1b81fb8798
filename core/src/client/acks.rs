//! The client's half of Weft acks: which sent update messages carry which
//! local edits, so the server's acks (which count messages) become a count
//! of saved edits. The server's half is `weft-server`'s `durability`.

use std::collections::VecDeque;

/// Update messages sent on one connection, and the edits each carries.
#[derive(Debug, Default)]
pub struct SentLog {
    sent: u64,
    acked: u64,
    /// `(message number, edits it carries)`, oldest first; messages that
    /// carry no edit are not listed.
    covered: VecDeque<(u64, u64)>,
}

impl SentLog {
    /// A new connection: the server counts from zero again.
    pub fn reset(&mut self) {
        *self = SentLog::default();
    }

    /// One more update message sent, carrying `edits` local edits.
    pub fn sent_message(&mut self, edits: u64) {
        self.sent += 1;
        if edits > 0 {
            self.covered.push_back((self.sent, edits));
        }
    }

    /// The server made its first `count` messages durable: returns how many
    /// edits that saved which no earlier ack had.
    pub fn ack(&mut self, count: u64) -> u64 {
        self.acked = self.acked.max(count);
        let mut edits = 0;
        while let Some(&(n, e)) = self.covered.front() {
            if n > self.acked {
                break;
            }
            edits += e;
            self.covered.pop_front();
        }
        edits
    }

    /// Update messages sent.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Update messages acked.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Update messages sent and not acked.
    pub fn unacked(&self) -> u64 {
        self.sent.saturating_sub(self.acked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_count_messages_and_return_the_edits_they_save() {
        let mut log = SentLog::default();
        log.sent_message(5); // a step 2 carrying five earlier edits
        log.sent_message(0); // a message with nothing of ours
        log.sent_message(1);
        log.sent_message(1);
        assert_eq!(log.unacked(), 4);
        assert_eq!(log.ack(1), 5);
        assert_eq!(log.ack(2), 0);
        // An old ack arriving late changes nothing.
        assert_eq!(log.ack(1), 0);
        assert_eq!(log.ack(4), 2);
        assert_eq!(log.unacked(), 0);
        log.reset();
        assert_eq!((log.sent(), log.acked()), (0, 0));
    }
}
