//! Campaign 5: network faults in cluster mode. Two nodes share one
//! PostgreSQL (fsync on) and one Redis; node A reaches both through
//! [`Proxy`]s, node B directly. Each round puts one fault between A and
//! its services for 1–5 s: a partition that resets connections, a silent
//! one (nothing moves, nothing resets), or 100–500 ms of latency, towards
//! Redis, PostgreSQL or both. Acked writers on both nodes run throughout.
//! After it heals, A must ack again by itself, clients on A and B must
//! converge, and every acked token must be there; at the end a fresh node
//! reads every document from PostgreSQL alone.
//!
//! Packet loss itself is not simulated: through a TCP proxy it shows up
//! as the stalls and delays that are.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::Rng;
use weft_e2e::services::{Postgres, Redis};
use weft_e2e::{Client, ServerProcess};

use crate::proxy::Proxy;
use crate::rounds::{rng, RoundResult, Seeds, Tally};
use crate::writers::{missing, read_back_all, Writers, Written};
use crate::Campaign;

/// Writers per node.
const WRITERS: usize = 10;
/// How long A may take to ack again, and clients to agree, after healing.
const RECOVERY: Duration = Duration::from_secs(30);

/// The two nodes and their services.
struct Net {
    _pg: Postgres,
    _redis: Redis,
    pg_proxy: Proxy,
    redis_proxy: Proxy,
    a: ServerProcess,
    b: ServerProcess,
    direct: Vec<String>,
    _dirs: [tempfile::TempDir; 2],
}

/// `url` with its port replaced by `port`.
fn via(url: &str, port: u16) -> Result<String> {
    let (head, rest) = url.rsplit_once(':').context("no port")?;
    let tail = rest.find('/').map_or("", |i| &rest[i..]);
    Ok(format!("{head}:{port}{tail}"))
}

fn port_of(url: &str) -> Result<u16> {
    let rest = url.rsplit_once(':').context("no port")?.1;
    Ok(rest.split('/').next().unwrap_or_default().parse()?)
}

