//! The cases Autobahn's permessage-deflate sections cover, on the codec:
//! fragmented compressed messages, control frames between fragments, every
//! window size, no context takeover both ways, empty messages, bad data,
//! and bombs. Plus the negotiation.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use super::frames::{header, passes_through};
use super::*;

const MAX: usize = 1 << 20;

fn params() -> Params {
    negotiate("permessage-deflate").expect("a plain offer is accepted")
}

/// Raw deflate of `data` with the tail stripped, as a peer sends it.
fn compress(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let base = c.total_in() as usize;
    loop {
        let at = c.total_in() as usize - base;
        c.compress_vec(&data[at..], &mut out, FlushCompress::Sync)
            .unwrap();
        if c.total_in() as usize - base == data.len()
            && out.ends_with(&[0, 0, 0xff, 0xff])
            && out.len() < out.capacity()
        {
            break;
        }
        out.reserve(out.capacity());
    }
    out.truncate(out.len() - 4);
    out
}

fn deflated(data: &[u8]) -> Vec<u8> {
    compress(&mut Compress::new(Compression::default(), false), data)
}

/// A frame as a client sends it (masked with a real key).
fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = Vec::new();
    header(&mut out, first, payload.len(), Some(key));
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// A frame as a server sends it (unmasked).
fn server_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, first, payload.len(), None);
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, PartialEq)]
struct Frame {
    first: u8,
    payload: Vec<u8>,
}

/// Splits plain frames, unmasking them.
fn frames(mut b: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let masked = b[1] & 0x80 != 0;
        let (len, mut at) = match b[1] & 0x7f {
            126 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let key = masked.then(|| {
            at += 4;
            [b[at - 4], b[at - 3], b[at - 2], b[at - 1]]
        });
        let mut payload = b[at..at + len].to_vec();
        if let Some(k) = key {
            payload
                .iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x ^= k[i % 4]);
        }
        out.push(Frame {
            first: b[0],
            payload,
        });
        b = &b[at + len..];
    }
    out
}

/// The messages plain frames make: (opcode, payload), control frames as they come.
fn messages(plain: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut partial: Option<(u8, Vec<u8>)> = None;
    for f in frames(plain) {
        assert_eq!(f.first & 0x70, 0, "no reserved bit reaches the library");
        let (op, fin) = (f.first & 0x0f, f.first & 0x80 != 0);
        if op >= 8 {
            out.push((op, f.payload));
            continue;
        }
        let msg = partial.get_or_insert((op, Vec::new()));
        msg.1.extend_from_slice(&f.payload);
        if fin {
            out.push(partial.take().unwrap());
        }
    }
    assert!(partial.is_none(), "a message left open");
    out
}

fn server_inbound() -> Inbound {
    Inbound::new(Role::Server, &params(), MAX)
}

/// Feeds `wire` in pieces of `step` bytes.
fn feed(inbound: &mut Inbound, wire: &[u8], step: usize) -> Result<Vec<u8>, DeflateError> {
    let mut out = Vec::new();
    for piece in wire.chunks(step.max(1)) {
        inbound.push(piece, &mut out)?;
    }
    Ok(out)
}

/// Bytes with nothing in them to compress (xorshift).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn text(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| b"the quick brown fox jumps over the lazy dog "[i % 44])
        .collect()
}

#[test]
fn a_compressed_message_fragmented_over_frames_inflates_whole_however_the_bytes_arrive() {
    let msg = text(100_000);
    let packed = deflated(&msg);
    let thirds: Vec<&[u8]> = packed.chunks(packed.len() / 3 + 1).collect();
    let mut wire = client_frame(0x02 | 0x40, thirds[0]);
    wire.extend(client_frame(0x00, thirds[1]));
    wire.extend(client_frame(0x80, thirds[2]));
    for step in [1, 7, 4096, wire.len()] {
        let plain = feed(&mut server_inbound(), &wire, step).unwrap();
        assert_eq!(
            messages(&plain),
            vec![(2, msg.clone())],
            "fed {step} bytes at a time"
        );
        // The library above reads masked frames, as from any client.
        assert!(frames(&plain).len() > 1 && plain[1] & 0x80 != 0);
    }
}

