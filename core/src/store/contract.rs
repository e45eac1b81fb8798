//! What every [`Store`](super::Store) must do, as checks each store's tests
//! run (PostgreSQL's are in the server crate). Apart from the types they
//! check, so the store's modules never import their own tests.

use bytes::Bytes;

use super::versions::{NewVersion, VersionKind, VersionMeta};
use crate::doc_id::DocId;

/// What every store must do with versions; run by each store's tests
/// (PostgreSQL's are in the server crate). Panics on a failure.
#[doc(hidden)]
pub async fn versions(store: &dyn super::Store) {
    use super::{index, queue::Write};
    let doc = DocId::new("versioned").unwrap();
    let other = DocId::new("other").unwrap();
    let made = |id: &str, kind, at, state: &'static [u8]| NewVersion {
        doc: doc.clone(),
        meta: VersionMeta {
            id: id.into(),
            kind,
            name: (kind == VersionKind::Named).then(|| "v1".to_owned()),
            created_at: at,
            authors: vec!["ann".into(), "bob".into()],
            size: 0,
        },
        state: Bytes::from_static(state),
    };
    for v in [
        made("000000000001aaaaaa", VersionKind::Named, 1, b"one"),
        made("000000000002aaaaaa", VersionKind::Auto, 2, b"two!"),
        made("000000000003aaaaaa", VersionKind::PreRestore, 3, b"three"),
    ] {
        index(store, Write::Version(Box::new(v))).await.unwrap();
    }
    let list = store.versions(&doc).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "000000000003aaaaaa",
            "000000000002aaaaaa",
            "000000000001aaaaaa"
        ],
        "newest first"
    );
    assert_eq!(list[1].size, 4, "the size is the state's");
    assert_eq!(list[2].authors, ["ann", "bob"]);
    assert_eq!(
        (list[2].kind, list[2].name.as_deref()),
        (VersionKind::Named, Some("v1"))
    );
    let (meta, state) = store
        .version(&doc, "000000000002aaaaaa")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((meta.kind, &state[..]), (VersionKind::Auto, &b"two!"[..]));
    assert!(store
        .version(&doc, "000000000009aaaaaa")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .version(&other, "000000000002aaaaaa")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.docs_with_auto_versions().await.unwrap(),
        std::slice::from_ref(&doc)
    );
    // Naming an automatic version keeps it from thinning.
    let named = Write::NameVersion(doc.clone(), "000000000002aaaaaa".into(), "Kept".into());
    index(store, named).await.unwrap();
    assert!(store.docs_with_auto_versions().await.unwrap().is_empty());
    let drop = Write::DropVersions(doc.clone(), vec!["000000000001aaaaaa".into()]);
    index(store, drop).await.unwrap();
    assert_eq!(store.versions(&doc).await.unwrap().len(), 2);
    index(store, Write::Purge(doc.clone())).await.unwrap();
    assert!(
        store.versions(&doc).await.unwrap().is_empty(),
        "purged with the doc"
    );
}

