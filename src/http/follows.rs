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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    target_type: String,
    target_id: i64,
}

fn check_type(target_type: &str) -> Result<(), ApiError> {
    crate::validate::one_of::<FollowTarget>("target_type", target_type).map(|_| ())
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewActivity {
    activity_type: String,
    #[serde(default)]
    target_type: Option<String>,
    #[serde(default)]
    target_id: Option<i64>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

/// Views and shares, as clients report them; stored in batches.
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
        (Some(t), Some(id)) if ["event", "fight", "fighter", "update", "comment", "article"].contains(&t.as_str()) => Some((t, id)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "target_type",
                "give target_type (event, fight, fighter, update, comment, article) and target_id together",
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
