//! The server side of one document, without IO.
//!
//! A [`Room`] owns the yrs doc and its awareness. The server feeds it each
//! connection's frames and acts on the returned [`Effects`]: reply to the
//! sender, broadcast to the others, persist updates in order. Keeping this
//! IO-free means the whole protocol is unit-testable and the socket loop
//! stays a thin adapter.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use bytes::Bytes;
use yrs::sync::{Awareness, AwarenessUpdate, Message, SyncMessage};
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, Update};

use crate::comments;
use crate::protocol::{self, Incoming};
use crate::ProtocolError;

/// Identifies a connection within a room; assigned by the adapter.
pub type ConnId = u64;

/// What a connection may do to the doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Sync, read and send awareness, but never change the doc.
    Read,
    /// Read, and change comments: only the `comments` root, and within it
    /// only what `sub` owns (see [`crate::comments::access`]).
    Comment {
        /// The token's subject; `None` checks the root only.
        sub: Option<std::sync::Arc<str>>,
    },
    /// Everything.
    Write,
}

/// What handling one frame asks the adapter to do.
#[derive(Debug, Default)]
pub struct Effects {
    /// Frames for the sender only, in order.
    pub reply: Vec<Bytes>,
    /// Frames for every other connection on the doc, in order.
    pub broadcast: Vec<Bytes>,
    /// One entry per update message the sender sent, in order. `Some` holds
    /// bytes to persist; `None` is an update with nothing new (an empty
    /// step 2), which still counts towards the sender's acks.
    pub updates: Vec<Option<Bytes>>,
}

/// One document as the server holds it.
pub struct Room {
    awareness: Awareness,
    /// Awareness client ids each connection has set, so they can be cleared
    /// when it goes, however it goes.
    owners: HashMap<ConnId, HashSet<ClientID>>,
    /// Set if yrs panicked while integrating an update: the doc may be
    /// half-changed, so the adapter must drop the room and reload it.
    poisoned: bool,
    /// Stored updates not integrated yet (see [`Room::load_lazy`]). A lock,
    /// not a plain field, so `doc(&self)` can integrate them on first use.
    pending: Mutex<Option<Pending>>,
    /// The step 2 for a joiner with nothing, until the doc changes: a crowd
    /// joining at once shares one encoding of the whole doc.
    whole_step2: Option<Bytes>,
}

/// What [`Room::load_lazy`] defers: the stored bytes and their state vector.
struct Pending {
    stored: Vec<Bytes>,
    sv: StateVector,
}

impl Default for Room {
    fn default() -> Self {
        Self::new(Doc::new())
    }
}

impl Room {
    /// A room over `doc`.
    pub fn new(doc: Doc) -> Self {
        Room {
            awareness: Awareness::new(doc),
            owners: HashMap::new(),
            poisoned: false,
            pending: Mutex::new(None),
            whole_step2: None,
        }
    }

    /// Like [`Room::load`], but integrates the updates only when something
    /// needs the doc itself. Until then a joiner with nothing (an empty
    /// state vector) is answered with the stored bytes as they are, so the
    /// first join after a load skips integrating and re-encoding the whole
    /// doc (most of a cold join: measured in docs/BENCHMARKS.md). Decoding
    /// still happens here, for the state vector the handshake sends and to
    /// count what cannot be decoded.
    pub fn load_lazy(stored: Vec<Bytes>) -> (Self, usize) {
        let mut sv = StateVector::default();
        let mut kept = Vec::with_capacity(stored.len());
        let mut skipped = 0;
        for bytes in stored {
            match protocol::decode_update(&bytes) {
                Ok(update) if update.is_empty() => {}
                Ok(update) => {
                    sv.merge(update.state_vector());
                    kept.push(bytes);
                }
                Err(_) => skipped += 1,
            }
        }
        let room = Room::default();
        if !kept.is_empty() {
            *room.pending.lock().unwrap() = Some(Pending { stored: kept, sv });
        }
        (room, skipped)
    }