/// What every store must do with blobs. Panics on a failure. It is long:
/// one story (upload, share, abandon, purge), each step checked.
#[doc(hidden)]
pub async fn blobs(store: &dyn super::Store) {
    use super::blobs::{upload_key, BlobMeta, NewBlob};
    use super::{index, queue::Write};
    let (a, b) = (
        DocId::new("pictures").unwrap(),
        DocId::new("other").unwrap(),
    );
    let hash = "ab".repeat(32);
    let meta = |at| BlobMeta {
        hash: hash.clone(),
        size: 7,
        kind: "image/png".into(),
        created_at: at,
    };
    // An upload in two parts, committed for `a`.
    let upload = upload_key(1);
    for (n, part) in [&b"abcd"[..], b"efg"].into_iter().enumerate() {
        let write = Write::BlobPart(upload.clone(), n as u32, Bytes::from_static(part));
        index(store, write).await.unwrap();
    }
    assert!(
        store.blob(&a, &hash).await.unwrap().is_none(),
        "not before its commit"
    );
    let commit = |doc: &DocId, upload: &str, at| {
        Write::BlobCommit(Box::new(NewBlob {
            upload: upload.to_owned(),
            doc: doc.clone(),
            meta: meta(at),
        }))
    };
    index(store, commit(&a, &upload, 10)).await.unwrap();
    assert_eq!(store.blob(&a, &hash).await.unwrap(), Some(meta(10)));
    assert!(
        store.blob(&b, &hash).await.unwrap().is_none(),
        "only the uploader's"
    );
    let parts = [0, 1, 2].map(|n| store.blob_part(&hash, n));
    let [p0, p1, p2] = parts;
    assert_eq!(p0.await.unwrap().as_deref(), Some(&b"abcd"[..]));
    assert_eq!(p1.await.unwrap().as_deref(), Some(&b"efg"[..]));
    assert_eq!(p2.await.unwrap(), None);
    assert!(
        store.blob_part(&upload, 0).await.unwrap().is_none(),
        "renamed"
    );

    // The same bytes from `b`: one copy, both documents have it.
    let again = upload_key(2);
    let write = Write::BlobPart(again.clone(), 0, Bytes::from_static(b"abcdefg"));
    index(store, write).await.unwrap();
    index(store, commit(&b, &again, 20)).await.unwrap();
    assert_eq!(store.blob(&b, &hash).await.unwrap(), Some(meta(20)));
    assert_eq!(
        store.blob_part(&hash, 1).await.unwrap().as_deref(),
        Some(&b"efg"[..])
    );
    assert!(
        store.blob_part(&again, 0).await.unwrap().is_none(),
        "dropped"
    );
    assert_eq!(store.blob_usage(&a).await.unwrap(), 7);
    assert_eq!(
        store
            .blob_usage(&DocId::new("none").unwrap())
            .await
            .unwrap(),
        0
    );

    // An abandoned upload leaves nothing.
    let gone = upload_key(3);
    let write = Write::BlobPart(gone.clone(), 0, Bytes::from_static(b"x"));
    index(store, write).await.unwrap();
    index(store, Write::BlobAbort(gone.clone())).await.unwrap();
    assert!(store.blob_part(&gone, 0).await.unwrap().is_none());

    // A purged document no longer has its blobs.
    index(store, Write::Purge(a.clone())).await.unwrap();
    assert!(store.blob(&a, &hash).await.unwrap().is_none());
    assert_eq!(store.blob_usage(&a).await.unwrap(), 0);
    assert!(store.blob(&b, &hash).await.unwrap().is_some());
}

