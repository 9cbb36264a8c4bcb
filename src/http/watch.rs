//! `/watch/{live_event_id}/`: the fans' viewer page (DESIGN §11), and what
//! it shares with the console: `/static/ringside-client.js`, the project's
//! TypeScript client that the pages (and anyone's page) import, and
//! `/static/fight-clock.js`, the fight clock both pages show. Every file is
//! embedded in the binary from `web/watch/`, `web/shared/` and
//! `clients/js/dist/`; the pages load nothing from other hosts. A web surface, not part of the API document.

use actix_web::{web, HttpRequest};

use super::assets::{asset, serve, Asset};
use super::resource;

const ASSETS: &[Asset] = &[
    // One page for every event: its script reads the id from the address.
    asset!(
        "/watch/{id:\\d+}/",
        "text/html; charset=utf-8",
        "../../web/watch/index.html",
        true
    ),
    asset!(
        "/watch/watch.js",
        "text/javascript; charset=utf-8",
        "../../web/watch/watch.js"
    ),
    asset!(
        "/watch/watch.css",
        "text/css; charset=utf-8",
        "../../web/watch/watch.css"
    ),
    asset!(
        "/static/fight-clock.js",
        "text/javascript; charset=utf-8",
        "../../web/shared/fight-clock.js"
    ),
    asset!(
        "/static/ringside-client.js",
        "text/javascript; charset=utf-8",
        "../../clients/js/dist/ringside-client.js"
    ),
];

/// The path prefixes this module serves (web surfaces, kept out of the API
/// document and its route check).
pub const PREFIXES: &[&str] = &["/watch/", "/static/"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        cfg.service(
            resource(asset.path).get(move |req: HttpRequest| async move { serve(&req, asset) }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_has_its_own_tag() {
        assert_ne!(ASSETS[0].etag, ASSETS[1].etag);
    }
}
