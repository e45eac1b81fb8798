use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, Assoc, Doc, GetString, IndexedSequence, Map, MapPrelim, Out, ReadTxn, StateVector,
    Text, Transact, Update, WriteTxn, XmlFragment, XmlTextPrelim,
};

use super::access::{check, Refusal};
use super::*;
use crate::convert::{self, PutMode};
use crate::protocol;
use crate::room::{Access, Room};

fn author(sub: &str) -> Author {
    Author {
        name: sub.to_uppercase(),
        color: "#123456".into(),
        sub: Some(sub.into()),
    }
}

/// A client doc that has everything `server` has.
fn client_of(server: &Doc) -> Doc {
    let doc = Doc::new();
    let all = server
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    doc.transact_mut()
        .apply_update(Update::decode_v1(&all).unwrap())
        .unwrap();
    doc
}

/// What `f` changes in `doc`, as a stock client would send it: a diff
/// against the state before, carrying the doc's whole delete set.
fn change(doc: &Doc, f: impl FnOnce(&Doc)) -> Vec<u8> {
    let before = doc.transact().state_vector();
    f(doc);
    doc.transact().encode_diff_v1(&before)
}

fn apply(doc: &Doc, update: &[u8]) {
    doc.transact_mut()
        .apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
}

/// A server doc with a body, a thread by alice with a reply by bob.
fn setup() -> (Doc, String) {
    let server = Doc::new();
    let frag = convert::fragment(&server);
    convert::put_markdown(
        &mut server.transact_mut(),
        &frag,
        "Hello brave new world\n\nSecond paragraph",
        PutMode::Replace,
    );
    let id = create(&server, "brave new", "Why brave?", &author("alice"), 1.0).unwrap();
    reply(&server, &id, "Because.", &author("bob"), 2.0).unwrap();
    (server, id)
}

fn body(doc: &Doc) -> String {
    convert::to_markdown(doc)
}

fn message_key(doc: &Doc, thread: &str, owner: &str) -> String {
    threads(doc)
        .into_iter()
        .find(|t| t.id == thread)
        .unwrap()
        .messages
        .into_iter()
        .find(|m| m.owner == owner)
        .unwrap()
        .id
}

fn messages_of(txn: &impl ReadTxn, thread: &str) -> MapRef {
    let Some(Out::YMap(t)) = txn.get_map(ROOT).unwrap().get(txn, thread) else {
        panic!("no thread")
    };
    let Some(Out::YMap(m)) = t.get(txn, MESSAGES) else {
        panic!("no messages")
    };
    m
}

#[test]
fn threads_read_back_in_order_with_their_anchor() {
    let (server, id) = setup();
    let later = create(&server, "Second", "Another", &author("bob"), 3.0).unwrap();
    let all = threads(&server);
    assert_eq!(all.iter().map(|t| &t.id).collect::<Vec<_>>(), [&id, &later]);
    let t = &all[0];
    assert_eq!(t.quote, "brave new");
    assert_eq!(t.anchored, "brave new");
    assert_eq!(t.owner, "alice");
    assert_eq!(t.at, Some(7)); // "\n" for the paragraph, then "Hello "
    assert!(!t.detached && !t.resolved);
    let texts: Vec<_> = t.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Why brave?", "Because."]);
    assert_eq!(t.messages[1].owner, "bob");
}

