//! y-protocols framing through `yrs::sync`, plus Weft's ack extension.
//!
//! A WebSocket frame may carry several messages back to back; the reference
//! server reads only the first, [`decode_frame`] reads them all. Stock clients
//! read only one message per frame, so everything here encodes one message
//! per frame.

use bytes::Bytes;
use yrs::encoding::read::{Error as ReadError, Read};
use yrs::encoding::write::Write;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::{Decode, Decoder, DecoderV1};
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::StateVector;

use crate::ProtocolError;

/// Message tag of Weft's ack: `[ACK_TAG, len, varuint(count)]`, where `count`
/// is how many of this connection's updates are durable so far. Sent only to
/// connections that asked for it (see `docs/PROTOCOL.md`).
pub const ACK_TAG: u8 = 100;

/// Message tag of Weft's store notice, sent with acks: `[STORE_TAG, len,
/// varuint(1), varstring(reason)]` when the server cannot save this doc's
/// changes (nothing more is acked until it can), `[STORE_TAG, len,
/// varuint(0), varstring("")]` when it saves again.
pub const STORE_TAG: u8 = 101;

/// Tag of Weft's node-to-node notices ([`NodeNotice`]); only servers in
/// one cluster exchange them.
pub const NODE_TAG: u8 = 102;

/// The query parameter a client sets (`?ack=1`) to receive acks.
pub const ACK_PARAM: &str = "ack";

/// Response header on the upgrade when the server will send acks.
pub const ACK_HEADER: &str = "x-weft-ack";

/// WebSocket close codes Weft uses, named for what they tell the peer.
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// Server shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The frame was not valid y-protocols.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame: Weft speaks binary only.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A message decoded but its content (an update) did not.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation (rate limits, permissions).
    pub const POLICY: u16 = 1008;
    /// A message larger than the configured limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server could not do its part (e.g. the store failed).
    pub const INTERNAL: u16 = 1011;
    /// The client could not keep up with its outbound queue; reconnect.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The token expired during the session. In y-websocket's permanent
    /// 4400-4499 range: reconnecting with the same token cannot work.
    pub const TOKEN_EXPIRED: u16 = 4401;
    /// The document was moved to the trash. Permanent too: connecting
    /// again answers HTTP 410 until it is restored.
    pub const DELETED: u16 = 4410;
}

/// One message of a frame, as the core acts on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A y-protocols message that `yrs::sync` understands.
    Known(Message),
    /// A tag this side does not know. Ignored by receivers.
    Unknown(u8),
}

/// Runs a yrs decoder, turning a panic into a decoding error: yrs asserts
/// some invariants on input (e.g. client ids within 53 bits) and a hostile
/// peer must never take down the thread handling it.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(ReadError::Custom("input violates a yrs invariant".into())))
}

/// Splits a frame into its messages. Unknown tags are returned as
/// [`Incoming::Unknown`]; since their length is not known for sure, the rest
/// of the frame after one is skipped. A truncated or malformed known message
/// is an error.
pub fn decode_frame(frame: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
    let mut decoder = DecoderV1::from(frame);
    let mut out = Vec::new();
    // read_to_end only peeks: it does not advance the decoder.
    while let Some(&first) = decoder.read_to_end()?.first() {
        let known = first <= yrs::sync::protocol::MSG_QUERY_AWARENESS;
        if known {
            out.push(Incoming::Known(guarded(|| Message::decode(&mut decoder))?));
            continue;
        }
        out.push(Incoming::Unknown(first & 0x7f));
        // y-protocols extensions are length-prefixed by convention; if this
        // one is not, its end is unknowable, so the rest of the frame goes.
        if !matches!(
            guarded(|| Message::decode(&mut decoder)),
            Ok(Message::Custom(..))
        ) {
            break;
        }
    }
    Ok(out)
}

/// True if the frame carries document content (a non-empty update or sync
/// step 2). Lets a server decide, before applying it, whether a frame would
/// bring an empty document into existence.
pub fn carries_content(frame: &[u8]) -> bool {
    decode_frame(frame).is_ok_and(|msgs| {
        msgs.iter().any(|m| {
            matches!(
                m,
                Incoming::Known(Message::Sync(SyncMessage::SyncStep2(raw) | SyncMessage::Update(raw)))
                    if decode_update(raw).is_ok_and(|u| !u.is_empty())
            )
        })
    })
}

/// Encodes one message as one frame.
pub fn encode(msg: &Message) -> Bytes {
    let mut frame = msg.encode_v1();
    // yrs' encoder starts at 1 KiB. A frame can wait in a hundred peers'
    // queues or in the step-2 cache, so it keeps only its length.
    frame.shrink_to_fit();
    Bytes::from(frame)
}

