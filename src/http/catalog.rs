//! The catalog behind a fight card: divisions, fighters, events and fights
//! (read by anyone, written by admins). Fighters' writes go through
//! `features::rankings`, which places them in their division's ranking.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Admin, Auth};
use super::{created, named, query, resource, write};
use crate::db::catalog::{self, DivisionInput, EventInput, FightInput, FighterInput};
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::features::rankings;
use crate::state::AppState;
use crate::validate;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/divisions/")
            .get(list_divisions)
            .post(create_division),
    )
    .service(
        resource("/api/divisions/{id}/")
            .get(get_division)
            .patch(update_division)
            .delete(delete_division),
    )
    .service(
        resource("/api/fighters/")
            .get(list_fighters)
            .post(create_fighter),
    )
    .service(
        resource("/api/fighters/{id}/")
            .get(get_fighter)
            .patch(update_fighter)
            .delete(delete_fighter),
    )
    .service(resource("/api/events/").get(list_events).post(create_event))
    .service(
        resource("/api/events/{id}/")
            .get(get_event)
            .patch(update_event)
            .delete(delete_event),
    )
    .service(resource("/api/fights/").get(list_fights).post(create_fight))
    .service(
        resource("/api/fights/{id}/")
            .get(get_fight)
            .patch(update_fight)
            .delete(delete_fight),
    );
}

fn ok(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

fn no_content(_: usize) -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// Query parameters that narrow a list to one parent.
#[derive(Deserialize)]
struct ParentFilter {
    division: Option<i64>,
    event: Option<i64>,
}

// ---- divisions -------------------------------------------------------------

fn check_division(input: &mut DivisionInput, creating: bool) -> Result<(), ApiError> {
    if creating {
        validate::required("name", &input.name)?;
        validate::required("weight_limit_lbs", &input.weight_limit_lbs)?;
    }
    validate::optional_line("name", &mut input.name, 1, 100)?;
    validate::range("weight_limit_lbs", input.weight_limit_lbs, 1.0, 999.0)
}

#[utoipa::path(
    get,
    path = "/api/divisions/",
    tags = ["divisions"],
    operation_id = "listDivisions",
    summary = r#"List divisions"#,
    description = r#"Public."#,
    params(
        crate::db::pagination::PageParams,
    ),
    responses(
        (status = 200, description = r#"A page of divisions."#, body = crate::http::openapi::schemas::DivisionPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range or a `cursor` that does not parse."#),
    )
)]
async fn list_divisions(
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let page = page.into_inner();
    let rows = query(&state.db, move |c| catalog::list_divisions(c, &page, limit)).await?;
    Ok(ok(Page::from_rows(rows, limit, |r| r.id)))
}