#[test]
fn an_anchor_may_span_paragraphs() {
    let (server, _) = setup();
    let frag = convert::fragment(&server);
    let (start, end) = {
        let txn = server.transact();
        let text_of = |i: u32| match frag.get(&txn, i) {
            Some(yrs::XmlOut::Element(p)) => match p.get(&txn, 0) {
                Some(yrs::XmlOut::Text(t)) => t,
                _ => panic!(),
            },
            _ => panic!(),
        };
        (
            text_of(0).sticky_index(&txn, 16, Assoc::After).unwrap(),
            text_of(1).sticky_index(&txn, 6, Assoc::Before).unwrap(),
        )
    };
    {
        let mut txn = server.transact_mut();
        let t = txn.get_or_insert_map(ROOT).insert(
            &mut txn,
            "bob:span",
            MapPrelim::from([
                ("start", Any::Buffer(start.encode_v1().into())),
                ("end", Any::Buffer(end.encode_v1().into())),
                ("quote", Any::from("world Second")),
            ]),
        );
        t.insert(&mut txn, MESSAGES, MapPrelim::default());
    }
    let t = threads(&server)
        .into_iter()
        .find(|t| t.id == "bob:span")
        .unwrap();
    assert_eq!(t.anchored, "world\nSecond");
    assert!(!t.detached);
    let md = export::markdown(&server);
    assert!(md.contains("Second[^c2] paragraph"), "{md}");
    let html = export::html(&server);
    assert!(
        html.contains(
            "Second<sup id=\"comment-ref-2\"><a href=\"#comment-2\">2</a></sup> paragraph"
        ),
        "{html}"
    );
}

#[test]
fn anchor_follows_edits_and_detaches_when_its_text_goes() {
    let (server, id) = setup();
    let frag = convert::fragment(&server);
    {
        let mut txn = server.transact_mut();
        let Some(yrs::XmlOut::Element(p)) = frag.get(&txn, 0) else {
            panic!()
        };
        let Some(yrs::XmlOut::Text(t)) = p.get(&txn, 0) else {
            panic!()
        };
        t.insert(&mut txn, 0, "Oh, ");
        t.insert(&mut txn, 16, "very "); // inside: "Oh, Hello brave |new"
    }
    let t = &threads(&server)[0];
    assert_eq!(t.anchored, "brave very new");
    assert_eq!(t.at, Some(11));
    {
        let mut txn = server.transact_mut();
        let Some(yrs::XmlOut::Element(p)) = frag.get(&txn, 0) else {
            panic!()
        };
        let Some(yrs::XmlOut::Text(t)) = p.get(&txn, 0) else {
            panic!()
        };
        t.remove_range(&mut txn, 10, 14);
    }
    let t = threads(&server).into_iter().find(|t| t.id == id).unwrap();
    assert!(t.detached, "{t:?}");
    assert_eq!(t.messages.len(), 2, "a detached thread keeps its messages");
}

#[test]
fn resolve_and_reopen_by_anyone() {
    let (server, id) = setup();
    let carol = client_of(&server);
    let u = change(&carol, |d| {
        set_resolved(d, &id, true, &author("carol"), 5.0).unwrap()
    });
    assert_eq!(check(&server, &u, Some("carol")), Ok(()));
    apply(&server, &u);
    assert!(threads(&server)[0].resolved);
    set_resolved(&server, &id, false, &author("alice"), 6.0).unwrap();
    assert!(!threads(&server)[0].resolved);
}

#[test]
fn a_commenter_may_add_threads_and_replies() {
    let (server, id) = setup();
    let carol = client_of(&server);
    let u = change(&carol, |d| {
        create(d, "Second", "A thought", &author("carol"), 9.0).unwrap();
        reply(d, &id, "Me too", &author("carol"), 9.0).unwrap();
    });
    assert_eq!(check(&server, &u, Some("carol")), Ok(()));
    // A token without a sub is checked for the root only.
    assert_eq!(check(&server, &u, None), Ok(()));
}

