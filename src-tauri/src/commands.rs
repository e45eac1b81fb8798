//! `#[tauri::command]` adapters: unpack IPC, call [`App`], nothing else.
//! Document updates travel as raw bytes: `invoke(cmd, Uint8Array, {headers})`
//! in, a `Channel` of raw frames out.

use std::sync::Arc;

use tauri::ipc::{Channel, InvokeBody, InvokeResponseBody, Request, Response};
use tauri::{Emitter, State};

use crate::app::{App, DocEntry, SharedLink};
use crate::error::AppError;
use crate::ipc::{self, DocStatus};
use crate::settings::Settings;
use weft_core::engine::api::RemoteDoc;
use weft_core::engine::blobs::Blob;
use weft_core::engine::history::{DiffPart, Version};
use weft_core::engine::ShareLinks;

type R<T> = Result<T, AppError>;

fn raw_with_key<'a>(req: &'a Request<'_>) -> R<(&'a str, &'a [u8])> {
    let key = req
        .headers()
        .get("weft-doc")
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::BadRequest("missing weft-doc header".into()))?;
    match req.body() {
        InvokeBody::Raw(bytes) => Ok((key, bytes)),
        InvokeBody::Json(_) => Err(AppError::BadRequest(
            "send a Uint8Array body, not JSON".into(),
        )),
    }
}

#[tauri::command]
pub fn list_docs(app: State<'_, Arc<App>>, search: Option<String>) -> R<Vec<DocEntry>> {
    app.list(search.as_deref())
}

#[tauri::command]
pub fn create_doc(app: State<'_, Arc<App>>, title: String) -> R<DocEntry> {
    app.create(&title)
}

#[tauri::command]
pub async fn add_link(app: State<'_, Arc<App>>, link: String) -> R<DocEntry> {
    app.add_link(&link).await
}

#[tauri::command]
pub fn rename_doc(app: State<'_, Arc<App>>, key: String, title: String) -> R<()> {
    app.rename(&key, &title)
}

#[tauri::command]
pub fn set_preview(app: State<'_, Arc<App>>, key: String, preview: String) -> R<()> {
    app.set_preview(&key, &preview)
}

#[tauri::command]
pub async fn delete_doc(app: State<'_, Arc<App>>, key: String) -> R<()> {
    app.delete(&key).await
}

/// Opens a document: returns its state; later changes, awareness and
/// status flow through `events`.
#[tauri::command]
pub async fn open_doc(
    app: State<'_, Arc<App>>,
    key: String,
    events: Channel<InvokeResponseBody>,
) -> R<Response> {
    let session = app.open(&key).await?;
    ipc::forward(&session, events);
    Ok(Response::new(app.state(&key)?.to_vec()))
}

#[tauri::command]
pub async fn close_doc(app: State<'_, Arc<App>>, key: String) -> R<()> {
    app.close(&key).await;
    Ok(())
}

#[tauri::command]
pub fn push_update(app: State<'_, Arc<App>>, request: Request<'_>) -> R<()> {
    let (key, bytes) = raw_with_key(&request)?;
    app.push_update(key, bytes)
}

#[tauri::command]
pub fn push_awareness(app: State<'_, Arc<App>>, request: Request<'_>) -> R<()> {
    let (key, bytes) = raw_with_key(&request)?;
    app.push_awareness(key, bytes)
}

/// Uploads an image or file (the raw body) to the document's server.
#[tauri::command]
pub async fn upload_blob(app: State<'_, Arc<App>>, request: Request<'_>) -> R<Blob> {
    let (key, bytes) = raw_with_key(&request)?;
    app.upload_blob(key, bytes.to_vec()).await
}

/// Where an image or file of the document's is: `waiting`, `stored` or `missing`.
#[tauri::command]
pub async fn blob_state(app: State<'_, Arc<App>>, key: String, src: String) -> R<&'static str> {
    app.blob_state(&key, &src).await
}

/// An image or file of the document's, as raw bytes.
#[tauri::command]
pub async fn read_blob(app: State<'_, Arc<App>>, key: String, src: String) -> R<Response> {
    Ok(Response::new(app.read_blob(&key, &src).await?.0))
}

/// Saves an image or file of the document's to `path`.
#[tauri::command]
pub async fn save_blob(app: State<'_, Arc<App>>, key: String, src: String, path: String) -> R<()> {
    app.save_blob(&key, &src, std::path::Path::new(&path)).await
}

/// Uploads the images and files kept while offline, every few seconds,
/// telling the editor (`blob-stored`) as each is done.
pub async fn upload_kept(handle: tauri::AppHandle, app: Arc<App>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        for outcome in app.upload_kept().await {
            let _ = handle.emit("blob-stored", outcome);
        }
    }
}

