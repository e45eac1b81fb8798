//! Campaign 2: randomized convergence. 3–8 clients, a mix of the Rust
//! engine ([`Session`], as in the app) and stock `yjs` + `y-websocket`
//! clients, edit one document's `Text("t")` and its TipTap fragment
//! (`XmlFragment("default")`: paragraphs inserted, deleted, typed into,
//! made bold) at random, go offline and come back (a [`Proxy`] cuts them
//! off), while the server is restarted or `kill -9`ed. Then every client
//! and the server must hold identical content.
//!
//! Content is compared by loading each client's whole state into a fresh
//! yrs document and printing its text and fragment, so deletions count
//! (state vectors alone would miss them).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::Rng;
use weft_core::engine::{DocUrl, Session, SessionOptions};
use weft_e2e::{Client, ServerProcess};
use yrs::{ReadTxn, Transact};

use crate::edits::{apply, content, random_edit};
use crate::proxy::Proxy;
use crate::rounds::{rng, RoundResult, Seeds, Tally};
use crate::yjs::Pool;
use crate::Campaign;

/// How long clients may take to agree once every fault is healed.
const CONVERGE: Duration = Duration::from_secs(30);

enum Peer {
    Engine(Session),
    Yjs(usize),
}

struct Member {
    peer: Peer,
    proxy: Proxy,
}

/// The shared server, restarted and crashed between and within rounds.
struct Server {
    process: Option<ServerProcess>,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Server {
    async fn bounce(&mut self, crash: bool, down: Duration) -> Result<()> {
        let p = self.process.take().context("no server")?;
        if crash {
            p.kill9().await?;
        } else {
            p.terminate().await?;
        }
        tokio::time::sleep(down).await;
        self.process =
            Some(ServerProcess::start_on(&self.addr.to_string(), self.dir.path(), &[]).await?);
        Ok(())
    }
}

pub async fn run(seeds: Seeds) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::Converge);
    let dir = tempfile::tempdir()?;
    let process = ServerProcess::start(dir.path(), &[]).await?;
    let mut server = Server {
        addr: process.addr,
        process: Some(process),
        dir,
    };
    let mut pool = Pool::start().await?;
    let mut totals = Totals::default();
    for (round, seed) in seeds.each() {
        let r = converge_round(&mut server, &mut pool, round, seed, &mut totals).await;
        tally.record(round, seed, r);
        if server.process.is_none() {
            // Counted as this round's failure above; the next rounds need
            // a server.
            let p = ServerProcess::start_on(&server.addr.to_string(), server.dir.path(), &[])
                .await
                .with_context(|| format!("the server did not start again after round {round}"))?;
            server.process = Some(p);
        }
    }
    tally.notes.push(format!(
        "{} engine and {} yjs clients; {} edits, {} offline spells, {} restarts, {} kill -9",
        totals.engines, totals.yjs, totals.edits, totals.spells, totals.restarts, totals.crashes
    ));
    if let Some(p) = server.process.take() {
        p.terminate().await?;
    }
    Ok(tally.finish())
}

#[derive(Default)]
struct Totals {
    engines: usize,
    yjs: usize,
    edits: usize,
    spells: usize,
    restarts: usize,
    crashes: usize,
}

