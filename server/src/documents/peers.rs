//! What a room needs from other nodes, as a small trait: the seam between
//! `rooms` (which calls it) and `cluster` (which implements it over Redis
//! Streams). On a single node nothing is plugged in.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use weft_core::doc_id::DocId;
use weft_core::room::ConnId;

/// Connection ids at or above this stand for another node's clients.
pub const REMOTE: ConnId = 1 << 63;

/// The answer to [`Peers::tail`]: `None` if it could not be taken (the
/// implementation says why in the log).
pub type TailFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// The other nodes serving the same documents.
pub trait Peers: Send + Sync {
    /// Offers `frame` to the other nodes: an update already committed, or a
    /// presence message.
    fn publish(&self, doc: &DocId, frame: Bytes);
    /// Starts receiving `doc`'s frames after `after` (the tail taken before
    /// the doc was loaded); `None`: re-join by reloading and merging.
    fn subscribe(&self, doc: &DocId, after: Option<String>);
    /// Stops receiving `doc`'s frames (it was unloaded).
    fn unsubscribe(&self, doc: &DocId);
    /// Where `doc`'s frames stand now, taken before loading it, so nothing
    /// committed between the load and the subscription is missed.
    fn tail(&self, doc: &DocId) -> TailFuture;
}