#[test]
fn a_commenter_may_edit_and_delete_only_their_own_messages() {
    let (server, id) = setup();
    let bob_key = message_key(&server, &id, "bob");
    let alice_key = message_key(&server, &id, "alice");
    let bob = client_of(&server);
    let edit = |key: &str| {
        change(&bob, |d| {
            let mut txn = d.transact_mut();
            let Some(Out::YMap(m)) = messages_of(&txn, &id).get(&txn, key) else {
                panic!()
            };
            m.insert(&mut txn, "text", "edited");
            m.insert(&mut txn, "edited", 3.0);
        })
    };
    assert_eq!(check(&server, &edit(&bob_key), Some("bob")), Ok(()));
    let bob = client_of(&server);
    let u = change(&bob, |d| {
        let mut txn = d.transact_mut();
        let Some(Out::YMap(m)) = messages_of(&txn, &id).get(&txn, &alice_key) else {
            panic!()
        };
        m.insert(&mut txn, "text", "alice never said this");
    });
    assert_eq!(check(&server, &u, Some("bob")), Err(Refusal::NotYours));
    for key in [&alice_key, &bob_key] {
        let bob = client_of(&server);
        let u = change(&bob, |d| {
            let mut txn = d.transact_mut();
            messages_of(&txn, &id).remove(&mut txn, key);
        });
        let want = if key == &bob_key {
            Ok(())
        } else {
            Err(Refusal::NotYours)
        };
        assert_eq!(check(&server, &u, Some("bob")), want, "deleting {key}");
    }
}

#[test]
fn a_commenter_cannot_forge_owners_or_take_threads_over() {
    let (server, id) = setup();
    let carol = client_of(&server);
    // A thread keyed as alice's.
    let forged = change(&carol, |d| {
        let mut a = author("alice");
        a.name = "Carol".into();
        create(d, "Second", "I am alice", &a, 4.0).unwrap();
    });
    assert_eq!(
        check(&server, &forged, Some("carol")),
        Err(Refusal::NotYours)
    );
    // Overwriting alice's thread with one of carol's own.
    let carol = client_of(&server);
    let over = change(&carol, |d| {
        let mut txn = d.transact_mut();
        txn.get_or_insert_map(ROOT)
            .insert(&mut txn, id.as_str(), MapPrelim::default());
    });
    assert_eq!(check(&server, &over, Some("carol")), Err(Refusal::NotYours));
    // Moving alice's anchor.
    let carol = client_of(&server);
    let moved = change(&carol, |d| {
        let mut txn = d.transact_mut();
        let Some(Out::YMap(t)) = txn.get_map(ROOT).unwrap().get(&txn, &id) else {
            panic!()
        };
        t.insert(&mut txn, "quote", "something else");
    });
    assert_eq!(
        check(&server, &moved, Some("carol")),
        Err(Refusal::NotYours)
    );
    assert_eq!(check(&server, &moved, Some("alice")), Ok(()));
}

#[test]
fn a_commenter_cannot_touch_the_body() {
    let (server, _) = setup();
    let carol = client_of(&server);
    let typed = change(&carol, |d| {
        let frag = convert::fragment(d);
        let mut txn = d.transact_mut();
        frag.insert(&mut txn, 0, XmlTextPrelim::new("sneaky"));
    });
    assert_eq!(
        check(&server, &typed, Some("carol")),
        Err(Refusal::OutsideComments)
    );
    assert_eq!(check(&server, &typed, None), Err(Refusal::OutsideComments));
    let carol = client_of(&server);
    let cut = change(&carol, |d| {
        let frag = convert::fragment(d);
        let mut txn = d.transact_mut();
        frag.remove_range(&mut txn, 0, 1);
    });
    assert_eq!(
        check(&server, &cut, Some("carol")),
        Err(Refusal::OutsideComments)
    );
    let carol = client_of(&server);
    let title = change(&carol, |d| {
        crate::title::set(&mut d.transact_mut(), "New title");
    });
    assert_eq!(
        check(&server, &title, Some("carol")),
        Err(Refusal::OutsideComments)
    );
}

#[test]
fn a_full_state_step2_from_a_commenter_passes() {
    // A stock client's sync step 2 is its whole state against the server's
    // vector, with every deletion it knows, body deletions included.
    let (server, _) = setup();
    let frag = convert::fragment(&server);
    frag.remove_range(&mut server.transact_mut(), 1, 1);
    let carol = client_of(&server);
    create(&carol, "Hello", "Hi", &author("carol"), 7.0).unwrap();
    let step2 = carol
        .transact()
        .encode_diff_v1(&server.transact().state_vector());
    assert_eq!(check(&server, &step2, Some("carol")), Ok(()));
}

