//! Stamps the binary with the commit it was built from
//! (`RINGSIDE_GIT_COMMIT`, shown by `ringside_build_info`), read from `.git`
//! without running git. A build outside a checkout, or with the variable
//! already set, keeps what it has.
//!
//! Also lists every file under `web/admin/` (the console) into
//! `$OUT_DIR/admin_assets.rs` for `src/http/admin.rs` to embed, so a new view
//! or vendored file is served without a line of Rust.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    admin_assets();
    println!("cargo:rerun-if-env-changed=RINGSIDE_GIT_COMMIT");
    if std::env::var_os("RINGSIDE_GIT_COMMIT").is_some() {
        return;
    }
    let Some(git) = git_dir(Path::new(".git")) else {
        return;
    };
    let head_file = git.join("HEAD");
    println!("cargo:rerun-if-changed={}", head_file.display());
    let Ok(head) = fs::read_to_string(&head_file) else {
        return;
    };
    let head = head.trim();
    let commit = match head.strip_prefix("ref: ") {
        None => Some(head.to_string()),
        Some(name) => {
            // A worktree keeps its HEAD apart and shares the refs.
            let common = fs::read_to_string(git.join("commondir"))
                .map(|c| git.join(c.trim()))
                .unwrap_or_else(|_| git.clone());
            let loose = common.join(name);
            println!("cargo:rerun-if-changed={}", loose.display());
            println!(
                "cargo:rerun-if-changed={}",
                common.join("packed-refs").display()
            );
            fs::read_to_string(&loose)
                .ok()
                .map(|c| c.trim().to_string())
                .or_else(|| packed(&common.join("packed-refs"), name))
        }
    };
    if let Some(commit) = commit.filter(|c| c.len() == 40) {
        println!("cargo:rustc-env=RINGSIDE_GIT_COMMIT={commit}");
    }
}

/// `.git` is a folder, or (in a worktree) a file naming one.
fn git_dir(dot_git: &Path) -> Option<PathBuf> {
    if dot_git.is_dir() {
        return Some(dot_git.to_path_buf());
    }
    let text = fs::read_to_string(dot_git).ok()?;
    Some(PathBuf::from(text.trim().strip_prefix("gitdir: ")?))
}

fn packed(file: &Path, name: &str) -> Option<String> {
    fs::read_to_string(file).ok()?.lines().find_map(|line| {
        let (commit, reference) = line.split_once(' ')?;
        (reference == name).then(|| commit.to_string())
    })
}

/// `$OUT_DIR/admin_assets.rs`: one `asset!` per file under `web/admin/`
/// (hidden files left out), sorted, with the content type of its extension.
fn admin_assets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/admin");
    // A directory: cargo looks at every file under it.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut out = String::from("&[\n");
    for file in &files {
        let Ok(rel) = file.strip_prefix(&root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let content_type = content_type(&rel);
        out.push_str(&format!(
            "    asset!({:?}, {:?}, {:?}, {}),\n",
            format!("/admin/{rel}"),
            content_type,
            file.display().to_string(),
            // HTML files are pages: they get the page's security headers.
            rel.ends_with(".html"),
        ));
    }
    out.push_str("]\n");
    let Some(dir) = std::env::var_os("OUT_DIR") else {
        return;
    };
    if let Err(e) = fs::write(Path::new(&dir).join("admin_assets.rs"), out) {
        panic!("writing admin_assets.rs: {e}");
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The same table as `src/http/admin.rs`'s `content_type` (a test there
/// checks that they agree).
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}