    /// Trades the integrated doc for its encoded state, the form
    /// [`Room::load_lazy`] keeps a doc just loaded in: an open but quiet doc
    /// then costs about its encoded size instead of yrs' structures (several
    /// times more: measured in docs/BENCHMARKS.md, "Memory per loaded
    /// document"). The next change, or anything that reads the doc,
    /// integrates it again. Presence stays. False (nothing done) when
    /// already resting, empty or poisoned.
    pub fn rest(&mut self) -> bool {
        if self.poisoned || self.pending.get_mut().unwrap().is_some() {
            return false;
        }
        let (state, sv) = {
            let txn = self.awareness.doc().transact();
            let sv = txn.state_vector();
            if sv.is_empty() {
                return false;
            }
            let mut state = txn.encode_state_as_update_v1(&StateVector::default());
            // The encoder grows by doubling; kept as is, a doc would hold
            // up to twice its size.
            state.shrink_to_fit();
            (state, sv)
        };
        let mut awareness = Awareness::new(Doc::new());
        if let Ok(presence) = self.awareness.update() {
            // Same states and clocks; only the doc under them changes.
            let _ = awareness.apply_update(presence);
        }
        self.awareness = awareness;
        // The cached step 2 would be a second copy of the same bytes.
        self.whole_step2 = None;
        *self.pending.get_mut().unwrap() = Some(Pending {
            stored: vec![Bytes::from(state)],
            sv,
        });
        true
    }

    /// True while the doc rests as encoded bytes (see [`Room::rest`]).
    pub fn is_resting(&self) -> bool {
        self.pending.lock().unwrap().is_some()
    }

    /// Integrates what [`Room::load_lazy`] deferred, if anything.
    fn integrate_pending(&self) {
        let Some(pending) = self.pending.lock().unwrap().take() else {
            return;
        };
        let mut txn = self.awareness.doc().transact_mut();
        for bytes in &pending.stored {
            // Decoded once already; an apply error leaves the rest in place,
            // as in `load`.
            if let Ok(update) = protocol::decode_update(bytes) {
                let _ = txn.apply_update(update);
            }
        }
    }

    /// The stored bytes, if the doc is exactly one of them not yet
    /// integrated: the whole doc, as is.
    fn pending_whole(&self) -> Option<Bytes> {
        let pending = self.pending.lock().unwrap();
        match pending.as_ref()?.stored.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    /// A room holding the stored updates, applied in order. Returns how many
    /// stored updates could not be decoded, so the caller can report them.
    pub fn load<I, B>(stored: I) -> (Self, usize)
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let room = Room::default();
        let mut skipped = 0;
        {
            let mut txn = room.doc().transact_mut();
            for bytes in stored {
                match protocol::decode_update(bytes.as_ref()) {
                    Ok(update) => {
                        if txn.apply_update(update).is_err() {
                            skipped += 1;
                        }
                    }
                    Err(_) => skipped += 1,
                }
            }
        }
        (room, skipped)
    }

    /// True while the document has no content at all.
    pub fn is_empty(&self) -> bool {
        // Only non-empty updates are kept pending.
        self.pending.lock().unwrap().is_none()
            && self.awareness.doc().transact().state_vector().is_empty()
    }

    /// The document, with everything loaded integrated. For reading:
    /// changes go through [`Room::handle`], which keeps the cached step 2
    /// right.
    pub fn doc(&self) -> &Doc {
        self.integrate_pending();
        self.awareness.doc()
    }

    fn state_vector(&self) -> StateVector {
        match self.pending.lock().unwrap().as_ref() {
            Some(p) => p.sv.clone(),
            None => self.awareness.doc().transact().state_vector(),
        }
    }

    /// The awareness state.
    pub fn awareness(&self) -> &Awareness {
        &self.awareness
    }

    /// True once yrs panicked on an update; see the field's doc.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Number of connections that have joined and not left.
    pub fn connections(&self) -> usize {
        self.owners.len()
    }

    /// Registers `conn` and returns the frames it must receive first: the
    /// server's step 1, then the current awareness states if there are any.
    pub fn join(&mut self, conn: ConnId) -> Vec<Bytes> {
        self.owners.entry(conn).or_default();
        let mut frames = vec![protocol::step1(self.state_vector())];
        if let Some(states) = self.awareness_frame() {
            frames.push(states);
        }
        frames
    }