#[utoipa::path(
    post,
    path = "/api/divisions/",
    tags = ["divisions"],
    operation_id = "createDivision",
    summary = r#"Create a division"#,
    description = r#"Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::http::openapi::schemas::DivisionCreate, example = json!({"name": "Lightweight", "weight_limit_lbs": 155})),
    responses(
        (status = 201, description = r#"The created division."#, body = crate::db::models::Division),
        (status = 400, description = r#"`bad_request`: malformed body, or a field missing or invalid (`name` 1 to 100 characters, `weight_limit_lbs` from 1 to 999)."#),
        (status = 409, description = r#"`already_exists`: a division with this name exists."#),
    )
)]
async fn create_division(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<DivisionInput>,
) -> Result<HttpResponse, ApiError> {
    let mut input = body.into_inner();
    check_division(&mut input, true)?;
    let row = write(&state.db, move |c| catalog::insert_division(c, &input)).await?;
    Ok(created(row))
}

#[utoipa::path(
    get,
    path = "/api/divisions/{id}/",
    tags = ["divisions"],
    operation_id = "getDivision",
    summary = r#"Get a division"#,
    description = r#"Public."#,
    responses(
        (status = 200, description = r#"The division."#, body = crate::db::models::Division),
        (status = 404, description = r#"`not_found`: division not found (or `id` is not an integer)."#),
    )
)]
async fn get_division(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = query(&state.db, move |c| catalog::find_division(c, id))
        .await
        .map_err(named("division"))?;
    Ok(ok(row))
}

#[utoipa::path(
    patch,
    path = "/api/divisions/{id}/",
    tags = ["divisions"],
    operation_id = "updateDivision",
    summary = r#"Update a division"#,
    description = r#"Partial update: only the fields sent change. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::db::catalog::DivisionInput, example = json!({"weight_limit_lbs": 156})),
    responses(
        (status = 200, description = r#"The division after the update."#, body = crate::db::models::Division),
        (status = 400, description = r#"`bad_request`: malformed body or an invalid field (`name` 1 to 100 characters, `weight_limit_lbs` from 1 to 999)."#),
        (status = 404, description = r#"`not_found`: division not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`already_exists`: another division has this name."#),
    )
)]
async fn update_division(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<DivisionInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, mut input) = (id.into_inner(), body.into_inner());
    check_division(&mut input, false)?;
    let row = query(&state.db, move |c| {
        match (&input.name, &input.weight_limit_lbs) {
            (None, None) => catalog::find_division(c, id),
            _ => catalog::update_division(c, id, &input),
        }
    })
    .await
    .map_err(named("division"))?;
    Ok(ok(row))
}

#[utoipa::path(
    delete,
    path = "/api/divisions/{id}/",
    tags = ["divisions"],
    operation_id = "deleteDivision",
    summary = r#"Delete a division"#,
    description = r#"Deletes the division and its rankings. A division that fighters or fights still refer to is kept. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 204, description = r#"Deleted."#),
        (status = 404, description = r#"`not_found`: division not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`in_use`: still referenced by other records (fighters or fights)."#),
    )
)]
async fn delete_division(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let n = write(&state.db, move |c| catalog::delete_division(c, id)).await?;
    if n == 0 {
        return Err(ApiError::not_found("division"));
    }
    Ok(no_content(n))
}

// ---- fighters --------------------------------------------------------------

fn check_fighter(input: &mut FighterInput, creating: bool) -> Result<(), ApiError> {
    if creating {
        validate::required("name", &input.name)?;
        validate::required("division", &input.division_id)?;
    }
    validate::optional_line("name", &mut input.name, 1, 100)?;
    if let Some(nickname) = &mut input.nickname {
        validate::optional_line("nickname", nickname, 1, 100)?;
    }
    if let Some(country) = &mut input.country {
        validate::optional_line("country", country, 1, 100)?;
    }
    for (field, value) in [
        ("wins", input.wins),
        ("losses", input.losses),
        ("draws", input.draws),
        ("no_contests", input.no_contests),
    ] {
        validate::range(field, value, 0, 1000)?;
    }
    Ok(())
}

fn fighter_is_empty(i: &FighterInput) -> bool {
    i.name.is_none()
        && i.nickname.is_none()
        && i.division_id.is_none()
        && i.wins.is_none()
        && i.losses.is_none()
        && i.draws.is_none()
        && i.no_contests.is_none()
        && i.country.is_none()
}

#[utoipa::path(
    get,
    path = "/api/fighters/",
    tags = ["fighters"],
    operation_id = "listFighters",
    summary = r#"List fighters"#,
    description = r#"Public."#,
    params(
        crate::db::pagination::PageParams,
        ("division" = Option<i64>, Query, description = r#"Only fighters in this division (id)."#),
    ),
    responses(
        (status = 200, description = r#"A page of fighters."#, body = crate::http::openapi::schemas::FighterPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` or `division` that does not parse."#),
    )
)]
async fn list_fighters(
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ParentFilter>,
) -> Result<HttpResponse, ApiError> {
    let (limit, division) = (page.limit()?, filter.division);
    let page = page.into_inner();
    let rows = query(&state.db, move |c| {
        catalog::list_fighters(c, &page, limit, division)
    })
    .await?;
    Ok(ok(Page::from_rows(rows, limit, |r| r.id)))
}

#[utoipa::path(
    post,
    path = "/api/fighters/",
    tags = ["fighters"],
    operation_id = "createFighter",
    summary = r#"Create a fighter"#,
    description = r#"Creates the fighter and places them in their division's ranking by the rating their record gives (a `ranking` move with cause `entered`). Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::http::openapi::schemas::FighterCreate, example = json!({"name": "Ana Ruiz", "nickname": "The Hammer", "division": 1, "wins": 12, "losses": 2, "country": "Mexico"})),
    responses(
        (status = 201, description = r#"The created fighter."#, body = crate::db::models::Fighter),
        (status = 400, description = r#"`bad_request`: malformed body, a field missing or invalid (`name`, `nickname`, `country` 1 to 100 characters; `wins`, `losses`, `draws`, `no_contests` from 0 to 1000), or `division` refers to something that does not exist."#),
    )
)]
async fn create_fighter(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<FighterInput>,
) -> Result<HttpResponse, ApiError> {
    let mut input = body.into_inner();
    check_fighter(&mut input, true)?;
    let row = rankings::create_fighter(&state, input).await?;
    Ok(created(row))
}

