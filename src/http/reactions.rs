//! Reactions over REST (the same path as the WebSocket `react` op), and a
//! target's current totals.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{created, query, resource};
use crate::auth::TokenUser;
use crate::db::reactions;
use crate::error::ApiError;
use crate::features::reactions::react;
use crate::state::AppState;
use ringside_actors::vocabulary::ReactionTarget;
use ringside_actors::writes::ReactionInput;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/reactions/").get(totals).post(create));
}

async fn create(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<ReactionInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(
        react(&state, token, None, body.into_inner()).await?,
    ))
}

#[derive(Deserialize)]
struct Target {
    target_type: String,
    target_id: i64,
}

/// `?target_type=&target_id=`: the stored totals (what the live frames converge to).
async fn totals(
    state: web::Data<AppState>,
    target: web::Query<Target>,
) -> Result<HttpResponse, ApiError> {
    let Target {
        target_type,
        target_id,
    } = target.into_inner();
    crate::validate::one_of::<ReactionTarget>("target_type", &target_type)?;
    let tt = target_type.clone();
    let totals = query(&state.db, move |c| reactions::totals(c, &tt, target_id)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "target": { "type": target_type, "id": target_id },
        "totals": totals,
    })))
}
