//! Documents on this node: loading, sharing and unloading them (rooms),
//! which writes are durable, what the API does to one, the trash, and the
//! seam to other nodes, the images and files a document holds, and
//! updates merged per tick before they go out (coalesce).

pub mod autoversion;
pub mod blobs;
pub mod coalesce;
pub mod durability;
pub mod edits;
pub mod memory;
pub mod peers;
pub mod rooms;
pub mod trash;
pub mod versions;
