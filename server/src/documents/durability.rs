//! Which of a document's writes are durable, and so which updates may be
//! acked: the server's one home for acks.
//!
//! Every write a room queues to the store (append or snapshot) gets the next
//! sequence number. The store completes writes in queue order, so "durable
//! up to n" is one number, raised by a success with no failure before it.
//!
//! After a failed write the doc holds something the store lacks, and later
//! updates may build on it (a later append alone would not load). So nothing
//! more is acked for the doc until a snapshot queued after the failure (it
//! holds everything in memory) commits. The rooms' repair task queues that
//! snapshot, with backoff, until the store takes it.
//!
//! Each update message a connection sends waits for one sequence number:
//! its own write's, or, for one that brought nothing new (its content came
//! earlier, possibly in a write that failed), the doc's latest write's.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use weft_core::doc_id::DocId;

use crate::ops::metrics::Metrics;
use crate::store::StoreError;
use crate::ws::control::ConnControl;

/// A connection's update messages that are durable once `seq` is.
struct Waiter {
    seq: u64,
    ctl: Arc<ConnControl>,
    count: u64,
}

#[derive(Default)]
struct State {
    /// Sequence numbers handed out so far (the latest write's).
    issued: u64,
    /// Every write up to this one is durable.
    durable: u64,
    /// Why the store last failed, while a failure is not yet repaired.
    failing: Option<StoreError>,
    /// In sequence order: `issue_for`/`wait_for_all` are called in issue order (under the room's lock).
    waiters: VecDeque<Waiter>,
}

/// What a completed snapshot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completed {
    /// Nothing changed state.
    Same,
    /// A snapshot repaired an earlier failure: acks resume.
    Repaired,
}

/// One doc's durability.
pub struct Durability {
    doc: DocId,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
    /// Where the doc is reported when it starts failing, to be repaired.
    repair: UnboundedSender<DocId>,
}

impl Durability {
    /// Nothing issued yet: whatever was loaded is durable.
    pub fn new(doc: DocId, metrics: Arc<Metrics>, repair: UnboundedSender<DocId>) -> Self {
        Durability {
            doc,
            state: Mutex::default(),
            metrics,
            repair,
        }
    }

    /// The next write's sequence number. Call under the room's lock, in the
    /// order writes are queued to the store.
    pub fn issue(&self) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.issued += 1;
        st.issued
    }

    /// Writes issued so far.
    pub fn issued(&self) -> u64 {
        self.state.lock().unwrap().issued
    }

    /// [`Durability::issue`] for a write that carries an update message of
    /// `ctl`, and its waiter, under one lock: the hot path.
    pub fn issue_for(&self, ctl: &Arc<ConnControl>) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.issued += 1;
        let seq = st.issued;
        self.wait_locked(&mut st, seq, ctl);
        seq
    }

    /// Counts one update message of `ctl` that brought nothing new as
    /// durable once everything queued so far is: what it carried may be in
    /// a write still queued, or one that failed. Call under the room's lock.
    pub fn wait_for_all(&self, ctl: &Arc<ConnControl>) {
        let mut st = self.state.lock().unwrap();
        let seq = st.issued;
        self.wait_locked(&mut st, seq, ctl);
    }

    fn wait_locked(&self, st: &mut State, seq: u64, ctl: &Arc<ConnControl>) {
        if seq <= st.durable {
            ctl.durable.fetch_add(1, Ordering::SeqCst);
            ctl.acked.notify_one();
            return;
        }
        match st.waiters.back_mut() {
            Some(w) if w.seq == seq && Arc::ptr_eq(&w.ctl, ctl) => w.count += 1,
            _ => st.waiters.push_back(Waiter {
                seq,
                ctl: ctl.clone(),
                count: 1,
            }),
        }
        if st.failing.is_some() {
            // So it can tell its client why nothing is acked.
            ctl.acked.notify_one();
        }
    }

    /// Records how write `seq` ended; `snapshot` if it held the whole doc.
    /// Runs on the store's writer, in queue order; takes only this lock.
    pub fn completed(&self, seq: u64, snapshot: bool, result: Result<(), StoreError>) -> Completed {
        let mut st = self.state.lock().unwrap();
        let mut outcome = Completed::Same;
        match result {
            Ok(()) if snapshot => {
                if st.failing.take().is_some() {
                    tracing::info!(doc = %self.doc, "the store took a snapshot again: every change is saved, acks resume");
                    self.metrics.docs_unsaved.dec();
                    outcome = Completed::Repaired;
                }
                st.durable = st.durable.max(seq);
            }
            Ok(()) if st.failing.is_none() => st.durable = st.durable.max(seq),
            // Committed, but the failed write before it is still missing.
            Ok(()) => {}
            Err(e) => {
                self.metrics.store_errors.inc();
                if st.failing.is_none() {
                    // Once per failure, not once per write.
                    tracing::error!(doc = %self.doc, error = %e, "cannot save changes: they are kept in memory and not acked until the store can write again");
                    self.metrics.docs_unsaved.inc();
                    let _ = self.repair.send(self.doc.clone());
                }
                st.failing = Some(e);
                for w in &st.waiters {
                    w.ctl.acked.notify_one();
                }
            }
        }
        while st.waiters.front().is_some_and(|w| w.seq <= st.durable) {
            let w = st.waiters.pop_front().expect("checked");
            w.ctl.durable.fetch_add(w.count, Ordering::SeqCst);
            w.ctl.acked.notify_one();
        }
        outcome
    }

    /// Why the doc has changes the store does not, if it has.
    pub fn failing(&self) -> Option<StoreError> {
        self.state.lock().unwrap().failing.clone()
    }
}

