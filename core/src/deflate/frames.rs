//! The two directions of permessage-deflate as IO-free byte transcoders.
//!
//! [`Inbound`] reads the wire and writes plain frames (compressed messages
//! inflated, RSV1 cleared); [`Outbound`] reads the plain frames a WebSocket
//! library wrote and writes the wire (messages at or above a size
//! compressed, RSV1 set). Everything else passes through untouched, so the
//! library still checks framing, masking, control frames and UTF-8.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{DeflateError, Params};

/// The bytes RFC 7692 strips from the end of each compressed message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Compressed bytes inflated at a time (at most about 0.5 MiB out).
const RAW_STEP: usize = 512;
/// The most inflated bytes written as one plain frame.
const CHUNK: usize = 16 * 1024;
const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const RSV23: u8 = 0x30;
const MASK_BIT: u8 = 0x80;

/// Which end of the connection this is: a server reads masked frames and
/// writes unmasked ones, a client the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// A frame header as it comes, up to 14 bytes.
#[derive(Default)]
struct HeaderBuf {
    buf: [u8; 14],
    len: usize,
}

struct Header {
    first: u8,
    len: u64,
    mask: Option<[u8; 4]>,
    /// The header's bytes, to pass it on as it was.
    raw: [u8; 14],
    raw_len: usize,
}

impl Header {
    fn opcode(&self) -> u8 {
        self.first & 0x0f
    }
    fn fin(&self) -> bool {
        self.first & FIN != 0
    }
}

impl HeaderBuf {
    /// Takes header bytes from `input`; a header once it is complete.
    fn take(&mut self, input: &mut &[u8]) -> Option<Header> {
        loop {
            let need = self.needed();
            if self.len >= need {
                break;
            }
            let (&b, rest) = input.split_first()?;
            self.buf[self.len] = b;
            self.len += 1;
            *input = rest;
        }
        let b = &self.buf;
        let (len, at) = match b[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 => (
                u64::from_be_bytes(b[2..10].try_into().expect("8 bytes")),
                10,
            ),
            n => (u64::from(n), 2),
        };
        let mask = (b[1] & MASK_BIT != 0).then(|| b[at..at + 4].try_into().expect("4 bytes"));
        let header = Header {
            first: b[0],
            len,
            mask,
            raw: self.buf,
            raw_len: self.len,
        };
        self.len = 0;
        Some(header)
    }

    fn needed(&self) -> usize {
        if self.len < 2 {
            return 2;
        }
        let ext = match self.buf[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if self.buf[1] & MASK_BIT != 0 { 4 } else { 0 }
    }
}

/// Writes a frame header.
pub(super) fn header(out: &mut Vec<u8>, first: u8, len: usize, mask: Option<[u8; 4]>) {
    out.push(first);
    let m = if mask.is_some() { MASK_BIT } else { 0 };
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

fn unmask(data: &mut [u8], key: [u8; 4], offset: u64) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[((offset + i as u64) % 4) as usize];
    }
}

/// The frame whose payload is being read.
enum Payload {
    /// Passed on as it is.
    Through,
    /// Inflated; `fin` ends the message.
    Inflate { fin: bool },
}

struct Current {
    left: u64,
    mask: Option<[u8; 4]>,
    at: u64,
    payload: Payload,
}

/// The message being read, as far as fragmentation goes.
#[derive(PartialEq, Eq)]
enum Message {
    None,
    Plain,
    /// A compressed message: its opcode until the first plain frame is
    /// written, then continuation; the inflated size so far.
    Compressed {
        opcode: u8,
        inflated: usize,
    },
}

/// Wire → plain frames.
pub struct Inbound {
    role: Role,
    /// The peer resets its window per message, so ours can go too.
    reset: bool,
    max_message: usize,
    header: HeaderBuf,
    current: Option<Current>,
    message: Message,
    inflater: Option<Box<Decompress>>,
    failed: Option<DeflateError>,
}

