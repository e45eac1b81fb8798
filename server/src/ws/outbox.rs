//! A connection's bounded outbound queue.
//!
//! It replaces a tokio mpsc channel, which allocates a block of 32 slots
//! (about 2 KiB) per connection up front. This queue allocates only while
//! something is queued. That was a sixth of an idle connection's memory
//! (measured in docs/BENCHMARKS.md). One writer drains it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

/// Why a message was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The queue holds its capacity: the reader is too slow.
    Full,
    /// The writer is gone.
    Closed,
}

/// The queue.
pub struct Outbox {
    queue: Mutex<VecDeque<Message>>,
    cap: usize,
    closed: AtomicBool,
    /// Wakes the writer.
    ready: Notify,
    /// Wakes a sender waiting for room.
    space: Notify,
}

impl Outbox {
    /// An empty queue holding at most `cap` messages.
    pub fn new(cap: usize) -> Self {
        Outbox {
            queue: Mutex::new(VecDeque::new()),
            cap: cap.max(1),
            closed: AtomicBool::new(false),
            ready: Notify::new(),
            space: Notify::new(),
        }
    }

    /// Queues `msg` if there is room.
    pub fn try_send(&self, msg: Message) -> Result<(), SendError> {
        self.push(msg).map_err(|(e, _)| e)
    }

    fn push(&self, msg: Message) -> Result<(), (SendError, Message)> {
        if self.closed.load(Ordering::Acquire) {
            return Err((SendError::Closed, msg));
        }
        let mut q = self.queue.lock().unwrap();
        if q.len() >= self.cap {
            return Err((SendError::Full, msg));
        }
        q.push_back(msg);
        drop(q);
        self.ready.notify_one();
        Ok(())
    }

    /// Queues `msg`, waiting for room; fails once closed.
    pub async fn send(&self, msg: Message) -> Result<(), SendError> {
        match self.push(msg) {
            Ok(()) => Ok(()),
            Err((SendError::Closed, _)) => Err(SendError::Closed),
            // Boxed: callers hold this future inline in a connection's
            // state, and waiting for room is rare.
            Err((SendError::Full, msg)) => Box::pin(self.wait_and_send(msg)).await,
        }
    }

    async fn wait_and_send(&self, mut msg: Message) -> Result<(), SendError> {
        loop {
            self.space.notified().await;
            // notify_one keeps a permit when nobody waits: no lost wakeup.
            match self.push(msg) {
                Ok(()) => return Ok(()),
                Err((SendError::Closed, _)) => return Err(SendError::Closed),
                Err((SendError::Full, back)) => msg = back,
            }
        }
    }

    /// Waits until something is queued (`true`), or the queue is closed and
    /// empty (`false`). Takes nothing, so a writer holds no message while it
    /// waits for the socket.
    pub async fn ready(&self) -> bool {
        loop {
            if !self.queue.lock().unwrap().is_empty() {
                return true;
            }
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            // notify_one keeps a permit when nobody waits: no lost wakeup.
            self.ready.notified().await;
        }
    }

    /// The next message if one is queued.
    pub fn try_recv(&self) -> Option<Message> {
        let msg = {
            let mut q = self.queue.lock().unwrap();
            q.pop_front()
        };
        if msg.is_some() {
            self.space.notify_one();
        }
        msg
    }

    /// Frees the buffer if nothing is queued. The writer calls it when it
    /// goes idle: an idle connection then holds no queue memory, and a busy
    /// one keeps its buffer between messages of a burst.
    pub fn trim(&self) {
        let mut q = self.queue.lock().unwrap();
        if q.is_empty() && q.capacity() > 0 {
            *q = VecDeque::new();
        }
    }

    /// Refuses further messages and wakes everyone.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
        self.space.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn msg(i: u8) -> Message {
        Message::Binary(vec![i].into())
    }

    impl Outbox {
        /// What the writer does: wait with `ready`, take with `try_recv`.
        async fn recv(&self) -> Option<Message> {
            while self.ready().await {
                if let Some(msg) = self.try_recv() {
                    return Some(msg);
                }
            }
            None
        }
    }

    #[tokio::test]
    async fn bounded_in_order_and_closable() {
        let q = Arc::new(Outbox::new(2));
        q.try_send(msg(1)).unwrap();
        q.try_send(msg(2)).unwrap();
        assert_eq!(q.try_send(msg(3)), Err(SendError::Full));
        // A waiting sender gets in once the writer takes one.
        let q2 = q.clone();
        let waiting = tokio::spawn(async move { q2.send(msg(3)).await });
        tokio::task::yield_now().await;
        assert_eq!(q.recv().await, Some(msg(1)));
        waiting.await.unwrap().unwrap();
        assert_eq!(q.recv().await, Some(msg(2)));
        assert_eq!(q.recv().await, Some(msg(3)));
        // The writer waits for the next one.
        let q3 = q.clone();
        let reader = tokio::spawn(async move { q3.recv().await });
        tokio::task::yield_now().await;
        q.try_send(msg(4)).unwrap();
        assert_eq!(reader.await.unwrap(), Some(msg(4)));
        q.close();
        assert_eq!(q.try_send(msg(5)), Err(SendError::Closed));
        assert_eq!(q.recv().await, None);
    }

    #[test]
    fn trim_frees_only_an_empty_queue() {
        let q = Outbox::new(8);
        q.try_send(msg(1)).unwrap();
        q.try_send(msg(2)).unwrap();
        q.trim();
        assert_eq!(q.try_recv(), Some(msg(1)), "a queued message survives trim");
        assert!(q.queue.lock().unwrap().capacity() > 0);
        assert_eq!(q.try_recv(), Some(msg(2)));
        q.trim();
        assert_eq!(q.queue.lock().unwrap().capacity(), 0);
        q.try_send(msg(3)).unwrap();
        assert_eq!(q.try_recv(), Some(msg(3)), "usable after trim");
    }
}
