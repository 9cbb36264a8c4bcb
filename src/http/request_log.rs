//! One structured log line per request (target `ringside::http`), with a
//! request id: the caller's `X-Request-Id` when it is sane (1–64 of
//! `A-Z a-z 0-9 - _ . :`), else a fresh one; either way it is answered in
//! the `X-Request-Id` header and carried by every log line of the request
//! (a `request` span). Fields: method, route pattern, path (never the query
//! string: WebSocket clients may put their token there), status,
//! latency_ms, user id (when the request was authenticated) and the client
//! address (the forwarded one only from `RINGSIDE_TRUSTED_PROXIES`).
//!
//! The same timing feeds the HTTP metrics, under the route pattern (not the
//! raw path, so ids do not multiply series); WebSocket upgrades have a
//! latency series of their own.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use tracing::Instrument;

use crate::logging::RequestUser;
use crate::metrics::Metrics;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, in its extensions for whoever wants it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An incoming id we keep: short, and nothing a log reader could trip on.
fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// 16 random hex digits (a failing OS random source falls back to a counter).
fn fresh() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        bytes = NEXT
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(fresh, str::to_string);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_string();
    let route = req.match_pattern();
    let upgrade = super::ws::is_upgrade(req.request());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let client = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| {
            crate::client_addr::client_ip(req.request(), &s.config.guards.trusted_proxies)
        })
        .map_or_else(|| "-".to_string(), |ip| ip.to_string());
    let span = tracing::info_span!("request", request_id = %id);
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let route = route.as_deref().unwrap_or("unmatched");
    let _entered = span.enter();
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            if let Some(m) = &metrics {
                m.record(method.as_str(), route, status, elapsed, upgrade);
            }
            let user = res.request().extensions().get::<RequestUser>().map(|u| u.0);
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            macro_rules! line {
                ($level:ident) => {
                    tracing::$level!(
                        target: "ringside::http",
                        request_id = %id, %method, route, path = %path, status, latency_ms,
                        user_id = user, %client,
                        "{method} {path} {status}"
                    )
                };
            }
            if status >= 500 {
                line!(warn);
            } else {
                line!(info);
            }
            Ok(res)
        }
        Err(e) => {
            tracing::warn!(
                target: "ringside::http",
                request_id = %id, %method, route, path = %path, latency_ms, %client,
                error = %e,
                "{method} {path} failed"
            );
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_kept() {
        assert!(sane("b3f1c2d4-0a9e-4e5f-8a7b-1c2d3e4f5a6b"));
        assert!(sane("req:42.a_b"));
        assert!(!sane(""));
        assert!(!sane(&"a".repeat(65)));
        assert!(!sane("two words"));
        assert!(!sane("line\nbreak"));
        assert!(!sane("quote\""));
        assert_eq!(fresh().len(), 16);
        assert_ne!(fresh(), fresh());
    }
}