/// What collecting blobs does on every store, with the clock moved by
/// hand. Panics on a failure. It is long: one story, each pass checked.
#[doc(hidden)]
pub async fn blob_collection(store: &dyn super::Store) {
    use super::blob_collection::{collect, Collected};
    use super::blobs::{upload_key, BlobMeta, NewBlob};
    use super::{append, compact, index, queue::Write};
    let (t0, grace) = (1_000_000_i64, 100);
    let (d, e) = (DocId::new("d").unwrap(), DocId::new("e").unwrap());
    let [a, b, c, orphan] = ["aa", "bb", "cc", "dd"].map(|x| x.repeat(32));
    let put = async |doc: &DocId, hash: &str, key: String| {
        let part = Write::BlobPart(key.clone(), 0, Bytes::from(hash.to_owned()));
        index(store, part).await.unwrap();
        let meta = BlobMeta {
            hash: hash.to_owned(),
            size: 64,
            kind: "image/png".into(),
            created_at: t0,
        };
        let new = NewBlob {
            upload: key,
            doc: doc.clone(),
            meta,
        };
        index(store, Write::BlobCommit(Box::new(new)))
            .await
            .unwrap();
    };
    for (doc, hash) in [(&d, &a), (&d, &b), (&d, &c), (&e, &c), (&d, &orphan)] {
        put(doc, hash, upload_key(t0)).await;
    }
    // `a` in d's content, `b` only in a version of d, `c` in e's content,
    // each as an editor writes an image: its address in one attribute.
    let (d_doc, e_doc) = (yrs::Doc::new(), yrs::Doc::new());
    for (store_doc, ydoc, hash) in [(&d, &d_doc, &a), (&e, &e_doc, &c)] {
        let update = image(ydoc, hash);
        append(store, store_doc, Bytes::from(update)).await.unwrap();
    }
    let version = NewVersion {
        doc: d.clone(),
        meta: VersionMeta {
            id: "000000000001aaaaaa".into(),
            kind: VersionKind::Named,
            name: Some("with b".into()),
            created_at: t0,
            authors: vec![],
            size: 0,
        },
        state: Bytes::from(format!("old {b} state")),
    };
    index(store, Write::Version(Box::new(version)))
        .await
        .unwrap();
    // Uploads broken off long ago and just now.
    let (stale, fresh) = (upload_key(t0), upload_key(t0 + 150));
    for key in [&stale, &fresh] {
        let part = Write::BlobPart(key.clone(), 0, Bytes::from_static(b"x"));
        index(store, part).await.unwrap();
    }
    let has = async |doc: &DocId, hash: &str| store.blob(doc, hash).await.unwrap().is_some();
    let stored = async |key: &str| store.blob_part(key, 0).await.unwrap().is_some();

    // Within the grace nothing is touched.
    let pass = collect(store, t0 + 50, grace).await.unwrap();
    assert_eq!(pass, Collected::default());
    assert!(has(&d, &orphan).await && stored(&orphan).await);

    // Past it: what is named stays; d forgets `c` and the orphan; the
    // orphan and the stale upload are deleted, `c` stays for e.
    let pass = collect(store, t0 + 150, grace).await.unwrap();
    assert_eq!((pass.kept, pass.forgotten), (3, 2), "{pass:?}");
    assert!(has(&d, &a).await && has(&d, &b).await && has(&e, &c).await);
    assert!(!has(&d, &c).await && !has(&d, &orphan).await);
    assert!(stored(&a).await && stored(&b).await && stored(&c).await);
    assert!(!stored(&orphan).await, "the orphan is deleted");
    assert!(!stored(&stale).await && stored(&fresh).await);

    // `a` leaves d's content. While the deletion is only in the log, the
    // insertion before it still names `a`; once compacted, nothing does,
    // and `a` goes a grace period after it was last seen. `b` stays with
    // its version.
    let removal = remove_images(&d_doc);
    append(store, &d, Bytes::from(removal)).await.unwrap();
    let pass = collect(store, t0 + 260, grace).await.unwrap();
    assert_eq!((pass.kept, pass.forgotten), (3, 0), "{pass:?}");
    let snapshot = yrs::ReadTxn::encode_state_as_update_v1(
        &yrs::Transact::transact(&d_doc),
        &yrs::StateVector::default(),
    );
    compact(store, &d, Bytes::from(snapshot)).await.unwrap();
    let pass = collect(store, t0 + 300, grace).await.unwrap();
    assert_eq!(pass, Collected::default(), "seen at t0 + 260");
    let pass = collect(store, t0 + 370, grace).await.unwrap();
    assert_eq!((pass.kept, pass.forgotten), (2, 1), "{pass:?}");
    assert!(!has(&d, &a).await && !stored(&a).await);
    assert!(has(&d, &b).await && stored(&b).await);

    // Uploaded again after all that: a fresh blob, readable.
    put(&d, &a, upload_key(t0 + 400)).await;
    assert!(has(&d, &a).await && stored(&a).await);
}

/// Inserts an image node whose `src` names `hash`; the update.
fn image(doc: &yrs::Doc, hash: &str) -> Vec<u8> {
    use yrs::{Transact, WriteTxn, Xml, XmlElementPrelim, XmlFragment};
    let mut txn = doc.transact_mut();
    let body = txn.get_or_insert_xml_fragment("default");
    let img = body.push_back(&mut txn, XmlElementPrelim::empty("image"));
    img.insert_attribute(&mut txn, "src", format!("/api/v1/docs/d/blobs/{hash}"));
    txn.encode_update_v1()
}

/// Deletes every node of the body; the update.
fn remove_images(doc: &yrs::Doc) -> Vec<u8> {
    use yrs::{Transact, WriteTxn, XmlFragment};
    let mut txn = doc.transact_mut();
    let body = txn.get_or_insert_xml_fragment("default");
    let len = body.len(&txn);
    body.remove_range(&mut txn, 0, len);
    txn.encode_update_v1()
}
