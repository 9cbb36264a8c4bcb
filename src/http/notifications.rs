//! The user's side of notifications over HTTP (the rules:
//! `features/notifications/inbox.rs`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{Auth, Viewer};
use super::{created, resource};
use crate::db::pagination::PageParams;
use crate::error::ApiError;
use crate::features::notifications::inbox::{self, DeviceInput, PreferencesInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/notifications/").get(list))
        .service(resource("/api/notifications/register/").post(register))
        .service(resource("/api/notifications/unregister/").post(unregister))
        .service(resource("/api/notifications/read-all/").post(read_all))
        .service(
            resource("/api/notifications/preferences/")
                .get(preferences)
                .put(set_preferences),
        )
        .service(resource("/api/notifications/{id}/read/").post(read))
        .service(resource("/api/notifications/{id}/opened/").post(opened));
}

/// Registers a device token; the same token again moves to this user.
async fn register(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    let (device, new) = inbox::register_device(&state, auth.user.id, body.into_inner()).await?;
    Ok(if new {
        created(device)
    } else {
        HttpResponse::Ok().json(device)
    })
}

async fn unregister(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    inbox::unregister_device(&state, auth.user.id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct ListFilter {
    #[serde(default)]
    unread: bool,
}

/// Newest first, with the unread count.
async fn list(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    filter: web::Query<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let body = inbox::list(&state, auth.user.id, filter.unread, page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn read(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let n = inbox::mark(&state, auth.user.id, id.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(n))
}

async fn opened(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let n = inbox::mark(&state, auth.user.id, id.into_inner(), true).await?;
    Ok(HttpResponse::Ok().json(n))
}

async fn read_all(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(inbox::read_all(&state, auth.user.id).await?))
}

async fn preferences(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(inbox::preferences(&state, auth.user.id).await?))
}

async fn set_preferences(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<PreferencesInput>,
) -> Result<HttpResponse, ApiError> {
    let saved = inbox::set_preferences(&state, auth.user.id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}
