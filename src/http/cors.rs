//! Browsers: which origins may call the API (`RINGSIDE_ALLOWED_ORIGINS`;
//! default, only the server's own origin). A middleware answers CORS
//! preflights and marks allowed origins' answers; [`check_origin`] guards
//! WebSocket (and later SSE) upgrades, which browsers send from any page.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::config::Guards;
use crate::error::ApiError;
use crate::state::AppState;

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key";
/// Seconds a browser may reuse a preflight's answer.
const MAX_AGE: &str = "600";

/// Whether `origin` (`scheme://host[:port]`) may call: listed (or `*`), or,
/// with no list, the same host[:port] as the request's `Host`.
fn allowed(origin: &str, host: Option<&str>, guards: &Guards) -> bool {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    match &guards.allowed_origins {
        Some(list) => list.iter().any(|o| o == "*" || *o == origin),
        None => {
            let Some((_, authority)) = origin.split_once("://") else {
                return false; // "null" and other opaque origins
            };
            host.is_some_and(|h| h.trim().eq_ignore_ascii_case(authority))
        }
    }
}

fn origin_of(req: &HttpRequest) -> Option<Result<&str, ()>> {
    req.headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().map_err(|_| ()))
}

fn host_of(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// Refuses (403 `forbidden`) a request whose `Origin` is not allowed.
/// Requests without `Origin` pass: native apps and servers send none.
pub fn check_origin(req: &HttpRequest, guards: &Guards) -> Result<(), ApiError> {
    match origin_of(req) {
        None => Ok(()),
        Some(Ok(origin)) if allowed(origin, host_of(req), guards) => Ok(()),
        Some(_) => Err(ApiError::Forbidden(
            "this origin is not allowed (RINGSIDE_ALLOWED_ORIGINS)".into(),
        )),
    }
}

/// Middleware: answers preflights (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) itself, 204 for allowed origins and 403
/// for others, and adds `Access-Control-Allow-Origin` to allowed origins'
/// answers. Other origins' requests are served without it: the browser then
/// withholds the answer from the page.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(guards) = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.guards.clone())
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let origin = match origin_of(req.request()) {
        None => return Ok(next.call(req).await?.map_into_left_body()),
        Some(Ok(o)) => Some(o.to_string()),
        Some(Err(())) => None,
    };
    let ok = origin
        .as_deref()
        .filter(|o| allowed(o, host_of(req.request()), &guards));
    let preflight = req.method() == actix_web::http::Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let response = match ok {
            Some(origin) => HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
                .insert_header((header::VARY, "Origin"))
                .finish(),
            None => {
                let mut refused = ApiError::Forbidden(
                    "this origin is not allowed (RINGSIDE_ALLOWED_ORIGINS)".into(),
                )
                .error_response();
                refused
                    .headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Origin"));
                refused
            }
        };
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    if let Some(value) = ok.and_then(|o| HeaderValue::from_str(o).ok()) {
        let headers = res.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after, idempotent-replayed"),
        );
    }
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards(list: Option<&[&str]>) -> Guards {
        let mut g = crate::config::Config::from_lookup(|_| None)
            .expect("defaults")
            .guards;
        g.allowed_origins = list.map(|l| l.iter().map(|s| s.to_string()).collect());
        g
    }

    #[test]
    fn origins_match_the_list_or_the_own_host() {
        let own = guards(None);
        assert!(allowed(
            "http://127.0.0.1:8000",
            Some("127.0.0.1:8000"),
            &own
        ));
        assert!(allowed(
            "https://App.Example.com",
            Some("app.example.com"),
            &own
        ));
        assert!(!allowed(
            "https://evil.example",
            Some("app.example.com"),
            &own
        ));
        assert!(!allowed(
            "http://127.0.0.1:9000",
            Some("127.0.0.1:8000"),
            &own
        ));
        assert!(!allowed("null", Some("null"), &own));
        let listed = guards(Some(&["https://app.example.com"]));
        assert!(allowed(
            "https://app.example.com",
            Some("api.example.com"),
            &listed
        ));
        assert!(!allowed(
            "http://app.example.com",
            Some("api.example.com"),
            &listed
        ));
        assert!(allowed("https://x.io", None, &guards(Some(&["*"]))));
    }
}
