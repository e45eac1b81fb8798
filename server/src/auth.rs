//! Access tokens: JWTs verified with `jsonwebtoken`, HS256 with a shared
//! secret or EdDSA with a public key. Only the configured algorithm is
//! accepted (so `alg: none` and algorithm swaps fail), and `exp` is required.
//!
//! Claims: `doc` (an exact id, or a prefix ending in `*`), `access`
//! (`read`, `comment` or `write`), `exp` (unix seconds), optional `sub`
//! (logged, and the owner of the comments it writes).

use std::path::Path;
use std::time::Duration;

use weft_core::time::unix_secs;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use weft_core::room::Access;

/// What a token grants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// A doc id, or a prefix ending in `*`.
    pub doc: String,
    /// `read`, `comment` or `write`.
    pub access: Level,
    /// Expiry, unix seconds.
    pub exp: u64,
    /// The user, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Set on tokens minted as share links: the document's link generation
    /// then. Resetting the links bumps it, and older links stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen: Option<u64>,
}

/// Access level in a token, weakest first.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Sync, read and show presence; no changes.
    Read,
    /// Read, and write comments (the server checks every change).
    Comment,
    /// Everything.
    Write,
}

/// A new owner for a comment link: whoever opens the link owns the
/// comments they write through it, and not those of whoever made it.
pub fn link_subject() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("link-{nanos:x}")
}

impl Claims {
    /// What a connection with this token may do to the document.
    pub fn room_access(&self) -> Access {
        match self.access {
            Level::Read => Access::Read,
            Level::Comment => Access::Comment {
                sub: self.sub.as_deref().map(Into::into),
            },
            Level::Write => Access::Write,
        }
    }
}

/// Why a token was refused, or keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token in the query or the Authorization header.
    #[error("a token is required")]
    Missing,
    /// Bad signature, wrong algorithm, expired, no `exp`, or not a JWT.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// A valid token for another document.
    #[error("the token does not grant this document")]
    WrongDoc,
    /// A valid token that does not allow this.
    #[error("the token does not allow this")]
    NotAllowed,
    /// A key file could not be read or parsed.
    #[error("key file {path}: {message}")]
    Key {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Minting needs a signing key (the secret, or the EdDSA private key).
    #[error("no signing key configured (--auth-secret-file or --auth-private-key-file)")]
    CannotSign,
}

/// The server's token verifier (and signer, when it has a signing key).
pub struct Auth {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
}

fn read(path: &Path) -> Result<Vec<u8>, AuthError> {
    std::fs::read(path).map_err(|e| AuthError::Key {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn key_err(path: &Path) -> impl Fn(jsonwebtoken::errors::Error) -> AuthError + '_ {
    move |e| AuthError::Key {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl Auth {
    /// HS256 with the (trimmed) contents of `path` as the secret.
    pub fn hs256(path: &Path) -> Result<Self, AuthError> {
        let raw = read(path)?;
        let secret = String::from_utf8_lossy(&raw).trim().as_bytes().to_vec();
        if secret.len() < 32 {
            return Err(AuthError::Key {
                path: path.display().to_string(),
                message: "use a secret of at least 32 bytes".into(),
            });
        }
        Ok(Auth {
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(&secret),
            encoding: Some(EncodingKey::from_secret(&secret)),
        })
    }

    /// EdDSA with a PEM public key, and optionally the PEM private key to mint.
    pub fn eddsa(public: &Path, private: Option<&Path>) -> Result<Self, AuthError> {
        let decoding = DecodingKey::from_ed_pem(&read(public)?).map_err(key_err(public))?;
        let encoding = match private {
            Some(p) => Some(EncodingKey::from_ed_pem(&read(p)?).map_err(key_err(p))?),
            None => None,
        };
        Ok(Auth {
            algorithm: Algorithm::EdDSA,
            decoding,
            encoding,
        })
    }

    /// Checks signature, algorithm and expiry; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut v = Validation::new(self.algorithm);
        v.leeway = 0;
        v.validate_exp = true;
        v.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// Verifies `token` for `doc`.
    pub fn authorize(&self, token: Option<&str>, doc: &str) -> Result<Claims, AuthError> {
        let claims = self.verify(token.ok_or(AuthError::Missing)?)?;
        if !doc_matches(&claims.doc, doc) {
            return Err(AuthError::WrongDoc);
        }
        Ok(claims)
    }

    /// Signs a token for `doc` with `access`, valid for `ttl`.
    pub fn mint(
        &self,
        doc: &str,
        access: Level,
        ttl: Duration,
        sub: Option<String>,
    ) -> Result<String, AuthError> {
        self.sign(&Claims {
            doc: doc.to_owned(),
            access,
            exp: unix_secs() + ttl.as_secs().max(1),
            sub,
            gen: None,
        })
    }

    /// Signs `claims` as they are.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        let key = self.encoding.as_ref().ok_or(AuthError::CannotSign)?;
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, key)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

/// `pattern` is an exact doc id, or a prefix ending in `*` (`*` alone: any doc).
pub fn doc_matches(pattern: &str, doc: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => doc.starts_with(prefix),
        None => pattern == doc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(doc_matches("team-*", "team-a"));
        assert!(doc_matches("team-*", "team-"));
        assert!(!doc_matches("team-*", "team"));
        assert!(!doc_matches("team-*", "other"));
        assert!(doc_matches("*", "anything"));
        assert!(doc_matches("exact", "exact"));
        assert!(!doc_matches("exact", "exact2"));
        assert!(!doc_matches("exa", "exact"));
    }
}
