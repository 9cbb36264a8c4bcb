//! Fight control over HTTP: parse and call (the rules:
//! `features/fight_control.rs`, `ringside_actors::fight`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Admin, Auth, MaybeAuth, Moderator};
use super::resource;
use crate::error::ApiError;
use crate::features::fight_control::{
    self as rules, AmendInput, ClockInput, EndRoundInput, FoulInput, OfficialsInput, ReasonInput,
    RoundInput, ScoreInput, StatsInput,
};
use crate::state::AppState;
use ringside_actors::fight::Command;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/fights/{id}/officials/").post(officials));
    cfg.service(resource("/api/live/fights/{id}/start/").post(start));
    cfg.service(resource("/api/live/fights/{id}/rounds/start/").post(start_round));
    cfg.service(resource("/api/live/fights/{id}/rounds/pause/").post(pause));
    cfg.service(resource("/api/live/fights/{id}/rounds/resume/").post(resume));
    cfg.service(resource("/api/live/fights/{id}/rounds/clock/").post(set_clock));
    cfg.service(resource("/api/live/fights/{id}/rounds/end/").post(end_round));
    cfg.service(resource("/api/live/fights/{id}/fouls/").post(foul));
    cfg.service(resource("/api/live/fights/{id}/stats/").post(stats));
    cfg.service(resource("/api/live/fights/{id}/scores/").post(scores));
    cfg.service(resource("/api/live/fights/{id}/result/").post(result));
    cfg.service(resource("/api/live/fights/{id}/result/amend/").post(amend));
    cfg.service(resource("/api/live/fights/{id}/cancel/").post(cancel));
    cfg.service(resource("/api/live/fights/{id}/timeline/").get(timeline));
    cfg.service(resource("/api/live/fights/{id}/scorecards/").get(scorecards));
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/officials/",
    tags = ["fight-control"],
    operation_id = "assignOfficials",
    summary = r#"Assign the referee and the three judges"#,
    description = r#"Assigns the fight's referee and exactly three different judges (names compared without regard to case or spacing; the referee is not a judge). Before the fight starts; again to correct them. Only these judges' scores are taken. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = OfficialsInput, example = json!({"referee": "Herb Dean", "judges": ["Sal D'Amato", "Derek Cleary", "Chris Lee"]})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: a name empty or over 100 characters, not exactly three judges, two judges the same, or the referee also a judge (`details` names the field)."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight has started."#),
    )
)]
async fn officials(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<OfficialsInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().into(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/start/",
    tags = ["fight-control"],
    operation_id = "startLiveFight",
    summary = r#"Start a fight"#,
    description = r#"Moves an `upcoming` live fight to `in_progress`, before round 1, and makes it its live event's `current_fight`. Its live event must be `live`, its officials assigned, and no other fight of the event in progress. No request body. Writes a `fight_start` live update. Also broadcasts `event_state` on `event:{live_event}`. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the live event is not `live` or the fight is not `upcoming`; `officials_missing`: no officials assigned; `fight_in_progress`: another fight of the event is in progress (`details.live_fight`)."#),
    )
)]
async fn start(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rules::start(&state, auth.user.id, id.into_inner()).await?))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/rounds/start/",
    tags = ["fight-control"],
    operation_id = "startRound",
    summary = r#"Start the next round"#,
    description = r#"Starts round `round`, the next one (at most `scheduled_rounds`), before round 1 or between rounds: the clock runs from 0:00. Writes a `round_start` live update. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = RoundInput, example = json!({"round": 1})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body, or `round` missing or not an integer."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not in progress, a round is on, or `round` is not the next round."#),
    )
)]
async fn start_round(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<RoundInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().into(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/rounds/pause/",
    tags = ["fight-control"],
    operation_id = "pauseRound",
    summary = r#"Stop the clock"#,
    description = r#"Stops the running round's clock (a foul, a doctor's check, a point deduction). Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = ReasonInput, example = json!({"reason": "doctor checks the cut"})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: `reason` empty or over 200 characters."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: no round is running."#),
    )
)]
async fn pause(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ReasonInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            Command::Pause {
                reason: body.into_inner().reason,
            },
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/rounds/resume/",
    tags = ["fight-control"],
    operation_id = "resumeRound",
    summary = r#"Restart the clock"#,
    description = r#"Restarts a paused round's clock from where it stood. No request body. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the round is not paused."#),
    )
)]
async fn resume(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(rules::run(&state, auth.user.id, id.into_inner(), Command::Resume).await?))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/rounds/clock/",
    tags = ["fight-control"],
    operation_id = "setRoundClock",
    summary = r#"Set the clock to the arena's"#,
    description = r#"Sets the round's clock to what the arena's clock reads (`elapsed`, `M:SS`), running or paused; the change and its reason are kept in the timeline. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = ClockInput, example = json!({"elapsed": "2:05", "reason": "the arena clock reads 2:05"})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: `elapsed` not `M:SS` from 0:00 to 5:00, or `reason` empty."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: no round is on."#),
    )
)]
async fn set_clock(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ClockInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().try_into()?,
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/rounds/end/",
    tags = ["fight-control"],
    operation_id = "endRound",
    summary = r#"End the round"#,
    description = r#"Ends round `round`, the one on. Without `time` it is the horn: the round lasted 5:00, and the fight is between rounds (or, after the last round, waits for the cards). With `time` (and a `reason`) the round was stopped then, no later than its clock: only the judges' scores of it and the result follow (an accidental foul's technical decision or no contest). Writes a `round_end` live update. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = EndRoundInput, example = json!({"round": 1})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body; `time` not `M:SS` or later than the clock; a stoppage without a `reason`."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: round `round` is not on."#),
    )
)]
async fn end_round(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<EndRoundInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().into(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/fouls/",
    tags = ["fight-control"],
    operation_id = "recordFoul",
    summary = r#"Record a foul and its deduction"#,
    description = r#"Records a foul by `corner` in the round on (or just over): `points` (0, 1 or 2) come off that corner's score for the round on every judge's card (10-9 with a point taken from the winner reads 9-9). Three fouls, or an intentional one, allow a `dq`; an accidental one that stops the fight decides between a no contest and a technical decision. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = FoulInput, example = json!({"corner": "red", "round": 2, "foul": "eye poke", "points": 1, "intentional": false})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body, `points` not 0 to 2, or `foul` empty or over 100 characters."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: no round begun, or `round` is not the round on."#),
    )
)]
async fn foul(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<FoulInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().into(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/stats/",
    tags = ["fight-control"],
    operation_id = "enterFightStats",
    summary = r#"Enter a corner's stats for a round"#,
    description = r#"Sets one corner's counters for one round that has begun (those sent replace the stored ones; the others stay). The result must be possible: landed at most attempted, significant strikes at most all strikes, both corners' control time within the round's clock. Lowering a counter is a correction and needs a `reason`; so does any entry after the result. Each knockdown or submission attempt added writes a `knockdown` or `submission_attempt` live update. Counters: `strikes_landed`, `strikes_attempted`, `significant_strikes_landed`, `significant_strikes_attempted`, `takedowns_landed`, `takedowns_attempted`, `knockdowns`, `submission_attempts`, `control_time_s`. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = crate::http::openapi::schemas::FightStatsRequest, example = json!({"corner": "red", "round": 1, "strikes_landed": 12, "strikes_attempted": 30, "knockdowns": 1})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request` (`details.stats`, or `details.reason`): no counters, an unknown one, one not a whole number up to 10000, or numbers that cannot be; a lowered counter without a `reason`."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not in progress (or completed, for a correction), or the round has not begun."#),
    )
)]
async fn stats(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<StatsInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().try_into()?,
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/scores/",
    tags = ["fight-control"],
    operation_id = "enterJudgeScore",
    summary = r#"Enter a judge's score for a round"#,
    description = r#"Records one assigned judge's score of one finished round, 10-point must before deductions (10-10, 10-9, 10-8, 10-7 either way); deductions are applied on the cards. Once per judge and round, before the result. Staff see the cards at once (`GET …/scorecards/`); everyone else when the event's `settings.open_scoring` is true, or with the result. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. A score's numbers are hidden in the public timeline while the cards are. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = ScoreInput, example = json!({"judge": "Sal D'Amato", "round": 1, "red": 10, "blue": 9})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: malformed body, not a 10-point must score (`details.red`), or not one of the fight's judges (`details.judge`)."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the round is not over, or the result is in; `already_exists`: this judge has scored this round; `officials_missing`."#),
    )
)]
async fn scores(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ScoreInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().into(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/result/",
    tags = ["fight-control"],
    operation_id = "recordFightResult",
    summary = r#"Record a fight's result"#,
    description = r#"Records the official result, only if it can have happened: a finish (`ko`, `tko` with `stoppage`, `submission`/`technical_submission` with `technique`) in the round on at a time no later than its clock (a doctor's or corner's stoppage between rounds is a `tko` at 5:00 of the round just over); a decision or draw after the last round's horn, from three complete cards with deductions, and exactly the one they give; after an accidental-foul stoppage (`…/rounds/end/` with `time`), a `no_contest` before the end of round 2 of 3 (3 of 5), a `technical_decision` or `technical_draw` on the cards after it, the stopped round scored; a `dq` (with `foul`) after three fouls or an intentional one by the loser; a `no_contest` with a `foul` or `reason`. Completes the fight; moves both fighters' records, ratings and rankings (`ranking` frames); writes a `result` live update; tells followers (`fight_result`: the method and its details, round and time, the cards for a decision, a title changing hands); broadcasts `event_state`. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = ringside_actors::fight::ResultInput, example = json!({"winner": "blue", "method": "submission", "technique": "rear-naked choke", "round": 2, "time": "3:12"})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request` (`details` names the field): an unknown `method`, a winner where there is none or none where there is one, a missing or stray `technique`/`stoppage`/`foul`, a `round` not on, a `time` not `M:SS` or later than the clock."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: not now (a finish outside a running round, a decision before the last horn, a technical result before the threshold, a dq without the fouls); `cards_incomplete` (`details.missing`: judge and round); `contradicts_scorecards` (`details.cards_give`: the method, winner and totals the cards give)."#),
    )
)]
async fn result(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ringside_actors::fight::ResultInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            Command::Result(body.into_inner()),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/result/amend/",
    tags = ["fight-control"],
    operation_id = "amendFightResult",
    summary = r#"Amend or overturn a result"#,
    description = r#"Corrects or overturns a completed fight's result (a no contest after a failed test, a scoring error): the new result is checked as the rounds were fought (a decision must be the cards', a finish within a fought round's length). The old result's records, ratings, rankings and title are reversed and the new one's applied; stored in the timeline with `reason`; a `result` live update marked `correction`; a `fight_result` correction to everyone told the result. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = AmendInput, example = json!({"method": "no_contest", "winner": null, "reason": "the winner failed a drug test"})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: as for the result, or `reason` empty."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not completed, or the result is already that; `contradicts_scorecards`, `cards_incomplete` as for the result."#),
    )
)]
async fn amend(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<AmendInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            body.into_inner().into(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/live/fights/{id}/cancel/",
    tags = ["fight-control"],
    operation_id = "cancelLiveFight",
    summary = r#"Cancel a fight that has not started"#,
    description = r#"Cancels an `upcoming` fight (an injury in camp, a missed weight). A started fight ends with a result (a no contest) instead. Also broadcasts `event_state`. Stored as the next entry of the fight's timeline and broadcast as `fight_state` (with the `transition`) on `fight:{id}` and `event:{live_event}`; the entry's `seq` is its position on `fight:{id}`. Requires role: `moderator`."#,
    security(("bearerAuth" = ["moderator"])),
    request_body(content = ReasonInput, example = json!({"reason": "injury in camp"})),
    responses(
        (status = 200, description = r#"The fight snapshot after the change."#, body = crate::http::openapi::schemas::LiveFight),
        (status = 400, description = r#"`bad_request`: `reason` empty or over 200 characters."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: the fight is not `upcoming`."#),
    )
)]
async fn cancel(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ReasonInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        rules::run(
            &state,
            auth.user.id,
            id.into_inner(),
            Command::Cancel {
                reason: body.into_inner().reason,
            },
        )
        .await?,
    ))
}