#[test]
fn resent_body_structs_do_not_cover_body_deletions() {
    // A whole-state update carries every struct the server has already;
    // its deletions of body text are still deletions of body text.
    let (server, _) = setup();
    let carol = client_of(&server);
    let frag = convert::fragment(&carol);
    frag.remove_range(&mut carol.transact_mut(), 0, 1);
    create(&carol, "Second", "hi", &author("carol"), 3.0).unwrap();
    let everything = carol
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    assert_eq!(
        check(&server, &everything, Some("carol")),
        Err(Refusal::OutsideComments)
    );
}

#[test]
fn a_struct_partly_here_lands_where_the_document_says() {
    // Alice (client 77) last wrote her message's text. A struct under her
    // client id that starts at her last clock and names a root key of
    // carol's as its parent: yrs would integrate its new part right after
    // alice's text, as the new value of her message's `text`.
    let (server, _) = setup();
    let alice = Doc::with_client_id(77);
    apply(
        &alice,
        &server
            .transact()
            .encode_state_as_update_v1(&StateVector::default()),
    );
    let id = threads(&alice)[0].id.clone();
    let key = message_key(&alice, &id, "alice");
    let u = change(&alice, |d| {
        let mut txn = d.transact_mut();
        let Some(Out::YMap(m)) = messages_of(&txn, &id).get(&txn, &key) else {
            panic!()
        };
        m.insert(&mut txn, "text", "by alice");
    });
    apply(&server, &u);
    let have = server
        .transact()
        .state_vector()
        .get(&yrs::block::ClientID::new(77));
    let varint = |mut n: u32, out: &mut Vec<u8>| loop {
        if n < 0x80 {
            out.push(n as u8);
            break;
        }
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    };
    let mut forged = vec![1, 1, 77];
    varint(have - 1, &mut forged);
    // A string item, no origins, a parent sub: parent is the root `comments`.
    forged.push(4 | 0x20);
    forged.push(1);
    for s in ["comments", "carol:x", "ab"] {
        varint(s.len() as u32, &mut forged);
        forged.extend_from_slice(s.as_bytes());
    }
    forged.push(0); // no deletions
    assert_eq!(
        check(&server, &forged, Some("carol")),
        Err(Refusal::NotYours)
    );
    assert_eq!(check(&server, &forged, Some("alice")), Ok(()));
}

#[test]
fn a_commenter_cannot_take_a_writers_client_id() {
    let (server, _) = setup();
    // An update under the server doc's own client id, whose last change was
    // a comment... is fine; under the id that wrote the body, it is not.
    let writer = Doc::with_client_id(server.client_id().get() + 1);
    let w = change(&writer, |d| {
        let frag = convert::fragment(d);
        frag.insert(&mut d.transact_mut(), 0, XmlTextPrelim::new("w"));
    });
    apply(&server, &w);
    let thief = Doc::with_client_id(writer.client_id().get());
    apply(
        &thief,
        &server
            .transact()
            .encode_state_as_update_v1(&StateVector::default()),
    );
    let u = change(&thief, |d| {
        create(d, "Hello", "mine", &author("carol"), 8.0).unwrap();
    });
    assert_eq!(
        check(&server, &u, Some("carol")),
        Err(Refusal::ForeignClient)
    );
}

