//! The desktop's command layer without Tauri: the document list, open
//! sessions, settings, import and export. Commands in `commands.rs` only
//! unpack IPC and call these, so everything here is testable directly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use weft_core::convert::{self, PutMode};
use weft_core::engine::api::{self, RemoteDoc};
use weft_core::engine::blobs::{self, Blob};
use weft_core::engine::history::{self, DiffPart, Version};
use weft_core::engine::kept_blobs::KeptBlobs;
use weft_core::engine::{
    is_comment_only, is_view_only, peek, share_links, DocInfo, DocUrl, Library, Session,
    SessionOptions, ShareLinks,
};
use weft_core::store::blobs::sniff;
use weft_core::store::{SqliteStore, Store};

use crate::error::AppError;
use crate::settings::Settings;

/// One entry of the documents sidebar.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DocEntry {
    /// Local key; what every other command takes.
    pub key: String,
    /// The shareable link (`ws://host:port/doc`).
    pub url: String,
    /// Shown in the sidebar.
    pub title: String,
    /// No title was given: the sidebar shows `preview`, greyed.
    pub untitled: bool,
    /// The document's first line, as last seen here.
    pub preview: Option<String>,
    /// Unix seconds.
    pub last_opened: i64,
    /// Edits not yet acknowledged by the server.
    pub unsaved: u64,
    /// The token in use cannot change the body: the editor is read-only.
    pub view_only: bool,
    /// The token allows commenting (the editor is read-only, comments work).
    pub comment_only: bool,
    /// The token's `sub`: the owner of the comments written here ("" if none).
    pub sub: String,
}

/// The title of a document nobody has named (the sidebar shows its first
/// line instead).
pub const UNTITLED: &str = "Untitled";

/// How long the app waits for its server's HTTP API.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A share link for the share dialog.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SharedLink {
    /// `weft://host:port/doc?token=…`.
    pub link: String,
    /// The same in the web editor: `http(s)://host:port/d/doc#token=…`.
    pub web: String,
    /// `read` or `write`.
    pub access: String,
    /// Expiry, unix seconds (none when the server needs no token).
    pub exp: Option<u64>,
}

/// A blob kept while offline that is now done with.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeptOutcome {
    /// The document it belongs to.
    pub key: String,
    /// Its hash.
    pub hash: String,
    /// Why the server refused it for good; none once it is stored.
    pub error: Option<String>,
}

/// Everything the desktop app holds.
pub struct App {
    dir: PathBuf,
    library: Arc<Library>,
    kept: KeptBlobs,
    store: Arc<dyn Store>,
    settings: Mutex<Settings>,
    open: Mutex<HashMap<String, Arc<Session>>>,
}

