//! Sharing: what a link's token allows, and a view-only link minted by the
//! server's `POST /share/<doc>` (which needs a write token for the doc).
//!
//! The token's claims are read without checking its signature: the client
//! has no key, and only the server's check grants anything. Reading them
//! only decides what the UI offers (an editable or a read-only editor).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::http::Method;

use super::{DocUrl, EngineError};

/// What a token says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenClaims {
    /// The doc id, or a prefix ending in `*`.
    pub doc: String,
    /// `read`, `comment` or `write`.
    pub access: String,
    /// Expiry, unix seconds.
    pub exp: Option<u64>,
    /// The user: the owner of the comments written with it.
    #[serde(default)]
    pub sub: Option<String>,
}

/// The claims of a JWT, unverified; `None` if it is not a readable JWT.
pub fn peek(token: &str) -> Option<TokenClaims> {
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// True if the URL's token cannot change the body (read or comment access).
pub fn is_view_only(url: &DocUrl) -> bool {
    url.token
        .as_deref()
        .and_then(peek)
        .is_some_and(|c| c.access == "read" || c.access == "comment")
}

/// True if the URL's token allows commenting but not editing.
pub fn is_comment_only(url: &DocUrl) -> bool {
    url.token
        .as_deref()
        .and_then(peek)
        .is_some_and(|c| c.access == "comment")
}

/// The links the share dialog offers: `weft://` links, which open in the
/// Weft app (and in the `weft` CLI). Other Yjs clients take the same URL with
/// `ws://` (or `wss://` where the link says `tls=1`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareLinks {
    /// Opens the doc for editing; `None` when we only have view access.
    pub edit: Option<String>,
    /// Opens the doc read-only; `None` when the server has no access control.
    pub view: Option<String>,
    /// What the person sharing should know about these links.
    pub note: String,
}

/// The edit and view-only links for `url` (which carries the token in use).
pub async fn share_links(url: &DocUrl, timeout: Duration) -> Result<ShareLinks, EngineError> {
    let claims = url.token.as_deref().and_then(peek);
    if claims.as_ref().is_some_and(|c| c.access == "read") {
        return Ok(ShareLinks {
            edit: None,
            view: Some(url.app_link()),
            note: "You have view-only access, so you can share only a view-only link.".into(),
        });
    }
    let (status, body) = tokio::time::timeout(timeout, post_share(url))
        .await
        .map_err(|_| EngineError::Timeout("asking the server for a view-only link".into()))??;
    match status {
        200 => {
            #[derive(Deserialize)]
            struct Minted {
                token: String,
            }
            let minted: Minted = serde_json::from_str(&body)
                .map_err(|e| EngineError::BadAnswer {
                    what: "POST /share",
                    source: Arc::new(e),
                })?;
            let mut view = url.clone();
            view.token = Some(minted.token);
            let scope = match &claims {
                Some(c) if c.doc.ends_with('*') => format!(
                    " Careful: the edit link carries your own token, which can edit every document matching “{}”.",
                    c.doc
                ),
                _ => String::new(),
            };
            Ok(ShareLinks {
                edit: Some(url.app_link()),
                view: Some(view.app_link()),
                note: format!(
                    "Anyone with the edit link can change this document; the view-only link lets people read it and see who is here.{scope} Both stop working when your token expires."
                ),
            })
        }
        404 => Ok(ShareLinks {
            edit: Some(url.app_link()),
            view: None,
            note: "This server has no access control: anyone who can reach it can edit with this link. Ask its operator to configure tokens to share view-only links.".into(),
        }),
        status => Err(EngineError::Rejected {
            status,
            message: body.trim().to_owned(),
        }),
    }
}

/// `POST /share/<doc>` with the URL's token; the status and body.
async fn post_share(url: &DocUrl) -> Result<(u16, String), EngineError> {
    let server = super::api::server_of_doc(url);
    let path = format!("/share/{}", url.doc);
    let answer = super::http::request(
        &server,
        Method::POST,
        &path,
        None,
        Duration::from_secs(3600),
    )
    .await?;
    Ok((
        answer.status,
        String::from_utf8_lossy(&answer.body).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeks_at_claims_without_a_key() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"HS256"}"#),
            b64(r#"{"doc":"team-*","access":"read","exp":99}"#)
        );
        assert_eq!(
            peek(&token),
            Some(TokenClaims {
                doc: "team-*".into(),
                access: "read".into(),
                exp: Some(99),
                sub: None,
            })
        );
        let url = DocUrl::parse(&format!("ws://h:1/team-a?token={token}")).unwrap();
        assert!(is_view_only(&url));
        assert!(!is_view_only(&DocUrl::parse("ws://h:1/team-a").unwrap()));
        let comment = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"HS256"}"#),
            b64(r#"{"doc":"a","access":"comment","exp":99,"sub":"link-1"}"#)
        );
        assert_eq!(peek(&comment).unwrap().sub.as_deref(), Some("link-1"));
        let url = DocUrl::parse(&format!("ws://h:1/a?token={comment}")).unwrap();
        assert!(is_view_only(&url) && is_comment_only(&url));
        assert_eq!(peek("not-a-jwt"), None);
        assert_eq!(peek("a.!!!.c"), None);
    }
}