/// The room path: a comment connection's body edit gets permission-denied
/// and leaves the doc as it was; its comment is applied and broadcast.
#[test]
fn room_refuses_body_changes_from_comment_access() {
    let (server, _) = setup();
    let all = server
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let (mut room, _) = Room::load([all]);
    let access = Access::Comment {
        sub: Some(Arc::from("carol")),
    };
    let carol = client_of(room.doc());
    let typed = change(&carol, |d| {
        let frag = convert::fragment(d);
        frag.insert(&mut d.transact_mut(), 0, XmlTextPrelim::new("x"));
    });
    let before = body(room.doc());
    let fx = room.handle(1, &protocol::update(typed), &access).unwrap();
    assert!(fx.updates.is_empty() && fx.broadcast.is_empty());
    assert_eq!(fx.reply.len(), 1);
    assert_eq!(body(room.doc()), before);
    let carol = client_of(room.doc());
    let comment = change(&carol, |d| {
        create(d, "Second", "ok", &author("carol"), 1.0).unwrap();
    });
    let fx = room.handle(1, &protocol::update(comment), &access).unwrap();
    assert_eq!((fx.updates.len(), fx.broadcast.len()), (1, 1));
    assert_eq!(threads(room.doc()).len(), 2);
}

/// Random edits from comment clients, anywhere in the document, and random
/// bytes: whatever the room accepts, the body and title never change.
#[test]
fn random_updates_from_comment_access_never_change_the_body() {
    const ROUNDS: u64 = 40;
    const UPDATES: usize = 60;
    let mut accepted = 0;
    for seed in 0..ROUNDS {
        let mut rng = StdRng::seed_from_u64(seed);
        let (server, _) = setup();
        let all = server
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let (mut room, _) = Room::load([all]);
        let before = outside_comments(room.doc());
        for _ in 0..UPDATES {
            let subs = ["carol", "alice", "bob"];
            let sub = subs[rng.random_range(0..subs.len())];
            let client = client_of(room.doc());
            let update = change(&client, |d| random_edit(d, &mut rng, sub));
            let update = if rng.random_bool(0.1) {
                mangle(update, &mut rng)
            } else {
                update
            };
            let access = Access::Comment {
                sub: rng.random_bool(0.8).then(|| Arc::from("carol")),
            };
            if let Ok(fx) = room.handle(1, &protocol::update(update), &access) {
                accepted += fx.updates.len();
            }
            assert_eq!(outside_comments(room.doc()), before, "seed {seed}");
        }
    }
    // The check must not simply refuse everything.
    assert!(accepted > 200, "only {accepted} accepted");
}

/// Everything but `comments`, as JSON.
fn outside_comments(doc: &Doc) -> String {
    let txn = doc.transact();
    let mut parts: Vec<String> = txn
        .root_refs()
        .filter(|(name, _)| *name != ROOT)
        .map(|(name, v)| format!("{name}={}", out_string(&txn, v)))
        .collect();
    parts.sort();
    parts.join("\n")
}

fn out_string<T: ReadTxn>(txn: &T, v: Out) -> String {
    match v {
        Out::YXmlFragment(f) => f.get_string(txn),
        Out::YMap(m) => format!("{:?}", m.to_json(txn)),
        Out::YText(t) => t.get_string(txn),
        Out::YArray(a) => format!("{:?}", a.to_json(txn)),
        other => format!("{other:?}"),
    }
}

