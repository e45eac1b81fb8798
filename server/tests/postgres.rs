//! The PostgreSQL store against a real PostgreSQL server.

use bytes::Bytes;
use weft_core::doc_id::DocId;
use weft_core::store::{self, Store};
use weft_e2e::services::Postgres;
use weft_server::store::postgres::PgStore;
use yrs::updates::decoder::Decode;
use yrs::{GetString, Text, Transact, Update};

fn id(s: &str) -> DocId {
    DocId::new(s).unwrap()
}

/// An update inserting `s` at the start, from its own client.
fn edit(client: u64, s: &str) -> Bytes {
    let doc = yrs::Doc::with_client_id(client);
    let t = doc.get_or_insert_text("t");
    let mut txn = doc.transact_mut();
    t.insert(&mut txn, 0, s);
    Bytes::from(txn.encode_update_v1())
}

fn text_of(updates: &[Bytes]) -> String {
    let doc = yrs::Doc::new();
    let t = doc.get_or_insert_text("t");
    {
        let mut txn = doc.transact_mut();
        for u in updates {
            txn.apply_update(Update::decode_v1(u).unwrap()).unwrap();
        }
    }
    let s = t.get_string(&doc.transact());
    s
}

#[tokio::test]
async fn keeps_the_store_contract() -> anyhow::Result<()> {
    let pg = Postgres::start().await?;
    let s = PgStore::open(&pg.url()).await?;
    let d = id("doc");
    store::append(&s, &d, edit(1, "a")).await?;
    store::append(&s, &d, edit(2, "b")).await?;
    store::append(&s, &id("other"), edit(3, "x")).await?;
    let got = s.load(&d).await?;
    assert_eq!(got.updates, vec![edit(1, "a"), edit(2, "b")]);
    assert_eq!(got.log_len, 2);

    // A compaction replaces what came before it, not what comes after.
    let snapshot = {
        let got = s.load(&d).await?;
        Bytes::from(
            weft_server::store::postgres::merge(
                &got.updates.iter().map(|b| b.to_vec()).collect::<Vec<_>>(),
            )
            .unwrap(),
        )
    };
    s.compact(&d, snapshot, Box::new(|r| r.unwrap()));
    store::append(&s, &d, edit(4, "c")).await?;
    let got = s.load(&d).await?;
    assert_eq!(got.updates.len(), 2);
    assert_eq!(got.log_len, 1);
    let mut chars: Vec<char> = text_of(&got.updates).chars().collect();
    chars.sort();
    assert_eq!(chars, vec!['a', 'b', 'c']);
    assert_eq!(s.load(&id("other")).await?.updates.len(), 1);
    assert!(s.load(&id("none")).await?.updates.is_empty());
    s.check().await?;
    // Reopening finds the schema and the data.
    drop(s);
    let s = PgStore::open(&pg.url()).await?;
    assert_eq!(s.load(&d).await?.updates.len(), 2);
    assert_eq!(s.docs().await?, vec!["doc".to_owned(), "other".to_owned()]);
    Ok(())
}

/// Two nodes append to one doc and both compact it with snapshots that
/// each lack the other's updates: nothing is lost, because compaction
/// merges what is stored rather than trusting the node's snapshot.
#[tokio::test]
async fn keeps_versions() -> anyhow::Result<()> {
    let pg = Postgres::start().await?;
    let store = PgStore::open(&pg.url()).await?;
    weft_core::store::contract::versions(&store).await;
    Ok(())
}

#[tokio::test]
async fn keeps_blobs() -> anyhow::Result<()> {
    let pg = Postgres::start().await?;
    let store = PgStore::open(&pg.url()).await?;
    weft_core::store::contract::blobs(&store).await;
    Ok(())
}

#[tokio::test]
async fn collects_blobs() -> anyhow::Result<()> {
    let pg = Postgres::start().await?;
    let store = PgStore::open(&pg.url()).await?;
    weft_core::store::contract::blob_collection(&store).await;
    Ok(())
}

#[tokio::test]
async fn concurrent_compactions_from_two_nodes_lose_nothing() -> anyhow::Result<()> {
    let pg = Postgres::start().await?;
    let url = pg.url();
    // Opened together: the schema is created once, not raced.
    let (a, b) = tokio::try_join!(PgStore::open(&url), PgStore::open(&url))?;
    let d = id("shared");
    let mut expected = Vec::new();
    let (mut mine_a, mut mine_b) = (Vec::new(), Vec::new());
    for round in 0..40u64 {
        let (ua, ub) = (edit(1000 + round, "a"), edit(2000 + round, "b"));
        expected.push('a');
        expected.push('b');
        mine_a.push(ua.clone());
        mine_b.push(ub.clone());
        let (ra, rb) = tokio::join!(store::append(&a, &d, ua), store::append(&b, &d, ub));
        ra?;
        rb?;
        if round % 7 == 3 {
            // Each node's snapshot holds only what it saw itself.
            let sa = Bytes::from(merge_all(&mine_a));
            let sb = Bytes::from(merge_all(&mine_b));
            let (ra, rb) = tokio::join!(store::compact(&a, &d, sa), store::compact(&b, &d, sb));
            ra?;
            rb?;
        }
    }
    let got = a.load(&d).await?;
    assert!(
        got.updates.len() < 20,
        "compaction did not shrink the log: {}",
        got.updates.len()
    );
    let mut chars: Vec<char> = text_of(&got.updates).chars().collect();
    chars.sort();
    expected.sort();
    assert_eq!(chars, expected);
    Ok(())
}

fn merge_all(updates: &[Bytes]) -> Vec<u8> {
    weft_server::store::postgres::merge(&updates.iter().map(|b| b.to_vec()).collect::<Vec<_>>())
        .unwrap()
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let err = PgStore::open(&format!("postgres://weft:hunter2@127.0.0.1:{port}/x"))
        .await
        .err()
        .expect("connected to nothing");
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!("cannot connect to PostgreSQL at 127.0.0.1:{port}/x (connection refused)")
    );
    assert!(!msg.contains("hunter2"), "password leaked: {msg}");
    Ok(())
}

/// TLS with libpq's `sslmode` meanings, against a server that refuses
/// anything unencrypted (as managed databases do).
#[tokio::test]
async fn tls_follows_sslmode() -> anyhow::Result<()> {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    let pg = Postgres::start_tls_only(&cert.cert.pem(), &cert.signing_key.serialize_pem()).await?;
    // Default (prefer) and require: encrypted, certificate not checked.
    PgStore::open(&pg.url()).await?;
    let s = PgStore::open(&format!("{}?sslmode=require", pg.url())).await?;
    store::append(&s, &id("tls"), edit(1, "a")).await?;
    assert_eq!(s.load(&id("tls")).await?.updates.len(), 1);
    // The server really refuses plaintext, so the above was encrypted.
    let err = PgStore::open(&format!("{}?sslmode=disable", pg.url()))
        .await
        .err()
        .expect("plaintext accepted");
    assert!(err.to_string().contains("pg_hba"), "{err}");
    // verify-full checks the certificate, which no system root signed.
    let err = PgStore::open(&format!("{}?sslmode=verify-full", pg.url()))
        .await
        .err()
        .expect("an untrusted certificate was accepted");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    Ok(())
}