impl App {
    /// Opens (creating) the app's data in `dir`.
    pub fn new(dir: &Path) -> Result<Self, AppError> {
        let library = Arc::new(Library::open(dir)?);
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir).map_err(weft_core::engine::EngineError::from)?);
        Ok(App {
            dir: dir.to_owned(),
            library,
            kept: KeptBlobs::open(dir),
            store,
            settings: Mutex::new(Settings::load(dir)),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// The settings.
    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap().clone()
    }

    /// Replaces and saves the settings.
    pub fn set_settings(&self, s: Settings) -> Result<Settings, AppError> {
        s.save(&self.dir)?;
        *self.settings.lock().unwrap() = s.clone();
        Ok(s)
    }

    /// Documents whose title contains `search`, most recent first.
    pub fn list(&self, search: Option<&str>) -> Result<Vec<DocEntry>, AppError> {
        let settings = self.settings();
        self.library
            .list(search)?
            .into_iter()
            .map(|d| self.to_entry(d, &settings))
            .collect()
    }

    /// The URL to connect with: the doc's own link token, else the token
    /// set for its server.
    fn url_of(info: &DocInfo, settings: &Settings) -> Result<DocUrl, AppError> {
        let mut url = DocUrl::parse(&info.url)?;
        url.token = info
            .token
            .clone()
            .or_else(|| settings.token_for(&url.server()).map(str::to_owned));
        Ok(url)
    }

    fn to_entry(&self, d: DocInfo, settings: &Settings) -> Result<DocEntry, AppError> {
        let url = Self::url_of(&d, settings)?;
        let claims = url.token.as_deref().and_then(peek);
        let untitled = d.title == UNTITLED || d.url.ends_with(&format!("/{}", d.title));
        Ok(DocEntry {
            key: d.key,
            url: d.url,
            title: d.title,
            untitled,
            preview: d.preview,
            last_opened: d.last_opened,
            unsaved: d.unsaved,
            view_only: is_view_only(&url),
            comment_only: is_comment_only(&url),
            sub: claims.and_then(|c| c.sub).unwrap_or_default(),
        })
    }

    /// The edit and view-only links for a document.
    pub async fn share(&self, key: &str) -> Result<ShareLinks, AppError> {
        let info = self.info(key)?;
        let url = Self::url_of(&info, &self.settings())?;
        Ok(share_links(&url, std::time::Duration::from_secs(10)).await?)
    }

    /// A new, empty document on the configured server.
    pub fn create(&self, title: &str) -> Result<DocEntry, AppError> {
        let id: String = (0..12)
            .map(|_| char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[rand::random_range(0..32)]))
            .collect();
        let server = self.settings().server_url.trim_end_matches('/').to_owned();
        let url = DocUrl::parse(&format!("{server}/{id}"))?;
        let title = if title.trim().is_empty() {
            UNTITLED
        } else {
            title.trim()
        };
        let info = self.library.touch(&url, Some(title))?;
        self.to_entry(info, &self.settings())
    }

    /// Adds a document by its link (`ws://…`, `wss://…` or `weft://…`).
    pub async fn add_link(&self, link: &str) -> Result<DocEntry, AppError> {
        let url = DocUrl::parse(link)?;
        let info = self.library.touch(&url, None)?;
        if url.token.is_some() {
            // An open session would keep the old token: reopen with the new one.
            self.close(&info.key).await;
        }
        self.to_entry(info, &self.settings())
    }

    /// Renames a document.
    pub fn rename(&self, key: &str, title: &str) -> Result<(), AppError> {
        Ok(self.library.rename(key, title.trim())?)
    }

    /// Remembers a document's first line, for the sidebar while it has no
    /// title.
    pub fn set_preview(&self, key: &str, preview: &str) -> Result<(), AppError> {
        let preview = preview.trim();
        let preview: String = preview.chars().take(120).collect();
        Ok(self.library.set_preview(
            key,
            Some(&preview).filter(|p| !p.is_empty()).map(|p| p.as_str()),
        )?)
    }

    /// Forgets a document locally (the server keeps its copy).
    pub async fn delete(&self, key: &str) -> Result<(), AppError> {
        self.close(key).await;
        Ok(self.library.remove(key)?)
    }

    fn info(&self, key: &str) -> Result<DocInfo, AppError> {
        self.library
            .get(key)?
            .ok_or_else(|| AppError::NoSuchDoc(key.to_owned()))
    }

    /// The server in the settings, with its token.
    fn server(&self) -> Result<api::Server, AppError> {
        let settings = self.settings();
        let mut server = api::server_of(settings.server())?;
        server.token = settings.token_for(settings.server()).map(str::to_owned);
        Ok(server)
    }

    /// The documents on the configured server that its token may open.
    pub async fn server_docs(&self, search: Option<&str>) -> Result<Vec<RemoteDoc>, AppError> {
        Ok(api::list(&self.server()?, search, 500, TIMEOUT).await?)
    }

    /// The configured server's document `id`, added to this computer's
    /// list (its title as the server knows it).
    pub fn add_remote(&self, id: &str, title: Option<&str>) -> Result<DocEntry, AppError> {
        let server = self.settings().server().trim_end_matches('/').to_owned();
        let url = DocUrl::parse(&format!("{server}/{id}"))?;
        let info = self.library.touch(&url, title.filter(|t| !t.is_empty()))?;
        self.to_entry(info, &self.settings())
    }

    /// The configured server's document `id`, with its token.
    fn remote_url(&self, id: &str) -> Result<DocUrl, AppError> {
        let settings = self.settings();
        let mut url = DocUrl::parse(&format!("{}/{id}", settings.server().trim_end_matches('/')))?;
        url.token = settings.token_for(&url.server()).map(str::to_owned);
        Ok(url)
    }

    /// Moves the server's document `id` to its trash.
    pub async fn trash_remote(&self, id: &str) -> Result<(), AppError> {
        Ok(api::trash(&self.remote_url(id)?, TIMEOUT).await?)
    }

    /// Takes the server's document `id` back out of its trash.
    pub async fn restore_remote(&self, id: &str) -> Result<(), AppError> {
        Ok(api::restore(&self.remote_url(id)?, TIMEOUT).await?)
    }

    /// A link to exactly this document, minted by its server, as an app
    /// The document's URL with the token it opens with.
    fn doc_url(&self, key: &str) -> Result<DocUrl, AppError> {
        Self::url_of(&self.info(key)?, &self.settings())
    }

    /// Uploads an image or file to the document's server. Kept on this
    /// computer first, so if the server cannot be reached it is not lost:
    /// the blob comes back `pending`, and [`upload_kept`](Self::upload_kept)
    /// uploads it once the server is back.
    pub async fn upload_blob(&self, key: &str, bytes: Vec<u8>) -> Result<Blob, AppError> {
        let url = self.doc_url(key)?;
        let hash = self.kept.keep(key, &bytes).map_err(io_error)?;
        let pending = Blob::pending(url.doc.as_str(), hash, &bytes);
        match blobs::upload(&url, bytes, TIMEOUT).await {
            Ok(blob) => {
                self.kept.uploaded(key, &blob.hash).map_err(io_error)?;
                Ok(blob)
            }
            Err(e) if e.is_temporary() => Ok(pending),
            Err(e) => {
                self.kept.uploaded(key, &pending.hash).map_err(io_error)?;
                Err(e.into())
            }
        }
    }

    /// Uploads what [`upload_blob`](Self::upload_blob) kept while the
    /// server could not be reached: one outcome per blob that is done
    /// (stored, or refused for good); the rest wait for the next call.
    pub async fn upload_kept(&self) -> Vec<KeptOutcome> {
        let mut done = Vec::new();
        for (key, hash) in self.kept.waiting() {
            let outcome = async {
                let url = self.doc_url(&key)?;
                let bytes = self
                    .kept
                    .read(&hash)
                    .ok_or_else(|| AppError::Io(format!("the kept copy of {hash} is missing")))?;
                Ok::<_, AppError>(blobs::upload(&url, bytes, TIMEOUT).await?)
            }
            .await;
            let error = match outcome {
                Ok(_) => None,
                Err(AppError::Engine(e)) if e.is_temporary() => continue,
                Err(e) => Some(e.to_string()),
            };
            if let Err(e) = self.kept.uploaded(&key, &hash) {
                tracing::warn!(error = %e, "cannot mark a kept blob uploaded");
                continue;
            }
            done.push(KeptOutcome { key, hash, error });
        }
        done
    }

    /// Where the image or file at `src` is: `waiting` (kept here, to be
    /// uploaded), `stored` (on the server) or `missing` (neither, yet).
    pub async fn blob_state(&self, key: &str, src: &str) -> Result<&'static str, AppError> {
        if blobs::hash_in(src).is_some_and(|h| self.kept.is_waiting(key, h)) {
            return Ok("waiting");
        }
        match blobs::is_stored(&self.doc_url(key)?, src, TIMEOUT).await {
            Ok(true) => Ok("stored"),
            Ok(false) => Ok("missing"),
            Err(e) if e.is_temporary() => Ok("missing"),
            Err(e) => Err(e.into()),
        }
    }

    /// An image or file of the document's, by the address it holds: its
    /// bytes and content type.
    pub async fn read_blob(
        &self,
        key: &str,
        src: &str,
    ) -> Result<(Vec<u8>, Option<String>), AppError> {
        // Named by their hash, so a copy here is the same bytes.
        if let Some(bytes) = blobs::hash_in(src).and_then(|h| self.kept.read(h)) {
            let kind = sniff(&bytes).to_string();
            return Ok((bytes, Some(kind)));
        }
        let (bytes, kind) = blobs::download(&self.doc_url(key)?, src, TIMEOUT).await?;
        if let Err(e) = self.kept.cache(&bytes) {
            tracing::warn!(error = %e, "cannot keep a copy of an image for offline use");
        }
        Ok((bytes.to_vec(), kind))
    }

    /// The document's versions on its server, newest first.
    pub async fn versions(&self, key: &str) -> Result<Vec<Version>, AppError> {
        Ok(history::list(&self.doc_url(key)?, TIMEOUT).await?)
    }

    /// Saves the document as it is now as a named version.
    pub async fn save_version(&self, key: &str, name: &str) -> Result<Version, AppError> {
        Ok(history::save(&self.doc_url(key)?, name, TIMEOUT).await?)
    }

    /// Names a version.
    pub async fn name_version(
        &self,
        key: &str,
        vid: &str,
        name: &str,
    ) -> Result<Version, AppError> {
        Ok(history::name(&self.doc_url(key)?, vid, name, TIMEOUT).await?)
    }

    /// What changed from a version to the document now, block by block.
    pub async fn version_diff(&self, key: &str, vid: &str) -> Result<Vec<Vec<DiffPart>>, AppError> {
        Ok(history::diff(&self.doc_url(key)?, vid, TIMEOUT).await?)
    }

    /// Restores a version as a forward edit (open editors see it).
    pub async fn restore_version(&self, key: &str, vid: &str) -> Result<Version, AppError> {
        Ok(history::restore(&self.doc_url(key)?, vid, TIMEOUT).await?)
    }

    /// link (`weft://`).
    pub async fn mint_link(
        &self,
        key: &str,
        access: &str,
        expires_in: Option<u64>,
    ) -> Result<SharedLink, AppError> {
        let url = Self::url_of(&self.info(key)?, &self.settings())?;
        let minted = api::mint_link(&url, access, expires_in, TIMEOUT).await?;
        let url = DocUrl::parse(&minted.url)?;
        Ok(SharedLink {
            link: url.app_link(),
            web: url.web_link(),
            access: minted.access,
            exp: minted.exp,
        })
    }

    /// Revokes every link to this document minted so far.
    pub async fn reset_links(&self, key: &str) -> Result<(), AppError> {
        let url = Self::url_of(&self.info(key)?, &self.settings())?;
        Ok(api::reset_links(&url, TIMEOUT).await?)
    }

    /// Opens a document (or returns it if open already).
    pub async fn open(&self, key: &str) -> Result<Arc<Session>, AppError> {
        if let Some(s) = self.open.lock().unwrap().get(key) {
            return Ok(s.clone());
        }
        let info = self.info(key)?;
        let mut opts = SessionOptions::new(Self::url_of(&info, &self.settings())?);
        opts.store = self.store.clone();
        opts.library = Some(self.library.clone());
        let session = Arc::new(Session::open(opts).await?);
        let mut open = self.open.lock().unwrap();
        Ok(open.entry(key.to_owned()).or_insert(session).clone())
    }

    /// An open session.
    pub fn session(&self, key: &str) -> Result<Arc<Session>, AppError> {
        self.open
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .ok_or_else(|| AppError::NoSuchDoc(key.to_owned()))
    }

    /// Closes a document's session, if open.
    pub async fn close(&self, key: &str) {
        let session = self.open.lock().unwrap().remove(key);
        if let Some(s) = session {
            s.close().await;
        }
    }

    /// Closes every session (on quit), so others see our cursors go.
    pub async fn close_all(&self) {
        let all: Vec<_> = self.open.lock().unwrap().drain().map(|(_, s)| s).collect();
        for s in all {
            s.close().await;
        }
    }

    /// Applies an update from the editor.
    pub fn push_update(&self, key: &str, update: &[u8]) -> Result<(), AppError> {
        Ok(self.session(key)?.apply_local_update(update)?)
    }

    /// Relays the editor's awareness.
    pub fn push_awareness(&self, key: &str, update: &[u8]) -> Result<(), AppError> {
        Ok(self.session(key)?.relay_awareness(update)?)
    }

    /// The document as Markdown or HTML.
    pub async fn export(&self, key: &str, format: &str) -> Result<String, AppError> {
        let session = self.open(key).await?;
        match format {
            "md" | "markdown" => Ok(convert::to_markdown(session.doc())),
            "html" => Ok(convert::to_html(session.doc())),
            other => Err(AppError::BadRequest(format!(
                "unknown export format {other}"
            ))),
        }
    }

    /// Writes an export to `path` (`~/` is the home directory, as the
    /// dialog proposes).
    pub async fn export_to(&self, key: &str, format: &str, path: &Path) -> Result<(), AppError> {
        let text = self.export(key, format).await?;
        write_file(path, text.as_bytes())
    }

    /// Saves an image or file of the document's to `path` (`~/` as above).
    pub async fn save_blob(&self, key: &str, src: &str, path: &Path) -> Result<(), AppError> {
        let (bytes, _) = self.read_blob(key, src).await?;
        write_file(path, &bytes)
    }

    /// A new document holding `markdown`, written through the engine (never
    /// through the editor, which would duplicate it on reconnect).
    pub async fn import(&self, title: &str, markdown: &str) -> Result<DocEntry, AppError> {
        let entry = self.create(title)?;
        let session = self.open(&entry.key).await?;
        let frag = convert::fragment(session.doc());
        session.transact(|txn| convert::put_markdown(txn, &frag, markdown, PutMode::Replace));
        Ok(entry)
    }

    /// The bytes an editor needs to start: the doc state.
    pub fn state(&self, key: &str) -> Result<Bytes, AppError> {
        Ok(Bytes::from(self.session(key)?.state()))
    }
}