/// `sync step 1` carrying `sv`.
pub fn step1(sv: StateVector) -> Bytes {
    encode(&Message::Sync(SyncMessage::SyncStep1(sv)))
}

/// `sync step 2` carrying `update`.
pub fn step2(update: Vec<u8>) -> Bytes {
    encode(&Message::Sync(SyncMessage::SyncStep2(update)))
}

/// `sync update` carrying `update`.
pub fn update(update: Vec<u8>) -> Bytes {
    encode(&Message::Sync(SyncMessage::Update(update)))
}

/// Weft's ack: `count` of the receiver's updates are durable.
pub fn ack(count: u64) -> Bytes {
    let mut payload = EncoderV1::new();
    payload.write_var(count);
    encode(&Message::Custom(ACK_TAG, payload.to_vec()))
}

/// Reads the count out of an ack message's payload.
pub fn parse_ack(payload: &[u8]) -> Result<u64, ReadError> {
    let mut decoder = DecoderV1::from(payload);
    decoder.read_var()
}

/// Weft's store notice: `Some(reason)` while the server cannot save the
/// doc's changes, `None` once it saves again.
pub fn store_notice(failing: Option<&str>) -> Bytes {
    let mut payload = EncoderV1::new();
    payload.write_var(u32::from(failing.is_some()));
    payload.write_string(failing.unwrap_or(""));
    encode(&Message::Custom(STORE_TAG, payload.to_vec()))
}

/// Reads a store notice's payload: `Some(reason)` means cannot save.
pub fn parse_store_notice(payload: &[u8]) -> Result<Option<String>, ReadError> {
    let mut decoder = DecoderV1::from(payload);
    let failing: u32 = decoder.read_var()?;
    let reason = decoder.read_string()?.to_owned();
    Ok((failing != 0).then_some(reason))
}

/// What one server node tells the others about a document (cluster mode
/// only; never sent to clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeNotice {
    /// It was moved to the trash: close its connections.
    Deleted,
    /// Its links were reset to this generation: close connections that
    /// came by an older link.
    LinksReset(u64),
}

/// A [`NodeNotice`] as a frame.
pub fn node_notice(notice: NodeNotice) -> Bytes {
    let mut payload = EncoderV1::new();
    match notice {
        NodeNotice::Deleted => payload.write_var(0u32),
        NodeNotice::LinksReset(gen) => {
            payload.write_var(1u32);
            payload.write_var(gen);
        }
    }
    encode(&Message::Custom(NODE_TAG, payload.to_vec()))
}

/// The notice in `frame`, if it is one.
pub fn parse_node_notice(frame: &[u8]) -> Option<NodeNotice> {
    let Ok(Message::Custom(NODE_TAG, payload)) = guarded(|| Message::decode_v1(frame)) else {
        return None;
    };
    let mut decoder = DecoderV1::from(payload.as_slice());
    match decoder.read_var::<u32>().ok()? {
        0 => Some(NodeNotice::Deleted),
        1 => Some(NodeNotice::LinksReset(decoder.read_var().ok()?)),
        _ => None,
    }
}

/// The y-protocols "permission denied" auth message, with a reason.
pub fn permission_denied(reason: &str) -> Bytes {
    encode(&Message::Auth(Some(reason.to_owned())))
}

/// Reads a `yrs` update, mapping failure to [`ProtocolError::BadUpdate`].
/// Every update from outside (a peer, the local store, the app's editor)
/// goes through this, so a hostile one cannot panic its reader.
pub fn decode_update(bytes: &[u8]) -> Result<yrs::Update, ProtocolError> {
    guarded(|| yrs::Update::decode_v1(bytes)).map_err(ProtocolError::BadUpdate)
}

/// Reads an awareness update (v1), guarded like [`decode_update`].
pub fn decode_awareness(bytes: &[u8]) -> Result<AwarenessUpdate, ProtocolError> {
    guarded(|| AwarenessUpdate::decode_v1(bytes)).map_err(ProtocolError::Malformed)
}

/// True if the frame starts with an awareness message (what relays route
/// and expire differently from document updates).
pub fn is_awareness(frame: &[u8]) -> bool {
    frame.first() == Some(&(yrs::sync::protocol::MSG_AWARENESS))
}

/// True if the frame starts with a sync message (updates and handshakes).
pub fn is_sync(frame: &[u8]) -> bool {
    frame.first() == Some(&(yrs::sync::protocol::MSG_SYNC))
}

