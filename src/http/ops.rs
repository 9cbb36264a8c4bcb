//! Operations: liveness, readiness, Prometheus metrics, the OpenAPI and
//! AsyncAPI documents.

use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use ringside_actors::hub::Stats;
use serde_json::json;

use super::{query, resource};
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(healthz))
        .service(resource("/readyz").get(readyz))
        .service(resource("/metrics").get(metrics))
        .service(resource("/api/asyncapi.json").get(asyncapi));
}

/// The process is up and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tags = ["ops"],
    operation_id = "healthz",
    summary = r#"Liveness"#,
    description = r#"The process is up and serving. Public; does not touch the database."#,
    responses(
        (status = 200, description = r#"The process is up."#, body = crate::http::openapi::schemas::Health, example = json!({"status": "ok"})),
    )
)]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can do its work: the database answers and, with several
/// nodes, the bus hears the others.
#[utoipa::path(
    get,
    path = "/readyz",
    tags = ["ops"],
    operation_id = "readyz",
    summary = r#"Readiness"#,
    description = r#"The process can do its work: the database answers a `SELECT 1` and, with `REDIS_URL` set, the node hears the other nodes through Redis. Public."#,
    responses(
        (status = 200, description = r#"Ready."#, body = crate::http::openapi::schemas::Readiness, example = json!({"status": "ready", "database": "ok"})),
        (status = 503, description = r#"`unavailable`: the database is not ready (message `database not ready: ...`)."#),
    )
)]
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    query(&state.db, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("database not ready: {e}")))?;
    if !state.bus.healthy() {
        return Err(ApiError::Unavailable(
            "bus not ready: cannot hear the other nodes through Redis".into(),
        ));
    }
    let bus = if state.bus.node().is_some() {
        "redis"
    } else {
        "local"
    };
    Ok(HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok", "bus": bus })))
}

/// With `METRICS_TOKEN` set, only `Authorization: Bearer <that token>`.
#[utoipa::path(
    get,
    path = "/metrics",
    tags = ["ops"],
    operation_id = "metrics",
    summary = r#"Prometheus metrics"#,
    description = r#"Server metrics in the Prometheus text exposition format (version 0.0.4), including HTTP request counts and latencies and database pool state. Public unless `METRICS_TOKEN` is set; then it needs `Authorization: Bearer <METRICS_TOKEN>`."#,
    responses(
        (status = 200, description = r#"Metrics in Prometheus text format."#, body = String, content_type = "text/plain; version=0.0.4", example = json!("# HELP ringside_up_seconds Seconds since the server started.\n# TYPE ringside_up_seconds gauge\nringside_up_seconds 42\n")),
        (status = 401, description = r#"`unauthorized`: `METRICS_TOKEN` is set and the request does not carry it."#),
    )
)]
async fn metrics(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.config.guards.metrics_token {
        let given = super::extract::bearer_token(&req)
            .ok()
            .flatten()
            .unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::Unauthorized(
                "metrics need Authorization: Bearer <METRICS_TOKEN>",
            ));
        }
    }
    let hub = state.hub.send(Stats).await.unwrap_or_default();
    // A scrape never waits long on a struggling database: the outbox
    // figures are left as they were instead.
    let outbox = actix_web::rt::time::timeout(
        std::time::Duration::from_secs(2),
        state.db.run(crate::db::push_outbox::counts),
    )
    .await
    .ok()
    .and_then(Result::ok);
    let text = state.metrics.render(&crate::metrics::Scraped {
        pool: state.db.pool_state(),
        hub,
        bus_up: state.bus.healthy(),
        bus_mode: if state.bus.node().is_some() {
            "redis"
        } else {
            "local"
        },
        outbox,
    });
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}

/// Compares without stopping at the first difference (the length leaks).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The WebSocket protocol as AsyncAPI 3, generated from the protocol's types
/// (`ringside_actors::asyncapi`) once, on the first request.
#[utoipa::path(
    get,
    path = "/api/asyncapi.json",
    tags = ["ops"],
    operation_id = "getAsyncApi",
    summary = r#"The WebSocket protocol"#,
    description = r#"The WebSocket protocol as an AsyncAPI 3.0.0 document (channels, client ops, server frames with their JSON Schemas, error and close codes), generated from the protocol's types. Public. This path has no trailing slash."#,
    responses(
        (status = 200, description = r#"The AsyncAPI document."#, body = crate::http::openapi::schemas::ApiDocument),
    )
)]
async fn asyncapi() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| ringside_actors::asyncapi::document().to_string());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}