    /// Handles one frame from `conn`. The frame is fully decoded and every
    /// update in it validated before anything is applied, so a bad frame
    /// changes nothing.
    pub fn handle(
        &mut self,
        conn: ConnId,
        frame: &[u8],
        access: &Access,
    ) -> Result<Effects, ProtocolError> {
        let steps = validate(frame)?;
        let mut fx = Effects::default();
        for step in steps {
            match step {
                Step::Step1(sv) if sv.is_empty() => fx.reply.push(self.whole_step2()),
                Step::Step1(sv) => {
                    let diff = self.doc().transact().encode_diff_v1(&sv);
                    fx.reply.push(protocol::step2(diff));
                }
                // First: a reader's step 2 with nothing new is no change,
                // so it is not refused (every stock reader sends one).
                Step::Update(_, update) if update.is_empty() => fx.updates.push(None),
                Step::Update(_, _) if *access == Access::Read => {
                    fx.reply
                        .push(protocol::permission_denied("read-only access"));
                }
                Step::Update(raw, update) => {
                    if let Err(why) = self.may_change(access, &raw) {
                        fx.reply.push(protocol::permission_denied(&why.to_string()));
                        continue;
                    }
                    self.apply(update)?;
                    let raw = Bytes::from(raw);
                    fx.broadcast.push(protocol::update(raw.to_vec()));
                    fx.updates.push(Some(raw));
                }
                Step::Awareness(update) => self.awareness_from(conn, update, &mut fx)?,
                Step::Query => fx.reply.extend(self.awareness_frame()),
            }
        }
        Ok(fx)
    }

    /// Whether `access` may make this change: only comment access is
    /// checked, against the document as it is.
    fn may_change(&self, access: &Access, update: &[u8]) -> Result<(), comments::access::Refusal> {
        match access {
            Access::Comment { sub } => comments::access::check(self.doc(), update, sub.as_deref()),
            _ => Ok(()),
        }
    }

    /// The step 2 for a client with nothing: the whole doc, cached until the
    /// next change (many clients join with an empty state).
    fn whole_step2(&mut self) -> Bytes {
        if let Some(frame) = &self.whole_step2 {
            return frame.clone();
        }
        let whole = match self.pending_whole() {
            Some(stored) => stored.to_vec(),
            None => self
                .doc()
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
        };
        self.whole_step2.insert(protocol::step2(whole)).clone()
    }

    /// Applies an awareness update from `conn`, records which client ids it
    /// owns now, and echoes it to everyone.
    fn awareness_from(
        &mut self,
        conn: ConnId,
        update: AwarenessUpdate,
        fx: &mut Effects,
    ) -> Result<(), ProtocolError> {
        let msg = protocol::encode(&Message::Awareness(update.clone()));
        let Some(summary) = self.awareness.apply_update_summary(update)? else {
            return Ok(());
        };
        // A client that moved here from another connection (or node) is
        // this one's now, so the old owner's leaving does not erase it.
        let claimed: Vec<ClientID> = summary
            .added
            .iter()
            .chain(&summary.updated)
            .filter(|id| !self.owners.get(&conn).is_some_and(|o| o.contains(id)))
            .copied()
            .collect();
        if !claimed.is_empty() {
            for (other, ids) in self.owners.iter_mut() {
                if *other != conn {
                    ids.retain(|id| !claimed.contains(id));
                }
            }
        }
        let owned = self.owners.entry(conn).or_default();
        owned.extend(claimed);
        for id in &summary.removed {
            owned.remove(id);
        }
        // Echoed to the sender too, as the reference server does:
        // y-websocket treats 30 s without any message, its own awareness
        // renewals included, as a dead link.
        fx.reply.push(msg.clone());
        fx.broadcast.push(msg);
        Ok(())
    }

