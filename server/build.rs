//! Builds the web editor (`ui/dist-web`) that `net::web` compiles in, when
//! the UI's dependencies are installed (`npm --prefix ui ci`); without them
//! the binary is built with no web editor and says so at `/`.

use std::path::Path;
use std::process::Command;

fn main() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    for input in [
        "src",
        "index.html",
        "web-public",
        "package.json",
        "vite.config.ts",
    ] {
        println!("cargo:rerun-if-changed={}", ui.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=WEFT_SKIP_WEB_BUILD");
    if std::env::var_os("WEFT_SKIP_WEB_BUILD").is_some() {
        return;
    }
    if !ui.join("node_modules/.bin/vite").exists() {
        println!(
            "cargo:warning=ui/node_modules is missing: weft-server is built without a new web editor (run `npm --prefix ui ci`)"
        );
        return;
    }
    let status = Command::new("npm")
        .args([
            "--prefix",
            &ui.display().to_string(),
            "run",
            "--silent",
            "build:web",
        ])
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("building the web editor failed ({s}): npm --prefix ui run build:web"),
        Err(e) => println!("cargo:warning=cannot run npm ({e}): the web editor is not rebuilt"),
    }
}