#[test]
fn control_frames_between_fragments_pass_in_order() {
    let msg = text(5000);
    let packed = deflated(&msg);
    let (a, b) = packed.split_at(packed.len() / 2);
    let mut wire = client_frame(0x01 | 0x40, a);
    wire.extend(client_frame(0x89, b"ping")); // ping
    wire.extend(client_frame(0x8a, b"pong")); // pong
    wire.extend(client_frame(0x80, b));
    let plain = feed(&mut server_inbound(), &wire, 3).unwrap();
    assert_eq!(
        messages(&plain),
        vec![(9, b"ping".to_vec()), (10, b"pong".to_vec()), (1, msg)]
    );
}

#[test]
fn every_window_size_8_to_15_inflates_and_the_server_compresses_within_the_one_asked() {
    let msg = text(50_000);
    for bits in 9..=15u8 {
        // A client compressing with a small window.
        let packed = compress(
            &mut Compress::new_with_window_bits(Compression::best(), false, bits),
            &msg,
        );
        let plain = feed(
            &mut server_inbound(),
            &client_frame(0x82 | 0x40, &packed),
            1000,
        )
        .unwrap();
        assert_eq!(
            messages(&plain),
            vec![(2, msg.clone())],
            "client window {bits}"
        );
    }
    for bits in 8..=15u8 {
        let agreed = negotiate(&format!(
            "permessage-deflate; server_max_window_bits={bits}"
        ))
        .unwrap();
        assert_eq!(agreed.server_max_window_bits, bits);
        let mut out = Vec::new();
        Outbound::new(Role::Server, &agreed, 1024, 6).push(&server_frame(0x82, &msg), &mut out);
        let [f] = &frames(&out)[..] else {
            panic!("one frame")
        };
        if bits == 8 {
            // zlib cannot write a 256-byte window: sent uncompressed, which
            // RFC 7692 allows message by message.
            assert_eq!((f.first, &f.payload), (0x82, &msg));
            continue;
        }
        assert_eq!(f.first, 0x82 | 0x40, "compressed with window {bits}");
        assert!(f.payload.len() < msg.len() / 5);
        // A client that can only hold `bits` inflates it.
        let mut d = Decompress::new_with_window_bits(false, bits);
        let mut back = Vec::with_capacity(msg.len() + 16);
        let mut input = f.payload.clone();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        d.decompress_vec(&input, &mut back, FlushDecompress::Sync)
            .unwrap();
        assert_eq!(back, msg, "window {bits}");
    }
}

#[test]
fn no_context_takeover_both_ways() {
    let msg = text(3000);
    // Outbound: each message stands alone, so the same message compresses
    // to the same bytes every time, and inflates with a fresh inflater.
    let mut out = Vec::new();
    let mut outbound = Outbound::new(Role::Server, &params(), 1024, 6);
    outbound.push(&server_frame(0x82, &msg), &mut out);
    outbound.push(&server_frame(0x82, &msg), &mut out);
    let [a, b] = &frames(&out)[..] else {
        panic!("two frames")
    };
    assert_eq!(a, b);
    // The client's side of the same: its inbound resets per message.
    let mut client_in = Inbound::new(Role::Client, &params(), MAX);
    let plain = feed(&mut client_in, &out, 100).unwrap();
    assert_eq!(messages(&plain), vec![(2, msg.clone()), (2, msg.clone())]);

    // Inbound from a peer that keeps its context (a client not asked to
    // reset): the inflater carries over, so the second, shorter message
    // that refers back to the first still inflates.
    let keeps = Params {
        server_no_context_takeover: false,
        ..params()
    };
    let msg = noise(3000);
    let mut c = Compress::new(Compression::default(), false);
    let first = compress(&mut c, &msg);
    let second = compress(&mut c, &msg);
    assert!(second.len() < first.len() / 4, "the second refers back");
    let mut wire = server_frame(0x82 | 0x40, &first);
    wire.extend(server_frame(0x82 | 0x40, &second));
    let plain = feed(&mut Inbound::new(Role::Client, &keeps, MAX), &wire, 64).unwrap();
    assert_eq!(messages(&plain), vec![(2, msg.clone()), (2, msg.clone())]);
    // The same bytes to an inflater that resets fail on the back reference.
    let resets = feed(&mut Inbound::new(Role::Client, &params(), MAX), &wire, 64);
    assert_eq!(resets, Err(DeflateError::Corrupt));
}

