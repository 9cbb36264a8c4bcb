//! `/watch/{live_event_id}/`: the fans' viewer page (DESIGN §11), and
//! `/static/ringside-client.js`, the project's TypeScript client that the
//! page (and anyone's page) imports. Every file is embedded in the binary
//! from `web/watch/` and `clients/js/dist/`; the page loads nothing from
//! other hosts. A web surface, not part of the API document.

use actix_web::http::header::{self, CacheControl, CacheDirective, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use super::resource;

/// One embedded file: its path, content type, bytes and their tag.
struct Asset {
    path: &'static str,
    /// The HTML page (it gets the page's security headers).
    page: bool,
    content_type: &'static str,
    body: &'static [u8],
    /// `ETag`: a hash of the bytes, taken at compile time.
    etag: &'static str,
}

/// FNV-1a over the bytes: a validator that changes with the file, not a
/// security measure.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `"` + 16 hex digits + `"`, built in a const context.
const fn quoted_hex(mut n: u64) -> [u8; 18] {
    let digits = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 16;
    while i > 0 {
        out[i] = digits[(n & 0xf) as usize];
        n >>= 4;
        i -= 1;
    }
    out
}

macro_rules! asset {
    ($path:expr, $content_type:expr, $file:expr) => {
        asset!($path, $content_type, $file, false)
    };
    ($path:expr, $content_type:expr, $file:expr, $page:expr) => {{
        const BODY: &[u8] = include_bytes!($file);
        const TAG: [u8; 18] = quoted_hex(fnv1a(BODY));
        Asset {
            path: $path,
            page: $page,
            content_type: $content_type,
            body: BODY,
            etag: match std::str::from_utf8(&TAG) {
                Ok(tag) => tag,
                Err(_) => panic!("an ASCII tag"),
            },
        }
    }};
}

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
        "/static/ringside-client.js",
        "text/javascript; charset=utf-8",
        "../../clients/js/dist/ringside-client.js"
    ),
];

/// The path prefixes this module serves (web surfaces, kept out of the API
/// document and its route check).
pub const PREFIXES: &[&str] = &["/watch/", "/static/"];

/// What the page may load and where it may connect: only this origin (its
/// WebSocket, SSE and REST included), never inline script, so an escaping
/// slip in the page could not run injected code.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        cfg.service(
            resource(asset.path).get(move |req: HttpRequest| async move { serve(&req, asset) }),
        );
    }
}

fn serve(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    // The files change with the server, all at once: browsers keep them but
    // ask each time (a 304 costs nothing), so a page and its script never
    // come from two releases.
    let cache = CacheControl(vec![CacheDirective::Public, CacheDirective::NoCache]);
    let fresh = matches_tag(req, asset.etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(cache)
        .insert_header((header::ETAG, HeaderValue::from_static(asset.etag)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if asset.page {
        response
            .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
            .insert_header((header::REFERRER_POLICY, "same-origin"));
    }
    if fresh {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.body)
}

/// Whether the request's `If-None-Match` names this tag (or `*`).
fn matches_tag(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_quoted_hex_of_the_bytes() {
        let tag = quoted_hex(fnv1a(b"a"));
        assert_eq!(&tag, b"\"af63dc4c8601ec8c\"");
        assert_ne!(ASSETS[0].etag, ASSETS[1].etag);
    }
}
