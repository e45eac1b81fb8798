//! Images and files over the HTTP API, against an in-process server on
//! SQLite: upload and read back by hash, who may do which, the size limit
//! and the quota, types sniffed from the bytes, script-bearing types as
//! attachments, and a store that cannot write.

mod common;

use std::sync::Arc;

use common::api::*;
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use weft_server::auth::Level;
use weft_server::store::{MemoryStore, Store};

const PNG: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// `len` bytes that start like a PNG, the rest random (so every call
/// gives another blob).
fn png(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    bytes[..8].copy_from_slice(&PNG);
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Uploads `body` to `doc`, declared as `declared` (which must not matter).
async fn upload(
    addr: std::net::SocketAddr,
    doc: &str,
    token: Option<&str>,
    declared: &str,
    body: &[u8],
) -> (u16, Value) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", declared)];
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    let path = format!("/api/v1/docs/{doc}/blobs");
    let (status, body) = http(addr, "POST", &path, &headers, body).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn download(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = extra.to_vec();
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    http_full(addr, "GET", path, &headers, &[]).await.unwrap()
}

#[tokio::test]
async fn an_upload_reads_back_byte_for_byte_by_its_hash() {
    let s = setup(false).await;
    let addr = s.server.addr;
    // Four parts and a bit, declared as text: the bytes say PNG. The
    // document has no content yet.
    let bytes = png(4 * 256 * 1024 + 1234);
    let (status, got) = upload(addr, "fresh", None, "text/plain", &bytes).await;
    assert_eq!(status, 201, "{got}");
    let hash = sha256(&bytes);
    assert_eq!(got["hash"], hash.as_str());
    assert_eq!(got["size"], bytes.len());
    assert_eq!(got["type"], "image/png");
    let url = got["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/api/v1/docs/fresh/blobs/{hash}"));

    let (status, fields, body) = download(addr, &url, None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        sha256(&body),
        hash,
        "the bytes read back are the bytes sent"
    );
    assert_eq!(header(&fields, "content-type"), Some("image/png"));
    assert_eq!(
        header(&fields, "content-length"),
        Some(&*bytes.len().to_string())
    );
    let etag = format!("\"{hash}\"");
    assert_eq!(header(&fields, "etag"), Some(etag.as_str()));
    assert!(header(&fields, "cache-control")
        .unwrap()
        .contains("immutable"));
    assert_eq!(header(&fields, "x-content-type-options"), Some("nosniff"));
    assert!(header(&fields, "content-disposition")
        .unwrap()
        .starts_with("inline"));

    // Cached copies are confirmed without the bytes.
    let (status, fields, body) =
        download(addr, &url, None, &[("If-None-Match", etag.as_str())]).await;
    assert_eq!((status, body.len()), (304, 0));
    assert_eq!(header(&fields, "etag"), Some(etag.as_str()));

    // The same bytes again: the same blob.
    let (status, again) = upload(addr, "fresh", None, "image/png", &bytes).await;
    assert_eq!((status, &again["hash"]), (201, &got["hash"]));
    // A hash the document does not have, and no hash at all.
    let other = format!("/api/v1/docs/fresh/blobs/{}", sha256(b"other"));
    assert_eq!(download(addr, &other, None, &[]).await.0, 404);
    assert_eq!(
        download(addr, "/api/v1/docs/fresh/blobs/..%2Fx", None, &[])
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_20_mib_upload_is_not_held_to_the_byte_budget() {
    // A request's bytes count against --rate-bytes (4 MiB/s, bursts up to
    // --max-message-size, 16 MiB): a 20 MiB file, under the 25 MiB
    // --max-blob-size, must still go up.
    let s = setup(false).await;
    let bytes = png(20 << 20);
    let (status, got) = upload(s.server.addr, "big", None, "image/png", &bytes).await;
    assert_eq!(status, 201, "{got}");
    let (status, _, body) = download(s.server.addr, got["url"].as_str().unwrap(), None, &[]).await;
    assert_eq!((status, sha256(&body)), (200, sha256(&bytes)));
}

#[tokio::test]
async fn tokens_decide_who_uploads_and_who_reads() {
    let s = setup(true).await;
    let addr = s.server.addr;
    let (write, read) = (
        s.token("plans", Level::Write),
        s.token("plans", Level::Read),
    );
    let comment = s.token("plans", Level::Comment);
    let elsewhere = s.token("other", Level::Write);
    let bytes = png(1000);

    let (status, err) = upload(addr, "plans", Some(&read), "image/png", &bytes).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("read_only"))
    );
    assert_eq!(
        upload(addr, "plans", Some(&comment), "image/png", &bytes)
            .await
            .0,
        403
    );
    assert_eq!(
        upload(addr, "plans", None, "image/png", &bytes).await.0,
        401
    );
    let (status, got) = upload(addr, "plans", Some(&write), "image/png", &bytes).await;
    assert_eq!(status, 201);
    let url = got["url"].as_str().unwrap();

    assert_eq!(download(addr, url, Some(&read), &[]).await.0, 200);
    let (status, _, body) = download(addr, url, Some(&elsewhere), &[]).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert_eq!(download(addr, url, None, &[]).await.0, 401);
    // Knowing the hash does not open it through another document.
    let hash = got["hash"].as_str().unwrap();
    let through_other = format!("/api/v1/docs/other/blobs/{hash}");
    assert_eq!(
        download(addr, &through_other, Some(&elsewhere), &[])
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn the_size_limit_and_the_quota_refuse_with_413_and_keep_nothing() {
    let s = setup_with(false, |c| {
        c.max_blob_size = 300 << 10;
        c.blob_quota = 500 << 10;
    })
    .await;
    let addr = s.server.addr;
    let (status, err) = upload(addr, "d", None, "image/png", &png(301 << 10)).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("300 KiB"),
        "{err}"
    );
    assert_eq!(
        upload(addr, "d", None, "image/png", &png(300 << 10))
            .await
            .0,
        201
    );
    let (status, err) = upload(addr, "d", None, "image/png", &png(250 << 10)).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (413, Some("quota"))
    );
    // The quota is per document.
    assert_eq!(
        upload(addr, "e", None, "image/png", &png(250 << 10))
            .await
            .0,
        201
    );
    assert_eq!(
        upload(addr, "d", None, "image/png", &png(200 << 10))
            .await
            .0,
        201
    );

    // Nothing of the refused uploads is left in the database.
    let db = s._dir.path().join("data").join("weft.db");
    let conn = rusqlite::Connection::open(db).unwrap();
    let (parts, blobs): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM blob_parts WHERE key LIKE 'upload-%'),
                    (SELECT COUNT(*) FROM blobs)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((parts, blobs), (0, 3));
}

