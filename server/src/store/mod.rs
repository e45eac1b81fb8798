//! Where documents are kept: `weft-core`'s `Store` trait with its memory
//! and SQLite implementations (re-exported), and PostgreSQL for several
//! nodes.

pub use weft_core::store::*;

pub mod postgres;
