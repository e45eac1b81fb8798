//! Document ids: what they may be, and how they come out of a URL path.
//!
//! Ids become SQLite keys, file names on export, and parts of URLs, so the
//! alphabet is the URL-unreserved set and `.`/`..` are refused.

use std::fmt;

/// Longest id, in bytes.
pub const MAX_LEN: usize = 255;

/// A validated document id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId(String);

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocIdError {
    /// Empty, or longer than [`MAX_LEN`] bytes.
    #[error("doc id must be 1-{MAX_LEN} bytes long")]
    Length,
    /// A byte outside `[A-Za-z0-9._~-]`.
    #[error("doc id may only contain A-Z a-z 0-9 . _ ~ -")]
    Charset,
    /// `.` or `..`, which name directories.
    #[error("doc id may not be '.' or '..'")]
    Dots,
    /// The percent-encoding did not decode to UTF-8.
    #[error("doc id is not valid percent-encoded UTF-8")]
    Encoding,
}

impl DocId {
    /// Validates an already decoded id.
    pub fn new(id: &str) -> Result<Self, DocIdError> {
        if id.is_empty() || id.len() > MAX_LEN {
            return Err(DocIdError::Length);
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
        {
            return Err(DocIdError::Charset);
        }
        if id == "." || id == ".." {
            return Err(DocIdError::Dots);
        }
        Ok(DocId(id.to_owned()))
    }

    /// Decodes the id from a request path such as `/my%2Ddoc`.
    pub fn from_path(path: &str) -> Result<Self, DocIdError> {
        let raw = path.strip_prefix('/').unwrap_or(path);
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| DocIdError::Encoding)?;
        Self::new(&decoded)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DocId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_unreserved_alphabet() {
        assert_eq!(
            DocId::from_path("/a-Z_0.9~x").unwrap().as_str(),
            "a-Z_0.9~x"
        );
        assert_eq!(DocId::from_path("/my%2Ddoc").unwrap().as_str(), "my-doc");
        assert!(DocId::new(&"x".repeat(MAX_LEN)).is_ok());
        assert!(DocId::new("...").is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(DocId::from_path("/"), Err(DocIdError::Length));
        assert_eq!(
            DocId::new(&"x".repeat(MAX_LEN + 1)),
            Err(DocIdError::Length)
        );
        assert_eq!(DocId::from_path("/a/b"), Err(DocIdError::Charset));
        assert_eq!(DocId::from_path("/a%2Fb"), Err(DocIdError::Charset));
        assert_eq!(DocId::from_path("/%2e%2E"), Err(DocIdError::Dots));
        assert_eq!(DocId::from_path("/."), Err(DocIdError::Dots));
        assert_eq!(DocId::from_path("/caf%C3%A9"), Err(DocIdError::Charset));
        assert_eq!(DocId::from_path("/%FF"), Err(DocIdError::Encoding));
        assert_eq!(DocId::from_path("/a b"), Err(DocIdError::Charset));
    }
}
