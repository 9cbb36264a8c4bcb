//! Fight control for moderators and admins: start the fight, run its rounds,
//! enter stats and judges' scores, record the result. Every change is
//! broadcast as `fight_state` on `fight:{id}` and `event:{event}`; a result
//! also moves rankings (`ranking` on `rankings` and `rankings:{division}`).

use actix_web::{web, HttpResponse};
use ringside_actors::fight::{self, FightError, FightResult, FightState, Winner};
use ringside_actors::scoring::{self, RoundScore};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{named, publishing, resource};
use crate::auth::{Auth, Moderator};
use crate::db::fight_control::{self as control, Locked};
use crate::db::snapshots;
use crate::error::ApiError;
use crate::state::AppState;
use crate::validate;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/live/fights/{id}/start/").post(start))
        .service(resource("/api/live/fights/{id}/rounds/start/").post(start_round))
        .service(resource("/api/live/fights/{id}/rounds/end/").post(end_round))
        .service(resource("/api/live/fights/{id}/stats/").post(stats))
        .service(resource("/api/live/fights/{id}/scores/").post(scores))
        .service(resource("/api/live/fights/{id}/result/").post(result));
}

impl From<FightError> for ApiError {
    fn from(e: FightError) -> ApiError {
        match e {
            FightError::Invalid(m) => ApiError::bad_request(m),
            FightError::WrongState(m) => ApiError::Conflict {
                code: "invalid_transition",
                message: m,
            },
        }
    }
}

/// Locks the fight, applies `change`, publishes the new state, answers with it.
async fn control(
    state: &AppState,
    id: i64,
    change: impl FnOnce(
            &mut diesel::PgConnection,
            &Locked,
            FightState,
        ) -> Result<Vec<crate::db::channels::Published>, ApiError>
        + Send
        + 'static,
) -> Result<HttpResponse, ApiError> {
    let snapshot = publishing(state, move |conn| {
        let locked = control::lock(conn, id).map_err(|e| named("live fight")(e.into()))?;
        let mut published = change(conn, &locked, locked.state())?;
        published.extend(crate::features::fight_control::publish_state(
            conn, &locked,
        )?);
        Ok((snapshots::fight(conn, id)?, published))
    })
    .await?;
    Ok(HttpResponse::Ok().json(snapshot))
}

async fn start(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    control(&state, id.into_inner(), |conn, locked, fight| {
        if locked.event_status != "live" {
            return Err(ApiError::Conflict {
                code: "invalid_transition",
                message: format!("the live event is {}; start it first", locked.event_status),
            });
        }
        fight.start()?;
        control::start(conn, locked)?;
        Ok(vec![crate::features::fight_control::publish_event_state(
            conn,
            locked.live.live_event_id,
        )?])
    })
    .await
}

#[derive(Deserialize)]
struct RoundBody {
    round: i32,
}

async fn start_round(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<RoundBody>,
) -> Result<HttpResponse, ApiError> {
    change_round(&state, id.into_inner(), body.round, FightState::start_round).await
}

async fn end_round(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<RoundBody>,
) -> Result<HttpResponse, ApiError> {
    change_round(&state, id.into_inner(), body.round, FightState::end_round).await
}

async fn change_round(
    state: &AppState,
    id: i64,
    round: i32,
    step: fn(&FightState, i32) -> Result<FightState, FightError>,
) -> Result<HttpResponse, ApiError> {
    control(state, id, move |conn, locked, fight| {
        control::set_round(conn, locked, &step(&fight, round)?)?;
        Ok(Vec::new())
    })
    .await
}

#[derive(Deserialize)]
struct StatsBody {
    corner: Winner,
    round: i32,
    #[serde(flatten)]
    counters: Map<String, Value>,
}

async fn stats(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<StatsBody>,
) -> Result<HttpResponse, ApiError> {
    let StatsBody {
        corner,
        round,
        counters,
    } = body.into_inner();
    let counters = fight::check_stats(&counters)?;
    if counters.is_empty() {
        return Err(ApiError::bad_request("no stats given"));
    }
    control(&state, id.into_inner(), move |conn, locked, fight| {
        fight.check_stats_round(round)?;
        let merged = fight::merge_stats(&locked.live.live_stats, round, corner, counters);
        control::set_stats(conn, locked, &merged)?;
        Ok(Vec::new())
    })
    .await
}

#[derive(Deserialize)]
struct ScoreBody {
    judge: String,
    round: i32,
    red: i32,
    blue: i32,
}

async fn scores(
    auth: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ScoreBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let judge = validate::line("judge", &body.judge, 1, 100)?;
    scoring::check_round_score(body.red, body.blue)
        .map_err(|e| ApiError::invalid("red", e.to_string()))?;
    let score = RoundScore {
        judge,
        round: body.round,
        red: body.red,
        blue: body.blue,
    };
    let by = auth.user.id;
    control(&state, id.into_inner(), move |conn, locked, fight| {
        fight.check_score_round(score.round)?;
        control::add_score(conn, locked, &score, by).map_err(|e| match ApiError::from(e) {
            ApiError::Conflict { .. } => ApiError::Conflict {
                code: "already_exists",
                message: format!("{} has already scored round {}", score.judge, score.round),
            },
            other => other,
        })?;
        Ok(Vec::new())
    })
    .await
}

async fn result(
    _: Auth<Moderator>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<FightResult>,
) -> Result<HttpResponse, ApiError> {
    let result = body.into_inner();
    validate::line("method", &result.method, 1, 50)?;
    validate::line("time", &result.time, 1, 10)?;
    let push = state.push.targets().clone();
    control(&state, id.into_inner(), move |conn, locked, fight| {
        fight.finish(&result)?;
        let (mut published, moves) = crate::features::fight_control::finish(conn, locked, &result)?;
        published.push(crate::features::fight_control::publish_event_state(
            conn,
            locked.live.live_event_id,
        )?);
        // Followers hear it in the same transaction: stored, then live.
        let finished = crate::db::catalog::find_fight(conn, locked.fight.id)?;
        published.extend(
            crate::features::notifications::on_fight_result(conn, &finished, &push)?.published,
        );
        published.extend(
            crate::features::notifications::on_ranking_moves(conn, &moves, &push)?.published,
        );
        Ok(published)
    })
    .await
}