#[test]
fn empty_compressed_messages() {
    // An empty payload, and the one-byte empty block some peers send.
    let mut wire = client_frame(0x82 | 0x40, &[]);
    wire.extend(client_frame(0x81 | 0x40, &[0x00]));
    wire.extend(client_frame(0x82 | 0x40, &deflated(b"")));
    let plain = feed(&mut server_inbound(), &wire, 1).unwrap();
    assert_eq!(
        messages(&plain),
        vec![(2, vec![]), (1, vec![]), (2, vec![])]
    );
}

#[test]
fn small_messages_and_control_frames_go_out_as_they_are() {
    let mut out = Vec::new();
    let mut outbound = Outbound::new(Role::Server, &params(), 1024, 6);
    let small = server_frame(0x82, &text(1023));
    let ping = server_frame(0x89, b"hi");
    // Noise does not compress: sent as it was rather than larger.
    let noise = noise(4096);
    let noisy = server_frame(0x82, &noise);
    for f in [&small, &ping, &noisy] {
        for piece in f.chunks(5) {
            outbound.push(piece, &mut out);
        }
    }
    assert_eq!(out, [small, ping, noisy].concat());
}

#[test]
fn a_client_masks_what_it_compresses_and_the_server_reads_it() {
    let msg = text(20_000);
    let mut wire = Vec::new();
    Outbound::new(Role::Client, &params(), 1024, 6).push(&client_frame(0x82, &msg), &mut wire);
    let [f] = &frames(&wire)[..] else {
        panic!("one frame")
    };
    assert_eq!(f.first, 0x82 | 0x40);
    assert!(wire[1] & 0x80 != 0, "masked");
    let plain = feed(&mut server_inbound(), &wire, 333).unwrap();
    assert_eq!(messages(&plain), vec![(2, msg)]);
}

#[test]
fn bad_data_and_bad_frames_close_with_the_right_code() {
    let corrupt = feed(
        &mut server_inbound(),
        &client_frame(0x82 | 0x40, &[0xff, 0xff, 0xff, 0x00, 0x12]),
        2,
    );
    assert_eq!(corrupt.map_err(|e| e.close_code()), Err(1007));

    let compressed_ping = feed(
        &mut server_inbound(),
        &client_frame(0x89 | 0x40, &[0x00]),
        1,
    );
    assert_eq!(compressed_ping.map_err(|e| e.close_code()), Err(1002));

    let mut wire = client_frame(0x02 | 0x40, &deflated(b"abc"));
    wire.extend(client_frame(0x80 | 0x40, &[0x00]));
    let rsv1_continuation = feed(&mut server_inbound(), &wire, 64);
    assert_eq!(rsv1_continuation.map_err(|e| e.close_code()), Err(1002));

    let rsv2 = feed(&mut server_inbound(), &client_frame(0x82 | 0x20, b"x"), 64);
    assert_eq!(rsv2.map_err(|e| e.close_code()), Err(1002));

    let mut wire = client_frame(0x02 | 0x40, &deflated(b"abc")[..1]);
    wire.extend(client_frame(0x82, b"a new message"));
    let interleaved = feed(&mut server_inbound(), &wire, 64);
    assert_eq!(interleaved.map_err(|e| e.close_code()), Err(1002));

    // Once failed, it stays failed.
    let mut inbound = server_inbound();
    assert!(feed(&mut inbound, &client_frame(0x89 | 0x40, &[0]), 64).is_err());
    assert!(feed(&mut inbound, &client_frame(0x82, b"fine"), 64).is_err());
}

