//! The HTTP edge: routes, body limits, and the handlers of the REST API.
//! Every handler answers JSON; every failure goes through [`ApiError`].

mod admin;
mod analytics;
pub mod assets;
mod auth;
mod automation;
pub mod body_deadline;
mod catalog;
mod comments;
pub mod cors;
pub mod docs;
pub(crate) mod extract;
mod fight_control;
mod follows;
pub mod idempotency;
mod live_events;
mod live_updates;
mod moderation;
mod notification_admin;
mod notifications;
pub mod openapi;
mod ops;
mod optional_json;
mod polls;
mod presence;
mod rankings;
mod reactions;
pub mod request_log;
pub mod socket;
mod streams;
mod users;
pub mod watch;
mod ws;
mod ws_ops;

use actix_web::{error::JsonPayloadError, web, HttpRequest, HttpResponse};
use diesel::{PgConnection, QueryResult};

use crate::db::Db;
use crate::error::ApiError;
// Shared with the features, which own them; handlers use them through here.
pub(crate) use crate::error::{already_exists, named};

/// Largest JSON body the REST API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Registers every route and the extractor settings on an App.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|e, _| json_error(e).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|_, req| {
        ApiError::NotFound(format!("no such resource: {}", req.path())).into()
    }))
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::bad_request(format!("query string: {e}")).into()),
    )
    .configure(ops::routes)
    .configure(openapi::routes)
    .configure(auth::routes)
    .configure(users::routes)
    .configure(catalog::routes)
    .configure(rankings::routes)
    .configure(live_events::routes)
    .configure(automation::routes)
    .configure(live_updates::routes)
    .configure(fight_control::routes)
    .configure(ws::routes)
    .configure(streams::routes)
    .configure(comments::routes)
    .configure(moderation::routes)
    .configure(reactions::routes)
    .configure(polls::routes)
    .configure(presence::routes)
    .configure(follows::routes)
    .configure(notifications::routes)
    .configure(notification_admin::routes)
    .configure(analytics::routes)
    .configure(docs::routes)
    .configure(watch::routes)
    .configure(admin::routes)
    .default_service(web::to(unmatched));
}

/// Whether a registered path is a web surface (an HTML page or its files,
/// DESIGN §11) rather than part of the API and its document.
pub fn is_web_surface(path: &str) -> bool {
    path.starts_with(docs::PREFIX)
        || path.starts_with(admin::PREFIX)
        || watch::PREFIXES.iter().any(|p| path.starts_with(p))
}

/// A path no route matches. The API's paths end in `/`; a path that only
/// lacks it is redirected with its method kept (308).
async fn unmatched(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let with_slash = format!("{}/", req.path());
    if !req.path().ends_with('/') && req.resource_map().has_resource(&with_slash) {
        let location = match req.query_string() {
            "" => with_slash,
            q => format!("{with_slash}?{q}"),
        };
        return Ok(HttpResponse::PermanentRedirect()
            .insert_header((actix_web::http::header::LOCATION, location))
            .finish());
    }
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// A resource whose unlisted methods answer 405 in the API's error shape,
/// with `Allow` naming the methods it serves (collected as they are added).
fn resource(path: &str) -> ApiResource {
    ApiResource {
        inner: web::resource(path),
        path: path.to_string(),
        methods: Vec::new(),
    }
}

/// [`resource`]'s builder: `web::Resource` plus the methods routed so far.
pub(crate) struct ApiResource {
    inner: actix_web::Resource,
    path: String,
    methods: Vec<&'static str>,
}

/// Every path registered through [`resource`] so far, with its methods
/// (filled as an App registers its services: each worker registers the same).
static REGISTERED: std::sync::Mutex<std::collections::BTreeMap<String, Vec<&'static str>>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The routes the server has registered (path pattern as given to actix, and
/// its methods), for the check that the OpenAPI document matches them.
/// Empty until an App has been built.
pub fn registered_routes() -> Vec<(String, Vec<&'static str>)> {
    REGISTERED
        .lock()
        .map(|r| r.iter().map(|(p, m)| (p.clone(), m.clone())).collect())
        .unwrap_or_default()
}

macro_rules! api_methods {
    ($($name:ident => $guard:ident, $method:literal;)*) => {
        impl ApiResource {
            $(
                pub(crate) fn $name<F, Args>(mut self, handler: F) -> Self
                where
                    F: actix_web::Handler<Args>,
                    Args: actix_web::FromRequest + 'static,
                    F::Output: actix_web::Responder + 'static,
                {
                    self.inner = self.inner.route(web::$guard().to(handler));
                    self.methods.push($method);
                    self
                }
            )*
        }
    };
}

api_methods! {
    get => get, "GET";
    post => post, "POST";
    put => put, "PUT";
    patch => patch, "PATCH";
    delete => delete, "DELETE";
}

impl actix_web::dev::HttpServiceFactory for ApiResource {
    fn register(self, config: &mut actix_web::dev::AppService) {
        let allow = self.methods.join(", ");
        if let Ok(mut registered) = REGISTERED.lock() {
            registered.insert(self.path, self.methods);
        }
        self.inner
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move {
                    use actix_web::ResponseError;
                    let mut response = ApiError::MethodNotAllowed.error_response();
                    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                        response
                            .headers_mut()
                            .insert(actix_web::http::header::ALLOW, value);
                    }
                    response
                }
            }))
            .register(config)
    }
}

fn json_error(e: JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::TooLarge(format!("body larger than {limit} bytes"))
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Payload(e) if body_deadline::is_timeout(&e) => ApiError::RequestTimeout,
        JsonPayloadError::Deserialize(e) => {
            use serde_json::error::Category;
            let kind = match e.classify() {
                Category::Data => "wrong type or missing field",
                Category::Syntax | Category::Eof | Category::Io => "malformed JSON",
            };
            ApiError::BadRequest {
                message: format!("{kind}: {e}"),
                details: Some(serde_json::json!({ "line": e.line(), "column": e.column() })),
            }
        }
        other => ApiError::bad_request(format!("could not read the body: {other}")),
    }
}

/// Runs a query on the blocking pool, with database errors as API errors.
async fn query<T: Send + 'static>(
    db: &Db,
    f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    db.run(move |conn| f(conn).map_err(ApiError::from)).await
}

/// Runs a write in a transaction that commits within the request's bound
/// or not at all (`Db::transaction`): a 503 means it was not applied.
async fn write<T: Send + 'static>(
    db: &Db,
    f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    db.transaction(move |conn| f(conn).map_err(ApiError::from))
        .await
}

fn created(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Created().json(body)
}