    /// Forgets `conn` and returns the awareness removal to broadcast for the
    /// ids it had set, if any.
    pub fn leave(&mut self, conn: ConnId) -> Option<Bytes> {
        let ids = self.owners.remove(&conn)?;
        if ids.is_empty() {
            return None;
        }
        for id in &ids {
            self.awareness.remove_state(*id);
        }
        let update = self.awareness.update_with_clients(ids).ok()?;
        Some(protocol::encode(&Message::Awareness(update)))
    }

    /// The presence states set by the connections `local` accepts, as one
    /// awareness frame (for answering another server's query).
    pub fn awareness_of(&self, local: impl Fn(ConnId) -> bool) -> Option<Bytes> {
        let ids: Vec<ClientID> = self
            .owners
            .iter()
            .filter(|(conn, _)| local(**conn))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        if ids.is_empty() {
            return None;
        }
        let update = self.awareness.update_with_clients(ids).ok()?;
        Some(protocol::encode(&Message::Awareness(update)))
    }

    /// The whole document as one update, for compaction.
    pub fn snapshot(&self) -> Vec<u8> {
        self.doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    fn awareness_frame(&self) -> Option<Bytes> {
        let update = self.awareness.update().ok()?;
        (!update.clients.is_empty()).then(|| protocol::encode(&Message::Awareness(update)))
    }

    fn apply(&mut self, update: Update) -> Result<(), ProtocolError> {
        self.whole_step2 = None;
        let doc = self.doc().clone();
        // yrs is not hardened against every hostile update; a panic must
        // cost one connection, not the process.
        match catch_unwind(AssertUnwindSafe(|| doc.transact_mut().apply_update(update))) {
            Ok(result) => Ok(result?),
            Err(_) => {
                self.poisoned = true;
                Err(ProtocolError::Panicked)
            }
        }
    }
}

/// One message of a frame, decoded and checked, ready to apply.
enum Step {
    Step1(StateVector),
    Update(Vec<u8>, Update),
    Awareness(AwarenessUpdate),
    Query,
}

/// Decodes a whole frame and checks every update and awareness message in
/// it, so that nothing is applied from a frame that is bad anywhere.
fn validate(frame: &[u8]) -> Result<Vec<Step>, ProtocolError> {
    let mut steps = Vec::new();
    for msg in protocol::decode_frame(frame)? {
        match msg {
            Incoming::Known(Message::Sync(SyncMessage::SyncStep1(sv))) => {
                steps.push(Step::Step1(sv))
            }
            Incoming::Known(Message::Sync(
                SyncMessage::SyncStep2(raw) | SyncMessage::Update(raw),
            )) => {
                let update = protocol::decode_update(&raw)?;
                steps.push(Step::Update(raw, update));
            }
            Incoming::Known(Message::Awareness(update)) => {
                // Clearing a client bumps its clock; one at the maximum
                // could never be cleared (found by the fuzz corpus).
                if update.clients.values().any(|e| e.clock == u32::MAX) {
                    return Err(ProtocolError::Malformed(
                        yrs::encoding::read::Error::Custom("awareness clock out of range".into()),
                    ));
                }
                steps.push(Step::Awareness(update));
            }
            Incoming::Known(Message::AwarenessQuery) => steps.push(Step::Query),
            // Clients have no business sending auth; unknown tags are ignored.
            Incoming::Known(Message::Auth(_) | Message::Custom(..)) | Incoming::Unknown(_) => {}
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientSession;
    use yrs::{GetString, Text};

    fn edit(doc: &Doc, text: &str) -> Vec<u8> {
        let t = doc.get_or_insert_text("t");
        let mut txn = doc.transact_mut();
        let len = t.len(&txn);
        t.insert(&mut txn, len, text);
        txn.encode_update_v1()
    }

    #[test]
    fn update_is_applied_broadcast_and_persisted() {
        let mut room = Room::default();
        room.join(1);
        let fx = room
            .handle(
                1,
                &protocol::update(edit(&Doc::new(), "hi")),
                &Access::Write,
            )
            .unwrap();
        assert_eq!(fx.broadcast.len(), 1);
        assert_eq!(fx.updates.len(), 1);
        assert!(fx.updates[0].is_some());
        assert_eq!(
            room.doc()
                .get_or_insert_text("t")
                .get_string(&room.doc().transact()),
            "hi"
        );
    }

    #[test]
    fn read_only_update_is_refused_and_not_applied() {
        let mut room = Room::default();
        let fx = room
            .handle(1, &protocol::update(edit(&Doc::new(), "hi")), &Access::Read)
            .unwrap();
        assert!(fx.broadcast.is_empty() && fx.updates.is_empty());
        assert_eq!(fx.reply.len(), 1);
        assert_eq!(room.doc().transact().state_vector(), StateVector::default());
    }

    #[test]
    fn a_readers_empty_step2_is_not_refused() {
        let mut room = Room::default();
        room.handle(
            1,
            &protocol::update(edit(&Doc::new(), "hi")),
            &Access::Write,
        )
        .unwrap();
        // What a stock reader answers the server's step 1 with: nothing new.
        let reader = Doc::new();
        let nothing = reader
            .transact()
            .encode_diff_v1(&room.doc().transact().state_vector());
        let fx = room
            .handle(2, &protocol::step2(nothing), &Access::Read)
            .unwrap();
        assert!(fx.reply.is_empty(), "{:?}", fx.reply);
        assert!(fx.broadcast.is_empty());
    }

    #[test]
    fn bad_frame_changes_nothing() {
        let mut room = Room::default();
        let mut frame = protocol::update(edit(&Doc::new(), "hi")).to_vec();
        frame.extend_from_slice(&protocol::update(vec![9, 9, 9, 9]));
        assert!(room.handle(1, &frame, &Access::Write).is_err());
        assert_eq!(room.doc().transact().state_vector(), StateVector::default());
    }

    #[test]
    fn client_and_room_converge_through_handshake() {
        let mut room = Room::default();
        room.handle(
            9,
            &protocol::update(edit(&Doc::new(), "server ")),
            &Access::Write,
        )
        .unwrap();
        let client_doc = Doc::new();
        edit(&client_doc, "client");
        let mut client = ClientSession::new(client_doc.clone());
        // client -> server
        let mut to_server: Vec<Bytes> = client.open();
        let mut to_client: Vec<Bytes> = room.join(1);
        for _ in 0..3 {
            let mut next_client = Vec::new();
            for f in to_server.drain(..) {
                next_client.extend(room.handle(1, &f, &Access::Write).unwrap().reply);
            }
            for f in to_client.drain(..) {
                to_server.extend(client.handle(&f).unwrap().reply);
            }
            to_client = next_client;
        }
        assert!(client.is_synced());
        let server_text = room
            .doc()
            .get_or_insert_text("t")
            .get_string(&room.doc().transact());
        let client_text = client_doc
            .get_or_insert_text("t")
            .get_string(&client_doc.transact());
        assert_eq!(server_text, client_text);
        assert_eq!(server_text.len(), "server client".len());
    }

    #[test]
    fn leaving_clears_awareness_of_the_connection() {
        let mut a = Awareness::new(Doc::with_client_id(5));
        a.set_local_state_raw("{\"user\":\"ann\"}");
        let msg = protocol::encode(&Message::Awareness(a.update().unwrap()));
        let mut room = Room::default();
        room.join(1);
        let fx = room.handle(1, &msg, &Access::Write).unwrap();
        assert_eq!(fx.broadcast.len(), 1);
        assert_eq!(room.awareness().update().unwrap().clients.len(), 1);
        let removal = room.leave(1).expect("removal broadcast");
        assert!(room.awareness().update().unwrap().clients.is_empty());
        match Message::decode_v1(&removal).unwrap() {
            Message::Awareness(u) => assert_eq!(&*u.clients[&ClientID::new(5)].json, "null"),
            other => panic!("{other:?}"),
        }
    }

    fn text_of(update: &[u8]) -> String {
        let doc = Doc::new();
        doc.transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
        let t = doc.get_or_insert_text("t");
        let s = t.get_string(&doc.transact());
        s
    }

    /// The step 2 a fresh client gets for `sv` (the reply to its step 1).
    fn step2_for(room: &mut Room, sv: StateVector) -> Vec<u8> {
        let fx = room
            .handle(1, &protocol::step1(sv), &Access::Write)
            .unwrap();
        match Message::decode_v1(&fx.reply[0]).unwrap() {
            Message::Sync(SyncMessage::SyncStep2(diff)) => diff,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lazy_room_answers_a_fresh_joiner_with_the_stored_bytes() {
        let source = Doc::new();
        edit(&source, "stored ");
        let stored = source
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let (mut room, skipped) = Room::load_lazy(vec![Bytes::from(stored.clone())]);
        assert_eq!(skipped, 0);
        assert!(!room.is_empty());
        // The handshake's state vector is the stored one.
        match Message::decode_v1(&room.join(1)[0]).unwrap() {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                assert_eq!(sv, source.transact().state_vector())
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(step2_for(&mut room, StateVector::default()), stored);
        assert_eq!(
            step2_for(&mut room, StateVector::default()),
            stored,
            "a second fresh joiner gets the same (cached) bytes"
        );
        // A client holding all of it gets nothing new (from the integrated doc).
        let nothing = step2_for(&mut room, source.transact().state_vector());
        assert_eq!(text_of(&nothing), "");
        // An update lands on top of what was stored.
        let other = Doc::new();
        other
            .transact_mut()
            .apply_update(Update::decode_v1(&stored).unwrap())
            .unwrap();
        let update = edit(&other, "then edited");
        room.handle(2, &protocol::update(update), &Access::Write)
            .unwrap();
        let whole = step2_for(&mut room, StateVector::default());
        assert_eq!(text_of(&whole), "stored then edited");
    }

    #[test]
    fn lazy_room_with_several_entries_or_bad_ones_matches_an_eager_load() {
        let source = Doc::new();
        let first = edit(&source, "one ");
        let second = edit(&source, "two");
        let stored = vec![
            Bytes::from(first),
            Bytes::from_static(&[9, 9, 9]),
            Bytes::from(second),
        ];
        let (mut lazy, skipped) = Room::load_lazy(stored.clone());
        assert_eq!(skipped, 1, "the undecodable entry is counted");
        let (mut eager, _) = Room::load(&stored);
        let a = step2_for(&mut lazy, StateVector::default());
        let b = step2_for(&mut eager, StateVector::default());
        assert_eq!(text_of(&a), "one two");
        assert_eq!(text_of(&a), text_of(&b));
        // Nothing stored: an empty doc, as eager loading gives.
        let (empty, _) = Room::load_lazy(Vec::new());
        assert!(empty.is_empty());
    }

    #[test]
    fn a_resting_room_answers_and_changes_as_before_and_keeps_presence() {
        let mut room = Room::default();
        let ann = Doc::new();
        room.handle(1, &protocol::update(edit(&ann, "typed ")), &Access::Write)
            .unwrap();
        let mut presence = yrs::sync::Awareness::new(Doc::with_client_id(77));
        presence.set_local_state(r#"{"user":"ann"}"#).unwrap();
        let frame = protocol::encode(&Message::Awareness(presence.update().unwrap()));
        room.handle(1, &frame, &Access::Write).unwrap();
        let before = step2_for(&mut room, StateVector::default());

        assert!(room.rest());
        assert!(room.is_resting() && !room.rest(), "resting once is enough");
        assert!(!room.is_empty());
        assert_eq!(
            text_of(&step2_for(&mut room, StateVector::default())),
            text_of(&before)
        );
        assert!(
            room.is_resting(),
            "a fresh joiner is answered from the bytes"
        );
        assert_eq!(
            room.awareness()
                .iter()
                .filter(|(id, _)| id.get() == 77)
                .count(),
            1,
            "presence survives"
        );
        // A change integrates it again, on top of what rested.
        room.handle(
            2,
            &protocol::update(edit(&ann, "then more")),
            &Access::Write,
        )
        .unwrap();
        assert!(!room.is_resting());
        let after = step2_for(&mut room, StateVector::default());
        assert_eq!(text_of(&after), "typed then more");
        // Nothing to rest in an empty room.
        assert!(!Room::default().rest());
    }

    use yrs::updates::decoder::Decode;
}
