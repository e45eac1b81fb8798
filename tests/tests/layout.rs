//! The code's shape, checked (ARCHITECTURE.md, "Module rules"): no import
//! circles between the modules of a crate, and no function in product code
//! over 80 lines unless a comment just above it says why it is long.
//!
//! Text-based on purpose: `crate::`/`super::` paths and `use crate::{…}`
//! blocks name every dependency between modules, and a parser would be a
//! dependency for a lint.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 6] = [
    "server/src",
    "core/src",
    "cli/src",
    "src-tauri/src",
    "bench/src",
    "torture/src",
];
const MAX_LINES: usize = 80;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `net/http.rs` → `net::http`; `mod.rs`, `lib.rs` and `main.rs` name their folder.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code before the unit tests.
fn product_code(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// Every `crate::a::b…` and `super::…` path, as module paths from the crate root.
fn paths_used(module: &str, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start).map(|i| i + from) {
            from = i + start.len();
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            let tail: String = code[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut parts: Vec<String> = tail
                .split("::")
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            if parts.first().map(String::as_str) == Some("crate") {
                parts.remove(0);
            } else {
                let mut here: Vec<String> = module.split("::").map(str::to_owned).collect();
                while parts.first().map(String::as_str) == Some("super") {
                    parts.remove(0);
                    here.pop();
                }
                here.extend(parts);
                parts = here;
            }
            // `use crate::{a::b, c}`: each item is a path too.
            if code[i + tail.len()..].starts_with('{') {
                let block = &code[i + tail.len() + 1..];
                let block = &block[..block.find('}').unwrap_or(0)];
                for item in block.split(',') {
                    let mut p = parts.clone();
                    p.extend(item.trim().split("::").map(|s| s.trim().to_owned()));
                    out.push(p);
                }
            }
            out.push(parts);
        }
    }
    out
}

#[test]
fn no_crate_has_an_import_circle() {
    for krate in CRATES {
        let src = root().join(krate);
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeMap<String, String> = files
            .iter()
            .map(|f| (module_of(&src, f), std::fs::read_to_string(f).unwrap()))
            .collect();
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (module, text) in &modules {
            for path in paths_used(module, product_code(text)) {
                // The longest prefix of the path that is a module.
                let target = (1..=path.len())
                    .rev()
                    .map(|n| path[..n].join("::"))
                    .find(|m| modules.contains_key(m));
                if let Some(target) = target {
                    let (name, _) = modules.get_key_value(&target).unwrap();
                    // A child may use its ancestors; that is not a circle.
                    if name != module
                        && !module.starts_with(&format!("{name}::"))
                        && !name.is_empty()
                    {
                        edges.entry(module).or_default().insert(name);
                    }
                }
            }
        }
        let circle = find_circle(&edges);
        assert!(
            circle.is_none(),
            "{krate}: modules import each other in a circle: {circle:?}"
        );
    }
}

/// A circle in the graph, as the modules on it, if there is one.
fn find_circle<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        done: &mut BTreeSet<&'a str>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = stack.iter().position(|n| *n == node) {
            return Some(stack[i..].to_vec());
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut done, &mut Vec::new()))
}

#[test]
fn a_function_over_80_lines_says_why() {
    let mut long = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root().join(krate), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = product_code(&text).lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let t = line.trim_start();
                let t = t
                    .strip_prefix("pub ")
                    .or_else(|| t.strip_prefix("pub(crate) "))
                    .unwrap_or(t);
                let t = t.strip_prefix("async ").unwrap_or(t);
                if !t.starts_with("fn ") {
                    continue;
                }
                let len = body_lines(&lines[i..]);
                let why = lines[i.saturating_sub(8)..i]
                    .iter()
                    .any(|l| l.trim_start().starts_with("//") && l.contains("long"));
                if len > MAX_LINES && !why {
                    long.push(format!("{}:{} ({len} lines)", file.display(), i + 1));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines with no comment saying why: {long:#?}"
    );
}

/// Lines from a `fn` line to its closing brace (1 for a declaration).
fn body_lines(lines: &[&str]) -> usize {
    let mut depth = 0i32;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut in_str = false;
        let mut prev = ' ';
        for c in code.chars() {
            match c {
                '"' if prev != '\\' => in_str = !in_str,
                '{' if !in_str => {
                    depth += 1;
                    opened = true;
                }
                '}' if !in_str => depth -= 1,
                _ => {}
            }
            prev = c;
        }
        if opened && depth == 0 {
            return n + 1;
        }
        if !opened && code.trim_end().ends_with(';') {
            return 1;
        }
    }
    lines.len()
}
