//! A client of the server's document API (`/api/v1`): what `weft ls`,
//! `rm` and `title` and the app's "On this server" list use.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::http::Method;

use super::http::request;
pub use super::http::Server;
use super::{DocUrl, EngineError};

/// One document on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteDoc {
    /// The id.
    pub id: String,
    /// `meta.title`, if set.
    pub title: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Stored bytes.
    pub size: u64,
}

#[derive(Deserialize)]
struct Page {
    docs: Vec<RemoteDoc>,
    next_cursor: Option<String>,
}

/// A server from a URL: `ws[s]://host:port`, `weft://host:port`, with or
/// without a document path, and an optional `?token=`.
pub fn server_of(url: &str) -> Result<Server, EngineError> {
    // A document URL parses as one; a bare server URL gets a stand-in id.
    let parsed = DocUrl::parse(url).or_else(|_| {
        let (base, query) = url.trim().split_once('?').unwrap_or((url.trim(), ""));
        let sep = if query.is_empty() { "" } else { "?" };
        DocUrl::parse(&format!("{}/x{sep}{query}", base.trim_end_matches('/')))
    })?;
    Ok(server_of_doc(&parsed))
}

/// The server a document URL names, with its token.
pub fn server_of_doc(url: &DocUrl) -> Server {
    Server {
        scheme: url.scheme.clone(),
        authority: url.authority.clone(),
        token: url.token.clone(),
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Every document the token may open, newest first (`q`: titles
/// containing it), following pages up to `max`.
pub async fn list(
    server: &Server,
    q: Option<&str>,
    max: usize,
    timeout: Duration,
) -> Result<Vec<RemoteDoc>, EngineError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/docs?limit={}", (max - out.len()).clamp(1, 1000));
        if let Some(q) = q.filter(|q| !q.is_empty()) {
            path += &format!("&q={}", encode(q));
        }
        if let Some(c) = &cursor {
            path += &format!("&cursor={}", encode(c));
        }
        let answer = request(server, Method::GET, &path, None, timeout)
            .await?
            .ok()?;
        let page: Page = answer.json("GET /api/v1/docs")?;
        out.extend(page.docs);
        match page.next_cursor {
            Some(c) if out.len() < max => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// Moves the document to the trash.
pub async fn trash(url: &DocUrl, timeout: Duration) -> Result<(), EngineError> {
    let path = format!("/api/v1/docs/{}", url.doc);
    request(&server_of_doc(url), Method::DELETE, &path, None, timeout)
        .await?
        .ok()?;
    Ok(())
}

/// Takes the document back out of the trash.
pub async fn restore(url: &DocUrl, timeout: Duration) -> Result<(), EngineError> {
    let path = format!("/api/v1/docs/{}/restore", url.doc);
    request(&server_of_doc(url), Method::POST, &path, None, timeout)
        .await?
        .ok()?;
    Ok(())
}

/// The document's entry on its server.
pub async fn get(url: &DocUrl, timeout: Duration) -> Result<RemoteDoc, EngineError> {
    let path = format!("/api/v1/docs/{}", url.doc);
    let answer = request(&server_of_doc(url), Method::GET, &path, None, timeout)
        .await?
        .ok()?;
    answer.json("GET /api/v1/docs/{id}")
}

/// Sets the document's title (`meta.title`); empty removes it.
pub async fn set_title(
    url: &DocUrl,
    title: &str,
    timeout: Duration,
) -> Result<RemoteDoc, EngineError> {
    let path = format!("/api/v1/docs/{}", url.doc);
    let body = serde_json::json!({ "title": title })
        .to_string()
        .into_bytes();
    let answer = request(
        &server_of_doc(url),
        Method::PATCH,
        &path,
        Some(("application/json", body)),
        timeout,
    )
    .await?
    .ok()?;
    answer.json("PATCH /api/v1/docs/{id}")
}

/// A share link the server minted for one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintedLink {
    /// The token for exactly this document (none without auth).
    pub token: Option<String>,
    /// Its WebSocket URL with the token.
    pub url: String,
    /// `read` or `write`.
    pub access: String,
    /// Expiry, unix seconds (none without auth).
    pub exp: Option<u64>,
}

/// Asks the server for a link to exactly this document: `access` `read` or
/// `write`, expiring after `expires_in` seconds (`None`: with the token
/// used to ask).
pub async fn mint_link(
    url: &DocUrl,
    access: &str,
    expires_in: Option<u64>,
    timeout: Duration,
) -> Result<MintedLink, EngineError> {
    let path = format!("/api/v1/docs/{}/links", url.doc);
    let body = serde_json::json!({ "access": access, "expires_in": expires_in })
        .to_string()
        .into_bytes();
    let answer = request(
        &server_of_doc(url),
        Method::POST,
        &path,
        Some(("application/json", body)),
        timeout,
    )
    .await?
    .ok()?;
    answer.json("POST /api/v1/docs/{id}/links")
}

/// Revokes every link to the document minted so far.
pub async fn reset_links(url: &DocUrl, timeout: Duration) -> Result<(), EngineError> {
    let path = format!("/api/v1/docs/{}/links/reset", url.doc);
    request(&server_of_doc(url), Method::POST, &path, None, timeout)
        .await?
        .ok()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_come_from_server_and_document_urls() {
        let s = server_of("ws://h:4455").unwrap();
        assert_eq!(
            (s.scheme.as_str(), s.authority.as_str(), s.token),
            ("ws", "h:4455", None)
        );
        let s = server_of("weft://h:1/?tls=1&token=abc").unwrap();
        assert_eq!(
            (s.scheme.as_str(), s.token.as_deref()),
            ("wss", Some("abc"))
        );
        let s = server_of("wss://h/doc?token=t").unwrap();
        assert_eq!((s.authority.as_str(), s.token.as_deref()), ("h", Some("t")));
        assert!(server_of("http://h").is_err());
    }
}