impl Net {
    async fn start() -> Result<Self> {
        let pg = Postgres::start_durable().await?;
        let redis = Redis::start().await?;
        let local = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let pg_proxy = Proxy::start(local(port_of(&pg.url())?)).await?;
        let redis_proxy = Proxy::start(local(port_of(&redis.url())?)).await?;
        let direct = vec![
            "--store".to_owned(),
            pg.url(),
            "--redis".to_owned(),
            redis.url(),
        ];
        let proxied = [
            "--store".to_owned(),
            via(&pg.url(), pg_proxy.addr.port())?,
            "--redis".to_owned(),
            via(&redis.url(), redis_proxy.addr.port())?,
        ];
        let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
        let refs = |v: &[String]| v.iter().map(String::clone).collect::<Vec<_>>();
        let a_args = refs(&proxied);
        let a = ServerProcess::start(
            dirs[0].path(),
            &a_args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await?;
        let b = ServerProcess::start(
            dirs[1].path(),
            &direct.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await?;
        Ok(Net {
            _pg: pg,
            _redis: redis,
            pg_proxy,
            redis_proxy,
            a,
            b,
            direct,
            _dirs: dirs,
        })
    }
}

pub async fn run(seeds: Seeds) -> Result<Tally> {
    let mut tally = Tally::new(Campaign::Net);
    let net = Net::start().await?;
    let mut written = Vec::new();
    for (round, seed) in seeds.each() {
        let r = net_round(&net, round, seed, &mut written).await;
        net.pg_proxy.heal();
        net.redis_proxy.heal();
        tally.record(round, seed, r);
    }
    // Both nodes die; a fresh node reads everything from PostgreSQL.
    let Net { a, b, direct, .. } = net;
    a.kill9().await?;
    b.kill9().await?;
    let dir = tempfile::tempdir()?;
    let fresh = ServerProcess::start(
        dir.path(),
        &direct.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await?;
    read_back_all(
        &mut tally,
        &written,
        "by a fresh node after both were killed",
        |doc| fresh.url(doc),
    )
    .await;
    fresh.terminate().await?;
    Ok(tally.finish())
}

/// Waits until fresh clients on A and B read the same text; that text.
async fn agree(net: &Net, doc: &str) -> Result<String> {
    let start = Instant::now();
    loop {
        let a = Client::synced(&net.a.url(doc)).await?.text();
        let b = Client::synced(&net.b.url(doc)).await?.text();
        if a == b {
            return Ok(a);
        }
        if start.elapsed() > RECOVERY {
            bail!(
                "nodes disagree {RECOVERY:?} after healing: A has {} bytes, B {}",
                a.len(),
                b.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts a random fault on A's links: what it is, towards what, the
/// proxies it is on, and how long it is to last.
fn start_fault<'a>(
    net: &'a Net,
    rng: &mut rand::rngs::StdRng,
) -> (String, &'static str, Vec<&'a Proxy>, Duration) {
    let which = match rng.random_range(0..3) {
        0 => "Redis",
        1 => "PostgreSQL",
        _ => "Redis and PostgreSQL",
    };
    let targets: Vec<&Proxy> = match which {
        "Redis" => vec![&net.redis_proxy],
        "PostgreSQL" => vec![&net.pg_proxy],
        _ => vec![&net.redis_proxy, &net.pg_proxy],
    };
    let span = Duration::from_millis(rng.random_range(1000..5000));
    let what = match rng.random_range(0..3) {
        0 => {
            targets.iter().for_each(|p| p.cut());
            "partition (connections reset)".to_owned()
        }
        1 => {
            targets.iter().for_each(|p| p.stall());
            "silent partition (nothing moves)".to_owned()
        }
        _ => {
            let ms = rng.random_range(100..500);
            targets
                .iter()
                .for_each(|p| p.set_latency(Duration::from_millis(ms)));
            format!("{ms} ms latency")
        }
    };
    (what, which, targets, span)
}

async fn net_round(
    net: &Net,
    round: usize,
    seed: u64,
    written: &mut Vec<Written>,
) -> Result<RoundResult> {
    let mut rng = rng(seed);
    let doc = format!("net-{round}-{seed:016x}");
    let urls: Vec<String> = (0..2 * WRITERS)
        .map(|w| {
            if w % 2 == 0 {
                net.a.url(&doc)
            } else {
                net.b.url(&doc)
            }
        })
        .collect();
    let group = Writers::start(&urls).await?;
    tokio::time::sleep(Duration::from_millis(rng.random_range(200..800))).await;
    let (what, which, targets, span) = start_fault(net, &mut rng);
    // A's writers are the even ones. Once PostgreSQL is out of A's reach
    // nothing A holds can be committed, so nothing may be acked.
    let on_a = |g: &Writers| g.acked_each().iter().step_by(2).sum::<usize>();
    let grace = Duration::from_millis(500);
    tokio::time::sleep(grace).await;
    let a_start = on_a(&group);
    tokio::time::sleep(span.saturating_sub(grace)).await;
    let a_during = on_a(&group) - a_start;
    let pg_unreachable = which != "Redis" && !what.contains("latency");
    if pg_unreachable && a_during > 0 {
        bail!("node A acked {a_during} writes while PostgreSQL was out of its reach ({what})");
    }
    let before = group.acked();
    targets.iter().for_each(|p| p.heal());
    let healed = Instant::now();
    while group.acked() <= before + WRITERS {
        if healed.elapsed() > RECOVERY {
            bail!("writes not acked again within {RECOVERY:?} of healing");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resumed = healed.elapsed().as_millis();
    let closed = group.closed();
    if !closed.is_empty() {
        bail!("the nodes closed writers: {}", closed.join(", "));
    }
    let counts = group.stop().await;
    let text = agree(net, &doc).await?;
    let acked: Vec<usize> = counts.iter().map(|c| c.1).collect();
    let (checked, lost, first) = missing(&text, &acked);
    written.push(Written { doc, acked });
    let mut note = format!(
        "{what} to {which} for {} ms; A acked {a_during} meanwhile; acks resumed {resumed} ms after healing; nodes agree",
        span.as_millis()
    );
    if let Some(first) = first {
        note.push_str(&format!("; first missing {first}"));
    }
    Ok(RoundResult {
        checked,
        lost,
        mid_stream: true,
        note,
    })
}
