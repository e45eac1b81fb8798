//! [`DeflateStream`]: the codec between a WebSocket library and its socket.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::frames::{passes_through, plain_frames, Inbound, Outbound, Role};
use super::{DeflateError, Params, LEVEL};

/// How many wire bytes one read takes.
const READ: usize = 8 * 1024;
/// Plain bytes decoded ahead of the reader, at most (about).
const AHEAD: usize = 64 * 1024;

/// A socket that speaks permessage-deflate on the wire and plain frames to
/// the WebSocket library above it. Without the extension it only passes
/// bytes on. An inbound error reads as an `io::Error` of kind
/// `InvalidData` wrapping the [`DeflateError`], whose close code the
/// connection should close with.
pub struct DeflateStream<S> {
    inner: S,
    mode: Mode,
}

enum Mode {
    Plain,
    /// No extension; bytes read past the handshake, handed out first.
    Held(Vec<u8>),
    /// A client's handshake: bytes after a 101's headers are held until
    /// the answer says whether they are compressed. `status` keeps the
    /// start of the status line: any other answer's body is handed out.
    Handshake {
        tail: u8,
        held: Vec<u8>,
        status: [u8; 12],
        seen: u8,
    },
    /// The codec is built when bytes come and dropped when none are in
    /// flight, so an idle connection holds only `cfg`. Writes that need no
    /// compressing go straight out without one; `through` counts the bytes
    /// of such frames a short write left to send.
    Deflate {
        cfg: Cfg,
        codec: Option<Box<Codec>>,
        through: usize,
    },
}

#[derive(Clone, Copy)]
struct Cfg {
    role: Role,
    params: Params,
    min_size: usize,
    max_message: usize,
}

struct Codec {
    inbound: Inbound,
    outbound: Outbound,
    /// Wire bytes read but not decoded yet (the reader was behind).
    raw: Vec<u8>,
    /// Plain bytes ready for the reader, from `read_at`.
    read: Vec<u8>,
    read_at: usize,
    /// Wire bytes not yet written, from `write_at`.
    write: Vec<u8>,
    write_at: usize,
}

impl<S> DeflateStream<S> {
    /// A server's socket after the handshake: `params` is what was agreed,
    /// `None` for no extension. Messages of `min_size` bytes and more are
    /// compressed; inbound messages may inflate to `max_message` bytes.
    pub fn server(inner: S, params: Option<Params>, min_size: usize, max_message: usize) -> Self {
        let mode = match params {
            Some(params) => Mode::Deflate {
                cfg: Cfg {
                    role: Role::Server,
                    params,
                    min_size,
                    max_message,
                },
                codec: None,
                through: 0,
            },
            None => Mode::Plain,
        };
        DeflateStream { inner, mode }
    }

    /// A client's socket before the handshake; call [`Self::negotiated`]
    /// once the response is read.
    pub fn client(inner: S) -> Self {
        DeflateStream {
            inner,
            mode: Mode::Handshake {
                tail: 0,
                held: Vec::new(),
                status: [0; 12],
                seen: 0,
            },
        }
    }

    /// The client's handshake is done and agreed `params`.
    pub fn negotiated(
        &mut self,
        params: Option<Params>,
        min_size: usize,
        max_message: usize,
    ) -> Result<(), DeflateError> {
        let Mode::Handshake { held, .. } = std::mem::replace(&mut self.mode, Mode::Plain) else {
            return Ok(());
        };
        let Some(params) = params else {
            // Nothing to decode: the held bytes are plain frames.
            if !held.is_empty() {
                self.mode = Mode::Held(held);
            }
            return Ok(());
        };
        let cfg = Cfg {
            role: Role::Client,
            params,
            min_size,
            max_message,
        };
        let mut codec = None;
        if !held.is_empty() {
            // Decoded as the reader asks, like any other bytes.
            // Decoded as the reader asks, like any other bytes.
            let mut c = Box::new(Codec::new(&cfg));
            c.raw = held;
            codec = Some(c);
        }
        self.mode = Mode::Deflate {
            cfg,
            codec,
            through: 0,
        };
        Ok(())
    }