impl Drop for Durability {
    fn drop(&mut self) {
        if self.state.get_mut().unwrap().failing.is_some() {
            self.metrics.docs_unsaved.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    fn setup() -> (
        Durability,
        Arc<ConnControl>,
        tokio::sync::mpsc::UnboundedReceiver<DocId>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let d = Durability::new(DocId::new("d").unwrap(), Arc::new(Metrics::default()), tx);
        let ctl = Arc::new(ConnControl::new(&CancellationToken::new()));
        (d, ctl, rx)
    }

    fn acked(ctl: &ConnControl) -> u64 {
        ctl.durable.load(Ordering::SeqCst)
    }

    #[test]
    fn writes_are_acked_in_order_as_they_commit() {
        let (d, ctl, _) = setup();
        let a = d.issue_for(&ctl);
        let b = d.issue_for(&ctl);
        // Nothing new: waits for everything queued so far.
        d.wait_for_all(&ctl);
        assert_eq!(acked(&ctl), 0);
        d.completed(a, false, Ok(()));
        assert_eq!(acked(&ctl), 1);
        d.completed(b, false, Ok(()));
        assert_eq!(acked(&ctl), 3);
        // With everything durable, an empty update is acked at once.
        d.wait_for_all(&ctl);
        assert_eq!(acked(&ctl), 4);
    }

    #[test]
    fn after_a_failure_nothing_is_acked_until_a_snapshot_commits() {
        let (d, ctl, mut repairs) = setup();
        let a = d.issue_for(&ctl);
        d.completed(a, false, Err(StoreError::Injected));
        assert!(d.failing().is_some());
        assert_eq!(
            repairs.try_recv().unwrap().as_str(),
            "d",
            "repair requested"
        );
        // The client reconnects: its step 2 brings nothing new (the room
        // has it in memory). That must not count as saved.
        d.wait_for_all(&ctl);
        // A later append commits, but depends on the failed one.
        let b = d.issue_for(&ctl);
        d.completed(b, false, Ok(()));
        assert_eq!(acked(&ctl), 0);
        // A second failure is not reported again.
        let c = d.issue_for(&ctl);
        d.completed(c, false, Err(StoreError::Injected));
        assert!(repairs.try_recv().is_err());
        // A snapshot that fails changes nothing; one that commits repairs.
        let s1 = d.issue();
        assert_eq!(
            d.completed(s1, true, Err(StoreError::Injected)),
            Completed::Same
        );
        assert_eq!(acked(&ctl), 0);
        let s2 = d.issue();
        assert_eq!(d.completed(s2, true, Ok(())), Completed::Repaired);
        assert_eq!(acked(&ctl), 4);
        assert!(d.failing().is_none());
    }

    #[test]
    fn acks_wait_for_writes_issued_before_them() {
        let (d, ctl, _) = setup();
        let (_, other, _) = setup();
        let a = d.issue_for(&other);
        // `ctl` sends what `other` already sent: nothing new, but not
        // durable before `a` is.
        d.wait_for_all(&ctl);
        assert_eq!(acked(&ctl), 0);
        d.completed(a, false, Ok(()));
        assert_eq!((acked(&ctl), acked(&other)), (1, 1));
    }
}