#[test]
fn a_bomb_is_stopped_near_the_limit_not_at_its_end() {
    // 16 MiB of zeros is about 16 KiB compressed; the limit here is 64 KiB.
    let limit = 64 * 1024;
    let mut c = Compress::new(Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut packed = Vec::new();
    for _ in 0..16 {
        let mut part = Vec::with_capacity(8192);
        let before = c.total_in();
        while c.total_in() - before < zeros.len() as u64 {
            let at = (c.total_in() - before) as usize;
            c.compress_vec(&zeros[at..], &mut part, FlushCompress::None)
                .unwrap();
            if part.len() == part.capacity() {
                part.reserve(8192);
            }
        }
        packed.extend(part);
    }
    let mut inbound = Inbound::new(Role::Server, &params(), limit);
    let mut plain = Vec::new();
    let mut result = Ok(());
    for piece in client_frame(0x82 | 0x40, &packed).chunks(4096) {
        result = inbound.push(piece, &mut plain);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result.map_err(|e| e.close_code()), Err(1009));
    // Inflated no further than the limit and one chunk.
    assert!(
        plain.len() <= limit + 16 * 1024 + 64,
        "{} bytes inflated",
        plain.len()
    );
}

#[test]
fn the_server_takes_the_first_offer_it_can_and_says_what_it_agreed() {
    let p = negotiate("permessage-deflate").unwrap();
    assert_eq!(
        p.response(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
    let p =
        negotiate("permessage-deflate; client_max_window_bits; server_max_window_bits=12").unwrap();
    assert_eq!(p.server_max_window_bits, 12);
    assert!(p.response().ends_with("server_max_window_bits=12"));
    // Invalid offers are skipped for the next one.
    for bad in [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=99",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; mystery",
        "x-webkit-deflate-frame",
        "",
    ] {
        assert_eq!(negotiate(bad), None, "{bad}");
        let with_fallback = negotiate(&format!(
            "{bad}, permessage-deflate; server_max_window_bits=9"
        ));
        assert_eq!(
            with_fallback.map(|p| p.server_max_window_bits),
            Some(9),
            "{bad} then a good one"
        );
    }
    // Quoted values, as RFC 7692 allows.
    assert_eq!(
        negotiate("permessage-deflate; server_max_window_bits=\"10\"")
            .unwrap()
            .server_max_window_bits,
        10
    );
}

#[test]
fn the_client_accepts_a_valid_answer_and_refuses_one_it_did_not_offer() {
    assert_eq!(accept(None), Ok(None));
    let p = accept(Some(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    ))
    .unwrap()
    .unwrap();
    assert!(p.server_no_context_takeover && p.client_no_context_takeover);
    let p = accept(Some("permessage-deflate; client_max_window_bits=10"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.client_max_window_bits, p.server_no_context_takeover),
        (10, false)
    );
    for bad in [
        "x-other",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate; server_max_window_bits=20",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; surprise",
    ] {
        assert!(accept(Some(bad)).is_err(), "{bad}");
    }
}

/// The stream adapter under tungstenite, client side: a server that sends
/// a compressed frame in the same write as its 101 is read right (the
/// frame is held until the answer is known), and a large message goes
/// back compressed.
#[cfg(feature = "engine")]
#[tokio::test]
async fn the_client_stream_holds_what_follows_the_101_until_it_knows_it_is_compressed() {
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    use tokio_tungstenite::tungstenite::Message;

    let (client_io, mut server_io) = tokio::io::duplex(1 << 20);
    let msg = text(40_000);
    let server = tokio::spawn({
        let msg = msg.clone();
        async move {
            let mut request = Vec::new();
            while !request.ends_with(b"\r\n\r\n") {
                let mut b = [0u8; 1];
                server_io.read_exact(&mut b).await.unwrap();
                request.push(b[0]);
            }
            let request = String::from_utf8(request).unwrap();
            assert!(request
                .to_ascii_lowercase()
                .contains("sec-websocket-extensions: permessage-deflate"));
            let key = request
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Sec-WebSocket-Key: ")
                        .or_else(|| l.strip_prefix("sec-websocket-key: "))
                })
                .unwrap();
            let mut out = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: {}\r\n\r\n",
                derive_accept_key(key.trim().as_bytes()),
                params().response()
            )
            .into_bytes();
            // The first message in the same write as the answer.
            out.extend(server_frame(0x82 | 0x40, &deflated(&msg)));
            server_io.write_all(&out).await.unwrap();
            // What the client sends back: one compressed message.
            let mut inbound = Inbound::new(Role::Server, &params(), MAX);
            let mut plain = Vec::new();
            let mut buf = vec![0u8; 4096];
            loop {
                let n = server_io.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before the reply");
                inbound.push(&buf[..n], &mut plain).unwrap();
                if let Some(m) = messages_so_far(&plain) {
                    return m;
                }
            }
        }
    });
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            "ws://weft.test/doc",
        )
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-extensions", offer().parse().unwrap());
    let (mut ws, response) =
        tokio_tungstenite::client_async(request, DeflateStream::client(client_io))
            .await
            .unwrap();
    let answer = response
        .headers()
        .get("sec-websocket-extensions")
        .map(|v| v.to_str().unwrap());
    let agreed = accept(answer).unwrap();
    ws.get_mut().negotiated(agreed, 1024, MAX).unwrap();
    assert!(ws.get_ref().is_deflate());
    // Written before the held message is read, as the engine sends its
    // step 1 first: the held bytes must survive the write.
    ws.send(Message::Binary(msg.clone().into())).await.unwrap();
    let Some(Ok(Message::Binary(got))) = ws.next().await else {
        panic!("no message")
    };
    assert_eq!(&got[..], &msg[..]);
    let back = server.await.unwrap();
    assert_eq!(back, msg);
}