    /// Whether the extension is on.
    pub fn is_deflate(&self) -> bool {
        matches!(&self.mode, Mode::Deflate { .. })
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl Codec {
    fn new(cfg: &Cfg) -> Self {
        Codec {
            inbound: Inbound::new(cfg.role, &cfg.params, cfg.max_message),
            outbound: Outbound::new(cfg.role, &cfg.params, cfg.min_size, LEVEL),
            raw: Vec::new(),
            read: Vec::new(),
            read_at: 0,
            write: Vec::new(),
            write_at: 0,
        }
    }

    /// Nothing in flight either way: the codec can go.
    fn idle(&self) -> bool {
        self.raw.is_empty()
            && self.read.is_empty()
            && self.write.is_empty()
            && self.inbound.is_idle()
            && self.outbound.is_idle()
    }
}

/// Drops the codec once nothing is in flight.
fn settle(codec: &mut Option<Box<Codec>>) {
    if codec.as_ref().is_some_and(|c| c.idle()) {
        *codec = None;
    }
}

fn invalid(e: DeflateError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl<S: AsyncRead + AsyncWrite + Unpin> DeflateStream<S> {
    /// Writes what the codec holds; `Ready` once it is all written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Mode::Deflate { codec, .. } = &mut self.mode else {
            return Poll::Ready(Ok(()));
        };
        let Some(c) = codec else {
            return Poll::Ready(Ok(()));
        };
        while c.write_at < c.write.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &c.write[c.write_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            c.write_at += n;
        }
        c.write = Vec::new();
        c.write_at = 0;
        settle(codec);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for DeflateStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.mode {
            Mode::Plain => Pin::new(&mut this.inner).poll_read(cx, buf),
            Mode::Held(held) => {
                let n = buf.remaining().min(held.len());
                buf.put_slice(&held[..n]);
                held.drain(..n);
                if held.is_empty() {
                    this.mode = Mode::Plain;
                }
                Poll::Ready(Ok(()))
            }
            Mode::Handshake { .. } => this.poll_read_handshake(cx, buf),
            Mode::Deflate { .. } => this.poll_read_deflate(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> DeflateStream<S> {
    /// A client's handshake: hands out the response up to its blank line,
    /// and holds what follows a 101 until it is known to be compressed.
    fn poll_read_handshake(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self;
        let Mode::Handshake {
            tail,
            held,
            status,
            seen,
        } = &mut this.mode
        else {
            unreachable!("called in the handshake")
        };
        if *tail == 4 {
            return Poll::Ready(Err(io::Error::other(
                "read past the handshake before it was negotiated",
            )));
        }
        // Hand out the response up to its blank line, and hold the rest.
        let mut raw = [0u8; READ];
        let mut rb = ReadBuf::new(&mut raw[..buf.remaining().min(READ)]);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
        let got = rb.filled();
        let mut end = got.len();
        for (i, &b) in got.iter().enumerate() {
            if usize::from(*seen) < status.len() {
                status[usize::from(*seen)] = b;
                *seen += 1;
            }
            *tail = match (*tail, b) {
                (0 | 2, b'\r') | (1 | 3, b'\n') => *tail + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if *tail == 4 {
                end = i + 1;
                break;
            }
        }
        if *tail == 4 && status != b"HTTP/1.1 101" {
            // A refusal: its body is for the library to read.
            buf.put_slice(got);
            this.mode = Mode::Plain;
            return Poll::Ready(Ok(()));
        }
        buf.put_slice(&got[..end]);
        held.extend_from_slice(&got[end..]);
        Poll::Ready(Ok(()))
    }

    /// With the extension: decoded bytes first, then the socket.
    fn poll_read_deflate(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self;
        let Mode::Deflate { cfg, codec, .. } = &mut this.mode else {
            unreachable!("called with the extension")
        };
        loop {
            if let Some(c) = codec {
                if c.read_at == c.read.len() && !c.raw.is_empty() {
                    // Decode a little more of what is waiting.
                    c.read = Vec::new();
                    c.read_at = 0;
                    let took = c
                        .inbound
                        .push_some(&c.raw, &mut c.read, AHEAD)
                        .map_err(invalid)?;
                    c.raw.drain(..took);
                }
                if c.read_at < c.read.len() {
                    let n = buf.remaining().min(c.read.len() - c.read_at);
                    buf.put_slice(&c.read[c.read_at..c.read_at + n]);
                    c.read_at += n;
                    if c.read_at == c.read.len() {
                        c.read = Vec::new();
                        c.read_at = 0;
                        settle(codec);
                    }
                    return Poll::Ready(Ok(()));
                }
            }
            if codec.is_none() {
                // At a frame boundary: read straight into the reader's
                // buffer, and keep the bytes there if nothing in them
                // is compressed and no frame is cut short.
                let before = buf.filled().len();
                ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                let got = &buf.filled()[before..];
                if got.is_empty() || plain_frames(got) {
                    return Poll::Ready(Ok(()));
                }
                let got = got.to_vec();
                buf.set_filled(before);
                let c = codec.insert(Box::new(Codec::new(cfg)));
                let took = c
                    .inbound
                    .push_some(&got, &mut c.read, AHEAD)
                    .map_err(invalid)?;
                c.raw.extend_from_slice(&got[took..]);
                continue;
            }
            let mut raw = [0u8; READ];
            let mut rb = ReadBuf::new(&mut raw);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                return Poll::Ready(Ok(())); // end of stream
            }
            let c = codec.get_or_insert_with(|| Box::new(Codec::new(cfg)));
            let got = rb.filled();
            let took = c
                .inbound
                .push_some(got, &mut c.read, AHEAD)
                .map_err(invalid)?;
            c.raw.extend_from_slice(&got[took..]);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for DeflateStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !matches!(this.mode, Mode::Deflate { .. }) {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        // Take more only once the last is out: that is the backpressure.
        ready!(this.poll_drain(cx))?;
        let Mode::Deflate {
            cfg,
            codec,
            through,
        } = &mut this.mode
        else {
            unreachable!()
        };
        if codec.is_none() {
            let plain = if *through > 0 {
                Some(buf.len().min(*through))
            } else {
                passes_through(buf, cfg.min_size).then_some(buf.len())
            };
            if let Some(len) = plain {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..len]))?;
                *through = through.saturating_sub(n).max(len - n);
                return Poll::Ready(Ok(n));
            }
        }
        let c = codec.get_or_insert_with(|| Box::new(Codec::new(cfg)));
        c.outbound.push(buf, &mut c.write);
        // Start writing now; whatever is left goes at the next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
