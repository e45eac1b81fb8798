//! The fuzz entry point, shared by the `cargo fuzz` target (`fuzz/`) and
//! the corpus replay test, so both exercise exactly the same code.

use yrs::{ReadTxn, Transact};

use crate::room::{Access, Room};

/// Feeds `data` as a frame from a writer and from a viewer into a room that
/// already holds content, then checks the invariants: no panic (that is the
/// fuzzer's job), a refused frame changes nothing, a viewer never changes
/// the doc, and leaving always works.
pub fn exercise(data: &[u8]) {
    let (mut room, _) = Room::load([seed()]);
    room.join(1);
    room.join(2);
    let before = room.doc().transact().state_vector();
    if room.handle(2, data, &Access::Read).is_ok() {
        assert_eq!(
            room.doc().transact().state_vector(),
            before,
            "a viewer changed the doc"
        );
    }
    match room.handle(1, data, &Access::Write) {
        Ok(_) => {}
        Err(_) if room.is_poisoned() => return,
        Err(_) => assert_eq!(
            room.doc().transact().state_vector(),
            before,
            "a refused frame changed the doc"
        ),
    }
    room.leave(1);
    room.leave(2);
}

fn seed() -> Vec<u8> {
    let doc = yrs::Doc::with_client_id(1);
    let frag = crate::convert::fragment(&doc);
    let mut txn = doc.transact_mut();
    crate::convert::put_markdown(
        &mut txn,
        &frag,
        "# Seed\n\nSome **text**.\n",
        crate::convert::PutMode::Replace,
    );
    txn.encode_update_v1()
}