/// The first whole data message in `plain`, if there is one yet.
#[cfg(feature = "engine")]
fn messages_so_far(plain: &[u8]) -> Option<Vec<u8>> {
    // Whole frames only: parse while they are complete.
    let mut b = plain;
    let mut msg = Vec::new();
    while b.len() >= 2 {
        let (len, at) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => (
                u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize,
                10,
            ),
            126 | 127 => return None,
            n => (n as usize, 2),
        };
        let at = at + if b[1] & 0x80 != 0 { 4 } else { 0 };
        if b.len() < at + len {
            return None;
        }
        msg.extend_from_slice(&b[at..at + len]); // masked with a zero key
        if b[0] & 0x80 != 0 {
            return Some(msg);
        }
        b = &b[at + len..];
    }
    None
}

/// Both ends as the server and the engine run them: tungstenite over a
/// `DeflateStream` each side, large messages both ways, more than the
/// codec decodes ahead.
#[cfg(feature = "engine")]
#[tokio::test]
async fn tungstenite_on_both_ends_sends_large_messages_both_ways() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::Role as WsRole;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    let (a, b) = tokio::io::duplex(64 * 1024);
    let agreed = params();
    let server_io = DeflateStream::server(b, Some(agreed), 1024, 16 << 20);
    let mut client_io = DeflateStream::client(a);
    // No handshake on a duplex: go straight to the agreed state.
    client_io.negotiated(Some(agreed), 1024, 16 << 20).unwrap();
    let mut server = WebSocketStream::from_raw_socket(server_io, WsRole::Server, None).await;
    let mut client = WebSocketStream::from_raw_socket(client_io, WsRole::Client, None).await;
    for size in [10, 5_000, 300_000, 3_000_000] {
        let msg = text(size);
        client
            .send(Message::Binary(msg.clone().into()))
            .await
            .unwrap();
        let Some(Ok(Message::Binary(got))) = server.next().await else {
            panic!("server got nothing")
        };
        assert_eq!(got.len(), msg.len());
        assert!(got[..] == msg[..]);
        server
            .send(Message::Binary(msg.clone().into()))
            .await
            .unwrap();
        let Some(Ok(Message::Binary(got))) = client.next().await else {
            panic!("client got nothing")
        };
        assert!(got[..] == msg[..], "{size} bytes back");
    }
}

