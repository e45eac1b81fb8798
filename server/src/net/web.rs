//! The web editor: `ui/`'s web build (`ui/dist-web`), compiled into the
//! binary and served at `/` (start page), `/d/<doc-id>` (the editor) and
//! `/assets/…`. The page then talks to this same server: its WebSocket for
//! the document, `/api/v1` for everything else.
//!
//! Hashed assets are cached for a year; HTML, the service worker and the
//! other root files are revalidated on every load (by ETag), so a new
//! server version is picked up at once. Responses are compressed (gzip or
//! brotli, tower-http) and carry a Content-Security-Policy that allows
//! scripts from this origin only and connections to this origin only.

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use tower::ServiceExt;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use weft_core::doc_id::DocId;

use crate::net::text;

/// `ui/dist-web`, as built by `npm --prefix ui run build:web` (the build
/// script runs it when the UI's dependencies are installed).
#[derive(RustEmbed)]
#[folder = "../ui/dist-web"]
#[allow_missing = true]
struct Assets;

/// True for the paths the web editor owns (everything else is the
/// WebSocket, the API, health and metrics).
pub fn is_web_path(path: &str) -> bool {
    path == "/"
        || path.starts_with("/d/")
        || path.starts_with("/assets/")
        || matches!(path, "/sw.js" | "/favicon.svg" | "/manifest.webmanifest")
}

/// Whether this binary was built with the web editor in it.
pub fn is_built() -> bool {
    Assets::get("index.html").is_some()
}

/// The routes. Assets go out as the build compressed them (brotli 11, gzip
/// 9); the rest (the page) is compressed here, at brotli quality 5 since
/// it is compressed per request.
static ROUTES: LazyLock<Router> = LazyLock::new(|| {
    Router::new()
        .route("/", get(page))
        .route("/d/{id}", get(editor))
        .route("/{*file}", get(file))
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(5)))
});

/// Serves one GET or HEAD for a web path; 404 when `enabled` is false.
pub async fn serve<B>(req: Request<B>, enabled: bool) -> Response<Body>
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    if !enabled {
        return text(
            StatusCode::NOT_FOUND,
            "the web editor is turned off on this server (--no-web)\n",
        );
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_host(h))
        .map(str::to_owned);
    let req = req.map(Body::new);
    let mut res = match ROUTES.clone().oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    res.headers_mut()
        .insert("content-security-policy", csp(host.as_deref()));
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        res.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    res
}

/// The page's policy: everything from this origin only, scripts with no
/// inline code; WebSockets to this host (CSP's `'self'` does not cover
/// `ws:` everywhere). Styles allow inline `style` attributes, which the
/// editor sets on carets and on resized content.
fn csp(host: Option<&str>) -> HeaderValue {
    let ws = host.map_or(String::new(), |h| format!(" ws://{h} wss://{h}"));
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'{ws}; worker-src 'self'; \
         manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
}

/// A Host header fit to repeat in a header: a name or address and a port.
fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

async fn page(headers: HeaderMap) -> Response<Body> {
    embedded("index.html", &headers)
}

async fn editor(
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    if DocId::from_path(&id).is_err() {
        return text(
            StatusCode::NOT_FOUND,
            "not a document id: ids are 1-255 letters, digits, '.', '_', '~' or '-'\n",
        );
    }
    embedded("index.html", &headers)
}

async fn file(
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    embedded(&file, &headers)
}

/// The build's own compressed copy of `name` (`.br`, `.gz`) that the
/// browser accepts, with its encoding.
fn precompressed(
    name: &str,
    headers: &HeaderMap,
) -> Option<(rust_embed::EmbeddedFile, &'static str)> {
    let accepts = |coding: &str| {
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| {
                let mut parts = t.split(';');
                parts.next().is_some_and(|c| c.trim() == coding)
                    && !parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"))
            })
    };
    [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(coding, _)| accepts(coding))
        .find_map(|(coding, ext)| Some((Assets::get(&format!("{name}.{ext}"))?, coding)))
}

/// One embedded file with its type, cache policy and ETag (compressed as
/// the build left it when the browser takes that); 304 when the browser's
/// copy is current.
fn embedded(name: &str, headers: &HeaderMap) -> Response<Body> {
    let Some(original) = Assets::get(name) else {
        if name == "index.html" {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "this weft-server was built without the web editor: run \
                 `npm --prefix ui ci`, then build weft-server again\n",
            );
        }
        return text(StatusCode::NOT_FOUND, "no such file\n");
    };
    let mimetype = original.metadata.mimetype().to_owned();
    let (file, coding) = match precompressed(name, headers) {
        Some((file, coding)) => (file, Some(coding)),
        None => (original, None),
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    // Vite names assets by their content: they never change.
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mimetype) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(coding) = coding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_paths_leave_documents_and_the_api_alone() {
        for p in ["/", "/d/abc", "/assets/index-1a2b.js", "/sw.js"] {
            assert!(is_web_path(p), "{p}");
        }
        for p in ["/abc", "/api/v1/docs", "/healthz", "/metrics", "/d"] {
            assert!(!is_web_path(p), "{p}");
        }
    }

    #[test]
    fn the_policy_names_this_host_for_websockets_and_nothing_else() {
        let p = csp(Some("example.org:4455"));
        let p = p.to_str().unwrap();
        assert!(p.contains("connect-src 'self' ws://example.org:4455 wss://example.org:4455;"));
        assert!(p.contains("script-src 'self';"));
        assert!(!is_host("evil.org; script-src *"));
        assert!(is_host("[::1]:4455"));
    }
}
