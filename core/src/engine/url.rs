//! Document URLs: `ws://host:port/<doc-id>` with an optional `?token=`.

use std::fmt;

use tokio_tungstenite::tungstenite::http::Uri;

use super::EngineError;
use crate::doc_id::DocId;

/// What a token keeps unescaped in a URL: RFC 3986's unreserved
/// characters, so a JWT (base64url and dots) stays readable.
const TOKEN_CHARS: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A parsed document URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocUrl {
    /// `ws` or `wss`.
    pub scheme: String,
    /// `host:port`.
    pub authority: String,
    /// The document id.
    pub doc: DocId,
    /// The access token, if the URL carries one.
    pub token: Option<String>,
}

impl DocUrl {
    /// Parses `ws://host:port/<doc-id>[?token=…]`.
    pub fn parse(url: &str) -> Result<Self, EngineError> {
        let bad = |why: &str| EngineError::BadUrl(format!("{url}: {why}"));
        // The web editor's links (`https://host/d/<doc>#token=…`) open the
        // same document: the fragment is not part of a URI, so read it here.
        if let Some(web) = Self::parse_web(url.trim()) {
            return web.ok_or_else(|| bad("a web link names its document as /d/<doc-id>"));
        }
        let uri: Uri = url.trim().parse().map_err(|_| bad("not a URL"))?;
        let query = |key: &str| {
            uri.query().and_then(|q| {
                q.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    (k == key).then(|| {
                        percent_encoding::percent_decode_str(v)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                })
            })
        };
        let scheme = match uri.scheme_str() {
            Some(s @ ("ws" | "wss")) => s.to_owned(),
            // The app's links: weft://host/doc is ws://, with ?tls=1 wss://.
            Some("weft") if query("tls").as_deref() == Some("1") => "wss".to_owned(),
            Some("weft") => "ws".to_owned(),
            _ => {
                return Err(bad(
                    "must start with https://…/d/, weft://, ws:// or wss://",
                ))
            }
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?.to_string();
        let doc = DocId::from_path(uri.path()).map_err(|e| bad(&e.to_string()))?;
        let token = query("token");
        Ok(DocUrl {
            scheme,
            authority,
            doc,
            token,
        })
    }

    /// `Some` for an `http(s)://` link: `Some(None)` if it is not one of
    /// the web editor's (`/d/<doc-id>`, token in the `#token=` fragment).
    fn parse_web(url: &str) -> Option<Option<Self>> {
        let (scheme, rest) = url
            .strip_prefix("https://")
            .map(|r| ("wss", r))
            .or_else(|| url.strip_prefix("http://").map(|r| ("ws", r)))?;
        let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/')?;
        let doc = path.strip_prefix("d/")?.split('?').next()?;
        let doc = DocId::from_path(doc).ok()?;
        let token = fragment.split('&').find_map(|kv| {
            let v = kv.strip_prefix("token=")?;
            Some(
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        });
        Some(Some(DocUrl {
            scheme: scheme.to_owned(),
            authority: authority.to_owned(),
            doc,
            token,
        }))
    }

    /// The link that opens the doc in a browser, in the editor the server
    /// serves: `http(s)://host:port/d/<doc>`, the token in the fragment so
    /// it stays out of server and proxy logs.
    pub fn web_link(&self) -> String {
        let scheme = if self.scheme == "wss" {
            "https"
        } else {
            "http"
        };
        let mut link = format!("{scheme}://{}/d/{}", self.authority, self.doc);
        if let Some(t) = &self.token {
            link.push_str("#token=");
            link.push_str(&percent_encoding::utf8_percent_encode(t, TOKEN_CHARS).to_string());
        }
        link
    }

    /// The URL to connect to: the doc, the token, and `ack=1`.
    pub fn connect_url(&self) -> String {
        let mut url = format!("{}://{}/{}?ack=1", self.scheme, self.authority, self.doc);
        if let Some(t) = &self.token {
            url.push_str("&token=");
            url.push_str(&percent_encoding::utf8_percent_encode(t, TOKEN_CHARS).to_string());
        }
        url
    }

    /// The link that opens the doc in the Weft app: `weft://host:port/doc`,
    /// with `tls=1` for a wss:// server, and the token if any.
    pub fn app_link(&self) -> String {
        let mut params = Vec::new();
        if self.scheme == "wss" {
            params.push("tls=1".to_owned());
        }
        if let Some(t) = &self.token {
            params.push(format!(
                "token={}",
                percent_encoding::utf8_percent_encode(t, TOKEN_CHARS)
            ));
        }
        let mut link = format!("weft://{}/{}", self.authority, self.doc);
        if !params.is_empty() {
            link.push('?');
            link.push_str(&params.join("&"));
        }
        link
    }

    /// The server part: `ws://host:port`.
    pub fn server(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// A key for local storage that is unique per server and doc and is
    /// itself a valid [`DocId`].
    pub fn local_key(&self) -> Result<DocId, EngineError> {
        let raw = format!("{}/{}", self.authority, self.doc);
        let mut key = String::with_capacity(raw.len());
        for b in raw.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                key.push(b as char);
            } else {
                key.push_str(&format!("~{b:02X}"));
            }
        }
        DocId::new(&key)
            .map_err(|_| EngineError::BadUrl(format!("{self}: too long to store locally")))
    }
}

impl fmt::Display for DocUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}/{}", self.scheme, self.authority, self.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rebuilds() {
        let u = DocUrl::parse("ws://127.0.0.1:4455/my-doc?token=a.b%2Bc").unwrap();
        assert_eq!(u.authority, "127.0.0.1:4455");
        assert_eq!(u.doc.as_str(), "my-doc");
        assert_eq!(u.token.as_deref(), Some("a.b+c"));
        assert_eq!(
            u.connect_url(),
            "ws://127.0.0.1:4455/my-doc?ack=1&token=a.b%2Bc"
        );
        assert_eq!(u.local_key().unwrap().as_str(), "127.0.0.1~3A4455~2Fmy-doc");
        assert_eq!(u.app_link(), "weft://127.0.0.1:4455/my-doc?token=a.b%2Bc");
        assert_eq!(DocUrl::parse(&u.app_link()).unwrap(), u);
        let tls = DocUrl::parse("wss://docs.example/notes").unwrap();
        assert_eq!(tls.app_link(), "weft://docs.example/notes?tls=1");
        assert_eq!(DocUrl::parse(&tls.app_link()).unwrap(), tls);
    }

    #[test]
    fn web_links_carry_the_token_in_the_fragment_and_open_the_same_doc() {
        let u = DocUrl::parse("ws://127.0.0.1:4455/my-doc?token=a.b%2Bc").unwrap();
        assert_eq!(u.web_link(), "http://127.0.0.1:4455/d/my-doc#token=a.b%2Bc");
        assert_eq!(DocUrl::parse(&u.web_link()).unwrap(), u);
        let tls = DocUrl::parse("https://docs.example/d/notes").unwrap();
        assert_eq!(tls.connect_url(), "wss://docs.example/notes?ack=1");
        assert_eq!(tls.web_link(), "https://docs.example/d/notes");
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "http://x/doc",
            "https://x/d/a/b",
            "https://x/d/",
            "ws://x/",
            "ws://x/a/b",
            "not a url",
            "ws:///doc",
        ] {
            assert!(DocUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
