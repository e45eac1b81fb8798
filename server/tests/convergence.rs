//! Randomized convergence: clients make random edits while randomly
//! dropping and re-establishing their connections; at the end every client
//! and the server hold the same document.

mod common;

use std::sync::Arc;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use weft_server::store::SqliteStore;
use yrs::{Doc, Text, Transact};

struct Peer {
    doc: Doc,
    conn: Option<Client>,
}

fn random_edit(doc: &Doc, rng: &mut StdRng) -> Vec<u8> {
    let t = doc.get_or_insert_text("t");
    let mut txn = doc.transact_mut();
    let len = t.len(&txn);
    if len > 0 && rng.random_bool(0.3) {
        let at = rng.random_range(0..len);
        let n = rng.random_range(1..=(len - at).min(5));
        t.remove_range(&mut txn, at, n);
    } else {
        let at = rng.random_range(0..=len);
        let word: String = (0..rng.random_range(1..6))
            .map(|_| rng.random_range(b'a'..=b'z') as char)
            .collect();
        t.insert(&mut txn, at, &word);
    }
    txn.encode_update_v1()
}

async fn run(seed: u64) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(Arc::new(SqliteStore::open(dir.path())?), config()).await;
    let url = server.url("random");
    let mut peers: Vec<Peer> = Vec::new();
    for _ in 0..4 {
        let doc = Doc::new();
        let conn = Some(Client::connect_doc(&url, doc.clone()).await?);
        peers.push(Peer { doc, conn });
    }
    for _ in 0..400 {
        let p = &mut peers[rng.random_range(0..4)];
        match rng.random_range(0..100) {
            0..=79 => {
                let update = random_edit(&p.doc, &mut rng);
                if let Some(c) = p.conn.as_mut() {
                    if c.send_update(update).await.is_err() {
                        p.conn = None;
                    }
                }
            }
            80..=89 => {
                // Drop the socket abruptly: edits keep happening offline.
                if let Some(c) = p.conn.take() {
                    drop(c.ws.into_inner());
                }
            }
            _ => {
                if p.conn.is_none() {
                    p.conn = Some(Client::connect_doc(&url, p.doc.clone()).await?);
                }
            }
        }
        for p in peers.iter_mut() {
            if let Some(c) = p.conn.as_mut() {
                if c.drain().await.is_err() {
                    p.conn = None;
                }
            }
        }
    }
    // Everyone reconnects; the handshake exchanges what each side lacks.
    for p in peers.iter_mut() {
        let mut c = Client::connect_doc(&format!("{url}?ack=1"), p.doc.clone()).await?;
        c.wait_for(|c| c.session.is_synced()).await?;
        p.conn = Some(c);
    }
    for p in peers.iter_mut() {
        p.conn
            .as_mut()
            .unwrap()
            .wait_for(|c| c.session.unacked() == 0)
            .await?;
    }
    let server_text = Client::synced(&url).await?.text();
    for p in peers.iter_mut() {
        let c = p.conn.as_mut().unwrap();
        c.wait_for(|c| c.text() == server_text)
            .await
            .map_err(|e| anyhow::anyhow!("seed {seed}: {e}"))?;
    }
    assert!(!server_text.is_empty(), "seed {seed}: nothing was edited");
    server.stop().await
}

#[tokio::test]
async fn random_edits_and_disconnects_converge() -> anyhow::Result<()> {
    for seed in 1..=6 {
        run(seed).await?;
    }
    Ok(())
}
