//! The client side of one connection, without IO.
//!
//! [`ClientSession`] runs the y-protocols handshake for a doc, applies what
//! the server sends, and turns Weft acks into saved edits. The engine and
//! the tests drive it over a real socket; it never touches one itself.
//!
//! # Layout
//! - this file: the session and the events it reports;
//! - [`acks`]: which sent message carries which edits.

pub mod acks;

use acks::SentLog;

use bytes::Bytes;
use yrs::sync::{Awareness, AwarenessUpdate, Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, Transact};

use crate::protocol::{self, Incoming, ACK_TAG, STORE_TAG};
use crate::ProtocolError;

/// Transaction origin of updates that came from the server, so observers
/// can tell them from local edits (and not send them back).
pub const REMOTE_ORIGIN: &str = "weft-remote";

/// Something the server told this client.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The server's step 2 arrived: the doc now holds everything the server had.
    Synced,
    /// A remote update was applied to the doc.
    Updated,
    /// Remote awareness changed; the awareness update (v1 encoding).
    Awareness(Vec<u8>),
    /// The server made this many of this connection's updates durable.
    Acked(u64),
    /// That ack saved this many local edits (reported after `Acked`).
    Saved(u64),
    /// This session's step 2 carries content that no edit count held (a doc
    /// opened without remembering its unsaved edits): counted as this many
    /// unsaved edits, saved once that step 2 is acked.
    Uncounted(u64),
    /// The server refused a change (read-only access).
    Denied(String),
    /// The server cannot save this doc's changes right now (`Some(reason)`;
    /// nothing more is acked until it can), or can again (`None`).
    StoreNotice(Option<String>),
}

/// What handling one frame produced.
#[derive(Debug, Default)]
pub struct ClientOutput {
    /// Frames to send back to the server.
    pub reply: Vec<Bytes>,
    /// What happened, in order.
    pub events: Vec<ClientEvent>,
}

/// One connection's protocol state.
pub struct ClientSession {
    awareness: Awareness,
    synced: bool,
    /// Update messages sent on this connection; the server's acks count the same things.
    log: SentLog,
    step2_sent: bool,
}

impl ClientSession {
    /// A session over `doc`.
    pub fn new(doc: Doc) -> Self {
        ClientSession {
            awareness: Awareness::new(doc),
            synced: false,
            log: SentLog::default(),
            step2_sent: false,
        }
    }

    /// The document.
    pub fn doc(&self) -> &Doc {
        self.awareness.doc()
    }

    /// The awareness, to set the local state.
    pub fn awareness(&self) -> &Awareness {
        &self.awareness
    }

    /// Mutable awareness, to set the local state.
    pub fn awareness_mut(&mut self) -> &mut Awareness {
        &mut self.awareness
    }

    /// True once the server's step 2 has been applied on this connection.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Update messages sent on this connection that the server has not acked.
    pub fn unacked(&self) -> u64 {
        self.log.unacked()
    }

    /// Update messages sent on this connection (step 2 included).
    pub fn sent(&self) -> u64 {
        self.log.sent()
    }

    /// Acked update messages on this connection.
    pub fn acked(&self) -> u64 {
        self.log.acked()
    }

    /// True once this connection's step 2 went out: it carried every edit
    /// made before it, so only later edits need messages of their own.
    pub fn step2_sent(&self) -> bool {
        self.step2_sent
    }

    /// Starts a new connection: resets the counters and returns the frames
    /// to send first (step 1, then the local awareness state if set).
    pub fn open(&mut self) -> Vec<Bytes> {
        self.synced = false;
        self.step2_sent = false;
        self.log.reset();
        let sv = self.doc().transact().state_vector();
        let mut frames = vec![protocol::step1(sv)];
        frames.extend(self.local_awareness());
        frames
    }

    /// Frame for a local update produced by the doc (one edit).
    pub fn local_update(&mut self, update: Vec<u8>) -> Bytes {
        self.log.sent_message(1);
        protocol::update(update)
    }

    /// Frame carrying the local awareness state, if one is set.
    pub fn local_awareness(&self) -> Option<Bytes> {
        self.awareness.local_state_raw()?;
        let update = self
            .awareness
            .update_with_clients([self.awareness.client_id()])
            .ok()?;
        Some(protocol::encode(&Message::Awareness(update)))
    }

    /// Frame announcing that this client is gone (null local state).
    pub fn leave_awareness(&mut self) -> Option<Bytes> {
        self.awareness.local_state_raw()?;
        self.awareness.clean_local_state();
        let update = self
            .awareness
            .update_with_clients([self.awareness.client_id()])
            .ok()?;
        Some(protocol::encode(&Message::Awareness(update)))
    }

    /// Handles one frame from the server, with no local edits unsaved.
    pub fn handle(&mut self, frame: &[u8]) -> Result<ClientOutput, ProtocolError> {
        self.receive(frame, 0)
    }