/// `?after=` for the timeline.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Only entries after this one (`n`); 0 or absent: all.
    #[serde(default)]
    #[param(minimum = 0)]
    pub after: i32,
}

#[utoipa::path(
    get,
    path = "/api/live/fights/{id}/timeline/",
    tags = ["fight-control"],
    operation_id = "fightTimeline",
    summary = r#"A fight's timeline"#,
    description = r#"Every transition of the fight in order: `n` (1, 2, 3… per fight), `seq` (its position on `fight:{id}`), `kind`, `data`, `by` (who entered it) and `at` (server time). Corrections carry their reason. A judge's numbers are hidden from everyone but staff while the cards are (see `…/scorecards/`). Public."#,
    params(TimelineQuery),
    responses(
        (status = 200, description = r#"The timeline."#, body = crate::http::openapi::schemas::FightTimeline),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
    )
)]
async fn timeline(
    MaybeAuth(viewer): MaybeAuth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<TimelineQuery>,
) -> Result<HttpResponse, ApiError> {
    let body = rules::timeline(&state, viewer, id.into_inner(), query.after.max(0)).await?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(
    get,
    path = "/api/live/fights/{id}/scorecards/",
    tags = ["fight-control"],
    operation_id = "fightScorecards",
    summary = r#"The judges' cards"#,
    description = r#"Each judge's card round by round (as scored, the deductions, what counts) with totals, the fouls, and while the fight is in progress the verdict of the rounds every judge has scored. Staff (moderator and up) at once; everyone else when the event's `settings.open_scoring` is true, or once the result is in."#,
    responses(
        (status = 200, description = r#"The cards."#, body = crate::http::openapi::schemas::Scorecards),
        (status = 403, description = r#"`forbidden`: the cards are hidden until the result (no `open_scoring`)."#),
        (status = 404, description = r#"`not_found`: live fight not found (or `id` is not an integer)."#),
    )
)]
async fn scorecards(
    MaybeAuth(viewer): MaybeAuth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rules::scorecards(&state, viewer, id.into_inner()).await?))
}