/// Short writes everywhere (a 37-byte pipe): small frames written straight
/// through and large ones compressed interleave without losing a byte.
#[cfg(feature = "engine")]
#[tokio::test]
async fn short_writes_between_plain_and_compressed_frames_lose_nothing() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::Role as WsRole;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    let sizes = [10, 500, 1023, 1024, 5000, 3, 100_000, 0, 2000, 1];
    let (a, b) = tokio::io::duplex(37);
    let agreed = params();
    let server_io = DeflateStream::server(b, Some(agreed), 1024, 16 << 20);
    let mut client_io = DeflateStream::client(a);
    client_io.negotiated(Some(agreed), 1024, 16 << 20).unwrap();
    let mut server = WebSocketStream::from_raw_socket(server_io, WsRole::Server, None).await;
    let client = WebSocketStream::from_raw_socket(client_io, WsRole::Client, None).await;
    let (mut tx, mut rx) = client.split();
    let sending = tokio::spawn(async move {
        for (i, &n) in sizes.iter().enumerate() {
            tx.send(Message::Binary(text(n + i).into())).await.unwrap();
        }
        tx
    });
    for (i, &n) in sizes.iter().enumerate() {
        let Some(Ok(Message::Binary(got))) = server.next().await else {
            panic!("message {i}")
        };
        assert!(got[..] == text(n + i)[..], "message {i} ({n} bytes)");
    }
    let _tx = sending.await.unwrap();
    let replying = tokio::spawn(async move {
        for (i, &n) in sizes.iter().enumerate() {
            server
                .send(Message::Binary(noise(n + i).into()))
                .await
                .unwrap();
        }
        server
    });
    for (i, &n) in sizes.iter().enumerate() {
        let Some(Ok(Message::Binary(got))) = rx.next().await else {
            panic!("reply {i}")
        };
        assert!(got[..] == noise(n + i)[..], "reply {i} ({n} bytes)");
    }
    let _server = replying.await.unwrap();
}

#[test]
fn only_whole_small_or_control_frames_pass_straight_through() {
    let small = server_frame(0x82, &text(1023));
    let big = server_frame(0x82, &text(1024));
    let ping = server_frame(0x89, b"hi");
    assert!(passes_through(
        &[small.clone(), ping.clone()].concat(),
        1024
    ));
    assert!(!passes_through(
        &[small.clone(), big.clone()].concat(),
        1024
    ));
    assert!(
        !passes_through(&small[..small.len() - 1], 1024),
        "an incomplete frame"
    );
    assert!(!passes_through(&small[..1], 1024), "an incomplete header");
    assert!(passes_through(&[], 1024));
}

/// A refused upgrade's body reaches tungstenite (the CLI shows it), not the
/// bytes held for a 101.
#[cfg(feature = "engine")]
#[tokio::test]
async fn a_refusal_keeps_its_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::Error as WsError;

    let (client_io, mut server_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        let _ = server_io.read(&mut buf).await;
        let _ = server_io
            .write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 13\r\n\r\ninvalid token")
            .await;
    });
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        "ws://weft.test/doc",
    )
    .unwrap();
    let Err(WsError::Http(response)) =
        tokio_tungstenite::client_async(request, DeflateStream::client(client_io)).await
    else {
        panic!("the upgrade should be refused")
    };
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.body().as_deref(), Some(&b"invalid token"[..]));
}
