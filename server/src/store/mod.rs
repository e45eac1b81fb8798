//! Where documents are kept: `weft-core`'s `Store` trait with its memory
//! and SQLite implementations (re-exported), and PostgreSQL for several
//! nodes.
//!
//! # Layout
//! - [`postgres`]: the PostgreSQL store;
//! - `postgres_blobs`: its blob tables and queries.

pub use weft_core::store::*;

pub mod postgres;
mod postgres_blobs;
