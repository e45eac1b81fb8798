//! User settings, kept as JSON in the data directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the user can set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Where new documents live: `ws://host:port`.
    pub server_url: String,
    /// Shown next to the cursor and in the avatars.
    pub name: String,
    /// The cursor and avatar colour, `#rrggbb`.
    pub color: String,
    /// Access tokens by server (`ws://host:port`), used for documents on
    /// that server whose link carried no token of its own.
    pub tokens: BTreeMap<String, String>,
    /// The single token of earlier versions; moved into `tokens` on load.
    #[serde(rename = "token", skip_serializing)]
    pub legacy_token: String,
    /// `system`, `light` or `dark`.
    pub theme: String,
}

const PALETTE: &[&str] = &[
    "#e11d48", "#d97706", "#16a34a", "#0891b2", "#2563eb", "#7c3aed", "#db2777", "#0d9488",
];

impl Default for Settings {
    fn default() -> Self {
        let pick = PALETTE[rand::random_range(0..PALETTE.len())];
        Settings {
            server_url: "ws://127.0.0.1:4455".into(),
            name: std::env::var("USER").unwrap_or_else(|_| "Anonymous".into()),
            color: pick.into(),
            tokens: BTreeMap::new(),
            legacy_token: String::new(),
            theme: "system".into(),
        }
    }
}

fn path(dir: &Path) -> PathBuf {
    dir.join("settings.json")
}

impl Settings {
    /// Loads the settings (defaults if none), then applies
    /// `WEFT_USER_NAME` / `WEFT_USER_COLOR` / `WEFT_SERVER_URL`.
    pub fn load(dir: &Path) -> Self {
        let mut s: Settings = std::fs::read(path(dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if let Ok(v) = std::env::var("WEFT_USER_NAME") {
            s.name = v;
        }
        if let Ok(v) = std::env::var("WEFT_USER_COLOR") {
            s.color = v;
        }
        if let Ok(v) = std::env::var("WEFT_SERVER_URL") {
            s.server_url = v;
        }
        if !s.legacy_token.is_empty() {
            let token = std::mem::take(&mut s.legacy_token);
            s.tokens.entry(s.server().to_owned()).or_insert(token);
        }
        s
    }

    /// The server URL without a trailing slash: the key of `tokens`.
    pub fn server(&self) -> &str {
        self.server_url.trim().trim_end_matches('/')
    }

    /// The token for `server`, if one is set.
    pub fn token_for(&self, server: &str) -> Option<&str> {
        self.tokens
            .get(server.trim_end_matches('/'))
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
    }

    /// Writes the settings atomically (temp file, then rename).
    pub fn save(&self, dir: &Path) -> Result<(), AppError> {
        let tmp = dir.join("settings.json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(|e| AppError::Io(e.to_string()))?;
        std::fs::write(&tmp, json).map_err(|e| AppError::Io(e.to_string()))?;
        std::fs::rename(&tmp, path(dir)).map_err(|e| AppError::Io(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_server_and_the_old_single_token_migrates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            path(dir.path()),
            r##"{"serverUrl":"ws://a:1/","name":"n","color":"#000000","token":"old","theme":"dark"}"##,
        )
        .unwrap();
        let s = Settings::load(dir.path());
        assert_eq!(s.token_for("ws://a:1"), Some("old"));
        assert_eq!(s.token_for("ws://b:1"), None);
        s.save(dir.path()).unwrap();
        let saved = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(saved.contains(r#""ws://a:1": "old""#), "{saved}");
        assert!(!saved.contains(r#""token""#), "{saved}");
    }
}
