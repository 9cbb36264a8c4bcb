//! `/admin/`: the operator and moderator console (DESIGN §11), static pages
//! over the REST API and the live channels. Every file under `web/admin/` is
//! embedded (the list is made by `build.rs`); any other path under `/admin/`
//! that does not name a file gets the shell, so a view's address
//! (`/admin/fight/12`) survives a reload. A web surface, not part of the API
//! document. With `RINGSIDE_WEB_DIR` set (development), the files are read
//! from disk on every request instead, so pages change without a rebuild.

use std::path::{Component, Path};

use actix_web::{web, HttpRequest, HttpResponse};

use super::assets::{asset, fnv1a, quoted_hex, respond, serve, Asset};
use super::resource;
use crate::error::ApiError;
use crate::state::AppState;

const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/admin_assets.rs"));

/// The path prefix this module serves (a web surface).
pub const PREFIX: &str = "/admin/";

/// The shell's file; the page every non-file address gets.
const SHELL: &str = "index.html";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(PREFIX).get(|req: HttpRequest| async move { page(&req, "") }))
        .service(
            resource("/admin/{tail:.+}")
                .get(|req: HttpRequest| async move { page(&req, req.match_info().query("tail")) }),
        );
}

/// The file `tail` names, or the shell when it names none.
fn page(req: &HttpRequest, tail: &str) -> Result<HttpResponse, ApiError> {
    let name = if looks_like_file(tail) { tail } else { SHELL };
    let dir = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.config.web_dir.clone());
    if let Some(dir) = dir {
        return from_disk(req, &dir, name);
    }
    let path = format!("{PREFIX}{name}");
    match ASSETS.iter().find(|a| a.path == path) {
        Some(asset) => Ok(serve(req, asset)),
        None => Err(ApiError::NotFound(format!("no such file: {}", req.path()))),
    }
}

/// An address is a file's when its last segment has an extension (views'
/// addresses never do).
fn looks_like_file(tail: &str) -> bool {
    tail.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.') || last == "LICENSE")
}

/// Development: the file read from `<dir>/admin/`, only plain segments
/// (no `..`, nothing hidden), tagged by its bytes.
fn from_disk(req: &HttpRequest, dir: &Path, name: &str) -> Result<HttpResponse, ApiError> {
    let missing = || ApiError::NotFound(format!("no such file: {}", req.path()));
    if !plain(name) {
        return Err(missing());
    }
    let body = std::fs::read(dir.join("admin").join(name)).map_err(|_| missing())?;
    let tag = quoted_hex(fnv1a(&body));
    let tag = String::from_utf8_lossy(&tag).into_owned();
    Ok(respond(
        req,
        &tag,
        name.ends_with(".html"),
        content_type(name),
        body,
    ))
}

/// A path of plain segments only: nothing that climbs out of the folder,
/// no absolute path, nothing hidden.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && Path::new(name).components().all(|c| match c {
            Component::Normal(part) => !part.to_string_lossy().starts_with('.'),
            _ => false,
        })
}

/// The content type of a file by its extension (`build.rs` has the same
/// table for the embedded list).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_and_its_script_are_embedded() {
        for name in [
            "/admin/index.html",
            "/admin/app.js",
            "/admin/lib.js",
            "/admin/admin.css",
        ] {
            assert!(ASSETS.iter().any(|a| a.path == name), "{name} embedded");
        }
    }

    #[test]
    fn build_and_server_agree_on_content_types() {
        for a in ASSETS {
            assert_eq!(a.content_type, content_type(a.path), "{}", a.path);
        }
    }

    #[test]
    fn the_development_folder_serves_only_plain_paths() {
        assert!(plain("views/fight.js"));
        assert!(plain("index.html"));
        for bad in [
            "",
            "../Cargo.toml",
            "views/../../x.js",
            "/etc/passwd",
            ".env",
            "views/.hidden.js",
        ] {
            assert!(!plain(bad), "{bad}");
        }
    }

    #[test]
    fn view_addresses_are_not_files() {
        assert!(!looks_like_file("fight/12"));
        assert!(!looks_like_file(""));
        assert!(looks_like_file("views/fight.js"));
        assert!(looks_like_file("vendor/LICENSE"));
    }
}
