//! `/docs/`: the API reference UI (Swagger UI, vendored in `web/docs/`) over
//! `/api/openapi.json`. Every file is embedded in the binary; the page loads
//! nothing from other hosts.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};

use super::resource;

/// One embedded file: its path under `/docs/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../web/docs/index.html"),
    },
    Asset {
        name: "init.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/docs/init.js"),
    },
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/docs/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../web/docs/swagger-ui.css"),
    },
    Asset {
        name: "LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../../web/docs/LICENSE"),
    },
];

/// The path prefix of the page (a web surface, not part of the API document).
pub const PREFIX: &str = "/docs/";

pub fn routes(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        let path = format!("{PREFIX}{}", asset.name);
        cfg.service(resource(&path).get(move || serve(asset)));
    }
}

async fn serve(asset: &'static Asset) -> HttpResponse {
    // The page itself may change with the server; the vendored files change
    // only with a new release, and an hour is short enough either way.
    let max_age = if asset.name.is_empty() { 0 } else { 3600 };
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(max_age),
        ]))
        .body(asset.body)
}
