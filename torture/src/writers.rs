//! Writers that append numbered tokens as fast as acks allow, and know
//! which of them the server said were durable.
//!
//! Writer `w` appends `[w:0]`, `[w:1]`, … to `Text("t")` over a connection
//! with `?ack=1`. The server acks the handshake's step 2 first, then each
//! update in order, so `acked - 1` tokens are durable. A writer keeps at
//! most [`WINDOW`] updates unacked, which keeps writes in flight at any
//! moment a fault may hit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::task::JoinHandle;
use weft_e2e::Client;

use crate::rounds::Tally;

/// Unacknowledged updates a writer allows itself.
const WINDOW: usize = 8;

/// Time between a writer's updates: about 166 a second, under the
/// server's default limit of 200 messages a second per connection (beyond
/// it the server closes the connection, which would end the writer).
const PACE: std::time::Duration = std::time::Duration::from_millis(6);

/// What one writer has sent and seen acked.
#[derive(Debug, Default)]
struct Counts {
    sent: AtomicUsize,
    acked: AtomicUsize,
    /// The close frame, if the server closed the connection with one (a
    /// server that dies sends none).
    closed: std::sync::Mutex<Option<String>>,
}

/// A group of writers, each on its own connection.
pub struct Writers {
    counts: Vec<Arc<Counts>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Writers {
    /// Connects one writer per URL (each `ws://…/doc`, `?ack=1` added) and
    /// starts them writing once all are synced.
    pub async fn start(urls: &[String]) -> anyhow::Result<Self> {
        let mut clients = Vec::new();
        for url in urls {
            clients.push(Client::synced(&format!("{url}?ack=1")).await?);
        }
        let mut counts = Vec::new();
        let mut tasks = Vec::new();
        for (w, c) in clients.into_iter().enumerate() {
            let n = Arc::new(Counts::default());
            counts.push(n.clone());
            tasks.push(tokio::spawn(write(w, c, n)));
        }
        Ok(Writers { counts, tasks })
    }

    /// Acked updates so far, summed.
    pub fn acked(&self) -> usize {
        self.counts
            .iter()
            .map(|c| c.acked.load(Ordering::SeqCst))
            .sum()
    }

    /// Acked updates so far, per writer.
    pub fn acked_each(&self) -> Vec<usize> {
        self.counts
            .iter()
            .map(|c| c.acked.load(Ordering::SeqCst))
            .collect()
    }

    /// Close frames writers got from a live server ("1008: rate"), which
    /// mean the writers stopped for a reason other than the fault.
    pub fn closed(&self) -> Vec<String> {
        self.counts
            .iter()
            .filter_map(|c| c.closed.lock().unwrap().clone())
            .collect()
    }

    /// Sent updates so far, summed.
    pub fn sent(&self) -> usize {
        self.counts
            .iter()
            .map(|c| c.sent.load(Ordering::SeqCst))
            .sum()
    }

    /// Waits until every connection has ended (after the server died) and
    /// returns each writer's `(sent, acked)`. Acks still in a socket's
    /// buffer when it ended are read first, so they count.
    pub async fn ended(mut self) -> Vec<(usize, usize)> {
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        self.counts
            .iter()
            .map(|c| {
                (
                    c.sent.load(Ordering::SeqCst),
                    c.acked.load(Ordering::SeqCst),
                )
            })
            .collect()
    }

    /// Stops the writers where they are (the server lives on) and returns
    /// each writer's `(sent, acked)`.
    pub async fn stop(self) -> Vec<(usize, usize)> {
        for t in &self.tasks {
            t.abort();
        }
        self.ended().await
    }
}

/// A round that fails half way must not leave writers writing into the
/// next one.
impl Drop for Writers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Writes until the connection ends.
async fn write(w: usize, mut c: Client, n: Arc<Counts>) {
    let mut next_send = tokio::time::Instant::now();
    let _ = async {
        loop {
            let sent = n.sent.load(Ordering::SeqCst);
            let acked = c.session.acked().saturating_sub(1) as usize;
            if sent - acked < WINDOW && tokio::time::Instant::now() >= next_send {
                // No catching up after a wait: never a burst.
                next_send = tokio::time::Instant::now() + PACE;
                // Counted before it goes out: a token may be durable without
                // being acked, never acked without being counted as sent.
                n.sent.store(sent + 1, Ordering::SeqCst);
                c.insert(&format!("[{w}:{sent}]")).await?;
                c.drain().await?;
            } else if sent - acked < WINDOW {
                // Room in the window, not yet time: read until then.
                if let Ok(r) = tokio::time::timeout_at(next_send, c.step()).await {
                    r?;
                }
            } else {
                c.step().await?;
            }
            let acked = c.session.acked().saturating_sub(1) as usize;
            n.acked.store(acked, Ordering::SeqCst);
        }
        #[allow(unreachable_code)]
        Ok::<(), anyhow::Error>(())
    }
    .await;
    // Record acks read by the step that then failed.
    n.acked.store(
        c.session.acked().saturating_sub(1) as usize,
        Ordering::SeqCst,
    );
}

/// The `[w:i]` tokens in `text`. One insert is one yrs item, so a token
/// is never split by a concurrent one.
pub fn tokens(text: &str) -> std::collections::HashSet<(usize, usize)> {
    text.split('[')
        .filter_map(|t| {
            let (w, i) = t.split_once(']')?.0.split_once(':')?;
            Some((w.parse().ok()?, i.parse().ok()?))
        })
        .collect()
}

/// Tokens of `acked` (writer `w` has `acked[w]` durable) missing from
/// `text`: `(checked, missing, first missing)`.
pub fn missing(text: &str, acked: &[usize]) -> (u64, u64, Option<String>) {
    let found = tokens(text);
    let mut checked = 0;
    let mut lost = 0;
    let mut first = None;
    for (w, &n) in acked.iter().enumerate() {
        for i in 0..n {
            checked += 1;
            if !found.contains(&(w, i)) {
                lost += 1;
                first.get_or_insert(format!("[{w}:{i}]"));
            }
        }
    }
    (checked, lost, first)
}

/// A finished round's document and the tokens acked in it, read back
/// again at the end of a campaign.
pub struct Written {
    pub doc: String,
    pub acked: Vec<usize>,
}

/// Reads every round's document again (from `url(doc)`); a missing token
/// fails the campaign. `how` says which server read, for the report.
pub async fn read_back_all(
    tally: &mut Tally,
    written: &[Written],
    how: &str,
    url: impl Fn(&str) -> String,
) {
    let mut checked = 0;
    for w in written {
        let text = match Client::synced(&url(&w.doc)).await {
            Ok(c) => c.text(),
            Err(e) => {
                tally.fail_after(format!("{}: could not read back: {e:#}", w.doc));
                continue;
            }
        };
        let (n, lost, first) = missing(&text, &w.acked);
        checked += n;
        if lost > 0 {
            tally.fail_after(format!(
                "{}: {lost} acked tokens gone on the final read, first {}",
                w.doc,
                first.unwrap_or_default()
            ));
        }
    }
    tally.notes.push(format!(
        "final read-back {how}: {checked} acked tokens in {} documents",
        written.len()
    ));
}
