//! Fight control over HTTP (the rules: `features/fight_control.rs`).

use actix_web::{web, HttpResponse};
use ringside_actors::fight::{FightResult, FightState};

use super::extract::{Auth, Moderator};
use super::resource;
use crate::error::ApiError;
use crate::features::fight_control::{self as rules, RoundInput, ScoreInput, StatsInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/fights/{id}/start/").post(start))
        .service(resource("/api/live/fights/{id}/rounds/start/").post(start_round))
        .service(resource("/api/live/fights/{id}/rounds/end/").post(end_round))
        .service(resource("/api/live/fights/{id}/stats/").post(stats))
        .service(resource("/api/live/fights/{id}/scores/").post(scores))
        .service(resource("/api/live/fights/{id}/result/").post(result));
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/start/",
    tags = ["fight-control"],
    operation_id = "startLiveFight",
    summary = r#"Start a fight"#,
    description = r#"Moves an `upcoming` live fight to `live`, sets its `started_at` to now and makes it its live event's `current_fight`. Its live event must be `live`. No request body. Broadcasts the snapshot as `fight_state` on `fight:{id}` and `event:{live_event}`. Also broadcasts `event_state` on `event:{live_event}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the live event is not `live` (start it first), or the fight is not `upcoming`."#),
    )
)]
async fn start(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rules::start(&state, id.into_inner()).await?))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/rounds/start/",
    tags = ["fight-control"],
    operation_id = "startRound",
    summary = r#"Start the next round"#,
    description = r#"Starts round `round`, which must be the next one (`current_round` + 1, at most `scheduled_rounds`) with no round running; sets `current_round` and `round_start_time` (now). Broadcasts the snapshot as `fight_state` on `fight:{id}` and `event:{live_event}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = RoundInput, example = json!({"round": 1})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body, or `round` missing or not an integer."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not `live`, a round is still running, or `round` is not the next round."#),
    )
)]
async fn start_round(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<RoundInput>,
) -> Result<HttpResponse, ApiError> {
    let step = FightState::start_round;
    let fight = rules::change_round(&state, id.into_inner(), body.round, step).await?;
    Ok(HttpResponse::Ok().json(fight))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/rounds/end/",
    tags = ["fight-control"],
    operation_id = "endRound",
    summary = r#"End the running round"#,
    description = r#"Ends round `round`, which must be the one running; clears `round_start_time` (`current_round` stays). Broadcasts the snapshot as `fight_state` on `fight:{id}` and `event:{live_event}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = RoundInput, example = json!({"round": 1})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body, or `round` missing or not an integer."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not `live`, or round `round` is not running."#),
    )
)]
async fn end_round(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<RoundInput>,
) -> Result<HttpResponse, ApiError> {
    let step = FightState::end_round;
    let fight = rules::change_round(&state, id.into_inner(), body.round, step).await?;
    Ok(HttpResponse::Ok().json(fight))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/stats/",
    tags = ["fight-control"],
    operation_id = "enterFightStats",
    summary = r#"Enter a corner's stats for a round"#,
    description = r#"Sets one corner's counters for one round in `live_stats` (the counters sent replace those stored for that corner and round; the others are kept) and recomputes `live_stats.totals`. The fight must be `live` and the round must have begun. Counters: `strikes_landed`, `strikes_attempted`, `significant_strikes_landed`, `significant_strikes_attempted`, `takedowns_landed`, `takedowns_attempted`, `knockdowns`, `submission_attempts`, `control_time_s`. Broadcasts the snapshot as `fight_state` on `fight:{id}` and `event:{live_event}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = crate::http::openapi::schemas::FightStatsRequest, example = json!({"corner": "red", "round": 1, "strikes_landed": 12, "strikes_attempted": 30, "knockdowns": 1})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body (`corner` not `red` or `blue`, `round` missing), or, with a message and no `details`: no counters, an unknown stat name, a counter that is not a whole number from 0 to 10000, a landed count above its attempted count, or `control_time_s` above 300."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not `live`, or round `round` has not started."#),
    )
)]
async fn stats(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<StatsInput>,
) -> Result<HttpResponse, ApiError> {
    let fight = rules::stats(&state, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(fight))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/scores/",
    tags = ["fight-control"],
    operation_id = "enterJudgeScore",
    summary = r#"Enter a judge's score for a round"#,
    description = r#"Records one judge's score of one round under the 10-point must system (10-10, 10-9, 10-8 or 10-7, either way) and recomputes `judge_scores`: each judge's running totals, rounds scored and leader, and the decision the cards project (see `ProjectedDecision`). A judge scores a round once. The fight must be `live` or `completed` and the round over. Broadcasts the snapshot as `fight_state` on `fight:{id}` and `event:{live_event}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = ScoreInput, example = json!({"judge": "Sal D'Amato", "round": 1, "red": 10, "blue": 9})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body, `judge` not 1 to 100 characters (`details`: `{"judge": ...}`), or not a 10-point must score (`details`: `{"red": ...}`)."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is neither `live` nor `completed`, or round `round` is not over; `already_exists`: this judge has already scored this round."#),
    )
)]
async fn scores(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ScoreInput>,
) -> Result<HttpResponse, ApiError> {
    let fight = rules::score(&state, auth.user.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(fight))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/result/",
    tags = ["fight-control"],
    operation_id = "recordFightResult",
    summary = r#"Record a fight's result"#,
    description = r#"Records the official result and completes the fight: sets the fight's `winner_corner`, `result_method`, `result_round` and `result_time`; moves the live fight to `completed` (`ended_at` now, clock cleared); clears the live event's `current_fight` if it is this fight; adds the result to both fighters' records (win and loss, draw, or no contest); and, unless it is a no contest, updates both fighters' Glicko-2 ratings and their divisions' rankings when both are ranked, broadcasting `ranking` on `rankings` and `rankings:{division}`. `winner` is null exactly for `draw` and `no_contest`; a decision (`*_decision`) or a draw comes in the last scheduled round. Broadcasts the snapshot as `fight_state` on `fight:{id}` and `event:{live_event}`. Also broadcasts `event_state` on `event:{live_event}`. In the same transaction, stores a `fight_result` notification for every follower of either fighter or of the fight's event whose preferences keep `fight_results` on, numbered and sent as `notification` on each one's `user:{id}` (see the `notifications` tag). Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = ringside_actors::fight::FightResult, example = json!({"winner": "blue", "method": "ko_tko", "round": 1, "time": "2:41"})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body (`winner` not `red`, `blue` or null, a field missing), or, with a message and no `details`: an unknown `method`, a winner for a draw or no contest (or none for any other result), a `round` that was not fought, a decision or draw before the last scheduled round, or `time` not `M:SS` within the 5-minute round."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not `live`."#),
    )
)]
async fn result(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<FightResult>,
) -> Result<HttpResponse, ApiError> {
    let fight = rules::result(&state, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(fight))
}
