//! The baseline for the comparison: a tokio-tungstenite server that relays
//! every binary message to the other sockets on the same path and does no
//! CRDT work at all. No sync server can fan out faster on this machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

type Rooms = Arc<Mutex<HashMap<String, Vec<(u64, mpsc::UnboundedSender<Message>)>>>>;

/// Serves on `addr` until killed.
pub async fn serve(addr: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let rooms: Rooms = Arc::default();
    let mut next = 0u64;
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        next += 1;
        tokio::spawn(handle(tcp, rooms.clone(), next));
    }
}

async fn handle(tcp: TcpStream, rooms: Rooms, id: u64) {
    let mut path = String::new();
    // The error type is tungstenite's, not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, res: Response| {
        path = req.uri().path().to_owned();
        Ok(res)
    };
    // weft's socket buffer sizes, so memory compares like with like
    // (tungstenite's default read buffer is 128 KiB per connection).
    let config = WebSocketConfig::default()
        .read_buffer_size(256)
        .write_buffer_size(8192);
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, Some(config)).await
    else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    rooms
        .lock()
        .unwrap()
        .entry(path.clone())
        .or_default()
        .push((id, tx));
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.feed(m).await.is_err() {
                return;
            }
            while let Ok(m) = rx.try_recv() {
                if sink.feed(m).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        if let Message::Binary(_) = msg {
            let rooms = rooms.lock().unwrap();
            for (other, tx) in rooms.get(&path).into_iter().flatten() {
                if *other != id {
                    let _ = tx.send(msg.clone());
                }
            }
        }
    }
    let mut rooms = rooms.lock().unwrap();
    if let Some(peers) = rooms.get_mut(&path) {
        peers.retain(|(other, _)| *other != id);
        if peers.is_empty() {
            rooms.remove(&path);
        }
    }
    writer.abort();
}