/// True if the frame is exactly an awareness query.
pub fn is_awareness_query(frame: &[u8]) -> bool {
    frame == [yrs::sync::protocol::MSG_QUERY_AWARENESS]
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::sync::awareness::AwarenessUpdateEntry;

    #[test]
    fn several_messages_in_one_frame_are_all_read() {
        let mut frame = step1(StateVector::default()).to_vec();
        frame.extend_from_slice(&update(vec![0, 0]));
        frame.extend_from_slice(&encode(&Message::AwarenessQuery));
        let msgs = decode_frame(&frame).unwrap();
        assert_eq!(msgs.len(), 3);
        assert!(matches!(
            msgs[0],
            Incoming::Known(Message::Sync(SyncMessage::SyncStep1(_)))
        ));
        assert!(matches!(
            msgs[1],
            Incoming::Known(Message::Sync(SyncMessage::Update(_)))
        ));
        assert_eq!(msgs[2], Incoming::Known(Message::AwarenessQuery));
    }

    #[test]
    fn unknown_tag_is_reported_not_fatal() {
        let mut frame = encode(&Message::Custom(42, vec![1, 2, 3])).to_vec();
        frame.extend_from_slice(&update(vec![0, 0]));
        let msgs = decode_frame(&frame).unwrap();
        assert_eq!(msgs[0], Incoming::Unknown(42));
        assert!(matches!(
            msgs[1],
            Incoming::Known(Message::Sync(SyncMessage::Update(_)))
        ));
    }

    #[test]
    fn truncated_message_is_malformed() {
        let frame = update(vec![1, 2, 3, 4]);
        let err = decode_frame(&frame[..frame.len() - 2]).unwrap_err();
        assert_eq!(err.close_code(), close::PROTOCOL_ERROR);
    }

    #[test]
    fn bad_sync_subtag_is_malformed() {
        assert!(decode_frame(&[0, 9, 0]).is_err());
    }

    #[test]
    fn ack_round_trips() {
        let frame = ack(300);
        let msgs = decode_frame(&frame).unwrap();
        // Receivers that do not know the tag see it as unknown; the core
        // reports it as such, and the client reads the payload itself.
        assert_eq!(msgs, vec![Incoming::Unknown(ACK_TAG)]);
        match Message::decode_v1(&frame).unwrap() {
            Message::Custom(ACK_TAG, payload) => assert_eq!(parse_ack(&payload).unwrap(), 300),
            other => panic!("not an ack: {other:?}"),
        }
    }

    #[test]
    fn store_notice_round_trips() {
        for failing in [Some("sqlite: database or disk is full"), None] {
            let frame = store_notice(failing);
            assert_eq!(
                decode_frame(&frame).unwrap(),
                vec![Incoming::Unknown(STORE_TAG)]
            );
            match Message::decode_v1(&frame).unwrap() {
                Message::Custom(STORE_TAG, payload) => {
                    assert_eq!(parse_store_notice(&payload).unwrap().as_deref(), failing)
                }
                other => panic!("not a store notice: {other:?}"),
            }
        }
    }

    #[test]
    fn awareness_message_decodes() {
        let mut clients = std::collections::HashMap::new();
        clients.insert(
            yrs::ClientID::new(7),
            AwarenessUpdateEntry {
                clock: 1,
                json: "{\"a\":1}".into(),
            },
        );
        let frame = encode(&Message::Awareness(AwarenessUpdate { clients }));
        let msgs = decode_frame(&frame).unwrap();
        assert!(matches!(&msgs[0], Incoming::Known(Message::Awareness(u)) if u.clients.len() == 1));
    }

    #[test]
    fn client_ids_beyond_53_bits_are_malformed_not_a_panic() {
        // Found by `cargo fuzz run frames`: an awareness entry for client
        // 2^64-1 trips a yrs debug assertion.
        let frame = [
            1, 19, 1, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 19, 1, 255, 255, 255, 255,
            255, 255, 255, 255, 255, 0, 0, 0, 0,
        ];
        if cfg!(debug_assertions) {
            assert!(decode_frame(&frame).is_err());
        } else {
            let _ = decode_frame(&frame);
        }
    }

    #[test]
    fn empty_frame_has_no_messages() {
        assert!(decode_frame(&[]).unwrap().is_empty());
    }

    #[test]
    fn tag_checks_name_what_a_frame_is() {
        let aw = encode(&Message::Awareness(AwarenessUpdate {
            clients: Default::default(),
        }));
        assert!(is_awareness(&aw) && !is_sync(&aw));
        assert!(is_sync(&update(vec![0, 0])) && !is_awareness(&update(vec![0, 0])));
        assert!(is_awareness_query(&encode(&Message::AwarenessQuery)));
        assert!(!is_awareness_query(&aw));
        assert!(decode_awareness(&[0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn node_notices_round_trip() {
        for n in [NodeNotice::Deleted, NodeNotice::LinksReset(7)] {
            assert_eq!(parse_node_notice(&node_notice(n)), Some(n));
        }
        assert_eq!(parse_node_notice(&update(vec![0, 0])), None);
        assert_eq!(parse_node_notice(&ack(3)), None);
    }
}