impl Inbound {
    /// `max_message` bounds a message's inflated size (the server's
    /// `--max-message-size`).
    pub fn new(role: Role, params: &Params, max_message: usize) -> Self {
        let reset = match role {
            Role::Server => params.client_no_context_takeover,
            Role::Client => params.server_no_context_takeover,
        };
        Inbound {
            role,
            reset,
            max_message,
            header: HeaderBuf::default(),
            current: None,
            message: Message::None,
            inflater: None,
            failed: None,
        }
    }

    /// Reads wire bytes; appends the plain frames they make to `out`. After
    /// an error every call returns it again.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        self.push_some(input, out, usize::MAX).map(|_| ())
    }

    /// Like [`Self::push`], but stops once `out` holds `budget` bytes
    /// (give or take what [`RAW_STEP`] wire bytes inflate to), so a reader
    /// that is behind is not handed a whole bomb's worth at once. Returns
    /// how many bytes of `input` it took; feed the rest again later.
    pub fn push_some(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        budget: usize,
    ) -> Result<usize, DeflateError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut rest = input;
        let result = self.run(&mut rest, out, budget);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result.map(|()| input.len() - rest.len())
    }

    fn run(
        &mut self,
        input: &mut &[u8],
        out: &mut Vec<u8>,
        budget: usize,
    ) -> Result<(), DeflateError> {
        while (!input.is_empty() || self.ends_now()) && out.len() < budget {
            if self.current.is_none() {
                let Some(h) = self.header.take(input) else {
                    break;
                };
                self.start(h, out)?;
                continue;
            }
            let cur = self.current.as_mut().expect("checked");
            let step = match cur.payload {
                Payload::Through => usize::MAX,
                Payload::Inflate { .. } => RAW_STEP,
            };
            let n = usize::try_from(cur.left)
                .unwrap_or(usize::MAX)
                .min(input.len())
                .min(step);
            let (data, rest) = input.split_at(n);
            *input = rest;
            cur.left -= n as u64;
            let done = cur.left == 0;
            match cur.payload {
                Payload::Through => out.extend_from_slice(data),
                Payload::Inflate { fin } => {
                    let mut data = data.to_vec();
                    if let Some(key) = cur.mask {
                        unmask(&mut data, key, cur.at);
                    }
                    cur.at += n as u64;
                    self.inflate(&data, out)?;
                    if done && fin {
                        self.inflate(&TAIL, out)?;
                        self.finish(out);
                    }
                }
            }
            if done {
                self.current = None;
            }
        }
        Ok(())
    }

    /// Between messages, with no window to keep and nothing failed.
    pub fn is_idle(&self) -> bool {
        self.header.len == 0
            && self.current.is_none()
            && self.message == Message::None
            && self.inflater.is_none()
            && self.failed.is_none()
    }

    /// A zero-length frame is complete as soon as its header is.
    fn ends_now(&self) -> bool {
        matches!(&self.current, Some(c) if c.left == 0)
    }

    fn start(&mut self, h: Header, out: &mut Vec<u8>) -> Result<(), DeflateError> {
        if h.first & RSV23 != 0 {
            return Err(DeflateError::Protocol(
                "reserved bits that were not negotiated",
            ));
        }
        let rsv1 = h.first & RSV1 != 0;
        let opcode = h.opcode();
        let through = Current {
            left: h.len,
            mask: h.mask,
            at: 0,
            payload: Payload::Through,
        };
        let inflate = Current {
            left: h.len,
            mask: h.mask,
            at: 0,
            payload: Payload::Inflate { fin: h.fin() },
        };
        let current = match opcode {
            0x8..=0xf => {
                if rsv1 {
                    return Err(DeflateError::Protocol("a compressed control frame"));
                }
                through
            }
            0x1 | 0x2 => {
                if self.message != Message::None {
                    return Err(DeflateError::Protocol(
                        "a new message inside a fragmented one",
                    ));
                }
                if rsv1 {
                    self.message = Message::Compressed {
                        opcode,
                        inflated: 0,
                    };
                    inflate
                } else {
                    self.message = if h.fin() {
                        Message::None
                    } else {
                        Message::Plain
                    };
                    through
                }
            }
            0x0 => {
                if rsv1 {
                    return Err(DeflateError::Protocol("RSV1 on a continuation frame"));
                }
                match self.message {
                    Message::Compressed { .. } => inflate,
                    _ => {
                        if h.fin() {
                            self.message = Message::None;
                        }
                        through
                    }
                }
            }
            // Reserved opcodes: the WebSocket library refuses them.
            _ => through,
        };
        if matches!(current.payload, Payload::Through) {
            out.extend_from_slice(&h.raw[..h.raw_len]);
        }
        self.current = Some(current);
        Ok(())
    }

    /// Inflates `data` into plain frames, counting against the limit as
    /// it goes: a bomb is stopped one chunk past the limit, not at its end.
    fn inflate(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        let mask = self.mask();
        let inflater = self
            .inflater
            .get_or_insert_with(|| Box::new(Decompress::new(false)));
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
            let status = inflater
                .decompress(data, &mut chunk, FlushDecompress::Sync)
                .map_err(|_| DeflateError::Corrupt)?;
            let used = (inflater.total_in() - in_before) as usize;
            let made = (inflater.total_out() - out_before) as usize;
            data = &data[used..];
            if made > 0 {
                let Message::Compressed { opcode, inflated } = &mut self.message else {
                    unreachable!("inflating outside a compressed message")
                };
                *inflated += made;
                if *inflated > self.max_message {
                    return Err(DeflateError::TooBig);
                }
                let first = std::mem::replace(opcode, 0);
                header(out, first, made, mask);
                out.extend_from_slice(&chunk[..made]);
            }
            if status == Status::StreamEnd {
                // A final block ends the stream; what follows starts afresh.
                inflater.reset(false);
            }
            if made == CHUNK {
                continue; // more may be waiting inside the inflater
            }
            if data.is_empty() {
                return Ok(());
            }
            if used == 0 && made == 0 {
                return Err(DeflateError::Corrupt);
            }
        }
    }

    /// The message's last plain frame.
    fn finish(&mut self, out: &mut Vec<u8>) {
        let Message::Compressed { opcode, .. } = self.message else {
            return;
        };
        header(out, FIN | opcode, 0, self.mask());
        self.message = Message::None;
        if self.reset {
            // Nothing to carry to the next message: free the window.
            self.inflater = None;
        }
    }

    /// Frames a server reads must be masked; a zero key leaves them as they are.
    fn mask(&self) -> Option<[u8; 4]> {
        (self.role == Role::Server).then_some([0; 4])
    }
}

