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
