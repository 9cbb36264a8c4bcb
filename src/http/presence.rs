//! Presence over HTTP (the rules: `features/presence.rs`).

use actix_web::{web, HttpResponse};

use super::extract::MaybeAuth;
use super::resource;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/presence/{channel}/").get(presence));
}

async fn presence(
    caller: MaybeAuth,
    state: web::Data<AppState>,
    channel: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let signed_in = caller.0.is_some();
    let now = crate::features::presence::of(&state, channel.into_inner(), signed_in).await?;
    Ok(HttpResponse::Ok().json(now))
}
