//! Images beside Markdown: `weft put` uploads the local image files a
//! Markdown file names and points the document at the uploads; `weft cat
//! --assets DIR` downloads a document's images and files into DIR and
//! points the output at those copies. Together they round-trip.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use weft_core::convert::model::sources_mut;
use weft_core::convert::Block;
use weft_core::engine::blobs::{download, is_blob_url, upload};
use weft_core::engine::DocUrl;

use super::CliError;

/// An address that names a file on this machine: no scheme, not the
/// server's own blob API, not a fragment.
fn is_local(src: &str) -> bool {
    !(src.is_empty()
        || src.contains("://")
        || src.starts_with("data:")
        || src.starts_with("mailto:")
        || src.starts_with('#')
        || is_blob_url(src))
}

/// Uploads every local image in `blocks` (paths relative to `base`) and
/// rewrites their addresses to the uploads. Checks that every file is
/// there before uploading any. Returns how many files went up.
pub async fn upload_local(
    url: &DocUrl,
    blocks: &mut [Block],
    base: &Path,
    timeout: Duration,
) -> Result<usize, CliError> {
    let mut wanted: Vec<(String, PathBuf)> = Vec::new();
    sources_mut(blocks, &mut |src| {
        if is_local(src) && !wanted.iter().any(|(s, _)| s == src) {
            let decoded = percent_encoding::percent_decode_str(src).decode_utf8_lossy();
            wanted.push((src.clone(), base.join(decoded.as_ref())));
        }
    });
    let mut files = Vec::new();
    for (src, path) in wanted {
        let bytes = std::fs::read(&path).map_err(|e| {
            CliError::Io(format!(
                "the image {src} cannot be read ({}: {e}); nothing was changed",
                path.display()
            ))
        })?;
        files.push((src, bytes));
    }
    let mut uploaded: HashMap<String, String> = HashMap::new();
    for (src, bytes) in files {
        let size = bytes.len();
        let blob = upload(url, bytes, timeout).await?;
        eprintln!("weft: uploaded {src} ({size} bytes, {})", blob.kind);
        uploaded.insert(src, blob.url);
    }
    point_at(blocks, &uploaded);
    Ok(uploaded.len())
}

/// Downloads every image and file of the server's that `blocks` name into
/// `dir` (made if missing), named by hash, and rewrites their addresses to
/// `dir/NAME`. Returns how many files were written.
pub async fn download_all(
    url: &DocUrl,
    blocks: &mut [Block],
    dir: &Path,
    timeout: Duration,
) -> Result<usize, CliError> {
    let mut wanted: Vec<String> = Vec::new();
    sources_mut(blocks, &mut |src| {
        if is_blob_url(src) && !wanted.contains(src) {
            wanted.push(src.clone());
        }
    });
    if wanted.is_empty() {
        return Ok(0);
    }
    std::fs::create_dir_all(dir).map_err(|e| CliError::Io(format!("{}: {e}", dir.display())))?;
    let mut local: HashMap<String, String> = HashMap::new();
    for src in wanted {
        let (bytes, kind) = download(url, &src, timeout).await?;
        let hash = src
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("");
        let stem: String = hash.chars().take(16).collect();
        let name = format!("{stem}.{}", extension(kind.as_deref()));
        let path = dir.join(&name);
        std::fs::write(&path, &bytes)
            .map_err(|e| CliError::Io(format!("{}: {e}", path.display())))?;
        let shown = format!("{}/{name}", dir.display().to_string().trim_end_matches('/'));
        local.insert(src, shown);
    }
    point_at(blocks, &local);
    Ok(local.len())
}

/// Replaces every address `moved` names with its new one.
fn point_at(blocks: &mut [Block], moved: &HashMap<String, String>) {
    sources_mut(blocks, &mut |src| {
        if let Some(to) = moved.get(src.as_str()) {
            *src = to.clone();
        }
    });
}

/// A file extension for a content type.
fn extension(kind: Option<&str>) -> &'static str {
    let essence = kind.unwrap_or("").split(';').next().unwrap_or("").trim();
    match essence {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/avif" => "avif",
        "image/bmp" => "bmp",
        "image/svg+xml" => "svg",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        "application/zip" => "zip",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_machine_are_uploaded() {
        assert!(is_local("pic.png") && is_local("../shots/a%20b.png") && is_local("/tmp/x.png"));
        assert!(!is_local("https://example.com/x.png") && !is_local("data:image/png;base64,AA"));
        assert!(!is_local("/api/v1/docs/d/blobs/ab"));
    }

    #[test]
    fn types_get_their_usual_extensions() {
        assert_eq!(extension(Some("image/png")), "png");
        assert_eq!(extension(Some("text/plain; charset=utf-8")), "txt");
        assert_eq!(extension(None), "bin");
    }
}
