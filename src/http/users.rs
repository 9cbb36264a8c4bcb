//! Accounts as admins see them, and role changes.

use actix_web::{web, HttpResponse};
use ringside_actors::Role;
use serde::Deserialize;

use super::extract::{Admin, Auth};
use super::{named, query, resource};
use crate::db::pagination::{Page, PageParams};
use crate::db::users;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/users/").get(list))
        .service(resource("/api/users/{id}/").get(get).patch(update));
}

#[derive(Deserialize)]
struct ListFilter {
    role: Option<Role>,
}

async fn list(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let (page, role) = (page.into_inner(), filter.role);
    let limit = page.limit()?;
    let rows = query(&state.db, move |conn| users::list(conn, &page, limit, role)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |u| u.id)))
}

async fn get(
    _: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = query(&state.db, move |conn| users::find(conn, id))
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(HttpResponse::Ok().json(user))
}

#[derive(Deserialize)]
struct UpdateBody {
    role: Role,
}

async fn update(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let role = body.role;
    // An admin cannot demote themselves: someone must always be able to
    // manage the server.
    if id == auth.user.id && role != Role::Admin {
        return Err(ApiError::Conflict {
            code: "last_admin",
            message: "admins cannot remove their own admin role".into(),
        });
    }
    let user = query(&state.db, move |conn| users::set_role(conn, id, role))
        .await
        .map_err(named("user"))?;
    tracing::info!(by = auth.user.id, user = id, %role, "role changed");
    Ok(HttpResponse::Ok().json(user))
}
