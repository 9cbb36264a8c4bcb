//! Stamps the binary with the commit it was built from
//! (`RINGSIDE_GIT_COMMIT`, shown by `ringside_build_info`), read from `.git`
//! without running git. A build outside a checkout, or with the variable
//! already set, keeps what it has.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
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
