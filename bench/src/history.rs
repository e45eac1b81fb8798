//! Version history on a real document (a trace replayed into the editor's
//! shape): the storage a version every `every` edits takes, and the time
//! to make, restore and diff a version, in process on SQLite at the
//! server's shipped defaults.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::ensure;
use bytes::Bytes;
use weft_core::doc_id::DocId;
use weft_core::history;
use weft_core::store::queue::Write;
use weft_core::store::versions::new_id;
use weft_core::store::{self, NewVersion, SqliteStore, VersionKind, VersionMeta};
use yrs::{ReadTxn, StateVector, Transact};

use crate::api::{Conn, InProcess};

fn state(doc: &yrs::Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Median and max of `v`, in ms.
fn spread(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    format!(
        "median {:.2} ms, max {:.2} ms",
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

/// Runs every part; prints the figures.
pub async fn run(trace: &Path, every: usize, samples: usize) -> anyhow::Result<()> {
    let (doc, middle, last) = storage(trace, every)?;
    library(&doc, &middle, &last, samples)?;
    through_api(&middle, &last, samples).await
}

/// Storage: the state at every `every` edits, as an automatic version is.
/// Returns the final document, the state at 130,000 edits and the last.
fn storage(trace: &Path, every: usize) -> anyhow::Result<(yrs::Doc, Vec<u8>, Vec<u8>)> {
    let mut sizes = Vec::new();
    let mut middle = None;
    let started = Instant::now();
    let (doc, _) = crate::trace::replay_every(trace, every, |doc, edits| {
        let s = state(doc);
        sizes.push(s.len());
        if middle.is_none() && edits >= 130_000 {
            middle = Some(s);
        }
    })?;
    let total: usize = sizes.iter().sum();
    let last = state(&doc);
    println!(
        "replayed {} in {:.1} s: {} versions (one every {every} edits), {:.1} KB each on average, {:.1} KB the last; {:.1} MB in all (the document itself: {:.1} KB)",
        trace.display(),
        started.elapsed().as_secs_f64(),
        sizes.len(),
        total as f64 / sizes.len().max(1) as f64 / 1000.0,
        sizes.last().copied().unwrap_or(0) as f64 / 1000.0,
        total as f64 / 1e6,
        last.len() as f64 / 1000.0
    );
    let middle = middle.unwrap_or_else(|| last.clone());
    Ok((doc, middle, last))
}

/// The library alone: making, restoring and diffing versions.
fn library(doc: &yrs::Doc, middle: &[u8], last: &[u8], samples: usize) -> anyhow::Result<()> {
    // The work a room does under its lock to make a version: encode the
    // whole state (then it only queues the bytes).
    let mut make = Vec::new();
    for _ in 0..samples {
        let t = Instant::now();
        let s = Bytes::from(state(doc));
        make.push(ms(t));
        ensure!(s.len() == last.len());
    }
    println!(
        "making a version (encoding the state under the room's lock): {}",
        spread(make)
    );

    // The library calls alone: restore middle → last on a copy, and diff.
    let mid_doc = history::load(middle)?;
    let mut restore_alone = Vec::new();
    for _ in 0..samples {
        let copy = history::load(last)?;
        let t = Instant::now();
        let mut txn = copy.transact_mut();
        ensure!(history::restore(&mut txn, &mid_doc));
        let update = txn.encode_update_v1();
        drop(txn);
        restore_alone.push(ms(t));
        ensure!(!update.is_empty());
    }
    println!(
        "restoring the middle version (history::restore, one forward update): {}",
        spread(restore_alone)
    );
    let mut diff_alone = Vec::new();
    for _ in 0..samples {
        let t = Instant::now();
        let d = history::diff(&history::blocks(&mid_doc), &history::blocks(doc));
        diff_alone.push(ms(t));
        ensure!(!d.is_empty());
    }
    println!(
        "diffing it against the last state (history::blocks + diff): {}",
        spread(diff_alone)
    );

    Ok(())
}

/// Through the API, on a server at its defaults.
async fn through_api(middle: &[u8], last: &[u8], samples: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sqlite = Arc::new(SqliteStore::open(dir.path())?);
    let id = DocId::new("paper")?;
    store::append(&*sqlite, &id, Bytes::from(last.to_vec())).await?;
    let mut vids = Vec::new();
    for (i, s) in [middle, last].into_iter().enumerate() {
        let vid = new_id(1_700_000_000_000 + i as i64);
        let v = NewVersion {
            doc: id.clone(),
            meta: VersionMeta {
                id: vid.clone(),
                kind: VersionKind::Named,
                name: Some(format!("v{i}")),
                created_at: 1_700_000_000_000 + i as i64,
                authors: vec![],
                size: s.len() as u64,
            },
            state: Bytes::from(s.to_vec()),
        };
        store::index(&*sqlite, Write::Version(Box::new(v))).await?;
        vids.push(vid);
    }
    let server = InProcess::start(sqlite).await?;
    let addr = server.addr;
    let mut conn = Conn::open(addr).await?;
    let json = [("Content-Type", "application/json")];
    let mut save = Vec::new();
    for i in 0..samples {
        let body = format!("{{\"name\": \"bench {i}\"}}");
        let t = Instant::now();
        let (status, _) = conn
            .request(
                "POST",
                "/api/v1/docs/paper/versions",
                &json,
                body.as_bytes(),
            )
            .await?;
        save.push(ms(t));
        ensure!(status == 201, "saving answered {status}");
    }
    println!("POST …/versions (named, until stored): {}", spread(save));
    let mut diff = Vec::new();
    for _ in 0..samples {
        let path = format!("/api/v1/docs/paper/versions/{}/diff", vids[0]);
        let t = Instant::now();
        let (status, _) = conn.request("GET", &path, &[], &[]).await?;
        diff.push(ms(t));
        ensure!(status == 200, "diff answered {status}");
    }
    println!("GET …/diff (middle against the current): {}", spread(diff));
    let mut restore = Vec::new();
    for i in 0..samples {
        // Back and forth, so each restore changes the document.
        let path = format!("/api/v1/docs/paper/versions/{}/restore", vids[i % 2]);
        let t = Instant::now();
        let (status, _) = conn.request("POST", &path, &[], &[]).await?;
        restore.push(ms(t));
        ensure!(status == 200, "restore answered {status}");
    }
    println!(
        "POST …/restore (pre-restore version, the forward edit, durable, the record): {}",
        spread(restore)
    );
    server.stop().await
}
