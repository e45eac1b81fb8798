//! permessage-deflate (RFC 7692): the negotiation and a codec that sits
//! between a WebSocket library and its socket.
//!
//! tungstenite has no deflate (it refuses RSV1 frames), so rather than swap
//! the WebSocket library this module transcodes the frames on their way in
//! and out: inbound compressed messages are inflated into plain frames
//! before tungstenite sees them, outbound messages at or above a size are
//! compressed after tungstenite wrote them. tungstenite keeps doing what it
//! does (framing, control frames, limits, close handshake); ARCHITECTURE.md
//! ("permessage-deflate") says why this beat yawc and fastwebsockets.
//!
//! Both directions run without context takeover: the server answers with
//! `server_no_context_takeover` and `client_no_context_takeover`, the client
//! offers both. A connection then holds no deflate state between messages,
//! which keeps an idle connection as small as without the extension.
//!
//! # Layout
//! - this file: [`Params`], the server's [`negotiate`], the client's
//!   [`offer`] and [`accept`], and [`DeflateError`].
//! - `frames`: [`Inbound`] and [`Outbound`], the IO-free transcoders.
//! - `stream` (feature `ws`): [`DeflateStream`], the tokio adapter.

mod frames;
#[cfg(feature = "ws")]
mod stream;
#[cfg(test)]
mod tests;

pub use frames::{Inbound, Outbound, Role};
#[cfg(feature = "ws")]
pub use stream::DeflateStream;

use crate::protocol::close;

/// The zlib level messages are compressed at: fast, as a first sync is
/// compressed while someone waits for it.
pub const LEVEL: u32 = 3;

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const EXTENSION: &str = "permessage-deflate";

/// What was agreed for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// The server starts every message with an empty window.
    pub server_no_context_takeover: bool,
    /// The client starts every message with an empty window.
    pub client_no_context_takeover: bool,
    /// The largest window the server may compress with (8–15).
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with (8–15).
    pub client_max_window_bits: u8,
}

impl Params {
    /// The `Sec-WebSocket-Extensions` value the server answers with.
    pub fn response(&self) -> String {
        let mut out = String::from(EXTENSION);
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            out.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.client_max_window_bits < 15 {
            out.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        }
        out
    }
}

/// Why a deflate connection must end, with the close code it ends with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeflateError {
    /// The frames break RFC 6455/7692: a compressed control frame, RSV1 on a
    /// continuation frame, reserved bits nobody negotiated (1002).
    #[error("{0}")]
    Protocol(&'static str),
    /// The compressed data does not inflate (1007).
    #[error("invalid compressed data")]
    Corrupt,
    /// A message inflates past the size limit (1009).
    #[error("message too big once inflated")]
    TooBig,
    /// The server's answer to the client's offer is not one the client can
    /// accept.
    #[error("the server's permessage-deflate answer is invalid: {0}")]
    Negotiation(&'static str),
}

impl DeflateError {
    /// The WebSocket close code this error ends a connection with.
    pub fn close_code(&self) -> u16 {
        match self {
            DeflateError::Protocol(_) | DeflateError::Negotiation(_) => close::PROTOCOL_ERROR,
            DeflateError::Corrupt => close::INVALID_PAYLOAD,
            DeflateError::TooBig => close::TOO_BIG,
        }
    }
}

/// One extension offer: its name and parameters, values unquoted.
fn offers(header: &str) -> impl Iterator<Item = (&str, Vec<(&str, Option<&str>)>)> {
    header.split(',').map(|offer| {
        let mut parts = offer.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let params = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (p, None),
            })
            .collect();
        (name, params)
    })
}

fn window_bits(value: Option<&str>) -> Option<u8> {
    let v = value?;
    // RFC 7692: 1*DIGIT with no leading zero, 8 to 15.
    if v.starts_with('0') {
        return None;
    }
    v.parse::<u8>().ok().filter(|b| (8..=15).contains(b))
}

/// The server's side: the first acceptable `permessage-deflate` offer in the
/// client's `Sec-WebSocket-Extensions` header(s), joined by commas. `None`
/// when there is none; then the connection runs without the extension.
pub fn negotiate(header: &str) -> Option<Params> {
    'offers: for (name, params) in offers(header) {
        if !name.eq_ignore_ascii_case(EXTENSION) {
            continue;
        }
        let mut agreed = Params {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in params {
            // A parameter given twice makes the offer invalid.
            if seen.contains(&key) {
                continue 'offers;
            }
            seen.push(key);
            match key {
                "server_no_context_takeover" | "client_no_context_takeover" if value.is_none() => {}
                "server_max_window_bits" => match window_bits(value) {
                    Some(bits) => agreed.server_max_window_bits = bits,
                    None => continue 'offers,
                },
                // The client can take a limit; it does not need one, as
                // the server inflates with the largest window anyway.
                "client_max_window_bits" => {
                    if value.is_some() && window_bits(value).is_none() {
                        continue 'offers;
                    }
                }
                _ => continue 'offers,
            }
        }
        return Some(agreed);
    }
    None
}

/// The client's offer: no context takeover either way, so neither side
/// keeps a window between messages.
pub fn offer() -> &'static str {
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits"
}

/// The client's side: what the server's answer to [`offer`] agreed, or
/// `None` if it declined the extension.
pub fn accept(header: Option<&str>) -> Result<Option<Params>, DeflateError> {
    let Some(header) = header.filter(|h| !h.trim().is_empty()) else {
        return Ok(None);
    };
    let mut answers = offers(header);
    let (name, params) = answers.next().expect("split yields one item");
    if answers.next().is_some() || !name.eq_ignore_ascii_case(EXTENSION) {
        return Err(DeflateError::Negotiation(
            "an extension the client did not offer",
        ));
    }
    let mut agreed = Params {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in params {
        if seen.contains(&key) {
            return Err(DeflateError::Negotiation("a parameter given twice"));
        }
        seen.push(key);
        match (key, value) {
            ("server_no_context_takeover", None) => agreed.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => agreed.client_no_context_takeover = true,
            ("server_max_window_bits", v) => {
                agreed.server_max_window_bits =
                    window_bits(v).ok_or(DeflateError::Negotiation("bad server_max_window_bits"))?
            }
            ("client_max_window_bits", v) => {
                agreed.client_max_window_bits =
                    window_bits(v).ok_or(DeflateError::Negotiation("bad client_max_window_bits"))?
            }
            _ => return Err(DeflateError::Negotiation("an unknown parameter")),
        }
    }
    Ok(Some(agreed))
}
