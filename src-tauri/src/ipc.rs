//! The IPC frame: how the engine's events reach the editor. Raw bytes share
//! one `Channel`, so each frame starts with a [`Tag`] byte; the editor's
//! side is `ui/src/bridge.ts`, which reads the same tags.

use serde::Serialize;
use tauri::ipc::{Channel, InvokeResponseBody};
use weft_core::engine::{Counts, Event, Session, Status};

/// What a frame carries, as its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    /// A Yjs v1 update from the server.
    Update = 0,
    /// A y-protocols awareness update.
    Awareness = 1,
    /// [`DocStatus`] as JSON.
    Status = 2,
    /// `{code, message}` as JSON.
    Error = 3,
}

/// A document's state for the status bar; fields not known are left out.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocStatus {
    /// `offline`, `connecting`, `syncing` or `synced`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Local edits the server has not saved yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
    /// Local edits the server saved in this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<u64>,
    /// Local edits durable on this device in this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_locally: Option<u64>,
    /// The server said it cannot save right now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cannot_save: Option<bool>,
}

impl DocStatus {
    /// The connection status alone.
    pub fn of_status(s: Status) -> Self {
        DocStatus {
            status: Some(status_name(s)),
            ..DocStatus::default()
        }
    }

    /// The edit counts alone.
    pub fn of_counts(c: Counts) -> Self {
        DocStatus {
            pending: Some(c.pending),
            saved: Some(c.saved),
            saved_locally: Some(c.saved_locally),
            server_cannot_save: Some(c.server_cannot_save),
            ..DocStatus::default()
        }
    }

    /// Everything about an open session.
    pub fn of_session(s: &Session) -> Self {
        DocStatus {
            status: Some(status_name(s.status())),
            ..DocStatus::of_counts(s.counts())
        }
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Offline => "offline",
        Status::Connecting => "connecting",
        Status::Syncing => "syncing",
        Status::Synced => "synced",
    }
}

/// `tag` then `body`.
pub fn encode(tag: Tag, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(tag as u8);
    out.extend_from_slice(body);
    out
}

/// The frame for an engine event.
pub fn frame(event: &Event) -> Option<Vec<u8>> {
    let (tag, body) = match event {
        Event::Remote(b) => (Tag::Update, b.to_vec()),
        Event::Awareness(b) => (Tag::Awareness, b.to_vec()),
        Event::Status(s) => (Tag::Status, json(&DocStatus::of_status(*s))?),
        Event::Counts(c) => (Tag::Status, json(&DocStatus::of_counts(*c))?),
        Event::Error(e) => (Tag::Error, json(&crate::error::IpcError::from(e))?),
    };
    Some(encode(tag, &body))
}

fn json<T: Serialize>(v: &T) -> Option<Vec<u8>> {
    serde_json::to_vec(v).ok()
}

/// Sends the session's current presence, then every later event, to the
/// editor until the channel closes.
pub fn forward(session: &Session, events: Channel<InvokeResponseBody>) {
    let mut rx = session.subscribe();
    if let Some(states) = session.awareness_update() {
        let _ = events.send(InvokeResponseBody::Raw(encode(Tag::Awareness, &states)));
    }
    tauri::async_runtime::spawn(async move {
        while let Ok(ev) = rx.recv().await {
            let Some(f) = frame(&ev) else { continue };
            if events.send(InvokeResponseBody::Raw(f)).is_err() {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn frames_are_tagged() {
        assert_eq!(
            frame(&Event::Remote(Bytes::from_static(&[9, 9]))).unwrap(),
            vec![0, 9, 9]
        );
        let status = frame(&Event::Status(Status::Synced)).unwrap();
        assert_eq!(status[0], Tag::Status as u8);
        assert_eq!(&status[1..], br#"{"status":"synced"}"#);
        let counts = frame(&Event::Counts(Counts {
            pending: 2,
            saved: 1,
            saved_locally: 3,
            server_cannot_save: true,
        }))
        .unwrap();
        assert_eq!(
            &counts[1..],
            br#"{"pending":2,"saved":1,"savedLocally":3,"serverCannotSave":true}"#
        );
        let e = weft_core::engine::EngineError::Closed;
        let error = frame(&Event::Error(e)).unwrap();
        assert_eq!(error[0], Tag::Error as u8);
        assert_eq!(
            &error[1..],
            br#"{"code":"closed","message":"the session is closed"}"#
        );
    }
}