async fn converge_round(
    server: &mut Server,
    pool: &mut Pool,
    round: usize,
    seed: u64,
    totals: &mut Totals,
) -> Result<RoundResult> {
    let mut rng = rng(seed);
    let room = format!("converge-{round}-{seed:016x}");
    let n = rng.random_range(3..=8);
    let members = open_members(server.addr, pool, &mut rng, n, round, &room, totals).await?;
    let steps = rng.random_range(20..80);
    let (mut spells, mut bounces) = (0, Vec::new());
    for _ in 0..steps {
        let m = rng.random_range(0..n);
        match rng.random_range(0..100) {
            0..=74 => {
                let e = random_edit(&mut rng);
                totals.edits += 1;
                match &members[m].peer {
                    Peer::Engine(s) => {
                        let text = s.doc().get_or_insert_text("t");
                        let frag = s.doc().get_or_insert_xml_fragment("default");
                        s.transact(|txn| apply(&text, &frag, txn, &e));
                    }
                    Peer::Yjs(id) => pool.edit(*id, &e).await?,
                }
            }
            75..=84 => {
                if members[m].proxy.is_up() {
                    spells += 1;
                    members[m].proxy.cut();
                }
            }
            85..=94 => members[m].proxy.heal(),
            95..=97 => {
                totals.restarts += 1;
                bounces.push("restart");
                server
                    .bounce(false, Duration::from_millis(rng.random_range(0..300)))
                    .await?;
            }
            _ => {
                totals.crashes += 1;
                bounces.push("kill -9");
                server
                    .bounce(true, Duration::from_millis(rng.random_range(0..300)))
                    .await?;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..15))).await;
    }
    totals.spells += spells;
    for m in &members {
        m.proxy.heal();
    }
    let agreed = agree(&members, pool).await;
    let on_server = match &agreed {
        Ok(_) => Some(server_content(server, &room).await),
        Err(_) => None,
    };
    close_members(members, pool).await?;
    let agreed = agreed?;
    let on_server = on_server.context("no server view")??;
    let note = format!(
        "{n} clients, {steps} steps, {spells} offline spells{}{}; {} bytes of content agreed",
        if bounces.is_empty() { "" } else { ", server " },
        bounces.join(", "),
        agreed.len()
    );
    if on_server != agreed {
        bail!("the clients agree but the server holds something else ({note})");
    }
    Ok(RoundResult {
        checked: n as u64,
        lost: 0,
        mid_stream: !bounces.is_empty(),
        note,
    })
}

/// `n` clients on `room`, each behind its own proxy: the first an engine,
/// the second a yjs client, the rest by a coin.
async fn open_members(
    server: SocketAddr,
    pool: &mut Pool,
    rng: &mut rand::rngs::StdRng,
    n: usize,
    round: usize,
    room: &str,
    totals: &mut Totals,
) -> Result<Vec<Member>> {
    let mut members = Vec::new();
    for i in 0..n {
        let proxy = Proxy::start(server).await?;
        let engine = match i {
            0 => true,
            1 => false,
            _ => rng.random_bool(0.5),
        };
        let peer = if engine {
            totals.engines += 1;
            let mut opts =
                SessionOptions::new(DocUrl::parse(&format!("ws://{}/{room}", proxy.addr))?);
            opts.max_backoff = Duration::from_millis(200);
            Peer::Engine(Session::open(opts).await?)
        } else {
            totals.yjs += 1;
            let id = round * 16 + i;
            pool.open(id, &format!("ws://{}", proxy.addr), room).await?;
            Peer::Yjs(id)
        };
        members.push(Member { peer, proxy });
    }
    Ok(members)
}

async fn close_members(members: Vec<Member>, pool: &mut Pool) -> Result<()> {
    for m in members {
        match m.peer {
            Peer::Engine(s) => s.close().await,
            Peer::Yjs(id) => pool.close(id).await?,
        }
    }
    Ok(())
}

/// What the server holds of `room`, read by a fresh client.
async fn server_content(server: &Server, room: &str) -> Result<String> {
    let reader = Client::synced(&server.process.as_ref().context("no server")?.url(room)).await?;
    let state = reader
        .doc()
        .transact()
        .encode_state_as_update_v1(&Default::default());
    content(&state)
}

/// Waits until every member's content is the same; that content.
async fn agree(members: &[Member], pool: &mut Pool) -> Result<String> {
    let start = Instant::now();
    loop {
        let mut contents = Vec::new();
        for m in members {
            let state = match &m.peer {
                Peer::Engine(s) => s.state(),
                Peer::Yjs(id) => pool.state(*id).await?,
            };
            contents.push(content(&state)?);
        }
        if contents.windows(2).all(|w| w[0] == w[1]) {
            return Ok(contents.swap_remove(0));
        }
        if start.elapsed() > CONVERGE {
            let kinds: Vec<String> = members
                .iter()
                .zip(&contents)
                .map(|(m, c)| {
                    let kind = match m.peer {
                        Peer::Engine(_) => "engine",
                        Peer::Yjs(_) => "yjs",
                    };
                    format!("{kind} {} bytes", c.len())
                })
                .collect();
            bail!("no agreement after {CONVERGE:?}: {}", kinds.join(", "));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