/// True when `buf` is whole frames, each of which `keep` accepts as it is.
fn whole_frames(mut buf: &[u8], keep: impl Fn(&Header, usize) -> bool) -> bool {
    while !buf.is_empty() {
        let mut header = HeaderBuf::default();
        let mut rest = buf;
        let Some(h) = header.take(&mut rest) else {
            return false;
        };
        let Ok(len) = usize::try_from(h.len) else {
            return false;
        };
        if rest.len() < len || !keep(&h, len) {
            return false;
        }
        buf = &rest[len..];
    }
    true
}

/// True when `buf` is whole frames that [`Outbound`] would pass on
/// unchanged (control frames, data frames under `min_size`), so they can
/// be written without building a codec.
pub fn passes_through(buf: &[u8], min_size: usize) -> bool {
    whole_frames(buf, |h, len| {
        let data = matches!(h.opcode(), 0x1 | 0x2) && h.fin() && h.first & (RSV1 | RSV23) == 0;
        !(data && len >= min_size)
    })
}

/// True when `buf` is whole frames none of which is compressed (no RSV bit
/// set), which [`Inbound`] would pass on unchanged: they can be read
/// without building a codec.
pub fn plain_frames(buf: &[u8]) -> bool {
    whole_frames(buf, |h, _| h.first & (RSV1 | RSV23) == 0)
}