#[tokio::test]
async fn svg_and_html_are_served_as_attachments() {
    let s = setup(false).await;
    let addr = s.server.addr;
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;
    let html = b"<!doctype html><script>fetch('/api/v1/docs')</script>";
    for (bytes, kind) in [(&svg[..], "image/svg+xml"), (&html[..], "text/html")] {
        let (status, got) = upload(addr, "d", None, "image/png", bytes).await;
        assert_eq!((status, got["type"].as_str()), (201, Some(kind)));
        let path = format!("{}?name=drawing%20%C3%A9.svg", got["url"].as_str().unwrap());
        let (status, fields, body) = download(addr, &path, None, &[]).await;
        assert_eq!((status, &body[..]), (200, bytes));
        assert_eq!(header(&fields, "content-type"), Some(kind));
        assert_eq!(
            header(&fields, "content-disposition"),
            Some("attachment; filename*=UTF-8''drawing%20%C3%A9%2Esvg")
        );
        let csp = header(&fields, "content-security-policy").unwrap();
        assert!(csp.contains("sandbox") && csp.contains("default-src 'none'"));
    }
}

#[tokio::test]
async fn an_upload_the_store_cannot_write_is_never_reported_stored() {
    let store = Arc::new(MemoryStore::default());
    let server = TestServer::start(store.clone(), config()).await;
    let bytes = png(600 << 10);
    store.fail_writes(true);
    let (status, err) = upload(server.addr, "d", None, "image/png", &bytes).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (503, Some("not_saved"))
    );
    let hash = sha256(&bytes);
    let doc = weft_core::doc_id::DocId::new("d").unwrap();
    assert!(store.blob(&doc, &hash).await.unwrap().is_none());
    // Once the store writes again, so does the upload.
    store.fail_writes(false);
    let (status, got) = upload(server.addr, "d", None, "image/png", &bytes).await;
    assert_eq!((status, got["hash"].as_str()), (201, Some(hash.as_str())));
    assert!(store.blob(&doc, &hash).await.unwrap().is_some());
}

#[tokio::test]
async fn the_openapi_description_names_the_blob_endpoints() {
    let s = setup(false).await;
    let (status, doc) = s.json("GET", "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    let paths = &doc["paths"];
    assert!(paths["/api/v1/docs/{id}/blobs"].get("post").is_some());
    assert!(paths["/api/v1/docs/{id}/blobs/{hash}"].get("get").is_some());
    assert!(doc["components"]["schemas"].get("Blob").is_some());
}

#[tokio::test]
async fn the_server_collects_what_no_document_names_and_keeps_the_rest() {
    // A short grace, so the server's own pass runs within the test.
    let s = setup_with(false, |c| c.blob_grace = std::time::Duration::from_secs(3)).await;
    let addr = s.server.addr;
    let (_, named) = upload(addr, "d", None, "image/png", &png(5000)).await;
    let (_, unnamed) = upload(addr, "d", None, "image/png", &png(5000)).await;
    // The document shows the first, as the editor writes an image.
    let update = {
        use yrs::{Transact, WriteTxn, Xml, XmlElementPrelim, XmlFragment};
        let doc = yrs::Doc::new();
        let mut txn = doc.transact_mut();
        let body = txn.get_or_insert_xml_fragment("default");
        let img = body.push_back(&mut txn, XmlElementPrelim::empty("image"));
        img.insert_attribute(&mut txn, "src", named["url"].as_str().unwrap());
        txn.encode_update_v1()
    };
    let ct = [("Content-Type", "application/octet-stream")];
    let (status, _) = http(addr, "POST", "/api/v1/docs/d/updates", &ct, &update)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let gone = unnamed["url"].as_str().unwrap();
    let started = std::time::Instant::now();
    while download(addr, gone, None, &[]).await.0 != 404 {
        assert!(
            started.elapsed().as_secs() < 30,
            "the unnamed blob was never collected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let (status, _, body) = download(addr, named["url"].as_str().unwrap(), None, &[]).await;
    assert_eq!((status, body.len()), (200, 5000));
}
