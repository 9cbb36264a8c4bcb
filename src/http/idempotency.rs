//! The `Idempotency-Key` middleware: on a POST from a signed-in caller that
//! sends the header, reads the body, asks `features::idempotency` whether to
//! run or replay, runs the handler with the claim in scope (so its writes
//! mark it) and hands the answer back to be kept. Without the header, or
//! without a valid bearer token (the handler then answers 401 by itself),
//! requests pass untouched.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};

use crate::db::idempotency::CLAIMED;
use crate::features::idempotency::{self as rules, Begin};
use crate::state::AppState;

/// Set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

pub async fn idempotent(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let raw = req
        .headers()
        .get(rules::HEADER)
        .map(|v| v.as_bytes().to_vec());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(raw), Some(state), true) = (raw, state, req.method() == Method::POST) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match rules::parse_key(&raw) {
        Ok(key) => key,
        Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
    };
    let user = super::extract::bearer_token(req.request())
        .ok()
        .flatten()
        .and_then(|token| state.tokens.verify(&token).ok())
        .map(|claimed| claimed.user_id);
    let Some(user) = user else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = match super::optional_json::read_limited(req.take_payload()).await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_string(), |p| p.as_str().to_string());
    let hash = rules::request_hash(req.method().as_str(), &path, &body);
    req.set_payload(Payload::from(body));
    let claimed = match rules::begin(&state, user, key, hash).await {
        Ok(Begin::Run(claimed)) => claimed,
        Ok(Begin::Replay {
            status,
            content_type,
            body,
        }) => {
            let mut replay =
                HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            replay.insert_header((REPLAYED, "true"));
            if let Some(ct) = content_type {
                replay.insert_header((header::CONTENT_TYPE, ct));
            }
            return Ok(req.into_response(replay.body(body)));
        }
        Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
    };
    let res = CLAIMED.scope(claimed.clone(), next.call(req)).await?;
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (http_req, response) = res.into_parts();
    let (head, answer) = response.into_parts();
    let bytes = body::to_bytes(answer)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("answer body"))?;
    rules::end(
        &state,
        claimed,
        status.as_u16(),
        content_type,
        bytes.to_vec(),
    )
    .await;
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(BoxBody::new(bytes)),
    ))
}