/// Plain frames → wire.
pub struct Outbound {
    /// The window to compress with; `None`: never compress (a peer that
    /// asked for 8 bits, which zlib cannot write).
    window_bits: Option<u8>,
    min_size: usize,
    level: Compression,
    header: HeaderBuf,
    current: Option<OutFrame>,
}

enum OutFrame {
    Through {
        left: u64,
    },
    /// A whole message gathered to be compressed.
    Gather {
        first: u8,
        mask: Option<[u8; 4]>,
        left: u64,
        payload: Vec<u8>,
    },
}

impl Outbound {
    /// Messages of `min_size` bytes and more are compressed.
    pub fn new(role: Role, params: &Params, min_size: usize, level: u32) -> Self {
        let bits = match role {
            Role::Server => params.server_max_window_bits,
            Role::Client => params.client_max_window_bits,
        };
        Outbound {
            window_bits: (bits >= 9).then_some(bits),
            min_size,
            level: Compression::new(level),
            header: HeaderBuf::default(),
            current: None,
        }
    }

    /// Between frames.
    pub fn is_idle(&self) -> bool {
        self.header.len == 0 && self.current.is_none()
    }

    /// Reads plain frame bytes; appends the wire bytes to `out`.
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty()
            || matches!(
                self.current,
                Some(OutFrame::Gather { left: 0, .. }) | Some(OutFrame::Through { left: 0 })
            )
        {
            let Some(frame) = &mut self.current else {
                let Some(h) = self.header.take(&mut input) else {
                    return;
                };
                let data = matches!(h.opcode(), 0x1 | 0x2);
                let whole = h.fin() && h.first & (RSV1 | RSV23) == 0;
                let big = usize::try_from(h.len).is_ok_and(|n| n >= self.min_size);
                self.current = Some(if data && whole && big && self.window_bits.is_some() {
                    OutFrame::Gather {
                        first: h.first,
                        mask: h.mask,
                        left: h.len,
                        payload: Vec::with_capacity(h.len as usize),
                    }
                } else {
                    out.extend_from_slice(&h.raw[..h.raw_len]);
                    OutFrame::Through { left: h.len }
                });
                continue;
            };
            match frame {
                OutFrame::Through { left } => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    *left -= n as u64;
                    if *left == 0 {
                        self.current = None;
                    }
                }
                OutFrame::Gather {
                    first,
                    mask,
                    left,
                    payload,
                } => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    payload.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    *left -= n as u64;
                    if *left == 0 {
                        let (first, mask, mut payload) = (*first, *mask, std::mem::take(payload));
                        self.current = None;
                        if let Some(key) = mask {
                            unmask(&mut payload, key, 0);
                        }
                        self.write_message(first, mask, payload, out);
                    }
                }
            }
        }
    }

    /// Writes one whole message, compressed when that makes it smaller.
    fn write_message(
        &self,
        first: u8,
        mask: Option<[u8; 4]>,
        mut payload: Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        let bits = self.window_bits.expect("only gathered with a window");
        // A fresh compressor per message: no context takeover, no state
        // kept between messages.
        let mut deflater = Compress::new_with_window_bits(self.level, false, bits);
        let mut packed = Vec::with_capacity(payload.len() / 2 + 64);
        loop {
            let before = deflater.total_in() as usize;
            let rest = &payload[before..];
            if packed.capacity() - packed.len() < 64 {
                packed.reserve(packed.capacity().max(1024));
            }
            deflater
                .compress_vec(rest, &mut packed, FlushCompress::Sync)
                .expect("deflate of a buffer in memory cannot fail");
            if deflater.total_in() as usize == payload.len()
                && packed.ends_with(&TAIL)
                && packed.len() < packed.capacity()
            {
                break;
            }
        }
        packed.truncate(packed.len() - TAIL.len());
        let (first, body) = if packed.len() < payload.len() {
            (first | RSV1, &mut packed)
        } else {
            (first, &mut payload)
        };
        if let Some(key) = mask {
            unmask(body, key, 0);
        }
        header(out, first, body.len(), mask);
        out.extend_from_slice(body);
    }
}