/// Writes `bytes` to `path`, with a leading `~/` meaning the home directory.
/// Keeping an image or file on this computer failed (the disk is full…).
fn io_error(e: std::io::Error) -> AppError {
    AppError::Io(format!("cannot keep the file on this computer: {e}"))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    let path = match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => Path::new(&home).join(rest),
        _ => path.to_path_buf(),
    };
    std::fs::write(&path, bytes).map_err(|e| AppError::Io(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Doc, ReadTxn, StateVector, Transact};

    #[tokio::test]
    async fn create_rename_search_delete_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(dir.path()).unwrap();
        let a = app.create("Plans").unwrap();
        assert!(!a.untitled);
        let b = app.create("").unwrap();
        assert!(b.untitled, "no title given");
        // An untitled document is listed by its first line, across restarts.
        app.set_preview(&b.key, "  Meeting notes \n").unwrap();
        assert_eq!(app.list(None).unwrap().len(), 2);
        app.rename(&a.key, "Q3 plans").unwrap();
        assert_eq!(app.list(Some("q3")).unwrap()[0].title, "Q3 plans");
        drop(app);
        let app = App::new(dir.path()).unwrap();
        assert_eq!(
            app.list(None).unwrap().len(),
            2,
            "the list persists across restarts"
        );
        let b = app
            .list(None)
            .unwrap()
            .into_iter()
            .find(|d| d.key == b.key)
            .unwrap();
        assert_eq!(
            (b.untitled, b.preview.as_deref()),
            (true, Some("Meeting notes"))
        );
        app.set_preview(&b.key, "").unwrap();
        let b = app
            .list(None)
            .unwrap()
            .into_iter()
            .find(|d| d.key == b.key)
            .unwrap();
        assert_eq!(b.preview, None, "an empty document has no preview");
        app.delete(&a.key).await.unwrap();
        assert_eq!(app.list(None).unwrap().len(), 1);
        assert!(matches!(app.session(&a.key), Err(AppError::NoSuchDoc(_))));
    }

    #[tokio::test]
    async fn editor_updates_persist_offline_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(dir.path()).unwrap();
        // No server runs at the default URL in tests: everything is offline.
        let mut s = app.settings();
        s.server_url = "ws://127.0.0.1:9".into();
        app.set_settings(s).unwrap();
        let entry = app
            .import("Imported", "# Hello\n\n- [x] done\n")
            .await
            .unwrap();
        // An editor's own Y.Doc edits, sent as raw updates.
        let editor = Doc::new();
        yrs::Transact::transact_mut(&editor)
            .apply_update(yrs::Update::decode_v1(&app.state(&entry.key).unwrap()).unwrap())
            .unwrap();
        let update = {
            let frag = convert::fragment(&editor);
            let mut txn = editor.transact_mut();
            convert::put_markdown(&mut txn, &frag, "More text.", PutMode::Append);
            txn.encode_update_v1()
        };
        app.push_update(&entry.key, &update).unwrap();
        assert_eq!(
            app.export(&entry.key, "md").await.unwrap(),
            "# Hello\n\n- [x] done\n\nMore text.\n"
        );
        assert!(app
            .export(&entry.key, "html")
            .await
            .unwrap()
            .contains("<h1>Hello</h1>"));
        assert!(matches!(
            app.export(&entry.key, "pdf").await,
            Err(AppError::BadRequest(_))
        ));
        app.close_all().await;
        drop(app);
        let app = App::new(dir.path()).unwrap();
        app.open(&entry.key).await.unwrap();
        let doc = Doc::new();
        doc.transact_mut()
            .apply_update(yrs::Update::decode_v1(&app.state(&entry.key).unwrap()).unwrap())
            .unwrap();
        assert_eq!(
            convert::to_markdown(&doc),
            "# Hello\n\n- [x] done\n\nMore text.\n"
        );
        let _ = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
    }

    #[tokio::test]
    async fn bad_input_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(dir.path()).unwrap();
        assert_eq!(
            crate::error::IpcError::from(&app.add_link("http://nope").await.unwrap_err()).code,
            "bad_url"
        );
        assert_eq!(
            crate::error::IpcError::from(&app.push_update("missing", &[0, 0]).unwrap_err()).code,
            "no_such_doc"
        );
    }

    use yrs::updates::decoder::Decode;

    /// An image added while the server is down is kept, shown from here,
    /// and uploaded once the server is back; across an app restart too.
    #[tokio::test]
    async fn an_image_added_offline_is_kept_and_uploaded_when_the_server_is_back() {
        // A free port with nothing listening yet: the server is "down".
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(dir.path()).unwrap();
        let mut s = app.settings();
        s.server_url = format!("ws://{addr}");
        app.set_settings(s).unwrap();
        let doc = app.create("Offline photos").unwrap();
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3];

        let blob = app.upload_blob(&doc.key, png.to_vec()).await.unwrap();
        assert!(blob.pending, "kept, not claimed stored");
        assert_eq!(blob.kind, "image/png");
        assert!(blob.url.ends_with(&blob.hash));
        assert_eq!(
            app.blob_state(&doc.key, &blob.url).await.unwrap(),
            "waiting"
        );
        assert_eq!(app.read_blob(&doc.key, &blob.url).await.unwrap().0, png);
        assert!(
            app.upload_kept().await.is_empty(),
            "still down: nothing done"
        );

        // The app restarts, then the server comes up.
        drop(app);
        let app = App::new(dir.path()).unwrap();
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(weft_server::store::MemoryStore::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(weft_server::serve(
            listener,
            store,
            weft_server::Config::default(),
            async {
                let _ = stopped.await;
            },
        ));
        let done = app.upload_kept().await;
        assert_eq!(
            done,
            vec![KeptOutcome {
                key: doc.key.clone(),
                hash: blob.hash.clone(),
                error: None
            }]
        );
        assert!(app.upload_kept().await.is_empty(), "uploaded once");
        assert_eq!(app.blob_state(&doc.key, &blob.url).await.unwrap(), "stored");
        let (bytes, _) = blobs::download(&app.doc_url(&doc.key).unwrap(), &blob.url, TIMEOUT)
            .await
            .unwrap();
        assert_eq!(&bytes[..], &png[..], "the server has the same bytes");
        let other = blob.url.replace(&blob.hash, &"0".repeat(64));
        assert_eq!(app.blob_state(&doc.key, &other).await.unwrap(), "missing");
        let _ = stop.send(());
        let _ = server.await;
    }
}
