//! Files the server embeds and serves as web surfaces (the viewer page, the
//! console, the client library): one [`Asset`] per file with its tag taken at
//! compile time, and the one way they are answered (validators, caching and
//! the page's security headers), shared by `watch` and `admin`.

use actix_web::http::header::{self, CacheControl, CacheDirective, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

/// One embedded file: its path, content type, bytes and their tag.
pub struct Asset {
    pub path: &'static str,
    /// An HTML page (it gets the page's security headers).
    pub page: bool,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// `ETag`: a hash of the bytes, taken at compile time.
    pub etag: &'static str,
}

/// FNV-1a over the bytes: a validator that changes with the file, not a
/// security measure.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
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
pub const fn quoted_hex(mut n: u64) -> [u8; 18] {
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

/// `asset!(path, content type, file relative to the invoking source[, page])`.
macro_rules! asset {
    ($path:expr, $content_type:expr, $file:expr) => {
        asset!($path, $content_type, $file, false)
    };
    ($path:expr, $content_type:expr, $file:expr, $page:expr) => {{
        const BODY: &[u8] = include_bytes!($file);
        const TAG: [u8; 18] = $crate::http::assets::quoted_hex($crate::http::assets::fnv1a(BODY));
        $crate::http::assets::Asset {
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
pub(crate) use asset;

/// What a page may load and where it may connect: only this origin (its
/// WebSocket, SSE and REST included), never inline script, so an escaping
/// slip in a page could not run injected code.
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// An embedded file's answer (or 304).
pub fn serve(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    respond(
        req,
        asset.etag,
        asset.page,
        asset.content_type,
        asset.body.to_vec(),
    )
}

/// A file's answer from its tag and bytes (embedded, or read from disk in
/// development).
pub fn respond(
    req: &HttpRequest,
    etag: &str,
    page: bool,
    content_type: &str,
    body: Vec<u8>,
) -> HttpResponse {
    // The files change with the server, all at once: browsers keep them but
    // ask each time (a 304 costs nothing), so a page and its script never
    // come from two releases.
    let cache = CacheControl(vec![CacheDirective::Public, CacheDirective::NoCache]);
    let fresh = matches_tag(req, etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header(cache);
    if let Ok(tag) = HeaderValue::from_str(etag) {
        response.insert_header((header::ETAG, tag));
    }
    response.insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if page {
        response
            .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
            .insert_header((header::REFERRER_POLICY, "same-origin"));
    }
    if fresh {
        return response.finish();
    }
    response.content_type(content_type.to_string()).body(body)
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
        assert_ne!(quoted_hex(fnv1a(b"a")), quoted_hex(fnv1a(b"b")));
    }
}
