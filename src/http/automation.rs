//! Fight-night automation over HTTP (the rules: `features/automation.rs`;
//! the runner: `scheduler.rs`): an event's switches and jobs, and
//! cancelling one. The switches are written with `PATCH /api/live/events/{id}/`.

use actix_web::{web, HttpResponse};

use super::extract::{Auth, Moderator};
use super::resource;
use crate::error::ApiError;
use crate::features::automation as rules;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/events/{id}/automation/").get(overview))
        .service(resource("/api/live/automation/{id}/cancel/").post(cancel));
}

#[utoipa::path(
    get,
    path = "/api/live/events/{id}/automation/",
    tags = ["automation"],
    operation_id = "getAutomation",
    summary = r#"A live event's automation: switches and jobs"#,
    description = r#"The event's automation switches as they apply (defaults filled in) and its jobs: the pending ones first, soonest due first, then the latest 50 that fired, were skipped or cancelled, newest first. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"`{"settings": AutomationSettings, "jobs": [AutomationJob]}`."#, body = crate::http::openapi::schemas::AutomationOverview),
        (status = 404, description = r#"`not_found`: live event not found (or `id` is not an integer)."#),
    )
)]
async fn overview(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rules::overview(&state, id.into_inner()).await?))
}

#[utoipa::path(
    post,
    path = "/api/live/automation/{id}/cancel/",
    tags = ["automation"],
    operation_id = "cancelAutomationJob",
    summary = r#"Cancel a pending automation job"#,
    description = r#"Cancels one pending job; it does not come back when the event is planned again, until an admin sets its switch again (or moves the start, for `auto_start` and `reminder`) with `PATCH /api/live/events/{id}/`. Logged as `cancel_automation` by the caller. No request body. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The job, now `cancelled`."#, body = crate::db::automation::Job),
        (status = 404, description = r#"`not_found`: automation job not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the job is not pending (it fired, was skipped or was cancelled)."#),
    )
)]
async fn cancel(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let job = rules::cancel(&state, auth.user.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(job))
}