fn random_edit(d: &Doc, rng: &mut StdRng, sub: &str) {
    let ids: Vec<String> = threads(d).into_iter().map(|t| t.id).collect();
    let pick = |rng: &mut StdRng| ids.get(rng.random_range(0..ids.len().max(1))).cloned();
    match rng.random_range(0..9) {
        0 => {
            let _ = create(d, "new", "t", &author(sub), 1.0);
        }
        1 => {
            if let Some(id) = pick(rng) {
                let _ = reply(d, &id, "r", &author(sub), 1.0);
            }
        }
        2 => {
            if let Some(id) = pick(rng) {
                let _ = set_resolved(d, &id, rng.random_bool(0.5), &author(sub), 1.0);
            }
        }
        3 => {
            // Delete a random message or thread.
            let all = threads(d);
            let mut txn = d.transact_mut();
            if let Some(t) = all.first() {
                if rng.random_bool(0.5) {
                    txn.get_or_insert_map(ROOT).remove(&mut txn, &t.id);
                } else if let Some(m) = t.messages.first() {
                    messages_of(&txn, &t.id).remove(&mut txn, &m.id);
                }
            }
        }
        4 => {
            let frag = convert::fragment(d);
            let mut txn = d.transact_mut();
            let n = frag.len(&txn);
            frag.remove_range(&mut txn, rng.random_range(0..n), 1);
        }
        5 => {
            let frag = convert::fragment(d);
            frag.insert(&mut d.transact_mut(), 0, XmlTextPrelim::new("x"));
        }
        6 => crate::title::set(&mut d.transact_mut(), "t"),
        7 => {
            // A plain value, or a nested array, somewhere under the root.
            let mut txn = d.transact_mut();
            let root = txn.get_or_insert_map(ROOT);
            if rng.random_bool(0.5) {
                root.insert(&mut txn, format!("{sub}:x"), Any::from("v"));
            } else if let Some(Out::YMap(t)) = pick(rng).and_then(|id| root.get(&txn, &id)) {
                let a = t.insert(&mut txn, "extra", yrs::ArrayPrelim::default());
                a.push_back(&mut txn, Any::from(1.0));
            }
        }
        _ => {
            // Edit the first message, whoever owns it.
            let all = threads(d);
            if let Some((t, m)) = all
                .first()
                .and_then(|t| t.messages.first().map(|m| (t.id.clone(), m.id.clone())))
            {
                let mut txn = d.transact_mut();
                if let Some(Out::YMap(msg)) = messages_of(&txn, &t).get(&txn, &m) {
                    msg.insert(&mut txn, "text", "changed");
                }
            }
        }
    }
}

/// Flips a few bytes: most become unreadable, some decode to odd updates.
fn mangle(mut update: Vec<u8>, rng: &mut StdRng) -> Vec<u8> {
    for _ in 0..rng.random_range(1..4) {
        if update.is_empty() {
            break;
        }
        let i = rng.random_range(0..update.len());
        update[i] = rng.random();
    }
    update
}

#[test]
fn exports_put_threads_at_their_anchors() {
    let (server, id) = setup();
    let md = export::markdown(&server);
    assert!(
        md.starts_with("Hello brave new[^c1] world\n\nSecond paragraph\n"),
        "{md}"
    );
    assert!(
        md.ends_with("[^c1]: **ALICE**: Why brave? — **BOB**: Because.\n"),
        "{md}"
    );
    set_resolved(&server, &id, true, &author("bob"), 3.0).unwrap();
    let html = export::html(&server);
    assert!(
        html.contains(
            "Hello <mark id=\"comment-ref-1\"><a href=\"#comment-1\">brave new</a></mark> world"
        ),
        "{html}"
    );
    assert!(
        html.contains("<aside id=\"comment-1\" class=\"comment resolved\"><blockquote>brave new</blockquote><p><strong>ALICE</strong> Why brave?</p>"),
        "{html}"
    );
    // The document itself is untouched.
    assert_eq!(body(&server), "Hello brave new world\n\nSecond paragraph\n");
}

/// An anchor whose bytes name a client id over 53 bits (yrs asserts on
/// those while decoding) reads as a detached thread, not a panic. The
/// randomized test below found it with a mangled update.
#[test]
fn an_anchor_with_an_impossible_client_id_reads_as_detached() {
    let (server, id) = setup();
    // IndexScope::Relative (0), client 2^60 as a varint, clock 0, assoc 0.
    let mut bad = vec![0u8];
    let mut client: u64 = 1 << 60;
    while client >= 0x80 {
        bad.push((client as u8) | 0x80);
        client >>= 7;
    }
    bad.push(client as u8);
    bad.extend([0, 0]);
    {
        let mut txn = server.transact_mut();
        let Some(Out::YMap(t)) = txn.get_map(ROOT).unwrap().get(&txn, &id) else {
            panic!("no thread")
        };
        t.insert(&mut txn, "start", Any::Buffer(bad.clone().into()));
    }
    let all = threads(&server);
    let t = all.iter().find(|t| t.id == id).unwrap();
    assert_eq!(t.at, None);
    assert!(t.detached);
    assert_eq!(t.messages.len(), 2);
}
