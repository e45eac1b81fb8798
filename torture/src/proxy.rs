//! A TCP proxy in front of a server that can misbehave on demand:
//! - `cut`: every connection through it is dropped and new ones are
//!   refused until it is healed (a client going offline, a partition that
//!   resets connections);
//! - `stall`: connections stay open but nothing moves either way until it
//!   is healed (a silent partition: packets dropped, nothing reset);
//! - `latency`: every chunk is delivered this much later, in order,
//!   without limiting throughput.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    Cut,
    Stall,
}

struct State {
    mode: watch::Sender<Mode>,
    latency_ms: AtomicU64,
    target: SocketAddr,
    conns: Mutex<Vec<AbortHandle>>,
}

/// One proxy; dropping it closes everything it carries.
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port, forwarding to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            mode: watch::channel(Mode::Up).0,
            latency_ms: AtomicU64::new(0),
            target,
            conns: Mutex::new(Vec::new()),
        });
        let s = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *s.mode.borrow() == Mode::Cut {
                    continue; // dropped: the client sees the connection close
                }
                let task = tokio::spawn(carry(client, s.clone()));
                let mut conns = s.conns.lock().unwrap();
                conns.retain(|c| !c.is_finished());
                conns.push(task.abort_handle());
            }
        });
        Ok(Proxy {
            addr,
            state,
            accept,
        })
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.state.mode.send_replace(Mode::Cut);
        for c in self.state.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    /// Holds all traffic (connections stay open).
    pub fn stall(&self) {
        self.state.mode.send_replace(Mode::Stall);
    }

    /// Delivers every chunk `d` late from now on.
    pub fn set_latency(&self, d: Duration) {
        self.state
            .latency_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Back to normal: no cut, no stall, no latency.
    pub fn heal(&self) {
        self.set_latency(Duration::ZERO);
        self.state.mode.send_replace(Mode::Up);
    }

    pub fn is_up(&self) -> bool {
        *self.state.mode.borrow() == Mode::Up
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Carries one connection both ways until either side ends.
async fn carry(client: TcpStream, s: Arc<State>) {
    let Ok(server) = TcpStream::connect(s.target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    tokio::select! {
        _ = pump(cr, sw, s.clone()) => {}
        _ = pump(sr, cw, s) => {}
    }
}

/// One direction: read, hold while stalled, deliver after the latency.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, s: Arc<State>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let mut mode = s.mode.subscribe();
    let deliver = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            // A stall holds what is in flight too.
            while *mode.borrow_and_update() == Mode::Stall {
                if mode.changed().await.is_err() {
                    return;
                }
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    let read = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let due = Instant::now() + Duration::from_millis(s.latency_ms.load(Ordering::SeqCst));
            if tx.send((due, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    // Either side ending ends the direction; what was read is still
    // delivered first when the reader ends.
    tokio::join!(read, deliver);
}
