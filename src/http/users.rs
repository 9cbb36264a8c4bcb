//! Accounts as admins see them, and role changes.

use actix_web::{web, HttpResponse};
use ringside_actors::Role;
use serde::Deserialize;

use super::extract::{Admin, Auth};
use super::{named, query, resource, write};
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

#[utoipa::path(
    get,
    path = "/api/users/",
    tags = ["users"],
    operation_id = "listUsers",
    summary = r#"List accounts"#,
    description = r#"All accounts, in ascending id order, optionally only those holding one role. Requires role: `admin`."#,
    params(
        crate::db::pagination::PageParams,
        ("role" = Option<ringside_actors::Role>, Query, description = r#"Only accounts with exactly this role."#),
    ),
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 200, description = r#"A page of accounts."#, body = crate::http::openapi::schemas::UserPage),
        (status = 400, description = r#"`bad_request`: `limit` out of range, or a `cursor` or `role` that does not parse."#),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/users/{id}/",
    tags = ["users"],
    operation_id = "getUser",
    summary = r#"Get an account"#,
    description = r#"Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    responses(
        (status = 200, description = r#"The account."#, body = crate::db::models::User),
        (status = 404, description = r#"`not_found`: user not found (or `id` is not an integer)."#),
    )
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = UserRoleUpdate)]
struct UpdateBody {
    role: Role,
}

#[utoipa::path(
    patch,
    path = "/api/users/{id}/",
    tags = ["users"],
    operation_id = "updateUser",
    summary = r#"Change an account's role"#,
    description = r#"Sets the account's role. The change applies to the account's next request. Admins cannot remove their own admin role. Requires role: `admin`."#,
    security(("bearerAuth" = ["admin"])),
    request_body(content = UpdateBody, example = json!({"role": "moderator"})),
    responses(
        (status = 200, description = r#"The updated account."#, body = crate::db::models::User),
        (status = 400, description = r#"`bad_request`: malformed body, or `role` missing or not one of the four roles."#),
        (status = 404, description = r#"`not_found`: user not found (or `id` is not an integer)."#),
        (status = 409, description = r#"`last_admin`: admins cannot remove their own admin role."#),
    )
)]
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
            code: crate::error::ConflictCode::LastAdmin,
            message: "admins cannot remove their own admin role".into(),
        });
    }
    let user = write(&state.db, move |conn| users::set_role(conn, id, role))
        .await
        .map_err(named("user"))?;
    tracing::info!(by = auth.user.id, user = id, %role, "role changed");
    Ok(HttpResponse::Ok().json(user))
}