#[utoipa::path(
    get,
    path = "/api/fighters/{id}/",
    tags = ["fighters"],
    operation_id = "getFighter",
    summary = r#"Get a fighter"#,
    description = r#"Public."#,
    responses(
        (status = 200, description = r#"The fighter."#, body = crate::db::models::Fighter),
        (status = 404, description = r#"`not_found`: fighter not found (or `id` is not an integer)."#),
    )
)]
async fn get_fighter(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = query(&state.db, move |c| catalog::find_fighter(c, id))
        .await
        .map_err(named("fighter"))?;
    Ok(ok(row))
}

#[utoipa::path(
    patch,
    path = "/api/fighters/{id}/",
    tags = ["fighters"],
    operation_id = "updateFighter",
    summary = r#"Update a fighter"#,
    description = r#"Partial update: only the fields sent change; `nickname` and `country` can be cleared with `null`. Moving a fighter to another division takes them out of the old division's ranking and places them in the new one by the rating their record gives (unless they already have an entry there); correcting the record of a fighter that no result or import has rated yet re-places them. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::db::catalog::FighterInput, example = json!({"wins": 13, "nickname": null})),
    responses(
        (status = 200, description = r#"The fighter after the update."#, body = crate::db::models::Fighter),
        (status = 400, description = r#"`bad_request`: malformed body, an invalid field (`name`, `nickname`, `country` 1 to 100 characters; `wins`, `losses`, `draws`, `no_contests` from 0 to 1000), or `division` refers to something that does not exist."#),
        (status = 404, description = r#"`not_found`: fighter not found (or `id` is not an integer)."#),
    )
)]
async fn update_fighter(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<FighterInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, mut input) = (id.into_inner(), body.into_inner());
    check_fighter(&mut input, false)?;
    let row = if fighter_is_empty(&input) {
        query(&state.db, move |c| catalog::find_fighter(c, id)).await
    } else {
        rankings::update_fighter(&state, id, input).await
    }
    .map_err(named("fighter"))?;
    Ok(ok(row))
}

#[utoipa::path(
    delete,
    path = "/api/fighters/{id}/",
    tags = ["fighters"],
    operation_id = "deleteFighter",
    summary = r#"Delete a fighter"#,
    description = r#"Deletes the fighter; those ranked below them move up (a champion's title becomes vacant). A fighter on a fight card is kept. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 204, description = r#"Deleted."#),
        (status = 404, description = r#"`not_found`: fighter not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`in_use`: still referenced by other records (fights)."#),
    )
)]
async fn delete_fighter(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let n = rankings::delete_fighter(&state, id)
        .await
        .map_err(named("fighter"))?;
    Ok(no_content(n))
}

// ---- events ----------------------------------------------------------------

fn check_event(input: &mut EventInput, creating: bool) -> Result<(), ApiError> {
    if creating {
        validate::required("name", &input.name)?;
        validate::required("scheduled_start", &input.scheduled_start)?;
    }
    validate::optional_line("name", &mut input.name, 1, 200)?;
    validate::optional_line("venue", &mut input.venue, 0, 200)
}

#[utoipa::path(
    get,
    path = "/api/events/",
    tags = ["events"],
    operation_id = "listEvents",
    summary = r#"List events"#,
    description = r#"Public."#,
    params(
        crate::db::pagination::PageParams,
    ),
    responses(
        (status = 200, description = r#"A page of events."#, body = crate::http::openapi::schemas::EventPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range or a `cursor` that does not parse."#),
    )
)]
async fn list_events(
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let page = page.into_inner();
    let rows = query(&state.db, move |c| catalog::list_events(c, &page, limit)).await?;
    Ok(ok(Page::from_rows(rows, limit, |r| r.id)))
}

