//! The error type of the sync core.

use thiserror::Error;

/// Why a frame could not be handled. Each variant maps to a WebSocket close
/// code through [`ProtocolError::close_code`], so adapters need no table of
/// their own.
#[derive(Debug, Error)]
pub enum ProtocolError {
    /// The frame is not a sequence of well-formed y-protocols messages.
    #[error("malformed message: {0}")]
    Malformed(#[from] yrs::encoding::read::Error),

    /// A sync message carried an update that yrs cannot decode.
    #[error("undecodable update: {0}")]
    BadUpdate(yrs::encoding::read::Error),

    /// A decoded update could not be integrated into the document.
    #[error("update rejected by the document: {0}")]
    Rejected(#[from] yrs::error::UpdateError),

    /// yrs panicked while integrating an update; the room is poisoned.
    #[error("internal error while applying an update")]
    Panicked,

    /// An awareness update could not be applied.
    #[error("bad awareness update: {0}")]
    Awareness(#[from] yrs::sync::awareness::Error),
}

impl ProtocolError {
    /// The WebSocket close code that tells the peer what went wrong:
    /// 1002 (protocol error) for framing, 1007 (invalid payload) for content.
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::Malformed(_) => crate::protocol::close::PROTOCOL_ERROR,
            ProtocolError::Panicked => crate::protocol::close::INTERNAL,
            _ => crate::protocol::close::INVALID_PAYLOAD,
        }
    }
}