/// `weft-blob://localhost/<doc key>/api/v1/docs/…/blobs/…`: what an
/// `<img>` in the editor loads (the page cannot send the document's token;
/// this fetches with it).
pub async fn blob_protocol(app: &App, uri: &tauri::http::Uri) -> tauri::http::Response<Vec<u8>> {
    let path = uri.path().trim_start_matches('/');
    let (key, rest) = path.split_once('/').unwrap_or((path, ""));
    let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
    let src = format!(
        "/{rest}{}",
        uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    );
    let answer = tauri::http::Response::builder();
    match app.read_blob(&key, &src).await {
        Ok((bytes, kind)) => answer
            .header(
                "Content-Type",
                kind.unwrap_or_else(|| "application/octet-stream".into()),
            )
            .body(bytes),
        Err(e) => answer.status(502).body(e.to_string().into_bytes()),
    }
    .unwrap_or_default()
}

#[tauri::command]
pub fn doc_status(app: State<'_, Arc<App>>, key: String) -> R<DocStatus> {
    Ok(DocStatus::of_session(&*app.session(&key)?))
}

#[tauri::command]
pub async fn share_links(app: State<'_, Arc<App>>, key: String) -> R<ShareLinks> {
    app.share(&key).await
}

#[tauri::command]
pub fn get_settings(app: State<'_, Arc<App>>) -> Settings {
    app.settings()
}

#[tauri::command]
pub fn set_settings(app: State<'_, Arc<App>>, settings: Settings) -> R<Settings> {
    app.set_settings(settings)
}

#[tauri::command]
pub async fn export_doc(
    app: State<'_, Arc<App>>,
    key: String,
    format: String,
    path: String,
) -> R<()> {
    app.export_to(&key, &format, std::path::Path::new(&path))
        .await
}

#[tauri::command]
pub async fn import_markdown(
    app: State<'_, Arc<App>>,
    title: String,
    markdown: String,
) -> R<DocEntry> {
    app.import(&title, &markdown).await
}

#[tauri::command]
pub async fn server_docs(app: State<'_, Arc<App>>, search: Option<String>) -> R<Vec<RemoteDoc>> {
    app.server_docs(search.as_deref()).await
}

#[tauri::command]
pub fn add_remote(app: State<'_, Arc<App>>, id: String, title: Option<String>) -> R<DocEntry> {
    app.add_remote(&id, title.as_deref())
}

#[tauri::command]
pub async fn trash_remote(app: State<'_, Arc<App>>, id: String) -> R<()> {
    app.trash_remote(&id).await
}

#[tauri::command]
pub async fn restore_remote(app: State<'_, Arc<App>>, id: String) -> R<()> {
    app.restore_remote(&id).await
}

#[tauri::command]
pub async fn mint_link(
    app: State<'_, Arc<App>>,
    key: String,
    access: String,
    expires_in: Option<u64>,
) -> R<SharedLink> {
    app.mint_link(&key, &access, expires_in).await
}

#[tauri::command]
pub async fn reset_links(app: State<'_, Arc<App>>, key: String) -> R<()> {
    app.reset_links(&key).await
}

/// The document link given on the command line, if any (how desktops pass
/// a clicked weft:// link).
#[tauri::command]
pub fn launch_link() -> Option<String> {
    link_arg(std::env::args().skip(1))
}

/// The first argument that looks like a document link.
pub fn link_arg(args: impl IntoIterator<Item = String>) -> Option<String> {
    args.into_iter().find(|a| {
        ["weft://", "ws://", "wss://"]
            .iter()
            .any(|s| a.starts_with(s))
    })
}

#[tauri::command]
pub async fn versions(app: State<'_, Arc<App>>, key: String) -> R<Vec<Version>> {
    app.versions(&key).await
}

#[tauri::command]
pub async fn save_version(app: State<'_, Arc<App>>, key: String, name: String) -> R<Version> {
    app.save_version(&key, &name).await
}

#[tauri::command]
pub async fn name_version(
    app: State<'_, Arc<App>>,
    key: String,
    vid: String,
    name: String,
) -> R<Version> {
    app.name_version(&key, &vid, &name).await
}

#[tauri::command]
pub async fn version_diff(
    app: State<'_, Arc<App>>,
    key: String,
    vid: String,
) -> R<Vec<Vec<DiffPart>>> {
    app.version_diff(&key, &vid).await
}

#[tauri::command]
pub async fn restore_version(app: State<'_, Arc<App>>, key: String, vid: String) -> R<Version> {
    app.restore_version(&key, &vid).await
}
