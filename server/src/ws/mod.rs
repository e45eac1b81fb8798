//! One WebSocket connection after the upgrade: its socket loop, what it
//! shares with the rooms (closing, acks), and its bounded send queue.

pub mod connection;
pub mod control;
pub mod outbox;
