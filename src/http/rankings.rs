//! Rankings (DESIGN §10), read by anyone: a division's table (champion and
//! top 15 contenders), pound-for-pound, and a fighter's history of moves.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{named, query, resource};
use crate::db::pagination::{Page, PageParams};
use crate::db::{catalog, rankings as db, snapshots};
use crate::error::ApiError;
use crate::features::rankings;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/rankings/").get(table))
        .service(resource("/api/rankings/p4p/").get(pound_for_pound))
        .service(resource("/api/rankings/history/").get(history));
}

#[derive(Deserialize)]
struct DivisionFilter {
    division: Option<i64>,
}

#[derive(Deserialize)]
struct FighterFilter {
    fighter: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/rankings/",
    tags = ["rankings"],
    operation_id = "getRankings",
    summary = r#"A division's ranking table"#,
    description = r#"The division, its champion (null when vacant) and its top 15 contenders in rank order (1 is the top; the champion is not a contender). Ranks are always the contenders' order by rating. The same body is the `rankings:{division}` channel's snapshot. Not paginated. Public."#,
    params(
        ("division" = i64, Query, description = r#"The division (id) whose ranking to return."#),
    ),
    responses(
        (status = 200, description = r#"The ranking table."#, body = crate::http::openapi::schemas::RankingTable),
        (status = 400, description = r#"`bad_request`: `division` missing (`details`: `{"division": "is required"}`) or not an integer."#),
        (status = 404, description = r#"`not_found`: division not found."#),
    )
)]
async fn table(
    state: web::Data<AppState>,
    filter: web::Query<DivisionFilter>,
) -> Result<HttpResponse, ApiError> {
    let division = filter
        .division
        .ok_or_else(|| ApiError::invalid("division", "is required"))?;
    let body = query(&state.db, move |c| snapshots::division(c, division))
        .await
        .map_err(named("division"))?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(
    get,
    path = "/api/rankings/p4p/",
    tags = ["rankings"],
    operation_id = "getPoundForPound",
    summary = r#"The pound-for-pound list"#,
    description = r#"The 15 best fighters across divisions by rating, champions included, each once (at his best division entry). Public."#,
    responses(
        (status = 200, description = r#"The list, best first."#, body = crate::http::openapi::schemas::PoundForPound),
    )
)]
async fn pound_for_pound(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = query(&state.db, rankings::pound_for_pound).await?;
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(
    get,
    path = "/api/rankings/history/",
    tags = ["rankings"],
    operation_id = "getRankingHistory",
    summary = r#"A fighter's ranking history"#,
    description = r#"Every move of the fighter's rank or rating, oldest first, each with its cause (`entered`, `imported`, `fight`, `passed`, `amended`), the fight if one caused it, and the reason in words. Public."#,
    params(
        ("fighter" = i64, Query, description = r#"The fighter (id)."#),
        crate::db::pagination::PageParams,
    ),
    responses(
        (status = 200, description = r#"A page of moves."#, body = crate::http::openapi::schemas::RankingHistoryPage),
        (status = 400, description = r#"`bad_request`: `fighter` missing or not an integer, `limit` out of range or a `cursor` that does not parse."#),
        (status = 404, description = r#"`not_found`: fighter not found."#),
    )
)]
async fn history(
    state: web::Data<AppState>,
    filter: web::Query<FighterFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let fighter = filter
        .fighter
        .ok_or_else(|| ApiError::invalid("fighter", "is required"))?;
    let limit = page.limit()?;
    let page = page.into_inner();
    let rows = query(&state.db, move |c| {
        catalog::find_fighter(c, fighter)?;
        db::history_of(c, fighter, &page, limit)
    })
    .await
    .map_err(named("fighter"))?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |r| r.id)))
}
