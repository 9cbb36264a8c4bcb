//! Follows (fighters and events, which push notifications target) and the
//! user activity log (views and shares reported by clients; comments,
//! reactions, votes and follows are logged by their own writes).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{created, resource};
use crate::auth::{Auth, TokenUser, Viewer};
use crate::db::activity::{self, Activity};
use crate::db::catalog;
use crate::db::follows;
use crate::db::pagination::{Page, PageParams};
use crate::error::ApiError;
use crate::live::persist;
use crate::state::AppState;
use crate::validate;
use ringside_actors::vocabulary::FollowTarget;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/follows/").get(list).post(follow))
        .service(resource("/api/follows/{target_type}/{target_id}/").delete(unfollow))
        .service(resource("/api/activity/").get(my_activity).post(record));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FollowCreate, description = r#"Unknown fields are refused."#)]
struct Target {
    /// `event` is a catalog event, not a live event.
    #[schema(value_type = ringside_actors::vocabulary::FollowTarget)]
    target_type: String,
    /// The fighter's or event's id; must exist.
    target_id: i64,
}

fn check_type(target_type: &str) -> Result<(), ApiError> {
    crate::validate::one_of::<FollowTarget>("target_type", target_type).map(|_| ())
}

#[utoipa::path(
    post,
    path = "/api/follows/",
    tags = ["engagement"],
    operation_id = "createFollow",
    summary = r#"Follow a fighter or an event"#,
    description = r#"Follows a fighter or an event (a catalog event's id, not a live event's); push notifications can target followers. Following again is not an error: it answers the existing follow with `200`. A new follow is logged in the caller's activity (`follow`). Unknown fields are refused. Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = Target, example = json!({"target_type": "fighter", "target_id": 3})),
    responses(
        (status = 200, description = r#"Already followed: the existing follow."#, body = crate::db::follows::Follow),
        (status = 201, description = r#"The new follow."#, body = crate::db::follows::Follow),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, `target_type` not `fighter` or `event`, or `target_id` refers to something that does not exist; `details` names the field."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn follow(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<Target>,
) -> Result<HttpResponse, ApiError> {
    let Target {
        target_type,
        target_id,
    } = body.into_inner();
    check_type(&target_type)?;
    let user = token.user_id;
    let (follow, new) = persist(&state.persister, move |conn| {
        crate::auth::authorize(conn, token, ringside_actors::Role::Viewer)?;
        let exists = match target_type.as_str() {
            "fighter" => catalog::find_fighter(conn, target_id).map(|_| ()),
            _ => catalog::find_event(conn, target_id).map(|_| ()),
        };
        exists.map_err(|e| match ApiError::from(e) {
            ApiError::NotFound(_) => {
                ApiError::invalid("target_id", "refers to something that does not exist")
            }
            other => other,
        })?;
        let (follow, new) = follows::follow(conn, user, &target_type, target_id)?;
        if new {
            activity::record(
                conn,
                Activity {
                    user,
                    activity_type: "follow",
                    target: Some((target_type.as_str(), target_id)),
                    session: None,
                    metadata: json!({}),
                },
            )?;
        }
        Ok((follow, new))
    })
    .await?;
    Ok(if new {
        created(follow)
    } else {
        HttpResponse::Ok().json(follow)
    })
}

#[utoipa::path(
    delete,
    path = "/api/follows/{target_type}/{target_id}/",
    tags = ["engagement"],
    operation_id = "deleteFollow",
    summary = r#"Unfollow a fighter or an event"#,
    description = r#"Removes the caller's follow of this fighter or event. Requires role: `viewer` (any signed-in user)."#,
    params(
        ("target_type" = ringside_actors::vocabulary::FollowTarget, Path, description = r#"`fighter` or `event`; anything else answers 400 `bad_request`."#),
        ("target_id" = i64, Path, description = r#"The followed fighter's or event's id. A value that is not an integer answers 404 `not_found`."#),
    ),
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 204, description = r#"Unfollowed; no body."#),
        (status = 400, description = r#"`bad_request`: `target_type` not `fighter` or `event` (`details` names it)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
        (status = 404, description = r#"`not_found`: the caller does not follow this (or `target_id` is not an integer)."#),
    )
)]
async fn unfollow(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (target_type, target_id) = path.into_inner();
    check_type(&target_type)?;
    let user = auth.user.id;
    let removed = state
        .db
        .run(move |c| follows::unfollow(c, user, &target_type, target_id).map_err(ApiError::from))
        .await?;
    if removed == 0 {
        return Err(ApiError::not_found("follow"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/follows/",
    tags = ["engagement"],
    operation_id = "listFollows",
    summary = r#"The caller's follows"#,
    description = r#"The fighters and events the caller follows. Requires role: `viewer` (any signed-in user)."#,
    params(
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"A page of follows."#, body = crate::http::openapi::schemas::FollowPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` that does not parse."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn list(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let (page, user) = (page.into_inner(), auth.user.id);
    let rows = state
        .db
        .run(move |c| follows::list(c, user, &page, limit).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |f| f.id))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ActivityCreate, description = r#"Unknown fields are refused. `target_type` and `target_id` come together or not at all."#)]
struct NewActivity {
    #[schema(value_type = ringside_actors::vocabulary::ActivityType)]
    activity_type: String,
    #[serde(default)]
    #[schema(schema_with = activity_target_schema)]
    target_type: Option<String>,
    #[serde(default)]
    /// Not checked to exist.
    #[schema(default = json!(null))]
    target_id: Option<i64>,
    #[serde(default)]
    /// The client's own session id; only its first 64 characters are kept.
    #[schema(default = json!(null))]
    session_id: Option<String>,
    #[serde(default)]
    /// Free-form; under 4 KiB as JSON (null is `{}`).
    #[schema(default = json!({}), value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// Views and shares, as clients report them; stored in batches.
/// What a reported view or share may be about (not stored as a CHECK: the
/// log also keeps the writes' own targets).
const ACTIVITY_TARGETS: &[&str] = &["event", "fight", "fighter", "update", "comment", "article"];

/// `target_type` of a reported activity: one of [`ACTIVITY_TARGETS`], or null.
fn activity_target_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            ACTIVITY_TARGETS.iter().copied().map(Some).chain([None]),
        ))
        .default(Some(Value::Null))
        .build()
}

#[utoipa::path(
    post,
    path = "/api/activity/",
    tags = ["engagement"],
    operation_id = "recordActivity",
    summary = r#"Report a view or a share"#,
    description = r#"Records a view or a share in the caller's activity log, with an optional target (`target_type` and `target_id`, both or neither; not checked to exist), the client's own session id (its first 64 characters are kept) and free-form `metadata`. Clients report only these two; comments, likes and other reactions, votes and follows are logged by those writes themselves. Stored in batches through the shared writer and answered once stored. Unknown fields are refused. Requires role: `viewer` (any signed-in user); only the token is checked up front, the account is loaded in the write's transaction."#,
    security(("bearerAuth" = ["viewer"])),
    request_body(content = NewActivity, example = json!({"activity_type": "view", "target_type": "event", "target_id": 1, "session_id": "b7f3c2", "metadata": {"screen": "card"}})),
    responses(
        (status = 202, description = r#"Recorded."#, body = crate::http::openapi::schemas::ActivityRecorded, example = json!({"recorded": true})),
        (status = 400, description = r#"`bad_request`: malformed body or an unknown field, or a field failed validation; `details` names the field: `activity_type` (not `view` or `share`), `target_type` (given without `target_id` or the other way round, or not one of `event`, `fight`, `fighter`, `update`, `comment`, `article`), `metadata` (not a JSON object, or over 4 KiB as JSON)."#),
        (status = 401, description = r#"`unauthorized`: no token, or a malformed, invalid or expired one (or its account no longer exists)."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn record(
    token: TokenUser,
    state: web::Data<AppState>,
    body: web::Json<NewActivity>,
) -> Result<HttpResponse, ApiError> {
    let a = body.into_inner();
    if !matches!(a.activity_type.as_str(), "view" | "share") {
        return Err(ApiError::invalid(
            "activity_type",
            "clients report view or share; the rest is logged by the writes themselves",
        ));
    }
    let target = match (a.target_type, a.target_id) {
        (Some(t), Some(id)) if ACTIVITY_TARGETS.contains(&t.as_str()) => Some((t, id)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "target_type",
                format!(
                    "give target_type ({}) and target_id together",
                    ACTIVITY_TARGETS.join(", ")
                ),
            ))
        }
    };
    let metadata = a.metadata.unwrap_or_else(|| json!({}));
    if !metadata.is_object() || metadata.to_string().len() > 4096 {
        return Err(ApiError::invalid(
            "metadata",
            "must be a JSON object under 4 KiB",
        ));
    }
    validate::json("metadata", &metadata)?;
    let session = match a.session_id {
        Some(s) => {
            validate::plain("session_id", &s)?;
            Some(s.chars().take(64).collect::<String>())
        }
        None => None,
    };
    let user = token.user_id;
    persist(&state.persister, move |conn| {
        crate::auth::authorize(conn, token, ringside_actors::Role::Viewer)?;
        activity::record(
            conn,
            Activity {
                user,
                activity_type: &a.activity_type,
                target: target.as_ref().map(|(t, id)| (t.as_str(), *id)),
                session,
                metadata,
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Accepted().json(json!({ "recorded": true })))
}

/// The signed-in user's own activity, newest first.
#[utoipa::path(
    get,
    path = "/api/activity/",
    tags = ["engagement"],
    operation_id = "listActivity",
    summary = r#"The caller's activity"#,
    description = r#"The caller's activity log, newest first; the next page (`cursor` from `next_cursor`, the last id seen) holds older entries. Views and shares are what the client reported; comments, likes and other reactions, votes and follows were logged by those writes themselves (see the `Activity` schema for their targets). Requires role: `viewer` (any signed-in user)."#,
    params(
        crate::db::pagination::PageParams,
    ),
    security(("bearerAuth" = ["viewer"])),
    responses(
        (status = 200, description = r#"A page of activity, newest first."#, body = crate::http::openapi::schemas::ActivityPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` that does not parse."#),
        (status = 403, description = r#"`banned`: the account is banned."#),
    )
)]
async fn my_activity(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let (page, user) = (page.into_inner(), auth.user.id);
    let rows = state
        .db
        .run(move |c| activity::of_user(c, user, &page, limit).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(json!(Page::from_rows(rows, limit, |r| r.id))))
}
