//! The admin's side of notifications: bulk sends to an audience, the
//! emergency broadcast (every session, every device, quiet hours or not)
//! and delivery analytics per campaign.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::resource;
use crate::auth::{Admin, Auth};
use crate::db::notifications;
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::features::notifications::admin::{self, BroadcastInput, SendInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/notifications/send/").post(send))
        .service(resource("/api/notifications/analytics/").get(analytics))
        .service(resource("/api/admin/broadcast/").post(broadcast));
}

/// Sends one notification to an audience; 202 with the campaign id once
/// everything is stored and queued.
async fn send(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<SendInput>,
) -> Result<HttpResponse, ApiError> {
    let sent = admin::send(&state, auth.user.id, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(sent))
}

/// The emergency broadcast: every session on every node and every device.
async fn broadcast(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<BroadcastInput>,
) -> Result<HttpResponse, ApiError> {
    let sent = admin::broadcast(&state, auth.user.id, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(sent))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsFilter {
    #[serde(default)]
    campaign: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    cursor: Option<crate::db::pagination::Cursor>,
}

/// Campaigns newest first with their delivery counts and latencies; one
/// campaign with `?campaign=`.
async fn analytics(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    filter: web::Query<AnalyticsFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner();
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page.limit()?;
    let only = filter.campaign;
    let rows = state
        .db
        .run(move |c| notifications::campaign_stats(c, only, &page, limit).map_err(ApiError::from))
        .await?;
    match only {
        Some(_) => {
            let one = rows
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::not_found("campaign"))?;
            Ok(HttpResponse::Ok().json(one))
        }
        None => Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |s| s.id))),
    }
}
