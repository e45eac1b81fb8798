//! The fuzz entry points, shared by the `cargo fuzz` targets (`fuzz/`) and
//! the corpus replay tests, so both exercise exactly the same code:
//! [`exercise`] for any frame, [`exercise_comment`] for updates from a
//! comment connection.

use yrs::updates::decoder::Decode;
use yrs::{Map, ReadTxn, Transact};

use crate::room::{Access, Room};

/// Feeds `data` as a frame from a writer and from a viewer into a room that
/// already holds content, then checks the invariants: no panic (that is the
/// fuzzer's job), a refused frame changes nothing, a viewer never changes
/// the doc, and leaving always works.
pub fn exercise(data: &[u8]) {
    let (mut room, _) = Room::load([seed()]);
    room.join(1);
    room.join(2);
    // The whole state, deletions included (a state vector misses those).
    let before = room.snapshot();
    let _ = room.handle(2, data, &Access::Read);
    assert!(room.snapshot() == before, "a viewer changed the doc");
    match room.handle(1, data, &Access::Write) {
        Ok(_) => {}
        Err(_) if room.is_poisoned() => return,
        Err(_) => assert!(room.snapshot() == before, "a refused frame changed the doc"),
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

/// Feeds `data` as one update from a comment connection (sub `carol`)
/// into a room holding a body and threads by alice and carol. Whatever is
/// accepted, nothing outside `comments` changes, alice's messages stay as
/// they were, and yrs does not panic.
pub fn exercise_comment(data: &[u8]) {
    let (mut room, _) = Room::load(comment_seed());
    room.join(1);
    let outside = outside_comments(room.doc());
    let alices = alices_messages(room.doc());
    let access = Access::Comment {
        sub: Some("carol".into()),
    };
    let _ = room.handle(1, &crate::protocol::update(data.to_vec()), &access);
    // yrs panics on some hostile updates (the room then reloads); what a
    // comment connection sends is checked first, and must never get there.
    assert!(!room.is_poisoned(), "a comment update made yrs panic");
    assert_eq!(
        outside_comments(room.doc()),
        outside,
        "comment access changed the document"
    );
    assert_eq!(
        alices_messages(room.doc()),
        alices,
        "comment access changed another's message"
    );
}

/// Updates a comment client could send, for seeding the fuzzer's corpus
/// (`fuzz/corpus/comments`): new threads, replies, resolves, edits and
/// deletes of its own and others' messages, and body edits.
pub fn comment_seeds() -> Vec<Vec<u8>> {
    use crate::comments::{create, reply, set_resolved, threads};
    let (room, _) = Room::load(comment_seed());
    let base = room.snapshot();
    let fork = || {
        let doc = yrs::Doc::new();
        if let Ok(u) = yrs::Update::decode_v1(&base) {
            let _ = doc.transact_mut().apply_update(u);
        }
        doc
    };
    let carol = author("carol");
    let mut out = Vec::new();
    let mut record = |f: &dyn Fn(&yrs::Doc)| {
        let doc = fork();
        let before = doc.transact().state_vector();
        f(&doc);
        out.push(doc.transact().encode_diff_v1(&before));
    };
    record(&|d| drop(create(d, "text", "new thread", &carol, 1.0)));
    record(&|d| {
        let id = threads(d)[0].id.clone();
        drop(reply(d, &id, "a reply", &carol, 1.0));
    });
    record(&|d| {
        let id = threads(d)[0].id.clone();
        drop(set_resolved(d, &id, true, &carol, 1.0));
    });
    record(&|d| {
        let frag = crate::convert::fragment(d);
        let mut txn = d.transact_mut();
        crate::convert::put_markdown(&mut txn, &frag, "changed", crate::convert::PutMode::Append);
    });
    for owner in ["alice", "carol"] {
        record(&|d| {
            let all = threads(d);
            let Some((t, m)) = all
                .iter()
                .find_map(|t| t.messages.iter().find(|m| m.owner == owner).map(|m| (t, m)))
            else {
                return;
            };
            let mut txn = d.transact_mut();
            let Some(yrs::Out::YMap(thread)) = txn
                .get_map(crate::comments::ROOT)
                .and_then(|r| r.get(&txn, &t.id))
            else {
                return;
            };
            if let Some(yrs::Out::YMap(msgs)) = thread.get(&txn, crate::comments::MESSAGES) {
                if let Some(yrs::Out::YMap(msg)) = msgs.get(&txn, &m.id) {
                    msg.insert(&mut txn, "text", "edited");
                }
                msgs.remove(&mut txn, &m.id);
            }
        });
    }
    out
}

fn author(sub: &str) -> crate::comments::Author {
    crate::comments::Author {
        name: sub.into(),
        color: "#000".into(),
        sub: Some(sub.into()),
    }
}

fn comment_seed() -> Vec<Vec<u8>> {
    let doc = yrs::Doc::with_client_id(1);
    if let Ok(u) = yrs::Update::decode_v1(&seed()) {
        let _ = doc.transact_mut().apply_update(u);
    }
    let alice = author("alice");
    let _ = crate::comments::create(&doc, "Some", "alice's", &alice, 1.0);
    let _ = crate::comments::create(&doc, "Seed", "carol's", &author("carol"), 2.0);
    let all = doc
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    vec![all]
}

/// Everything outside `comments` as the document would sync it: roots
/// that hold something (yrs may register an empty root while reading an
/// update it then skips; that syncs nowhere and changes nothing).
fn outside_comments(doc: &yrs::Doc) -> String {
    use yrs::types::ToJson;
    use yrs::GetString;
    let state = doc
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    let copy = yrs::Doc::new();
    if let Ok(u) = yrs::Update::decode_v1(&state) {
        let _ = copy.transact_mut().apply_update(u);
    }
    let txn = copy.transact();
    let mut parts: Vec<String> = txn
        .root_refs()
        .filter(|(name, _)| *name != crate::comments::ROOT)
        .map(|(name, v)| {
            let shown = match v {
                yrs::Out::YXmlFragment(f) => f.get_string(&txn),
                yrs::Out::YMap(m) => format!("{:?}", m.to_json(&txn)),
                yrs::Out::YText(t) => t.get_string(&txn),
                yrs::Out::YArray(a) => format!("{:?}", a.to_json(&txn)),
                other => format!("{other:?}"),
            };
            format!("{name}={shown}")
        })
        .filter(|p| !p.ends_with('=') && !p.ends_with("={}") && !p.ends_with("=[]"))
        .collect();
    parts.sort();
    parts.join("\n")
}

fn alices_messages(doc: &yrs::Doc) -> Vec<(String, String)> {
    crate::comments::threads(doc)
        .into_iter()
        .flat_map(|t| t.messages)
        .filter(|m| m.owner == "alice")
        .map(|m| (m.id, m.text))
        .collect()
}
