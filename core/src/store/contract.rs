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