    /// Handles one frame from the server. `unsaved` is how many local edits
    /// the server has not saved yet: a step 2 sent in reply carries them.
    pub fn receive(&mut self, frame: &[u8], unsaved: u64) -> Result<ClientOutput, ProtocolError> {
        let mut out = ClientOutput::default();
        for msg in protocol::decode_frame(frame)? {
            match msg {
                Incoming::Known(Message::Sync(SyncMessage::SyncStep1(sv))) => {
                    let diff = self.doc().transact().encode_diff_v1(&sv);
                    let step2 = protocol::step2(diff);
                    let mut edits = unsaved;
                    if edits == 0 && protocol::carries_content(&step2) {
                        edits = 1;
                        out.events.push(ClientEvent::Uncounted(1));
                    }
                    self.step2_sent = true;
                    self.log.sent_message(edits);
                    out.reply.push(step2);
                }
                Incoming::Known(Message::Sync(SyncMessage::SyncStep2(raw))) => {
                    self.apply(&raw)?;
                    self.synced = true;
                    out.events.push(ClientEvent::Synced);
                }
                Incoming::Known(Message::Sync(SyncMessage::Update(raw))) => {
                    self.apply(&raw)?;
                    out.events.push(ClientEvent::Updated);
                }
                Incoming::Known(Message::Awareness(update)) => {
                    let encoded = update.encode_v1();
                    self.apply_awareness(update)?;
                    out.events.push(ClientEvent::Awareness(encoded));
                }
                Incoming::Known(Message::AwarenessQuery) => {
                    out.reply.extend(self.local_awareness())
                }
                Incoming::Known(Message::Auth(Some(reason))) => {
                    out.events.push(ClientEvent::Denied(reason))
                }
                Incoming::Known(Message::Auth(None) | Message::Custom(..)) => {}
                Incoming::Unknown(ACK_TAG) => {
                    if let Some(count) = read_custom(frame, ACK_TAG, protocol::parse_ack) {
                        let saved = self.log.ack(count);
                        out.events.push(ClientEvent::Acked(self.log.acked()));
                        if saved > 0 {
                            out.events.push(ClientEvent::Saved(saved));
                        }
                    }
                }
                Incoming::Unknown(STORE_TAG) => {
                    if let Some(notice) =
                        read_custom(frame, STORE_TAG, protocol::parse_store_notice)
                    {
                        out.events.push(ClientEvent::StoreNotice(notice));
                    }
                }
                Incoming::Unknown(_) => {}
            }
        }
        Ok(out)
    }

    fn apply(&self, raw: &[u8]) -> Result<(), ProtocolError> {
        let update = protocol::decode_update(raw)?;
        self.doc()
            .transact_mut_with(REMOTE_ORIGIN)
            .apply_update(update)?;
        Ok(())
    }

    fn apply_awareness(&mut self, update: AwarenessUpdate) -> Result<(), ProtocolError> {
        self.awareness.apply_update(update)?;
        Ok(())
    }
}

/// The server sends each Weft message as a frame of its own, so the
/// payload is read from the frame directly.
fn read_custom<T, E>(
    frame: &[u8],
    tag: u8,
    parse: impl FnOnce(&[u8]) -> Result<T, E>,
) -> Option<T> {
    use yrs::updates::decoder::Decode;
    match Message::decode_v1(frame).ok()? {
        Message::Custom(t, payload) if t == tag => parse(&payload).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_frames_raise_the_acked_count() {
        let mut s = ClientSession::new(Doc::new());
        s.open();
        s.local_update(vec![0, 0]);
        s.local_update(vec![0, 0]);
        assert_eq!(s.unacked(), 2);
        let out = s.handle(&protocol::ack(1)).unwrap();
        assert_eq!(
            out.events,
            vec![ClientEvent::Acked(1), ClientEvent::Saved(1)]
        );
        assert_eq!(s.unacked(), 1);
    }

    /// What the engine relies on, without a socket: a step 2 carries every
    /// unsaved edit, and its ack saves them all at once.
    #[test]
    fn a_step2_carries_the_unsaved_edits_and_its_ack_saves_them() {
        let doc = Doc::new();
        let mut s = ClientSession::new(doc.clone());
        s.open();
        assert!(!s.step2_sent());
        let server_step1 = protocol::step1(yrs::StateVector::default());
        let out = s.receive(&server_step1, 3).unwrap();
        assert_eq!(out.reply.len(), 1);
        assert!(s.step2_sent());
        s.local_update(vec![0, 0]);
        let out = s.handle(&protocol::ack(1)).unwrap();
        assert_eq!(
            out.events,
            vec![ClientEvent::Acked(1), ClientEvent::Saved(3)]
        );
        let out = s.handle(&protocol::ack(2)).unwrap();
        assert_eq!(
            out.events,
            vec![ClientEvent::Acked(2), ClientEvent::Saved(1)]
        );

        // Content no count knew of is counted as one edit until acked.
        {
            use yrs::{Text, Transact};
            let t = doc.get_or_insert_text("t");
            t.insert(&mut doc.transact_mut(), 0, "x");
        }
        s.open();
        let out = s.receive(&server_step1, 0).unwrap();
        assert_eq!(out.events, vec![ClientEvent::Uncounted(1)]);
        let out = s.handle(&protocol::ack(1)).unwrap();
        assert_eq!(
            out.events,
            vec![ClientEvent::Acked(1), ClientEvent::Saved(1)]
        );
    }

    #[test]
    fn store_notices_become_events() {
        let mut s = ClientSession::new(Doc::new());
        let out = s
            .handle(&protocol::store_notice(Some("disk full")))
            .unwrap();
        assert_eq!(
            out.events,
            vec![ClientEvent::StoreNotice(Some("disk full".into()))]
        );
        let out = s.handle(&protocol::store_notice(None)).unwrap();
        assert_eq!(out.events, vec![ClientEvent::StoreNotice(None)]);
    }
}
