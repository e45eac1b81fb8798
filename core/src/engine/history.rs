//! A client of the server's version history (`/api/v1/docs/{id}/versions`):
//! what `weft history` and the app's history panel use.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::http::Method;

use super::api::server_of_doc;
use super::http::request;
use super::{DocUrl, EngineError};

/// One version, as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Its id.
    pub id: String,
    /// `auto`, `named` or `pre-restore`.
    pub kind: String,
    /// Its name, if any.
    pub name: Option<String>,
    /// When it was made (unix milliseconds).
    pub created_at: i64,
    /// Who changed the document since the version before.
    pub authors: Vec<String>,
    /// Stored bytes.
    pub size: u64,
}

/// One piece of a changed block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffPart {
    /// `equal`, `insert` or `delete`.
    pub op: String,
    /// Its text (Markdown).
    pub text: String,
}

#[derive(Deserialize)]
struct List {
    versions: Vec<Version>,
}

#[derive(Deserialize)]
struct Diff {
    blocks: Vec<Vec<DiffPart>>,
}

fn json_body(name: &str) -> Option<(&'static str, Vec<u8>)> {
    let body = serde_json::json!({ "name": name }).to_string().into_bytes();
    Some(("application/json", body))
}

/// The document's versions, newest first.
pub async fn list(url: &DocUrl, timeout: Duration) -> Result<Vec<Version>, EngineError> {
    let path = format!("/api/v1/docs/{}/versions", url.doc);
    let answer = request(&server_of_doc(url), Method::GET, &path, None, timeout)
        .await?
        .ok()?;
    let list: List = answer.json("GET /api/v1/docs/{id}/versions")?;
    Ok(list.versions)
}

/// Saves the document as it is now as a version named `name`.
pub async fn save(url: &DocUrl, name: &str, timeout: Duration) -> Result<Version, EngineError> {
    let path = format!("/api/v1/docs/{}/versions", url.doc);
    let answer = request(
        &server_of_doc(url),
        Method::POST,
        &path,
        json_body(name),
        timeout,
    )
    .await?
    .ok()?;
    answer.json("POST /api/v1/docs/{id}/versions")
}

/// Names version `vid` (a named automatic version is kept forever).
pub async fn name(
    url: &DocUrl,
    vid: &str,
    name: &str,
    timeout: Duration,
) -> Result<Version, EngineError> {
    let path = format!("/api/v1/docs/{}/versions/{vid}", url.doc);
    let answer = request(
        &server_of_doc(url),
        Method::PATCH,
        &path,
        json_body(name),
        timeout,
    )
    .await?
    .ok()?;
    answer.json("PATCH /api/v1/docs/{id}/versions/{vid}")
}

/// Version `vid`'s content in `format` (`md`, `html`, `text`, `json` or
/// `update`).
pub async fn content(
    url: &DocUrl,
    vid: &str,
    format: &str,
    timeout: Duration,
) -> Result<Vec<u8>, EngineError> {
    let path = format!(
        "/api/v1/docs/{}/versions/{vid}/content?format={format}",
        url.doc
    );
    let answer = request(&server_of_doc(url), Method::GET, &path, None, timeout)
        .await?
        .ok()?;
    Ok(answer.body.to_vec())
}

/// What changed from version `vid` to the current document, block by block.
pub async fn diff(
    url: &DocUrl,
    vid: &str,
    timeout: Duration,
) -> Result<Vec<Vec<DiffPart>>, EngineError> {
    let path = format!("/api/v1/docs/{}/versions/{vid}/diff", url.doc);
    let answer = request(&server_of_doc(url), Method::GET, &path, None, timeout)
        .await?
        .ok()?;
    let diff: Diff = answer.json("GET /api/v1/docs/{id}/versions/{vid}/diff")?;
    Ok(diff.blocks)
}

/// Restores version `vid` as a forward edit; answers the version that
/// records it.
pub async fn restore(url: &DocUrl, vid: &str, timeout: Duration) -> Result<Version, EngineError> {
    let path = format!("/api/v1/docs/{}/versions/{vid}/restore", url.doc);
    let answer = request(&server_of_doc(url), Method::POST, &path, None, timeout)
        .await?
        .ok()?;
    answer.json("POST /api/v1/docs/{id}/versions/{vid}/restore")
}
