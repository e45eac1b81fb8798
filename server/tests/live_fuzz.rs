//! Live fuzzing: random and mutated frames at a running server. The
//! attacker holds a read-only token, so the strict invariant holds: after
//! every frame the server still serves others and the doc is unchanged.
//! Write-path fuzzing is `cargo fuzz run frames` (see fuzz/).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use weft_core::protocol;
use weft_server::auth::{Auth, Level};
use weft_server::store::MemoryStore;
use yrs::sync::{Awareness, Message};
use yrs::{Doc, Text, Transact};

fn valid_frames() -> Vec<Vec<u8>> {
    let d = Doc::with_client_id(99);
    let t = d.get_or_insert_text("t");
    let update = {
        let mut txn = d.transact_mut();
        t.insert(&mut txn, 0, "intruder");
        txn.encode_update_v1()
    };
    let mut a = Awareness::new(Doc::with_client_id(98));
    a.set_local_state_raw(r#"{"user":{"name":"fuzz"}}"#);
    vec![
        protocol::update(update.clone()).to_vec(),
        protocol::step2(update).to_vec(),
        protocol::step1(Default::default()).to_vec(),
        protocol::encode(&Message::Awareness(a.update().unwrap())).to_vec(),
        protocol::encode(&Message::AwarenessQuery).to_vec(),
    ]
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.random_bool(0.3) {
        let n = rng.random_range(0..64);
        return (0..n).map(|_| rng.random()).collect();
    }
    let mut f = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..5) {
            0 if !f.is_empty() => {
                let i = rng.random_range(0..f.len());
                f[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !f.is_empty() => f.truncate(rng.random_range(0..f.len())),
            2 => {
                let i = rng.random_range(0..=f.len());
                f.insert(i, rng.random());
            }
            3 => {
                let other = seeds[rng.random_range(0..seeds.len())].clone();
                f.extend(other);
            }
            _ if !f.is_empty() => {
                let i = rng.random_range(0..f.len());
                f[i] = [0u8, 1, 2, 3, 0x7f, 0x80, 0xff][rng.random_range(0..7)];
            }
            _ => {}
        }
    }
    f
}

#[tokio::test]
async fn random_and_mutated_frames_hurt_nobody() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "live-fuzz-secret-long-enough-for-hs256")?;
    let mut cfg = config();
    cfg.auth_secret_file = Some(secret.clone());
    cfg.rate_messages = 0;
    cfg.rate_bytes = 0;
    cfg.rate_connects = 0;
    let server = TestServer::start(Arc::new(MemoryStore::default()), cfg).await;
    let auth = Auth::hs256(&secret)?;
    let write = auth.mint("doc", Level::Write, Duration::from_secs(600), None)?;
    let read = auth.mint("doc", Level::Read, Duration::from_secs(600), None)?;
    let url = |t: &str| format!("{}?ack=1&token={t}", server.url("doc"));

    let mut owner = Client::synced(&url(&write)).await?;
    owner.insert("the real text").await?;
    owner.wait_for(|c| c.session.unacked() == 0).await?;

    let seeds = valid_frames();
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut attacker = Client::synced(&url(&read)).await?;
    let (mut sent, mut closed) = (0, 0);
    for round in 0..1500 {
        let frame = mutate(&mut rng, &seeds);
        if attacker.send_raw(frame).await.is_err() || attacker.drain().await.is_err() {
            closed += 1;
            attacker = Client::synced(&url(&read)).await?;
        }
        sent += 1;
        if round % 50 == 0 {
            // Others are still served, and the doc is exactly what it was.
            let probe = Client::synced(&url(&read)).await?;
            assert_eq!(probe.text(), "the real text", "after {sent} frames");
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(Client::synced(&url(&read)).await?.text(), "the real text");
    // The writer's connection survived all of it and still works.
    owner.insert("!").await?;
    owner.wait_for(|c| c.session.unacked() == 0).await?;
    assert_eq!(Client::synced(&url(&read)).await?.text(), "the real text!");
    eprintln!("live fuzz: {sent} frames, {closed} attacker connections closed by the server");
    server.stop().await
}