#[utoipa::path(
    post,
    path = "/api/events/",
    tags = ["events"],
    operation_id = "createEvent",
    summary = r#"Create an event"#,
    description = r#"Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::http::openapi::schemas::EventCreate, example = json!({"name": "Ringside 12", "venue": "Arena Norte", "scheduled_start": "2026-12-12T02:00:00Z"})),
    responses(
        (status = 201, description = r#"The created event."#, body = crate::db::models::Event),
        (status = 400, description = r#"`bad_request`: malformed body, or a field missing or invalid (`name` 1 to 200 characters, `venue` at most 200 characters, `scheduled_start` an RFC 3339 date-time)."#),
    )
)]
async fn create_event(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<EventInput>,
) -> Result<HttpResponse, ApiError> {
    let mut input = body.into_inner();
    check_event(&mut input, true)?;
    let row = write(&state.db, move |c| catalog::insert_event(c, &input)).await?;
    Ok(created(row))
}

#[utoipa::path(
    get,
    path = "/api/events/{id}/",
    tags = ["events"],
    operation_id = "getEvent",
    summary = r#"Get an event"#,
    description = r#"Public."#,
    responses(
        (status = 200, description = r#"The event."#, body = crate::db::models::Event),
        (status = 404, description = r#"`not_found`: event not found (or `id` is not an integer)."#),
    )
)]
async fn get_event(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = query(&state.db, move |c| catalog::find_event(c, id))
        .await
        .map_err(named("event"))?;
    Ok(ok(row))
}

#[utoipa::path(
    patch,
    path = "/api/events/{id}/",
    tags = ["events"],
    operation_id = "updateEvent",
    summary = r#"Update an event"#,
    description = r#"Partial update: only the fields sent change. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::db::catalog::EventInput, example = json!({"venue": "Arena Sur"})),
    responses(
        (status = 200, description = r#"The event after the update."#, body = crate::db::models::Event),
        (status = 400, description = r#"`bad_request`: malformed body or an invalid field (`name` 1 to 200 characters, `venue` at most 200 characters, `scheduled_start` an RFC 3339 date-time)."#),
        (status = 404, description = r#"`not_found`: event not found (or `id` is not an integer)."#),
    )
)]
async fn update_event(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<EventInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, mut input) = (id.into_inner(), body.into_inner());
    check_event(&mut input, false)?;
    let row = query(&state.db, move |c| {
        if input.name.is_none() && input.venue.is_none() && input.scheduled_start.is_none() {
            catalog::find_event(c, id)
        } else {
            catalog::update_event(c, id, &input)
        }
    })
    .await
    .map_err(named("event"))?;
    Ok(ok(row))
}

/// Events whose coverage has begun are history and are kept.
#[utoipa::path(
    delete,
    path = "/api/events/{id}/",
    tags = ["events"],
    operation_id = "deleteEvent",
    summary = r#"Delete an event"#,
    description = r#"Deletes the event with its fights and any live event not yet begun. An event whose live coverage has begun (live or completed) is history and is kept. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 204, description = r#"Deleted."#),
        (status = 404, description = r#"`not_found`: event not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`in_use`: this event has live coverage; it is kept."#),
    )
)]
async fn delete_event(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (covered, n) = query(&state.db, move |c| {
        if catalog::event_has_coverage(c, id)? {
            return Ok((true, 0));
        }
        Ok((false, catalog::delete_event(c, id)?))
    })
    .await?;
    if covered {
        return Err(ApiError::Conflict {
            code: crate::error::ConflictCode::InUse,
            message: "this event has live coverage; it is kept".into(),
        });
    }
    if n == 0 {
        return Err(ApiError::not_found("event"));
    }
    Ok(no_content(n))
}

// ---- fights ----------------------------------------------------------------

/// Unified Rules: three rounds, five for a title fight or a main event.
fn rounds_rule(rounds: i32, five_needed: bool) -> Result<(), ApiError> {
    if rounds != 3 && rounds != 5 {
        return Err(ApiError::invalid("scheduled_rounds", "must be 3 or 5"));
    }
    if five_needed && rounds != 5 {
        return Err(ApiError::invalid(
            "scheduled_rounds",
            "a title fight or a main event (card_order 1) is 5 rounds",
        ));
    }
    Ok(())
}

