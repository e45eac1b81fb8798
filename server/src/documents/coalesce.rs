//! Updates to one document that arrive within one scheduling tick go out
//! as one merged update (yrs' `merge_updates_v1`): one frame per peer
//! instead of one per update. Under fan-out load most of the server's time
//! is the per-frame send to every peer, so this is where throughput comes
//! from. It adapts by itself: the first update of a tick goes out at once
//! (no added latency when the room is quiet) and opens a window; what
//! arrives while the window is open waits for a task that yields once, so
//! it collects everything the tasks already runnable received, and goes
//! out merged.

use bytes::Bytes;
use weft_core::protocol;
use weft_core::room::ConnId;

/// Updates waiting for the next flush.
#[derive(Default)]
pub struct Coalesce {
    updates: Vec<(ConnId, Bytes)>,
    /// A flush is scheduled: updates wait for it.
    open: bool,
}

/// What to do with an update just pushed.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    /// Send it now, as it came, and schedule a flush (the window opened).
    SendNow,
    /// It waits for the scheduled flush.
    Queued,
}

/// What a flush sends.
#[derive(Debug, PartialEq, Eq)]
pub struct Flush {
    /// The only sender, who already has the update; `None` when several
    /// updates were merged, which then go to their senders too (a Yjs
    /// client ignores what it already holds, as y-websocket's own server
    /// echoes every update).
    pub from: Option<ConnId>,
    /// The update message.
    pub frame: Bytes,
}

impl Coalesce {
    /// Adds `update` (its raw bytes) from `from`.
    pub fn push(&mut self, from: ConnId, update: Bytes) -> Push {
        if !self.open {
            self.open = true;
            return Push::SendNow;
        }
        self.updates.push((from, update));
        Push::Queued
    }

    /// Closes the window and takes what waited: nothing, one update as it
    /// came, or several merged. If the merge fails (it cannot for updates
    /// the room has applied), each goes out on its own.
    pub fn take(&mut self) -> Vec<Flush> {
        self.open = false;
        let updates = std::mem::take(&mut self.updates);
        if updates.is_empty() {
            return Vec::new();
        }
        if let [(from, one)] = updates.as_slice() {
            return vec![Flush {
                from: Some(*from),
                frame: protocol::update(one.to_vec()),
            }];
        }
        let raw: Vec<&[u8]> = updates.iter().map(|(_, u)| u.as_ref()).collect();
        match yrs::merge_updates_v1(&raw) {
            Ok(merged) => vec![Flush {
                from: None,
                frame: protocol::update(merged),
            }],
            _ => updates
                .into_iter()
                .map(|(from, u)| Flush {
                    from: Some(from),
                    frame: protocol::update(u.to_vec()),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, GetString, Text, Transact, Update};

    fn typed(client: u64, text: &str) -> Bytes {
        let doc = Doc::with_client_id(client);
        let t = doc.get_or_insert_text("t");
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, 0, text);
        Bytes::from(txn.encode_update_v1())
    }

    fn payload(frame: &[u8]) -> Vec<u8> {
        match protocol::decode_frame(frame).unwrap().remove(0) {
            protocol::Incoming::Known(yrs::sync::Message::Sync(
                yrs::sync::SyncMessage::Update(u),
            )) => u,
            _ => panic!("not an update"),
        }
    }

    #[test]
    fn a_quiet_room_sends_at_once_and_a_lone_follower_as_it_came() {
        let mut c = Coalesce::default();
        assert_eq!(c.push(7, typed(1, "a")), Push::SendNow);
        let u = typed(2, "b");
        assert_eq!(c.push(8, u.clone()), Push::Queued, "the window is open");
        let out = c.take();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].from, Some(8));
        assert_eq!(payload(&out[0].frame), u.to_vec());
        assert!(c.take().is_empty(), "nothing waits after a flush");
        assert_eq!(c.push(7, typed(1, "c")), Push::SendNow, "closed again");
    }

    #[test]
    fn updates_within_the_window_become_one_that_holds_them_all() {
        let mut c = Coalesce::default();
        assert_eq!(c.push(1, typed(1, "first ")), Push::SendNow);
        for (conn, client, word) in [(1, 1, "ann "), (2, 2, "bob "), (1, 3, "cat ")] {
            assert_eq!(c.push(conn, typed(client, word)), Push::Queued);
        }
        let out = c.take();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].from, None, "merged: goes to every peer");
        let doc = Doc::new();
        let t = doc.get_or_insert_text("t");
        doc.transact_mut()
            .apply_update(Update::decode_v1(&payload(&out[0].frame)).unwrap())
            .unwrap();
        let text = t.get_string(&doc.transact());
        for word in ["ann", "bob", "cat"] {
            assert!(text.contains(word), "{text}");
        }
    }
}
