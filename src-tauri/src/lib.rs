//! Weft's desktop app: a Tauri 2 shell around the web editor in `ui/`.
//! Rust owns networking and persistence (through weft-core's engine, one
//! session per open document); the webview holds a Y.Doc for the editor.
//!
//! # Layout
//! - [`app`]: the command layer as plain Rust (documents, sessions,
//!   settings, import/export), unit-tested without Tauri.
//! - [`commands`]: thin `#[tauri::command]` adapters over it.
//! - [`ipc`]: the tagged frames that carry engine events to the editor.
//! - [`settings`]: the user's settings file.
//! - [`error`]: the `{code, message}` error that crosses IPC.

pub mod app;
pub mod commands;
pub mod error;
pub mod ipc;
pub mod settings;

use std::sync::Arc;

use tauri::{Emitter, Manager};

/// Starts the app. `WEFT_DATA_DIR` overrides the data directory, so two
/// instances can run side by side. It is long because Tauri's builder
/// names every command and protocol in one chain.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
    let mut builder = tauri::Builder::default();
    // One app per user: a second launch, or a weft:// link opened while the
    // app runs, hands its link to the running window. Instances given their
    // own WEFT_DATA_DIR stay independent, so tests can run two side by side.
    if std::env::var_os("WEFT_DATA_DIR").is_none() {
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
            if let Some(link) = commands::link_arg(argv.into_iter().skip(1)) {
                let _ = app.emit("open-link", link);
            }
        }));
    }
    let result = builder
        .plugin(tauri_plugin_deep_link::init())
        .setup(|tauri_app| {
            let dir = match std::env::var_os("WEFT_DATA_DIR") {
                Some(d) => std::path::PathBuf::from(d),
                None => tauri_app.path().app_data_dir()?,
            };
            let state = Arc::new(app::App::new(&dir).map_err(|e| e.to_string())?);
            tauri::async_runtime::spawn(commands::upload_kept(
                tauri_app.handle().clone(),
                state.clone(),
            ));
            tauri_app.manage(state);
            Ok(())
        })
        .register_asynchronous_uri_scheme_protocol("weft-blob", |ctx, request, responder| {
            let app = ctx.app_handle().state::<Arc<app::App>>().inner().clone();
            tauri::async_runtime::spawn(async move {
                responder.respond(commands::blob_protocol(&app, request.uri()).await)
            });
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_docs,
            commands::create_doc,
            commands::add_link,
            commands::rename_doc,
            commands::set_preview,
            commands::versions,
            commands::save_version,
            commands::name_version,
            commands::version_diff,
            commands::restore_version,
            commands::delete_doc,
            commands::open_doc,
            commands::close_doc,
            commands::push_update,
            commands::push_awareness,
            commands::doc_status,
            commands::upload_blob,
            commands::read_blob,
            commands::blob_state,
            commands::save_blob,
            commands::share_links,
            commands::get_settings,
            commands::set_settings,
            commands::export_doc,
            commands::import_markdown,
            commands::launch_link,
            commands::server_docs,
            commands::add_remote,
            commands::trash_remote,
            commands::restore_remote,
            commands::mint_link,
            commands::reset_links,
        ])
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::ExitRequested { .. } = event {
                // Say goodbye so others do not see our cursor linger.
                let state = handle.state::<Arc<app::App>>().inner().clone();
                tauri::async_runtime::block_on(state.close_all());
            }
        }),
        Err(e) => {
            eprintln!("weft-desktop: {e}");
            std::process::exit(1);
        }
    }
}
