//! Native TLS: wss:// syncs, plain ws:// to a TLS port fails without harm,
//! and a replaced certificate is picked up without a restart.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use weft_server::store::MemoryStore;

/// Writes a fresh self-signed certificate for localhost; returns its DER.
fn write_cert(dir: &Path) -> Vec<u8> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    // Write then rename, as certbot does, so the server never sees half a file.
    std::fs::write(dir.join("cert.tmp"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.tmp"), ck.signing_key.serialize_pem()).unwrap();
    std::fs::rename(dir.join("cert.tmp"), dir.join("cert.pem")).unwrap();
    std::fs::rename(dir.join("key.tmp"), dir.join("key.pem")).unwrap();
    ck.cert.der().to_vec()
}

async fn tls_server(dir: &Path) -> TestServer {
    let mut cfg = config();
    cfg.tls_cert = Some(dir.join("cert.pem"));
    cfg.tls_key = Some(dir.join("key.pem"));
    TestServer::start(Arc::new(MemoryStore::default()), cfg).await
}

#[tokio::test]
async fn wss_syncs_and_plain_ws_is_refused_harmlessly() {
    let dir = tempfile::tempdir().unwrap();
    let root = write_cert(dir.path());
    let server = tls_server(dir.path()).await;
    let url = format!("wss://localhost:{}/doc?ack=1", server.addr.port());

    let mut a = Client::connect_trusting(&url, &root).await.unwrap();
    a.wait_for(|c| c.session.is_synced()).await.unwrap();
    a.insert("over tls").await.unwrap();
    a.wait_for(|c| c.session.unacked() == 0).await.unwrap();

    // A client speaking plain ws:// to the TLS port gets no WebSocket.
    assert!(Client::connect(&server.url("doc")).await.is_err());
    // Nor does one that doesn't trust the certificate.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    assert!(Client::connect_trusting(&url, other.cert.der())
        .await
        .is_err());

    let mut b = Client::connect_trusting(&url, &root).await.unwrap();
    b.wait_for(|c| c.text() == "over tls").await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_cert(dir.path());
    let server = tls_server(dir.path()).await;
    let url = format!("wss://localhost:{}/doc", server.addr.port());
    Client::connect_trusting(&url, &old).await.unwrap();

    let new = write_cert(dir.path());
    // The server looks at the files at most every 5 s.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if Client::connect_trusting(&url, &new).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "new certificate never served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(Client::connect_trusting(&url, &old).await.is_err());
    server.stop().await.unwrap();
}