fn check_fight(input: &mut FightInput, creating: bool) -> Result<(), ApiError> {
    // Unified Rules: three rounds, five for a title fight or a main event.
    let five_needed = input.is_title_fight == Some(true) || input.card_order == Some(1);
    if creating && input.scheduled_rounds.is_none() {
        input.scheduled_rounds = Some(if five_needed { 5 } else { 3 });
    }
    if let Some(rounds) = input.scheduled_rounds {
        rounds_rule(rounds, five_needed)?;
    }
    if creating {
        validate::required("event", &input.event_id)?;
        validate::required("red_fighter", &input.red_fighter_id)?;
        validate::required("blue_fighter", &input.blue_fighter_id)?;
        validate::required("division", &input.division_id)?;
        validate::required("card_order", &input.card_order)?;
    }
    if input.red_fighter_id.is_some() && input.red_fighter_id == input.blue_fighter_id {
        return Err(ApiError::invalid(
            "blue_fighter",
            "must differ from red_fighter",
        ));
    }
    validate::range("card_order", input.card_order, 1, 100)
}

#[utoipa::path(
    get,
    path = "/api/fights/",
    tags = ["fights"],
    operation_id = "listFights",
    summary = r#"List fights"#,
    description = r#"Public."#,
    params(
        crate::db::pagination::PageParams,
        ("event" = Option<i64>, Query, description = r#"Only fights on this event's card (id)."#),
    ),
    responses(
        (status = 200, description = r#"A page of fights."#, body = crate::http::openapi::schemas::FightPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` or `event` that does not parse."#),
    )
)]
async fn list_fights(
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ParentFilter>,
) -> Result<HttpResponse, ApiError> {
    let (limit, event) = (page.limit()?, filter.event);
    let page = page.into_inner();
    let rows = query(&state.db, move |c| {
        catalog::list_fights(c, &page, limit, event)
    })
    .await?;
    Ok(ok(Page::from_rows(rows, limit, |r| r.id)))
}

