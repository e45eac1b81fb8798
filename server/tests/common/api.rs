//! The API tests' set-up: an in-process server on SQLite, with or without
//! auth, and requests made the way a client would.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use weft_server::auth::{Auth, Level};
use weft_server::store::SqliteStore;

use super::*;

pub const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

pub struct Setup {
    pub server: TestServer,
    pub auth: Option<Auth>,
    pub _dir: tempfile::TempDir,
}

pub async fn setup(with_auth: bool) -> Setup {
    setup_with(with_auth, |_| {}).await
}

pub async fn setup_with(with_auth: bool, tweak: impl FnOnce(&mut weft_server::Config)) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    let auth = with_auth.then(|| {
        let secret = dir.path().join("secret");
        std::fs::write(&secret, SECRET).unwrap();
        cfg.auth_secret_file = Some(secret.clone());
        Auth::hs256(&secret).unwrap()
    });
    tweak(&mut cfg);
    let store = Arc::new(SqliteStore::open(&dir.path().join("data")).unwrap());
    let server = TestServer::start(store, cfg).await;
    Setup {
        server,
        auth,
        _dir: dir,
    }
}

impl Setup {
    pub fn token(&self, doc: &str, access: Level) -> String {
        let auth = self.auth.as_ref().unwrap();
        auth.mint(doc, access, Duration::from_secs(3600), Some("t".into()))
            .unwrap()
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        ct: Option<&str>,
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(b) = &bearer {
            headers.push(("Authorization", b.as_str()));
        }
        if let Some(ct) = ct {
            headers.push(("Content-Type", ct));
        }
        http(self.server.addr, method, path, &headers, body)
            .await
            .unwrap()
    }

    pub async fn json(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        let (status, body) = self.call(method, path, token, None, &[]).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub fn ws(&self, doc: &str, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("{}?ack=1&token={t}", self.server.url(doc)),
            None => format!("{}?ack=1", self.server.url(doc)),
        }
    }
}
