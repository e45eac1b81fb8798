//! Weft's sync core: the y-protocols session logic shared by `weft-server` and
//! the client engine. It does no IO: callers hand it the bytes of a WebSocket
//! frame and get back the frames to send, the updates to persist, and what to
//! broadcast. That keeps the protocol testable without sockets and lets the
//! server and the client agree byte for byte.
//!
//! # Layout
//! - [`protocol`]: decoding one frame into y-protocols messages (through
//!   `yrs::sync`), the guarded update decoder, frame tag checks, encoding
//!   replies, and Weft's ack and store-notice extensions.
//! - [`doc_id`]: what a document id may be, and decoding it from a URL path.
//! - [`room`]: the server side of one document: the doc, its awareness, and
//!   which awareness ids each connection owns.
//! - [`client`]: the client side of one connection: handshake, updates, and
//!   which sent message carries which edits, so acks become saved edits.
//! - [`convert`]: the TipTap document in yrs to and from Markdown, HTML,
//!   text and ProseMirror JSON.
//! - [`store`] (feature `store`): where documents are kept: the `Store`
//!   trait with SQLite and memory implementations and the group-commit
//!   write queue, shared by the server and the engine; documents' images
//!   and files (blobs) and their collection.
//! - [`engine`] (feature `engine`): the client engine: a session per
//!   document over tokio-tungstenite, with a local SQLite copy and library.
//! - [`history`]: restoring a version as one forward edit, and the block
//!   and word diff between two states.
//! - [`comments`]: comment threads under the `comments` root, and the
//!   check that lets "can comment" access change only those ([`comments::access`]).
//! - [`deflate`]: permessage-deflate (RFC 7692): the negotiation, the
//!   frame transcoders, and (feature `ws`) the stream adapter that puts
//!   them under tungstenite.
//! - [`title`]: the shared title, `meta.title` inside the document.
//! - [`backoff`] and [`time`]: the one retry formula and the one clock
//!   helper everything shares.
//! - [`fuzzing`]: the entry point the fuzz target and the corpus replay share.
//! - [`error`]: the one error type of this crate.

pub mod backoff;
pub mod client;
pub mod comments;
pub mod convert;
pub mod deflate;
pub mod doc_id;
#[cfg(feature = "engine")]
pub mod engine;
pub mod error;
pub mod fuzzing;
pub mod history;
pub mod protocol;
pub mod room;
#[cfg(feature = "store")]
pub mod store;
pub mod time;
pub mod title;

pub use error::ProtocolError;