#[utoipa::path(
    post,
    path = "/api/fights/",
    tags = ["fights"],
    operation_id = "createFight",
    summary = r#"Add a fight to a card"#,
    description = r#"Adds a fight to an event's card. If the event already has live coverage that is upcoming or live, the fight joins it and its viewers hear the new card (`event_state` on `event:{id}` with the card in `fights`). Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::http::openapi::schemas::FightCreate, example = json!({"event": 1, "red_fighter": 3, "blue_fighter": 7, "division": 1, "scheduled_rounds": 5, "card_order": 1, "is_title_fight": true})),
    responses(
        (status = 201, description = r#"The created fight."#, body = crate::db::models::Fight),
        (status = 400, description = r#"`bad_request`: malformed body, a field missing or invalid (`scheduled_rounds` 3 or 5, and 5 for a title fight or a main event (`card_order` 1), which it defaults to; `card_order` from 1 to 100, `blue_fighter` must differ from `red_fighter`), or `event`, `red_fighter`, `blue_fighter` or `division` refers to something that does not exist."#),
        (status = 409, description = r#"`already_exists`: another fight already has this `card_order` on this event."#),
    )
)]
async fn create_fight(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<FightInput>,
) -> Result<HttpResponse, ApiError> {
    let mut input = body.into_inner();
    check_fight(&mut input, true)?;
    let row = write(&state.db, move |c| catalog::insert_fight(c, &input))
        .await
        .map_err(card_order_taken)?;
    crate::features::live_events::card_changed(&state, row.event_id).await?;
    Ok(created(row))
}

fn card_order_taken(e: ApiError) -> ApiError {
    match e {
        ApiError::Conflict { message, .. } if message.contains("card_order") => {
            ApiError::Conflict {
                code: crate::error::ConflictCode::AlreadyExists,
                message: "another fight already has this card_order on this event".into(),
            }
        }
        other => other,
    }
}

#[utoipa::path(
    get,
    path = "/api/fights/{id}/",
    tags = ["fights"],
    operation_id = "getFight",
    summary = r#"Get a fight"#,
    description = r#"Public."#,
    responses(
        (status = 200, description = r#"The fight."#, body = crate::db::models::Fight),
        (status = 404, description = r#"`not_found`: fight not found (or `id` is not an integer)."#),
    )
)]
async fn get_fight(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = query(&state.db, move |c| catalog::find_fight(c, id))
        .await
        .map_err(named("fight"))?;
    Ok(ok(row))
}

/// A fight that has started is history: its corners and card slot stay.
#[utoipa::path(
    patch,
    path = "/api/fights/{id}/",
    tags = ["fights"],
    operation_id = "updateFight",
    summary = r#"Update a fight"#,
    description = r#"Partial update: only the fields sent change. A fight cannot move to another event, and a fight whose live fight has started (is no longer upcoming) can no longer be changed. When the event has live coverage that is upcoming or live, its viewers hear the new card at once (`event_state` on `event:{id}` with the card in `fights`): a late replacement is a `red_fighter` or `blue_fighter` sent here. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = crate::db::catalog::FightInput, example = json!({"card_order": 2})),
    responses(
        (status = 200, description = r#"The fight after the update."#, body = crate::db::models::Fight),
        (status = 400, description = r#"`bad_request`: malformed body, an invalid field (`scheduled_rounds` 3 or 5, and 5 for a title fight or a main event (`card_order` 1), which it defaults to; `card_order` from 1 to 100, `blue_fighter` must differ from `red_fighter` after the update), `event` sent (a fight cannot move to another event), or a reference to something that does not exist."#),
        (status = 404, description = r#"`not_found`: fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`invalid_transition`: this fight has started and can no longer be changed; `already_exists`: another fight already has this `card_order` on this event."#),
    )
)]
async fn update_fight(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<FightInput>,
) -> Result<HttpResponse, ApiError> {
    let (id, mut input) = (id.into_inner(), body.into_inner());
    check_fight(&mut input, false)?;
    if input.event_id.is_some() {
        return Err(ApiError::invalid(
            "event",
            "a fight cannot move to another event",
        ));
    }
    let outcome = write(&state.db, move |c| {
        let before = catalog::find_fight(c, id)?;
        let red = input.red_fighter_id.unwrap_or(before.red_fighter_id);
        let blue = input.blue_fighter_id.unwrap_or(before.blue_fighter_id);
        if red == blue {
            return Ok(Err(ApiError::invalid(
                "blue_fighter",
                "must differ from red_fighter",
            )));
        }
        // The rounds rule holds for the fight as it would be.
        let title = input.is_title_fight.unwrap_or(before.is_title_fight);
        let main = input.card_order.unwrap_or(before.card_order) == 1;
        let rounds = input.scheduled_rounds.unwrap_or(before.scheduled_rounds);
        if let Err(e) = rounds_rule(rounds, title || main) {
            return Ok(Err(e));
        }
        if !matches!(
            catalog::live_fight_status(c, id)?.as_deref(),
            None | Some("upcoming")
        ) {
            return Ok(Err(ApiError::Conflict {
                code: crate::error::ConflictCode::InvalidTransition,
                message: "this fight has started; it can no longer be changed".into(),
            }));
        }
        let unchanged = input.red_fighter_id.is_none()
            && input.blue_fighter_id.is_none()
            && input.division_id.is_none()
            && input.scheduled_rounds.is_none()
            && input.card_order.is_none()
            && input.is_title_fight.is_none();
        Ok(Ok(if unchanged {
            before
        } else {
            catalog::update_fight(c, id, &input)?
        }))
    })
    .await
    .map_err(named("fight"))
    .map_err(card_order_taken)?;
    let fight = outcome?;
    crate::features::live_events::card_changed(&state, fight.event_id).await?;
    Ok(ok(fight))
}

#[utoipa::path(
    delete,
    path = "/api/fights/{id}/",
    tags = ["fights"],
    operation_id = "deleteFight",
    summary = r#"Delete a fight"#,
    description = r#"Deletes a fight that has not started (its live fight, if any, is upcoming or cancelled). A fight that has started is history and is kept. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 204, description = r#"Deleted."#),
        (status = 404, description = r#"`not_found`: fight not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`in_use`: this fight has started; it is kept."#),
    )
)]
async fn delete_fight(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let outcome = write(&state.db, move |c| {
        match catalog::live_fight_status(c, id)?.as_deref() {
            None | Some("upcoming") | Some("cancelled") => catalog::delete_fight(c, id).map(Some),
            Some(_) => Ok(None),
        }
    })
    .await?;
    match outcome {
        None => Err(ApiError::Conflict {
            code: crate::error::ConflictCode::InUse,
            message: "this fight has started; it is kept".into(),
        }),
        Some(0) => Err(ApiError::not_found("fight")),
        Some(n) => Ok(no_content(n)),
    }
}
