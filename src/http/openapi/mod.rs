//! The OpenAPI 3.1 document, generated from the code and served at
//! `/api/openapi.json`: `#[utoipa::path]` on every handler (its own texts,
//! parameters, bodies and the errors particular to it), `ToSchema` on the
//! bodies and rows, the shapes of JSON answers in [`schemas`], the prose in
//! `docs/api/`. What every operation shares is added here,
//! from the code, by [`finish`]: the error responses (codes and statuses from
//! [`ApiError::catalogue`]), the `{id}` parameter, the WebSocket parameters,
//! the security schemes and `x-required-role`.
//!
//! A new endpoint: annotate its handler with `#[utoipa::path]` and list it
//! in [`ApiDoc`]'s `paths`; `tests/integration/ops.rs` fails until both agree
//! with the routes.

pub mod schemas;

use std::sync::LazyLock;

use actix_web::ResponseError;
use serde_json::{json, Value};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::error::ApiError;

/// The error shape every failure answers (`crate::error::ApiError`).
#[derive(ToSchema)]
#[schema(
    description = r#"Every error the API answers. `code` is stable and maps to the status (see `ErrorCode`)."#
)]
#[allow(dead_code)] // described, never built: ApiError writes the JSON
pub struct Error {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    code: ErrorCode,
    /// Human-readable; not stable.
    message: String,
    /// Structured detail: for `bad_request` the failing field (`{"<field>": "<problem>"}`), JSON position (`{"line", "column"}`) or database constraint (`{"constraint"}`), when known; for `rate_limited` `{"retry_after_ms"}`; for `slow_mode` `{"retry_after_ms", "slow_mode_seconds"}`; for `muted` `{"until"}` (a date-time, or null while the mute lasts until lifted); otherwise `null`.
    #[schema(value_type = Option<Object>, required = true)]
    details: Option<Value>,
}

/// Every error code, listed from [`ApiError::catalogue`] with its status.
struct ErrorCode;

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let all = ApiError::catalogue();
        let statuses: Vec<String> = all
            .iter()
            .map(|e| format!("`{}` {}", e.code(), e.status_code().as_u16()))
            .collect();
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(format!(
                "Every error code, with its status: {}.",
                statuses.join(", ")
            )))
            .enum_values(Some(all.iter().map(|e| e.code())))
            .into()
    }
}

impl ToSchema for ErrorCode {}

#[derive(OpenApi)]
#[openapi(
    info(title = "Ringside API", version = "0.1.0"),
    paths(
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        openapi,
        super::ops::asyncapi,
        super::auth::register,
        super::auth::login,
        super::auth::me,
        super::auth::change_password,
        super::auth::logout_all,
        super::users::list,
        super::users::get,
        super::users::update,
        super::catalog::list_divisions,
        super::catalog::create_division,
        super::catalog::get_division,
        super::catalog::update_division,
        super::catalog::delete_division,
        super::catalog::list_fighters,
        super::catalog::create_fighter,
        super::catalog::get_fighter,
        super::catalog::update_fighter,
        super::catalog::delete_fighter,
        super::catalog::list_events,
        super::catalog::create_event,
        super::catalog::get_event,
        super::catalog::update_event,
        super::catalog::delete_event,
        super::catalog::list_fights,
        super::catalog::create_fight,
        super::catalog::get_fight,
        super::catalog::update_fight,
        super::catalog::delete_fight,
        super::rankings::table,
        super::rankings::pound_for_pound,
        super::rankings::history,
        super::live_events::list,
        super::live_events::create,
        super::live_events::detail,
        super::live_events::start,
        super::live_events::end,
        super::live_events::cancel,
        super::live_events::fight_detail,
        super::live_events::update,
        super::live_events::limits,
        super::automation::overview,
        super::automation::cancel,
        super::notification_admin::preview,
        super::moderation::user_panel,
        super::fight_control::officials,
        super::fight_control::start,
        super::fight_control::start_round,
        super::fight_control::pause,
        super::fight_control::resume,
        super::fight_control::set_clock,
        super::fight_control::end_round,
        super::fight_control::foul,
        super::fight_control::stats,
        super::fight_control::scores,
        super::fight_control::result,
        super::fight_control::amend,
        super::fight_control::cancel,
        super::fight_control::timeline,
        super::fight_control::scorecards,
        super::live_updates::list,
        super::live_updates::create,
        super::live_updates::approve,
        super::live_updates::reject,
        super::comments::list,
        super::comments::create,
        super::comments::report,
        super::ws::comments,
        super::ws::notifications,
        super::streams::stream,
        super::streams::poll,
        super::reactions::totals,
        super::reactions::create,
        super::polls::list,
        super::polls::create,
        super::polls::detail,
        super::polls::open,
        super::polls::close,
        super::polls::vote,
        super::presence::presence,
        super::moderation::queue,
        super::moderation::actions,
        super::moderation::hide,
        super::moderation::delete,
        super::moderation::restore,
        super::moderation::mute,
        super::moderation::unmute,
        super::moderation::ban,
        super::moderation::unban,
        super::moderation::slow_mode,
        super::follows::list,
        super::follows::follow,
        super::follows::unfollow,
        super::follows::my_activity,
        super::follows::record,
        super::notifications::list,
        super::notifications::register,
        super::notifications::unregister,
        super::notifications::read_all,
        super::notifications::preferences,
        super::notifications::set_preferences,
        super::notifications::read,
        super::notifications::opened,
        super::notification_admin::send,
        super::notification_admin::analytics,
        super::notification_admin::broadcast,
        super::analytics::analytics,
        super::analytics::monitor,
    ),
    // Schemas only parameters use (utoipa collects those of bodies itself).
    components(schemas(
        Error,
        crate::db::live_updates::Review,
        ringside_actors::Role,
        ringside_actors::EventStatus,
        ringside_actors::vocabulary::ReactionTarget,
        ringside_actors::vocabulary::FollowTarget,
    )),
    modifiers(&Prose)
)]
pub struct ApiDoc;

/// The tags in order, with their descriptions (Markdown in `docs/api/tags/`).
const TAGS: &[(&str, &str)] = &[
    ("ops", include_str!("../../../docs/api/tags/ops.md")),
    ("auth", include_str!("../../../docs/api/tags/auth.md")),
    ("users", include_str!("../../../docs/api/tags/users.md")),
    (
        "divisions",
        include_str!("../../../docs/api/tags/divisions.md"),
    ),
    (
        "fighters",
        include_str!("../../../docs/api/tags/fighters.md"),
    ),
    ("events", include_str!("../../../docs/api/tags/events.md")),
    ("fights", include_str!("../../../docs/api/tags/fights.md")),
    (
        "rankings",
        include_str!("../../../docs/api/tags/rankings.md"),
    ),
    ("live", include_str!("../../../docs/api/tags/live.md")),
    (
        "fight-control",
        include_str!("../../../docs/api/tags/fight-control.md"),
    ),
    (
        "live-updates",
        include_str!("../../../docs/api/tags/live-updates.md"),
    ),
    (
        "engagement",
        include_str!("../../../docs/api/tags/engagement.md"),
    ),
    (
        "moderation",
        include_str!("../../../docs/api/tags/moderation.md"),
    ),
    (
        "notifications",
        include_str!("../../../docs/api/tags/notifications.md"),
    ),
    (
        "websocket",
        include_str!("../../../docs/api/tags/websocket.md"),
    ),
    ("streams", include_str!("../../../docs/api/tags/streams.md")),
    (
        "automation",
        include_str!("../../../docs/api/tags/automation.md"),
    ),
    (
        "analytics",
        include_str!("../../../docs/api/tags/analytics.md"),
    ),
];

/// The long prose: the API's description and the tags'.
struct Prose;

impl Modify for Prose {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.info.description = Some(
            include_str!("../../../docs/api/description.md")
                .trim_end()
                .into(),
        );
        doc.tags = Some(
            TAGS.iter()
                .map(|(name, text)| {
                    TagBuilder::new()
                        .name(*name)
                        .description(Some(text.trim_end()))
                        .build()
                })
                .collect(),
        );
    }
}

/// A reusable error response: its component name, status, what it means,
/// and the codes of that status it leaves out.
struct ErrorResponse {
    name: &'static str,
    status: u16,
    description: &'static str,
    except: &'static [&'static str],
    retry_after: bool,
}

/// The component for each status an operation lists without naming one.
const ERRORS: &[ErrorResponse] = &[
    ErrorResponse {
        name: "BadRequest",
        status: 400,
        description: "`bad_request`: the request could not be read or a field failed validation. For a field, `details` is `{\"<field>\": \"<problem>\"}`; for a JSON syntax error, `{\"line\", \"column\"}`; for a database check, `{\"constraint\"}`. Any text field that contains a control character (NUL included; line breaks and tabs are allowed in free-form texts) is refused this way, `details` naming the field, and nothing is written (see the conventions in the API's description).",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "Unauthorized",
        status: 401,
        description: "`unauthorized`: no bearer token, a malformed `Authorization` header, or an invalid, expired or revoked token.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "Forbidden",
        status: 403,
        description: "`forbidden`: the caller's role is too low for this operation; `banned`: the account is banned.",
        except: &["muted"],
        retry_after: false,
    },
    ErrorResponse {
        name: "CommentForbidden",
        status: 403,
        description: "`banned`: the account is banned; `muted`: the author is muted on this live event or everywhere, `details.until` saying until when (null: until lifted).",
        except: &["forbidden"],
        retry_after: false,
    },
    ErrorResponse {
        name: "NotFound",
        status: 404,
        description: "`not_found`: no such resource.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "MethodNotAllowed",
        status: 405,
        description: "`method_not_allowed`: the path exists but does not take this method. Any method not listed for a path answers this, with an `Allow` header.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "RequestTimeout",
        status: 408,
        description: "`request_timeout`: the body did not arrive whole within `BODY_TIMEOUT` (default 10 s) of the request's start; the server closes the connection.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "Conflict",
        status: 409,
        description: "The request clashes with the current state; `code` says how.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "TooLarge",
        status: 413,
        description: "`too_large`: the body is larger than 65536 bytes.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "UnsupportedMediaType",
        status: 415,
        description: "`unsupported_media_type`: the body is not sent as `Content-Type: application/json`.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "ContentRejected",
        status: 422,
        description: "`content_rejected`: the content filter caught the comment (a blocked term, also through the usual evasions; more than 1 link; or the same message again within 5 minutes) and `MODERATION_FILTER_ACTION` is `refuse` (the default). The message says why; nothing is stored.",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "RateLimited",
        status: 429,
        description: "`rate_limited`: too many attempts (sign-in per client address, and for login also per account; comments, reactions and votes per user). `details.retry_after_ms` and the `Retry-After` header say when to come back.",
        except: &["slow_mode"],
        retry_after: true,
    },
    ErrorResponse {
        name: "CommentThrottled",
        status: 429,
        description: "`rate_limited`: more than `COMMENT_RATE_LIMIT` comments a minute from this user (burst half of that); `slow_mode`: the live event's slow mode allows one comment per `slow_mode_seconds` per user (moderators and admins are exempt). `details.retry_after_ms` and the `Retry-After` header say when to come back.",
        except: &[],
        retry_after: true,
    },
    ErrorResponse {
        name: "Internal",
        status: 500,
        description: "`internal`: an unexpected server error (the cause is logged, not returned).",
        except: &[],
        retry_after: false,
    },
    ErrorResponse {
        name: "Unavailable",
        status: 503,
        description: "`unavailable`: the database did not answer within `DATABASE_TIMEOUT_MS` (default 5000) or is unreachable, the write queue is full, a concurrent update conflicted, or the server is shutting down. Nothing of the request was applied (a write not committed in time is refused at COMMIT, never applied later); retry after `Retry-After`, with the same `Idempotency-Key`.",
        except: &[],
        retry_after: true,
    },
];

/// The component an unnamed error response of `status` refers to: the
/// first listed for that status.
fn error_component(status: u16) -> Option<&'static str> {
    ERRORS.iter().find(|e| e.status == status).map(|e| e.name)
}

/// The component's JSON: the `Error` schema with `code` narrowed to the
/// codes of its status, and an example built by [`ApiError`] itself.
fn error_response_json(spec: &ErrorResponse) -> Value {
    let errors: Vec<ApiError> = ApiError::catalogue()
        .into_iter()
        .filter(|e| e.status_code().as_u16() == spec.status && !spec.except.contains(&e.code()))
        .collect();
    let codes: Vec<&str> = errors.iter().map(|e| e.code()).collect();
    let example = errors.first().map(ApiError::body).unwrap_or(Value::Null);
    let mut response = json!({
        "description": spec.description,
        "content": { "application/json": {
            "schema": { "allOf": [
                { "$ref": "#/components/schemas/Error" },
                { "properties": { "error": { "properties": { "code": { "enum": codes } } } } },
            ] },
            "example": example,
        } },
    });
    if spec.retry_after {
        response["headers"] =
            json!({ "Retry-After": { "$ref": "#/components/headers/RetryAfter" } });
    }
    if spec.status == 401 {
        response["headers"] =
            json!({ "WWW-Authenticate": { "$ref": "#/components/headers/WWWAuthenticate" } });
    }
    response
}

/// The parameters every operation of a kind shares.
fn parameters() -> Value {
    json!({
        "Id": {
            "name": "id", "in": "path", "required": true,
            "description": "The resource's id. A value that is not an integer answers 404 `not_found`.",
            "schema": { "type": "integer", "format": "int64" },
        },
        "Upgrade": {
            "name": "Upgrade", "in": "header", "required": false,
            "description": "`websocket` (any case) with the rest of a WebSocket handshake (`Connection: Upgrade`, `Sec-WebSocket-Version: 13`, `Sec-WebSocket-Key`) turns the request into a WebSocket session (`101`); a malformed handshake answers 400 `bad_request`. See the `websocket` tag.",
            "schema": { "type": "string", "pattern": "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$" },
        },
        "UpgradeRequired": {
            "name": "Upgrade", "in": "header", "required": true,
            "description": "`websocket` (any case), with the rest of a WebSocket handshake (`Connection: Upgrade`, `Sec-WebSocket-Version: 13`, `Sec-WebSocket-Key`). Without it the request answers 400 `bad_request`, as does a malformed handshake. See the `websocket` tag.",
            "schema": { "type": "string", "pattern": "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$" },
        },
        "Since": {
            "name": "since", "in": "query", "required": false,
            "description": "WebSocket upgrades only: resume the endpoint's channel after this position, `<epoch>:<seq>` (the `epoch` of the `subscribed` frame and the last `seq` applied). Empty is the same as absent; anything else that does not parse answers 400 `bad_request` (`details`: `{\"since\": \"expected <epoch>:<seq>\"}`).",
            "schema": { "type": "string", "pattern": "^[^:]+:[0-9]+$" },
            "example": "k3x9Qa_w:17",
        },
    })
}

fn headers() -> Value {
    json!({
        "RetryAfter": {
            "description": "Seconds to wait before retrying (retry_after_ms rounded up, at least 1).",
            "schema": { "type": "integer", "minimum": 1 },
        },
        "WWWAuthenticate": {
            "description": "The authentication scheme expected.",
            "schema": { "type": "string", "const": "Bearer" },
        },
    })
}

fn security_schemes() -> Value {
    json!({
        "bearerAuth": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "`Authorization: Bearer <token>` with the token from register or login: a JWT signed with HS256 whose `sub` is the user id, valid for `expires_in` seconds (server setting `TOKEN_TTL`, default 7 days). The requirement's scope (and `x-required-role`) is the lowest role the operation needs (roles are ordered viewer < reporter < moderator < admin).",
        },
        "tokenQuery": {
            "type": "apiKey", "in": "query", "name": "token",
            "description": "WebSocket upgrades only: the token of `bearerAuth` as the `?token=` query parameter (browsers cannot set headers on a WebSocket handshake). When both are sent, `?token=` wins, but a malformed `Authorization` header still answers `401`. The server logs paths without their query string.",
        },
    })
}

/// What every operation shares, added from the code rather than repeated
/// on each: the reusable responses, parameters and headers; per operation,
/// the error responses its kind always has (500/503 for all but `ops`,
/// 400/408/413/415 with a JSON body, 401/403 with a required token), the
/// `{id}` and WebSocket parameters, and `x-required-role`; and every
/// error response an annotation lists by status becomes a `$ref` to its
/// component (keeping the annotation's own description). A pass over the
/// JSON rather than a utoipa `Modify`: utoipa's `Components` has no room
/// for reusable parameters or headers.
fn finish(mut doc: Value) -> Value {
    let responses: serde_json::Map<String, Value> = ERRORS
        .iter()
        .map(|spec| (spec.name.to_string(), error_response_json(spec)))
        .collect();
    doc["components"]["responses"] = Value::Object(responses);
    doc["components"]["parameters"] = parameters();
    doc["components"]["headers"] = headers();
    doc["components"]["securitySchemes"] = security_schemes();
    doc["servers"] =
        json!([{ "url": "/", "description": "The server this document is served from." }]);
    let Some(paths) = doc["paths"].as_object_mut() else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if path.contains("{id}") {
            item.insert(
                "parameters".into(),
                json!([{ "$ref": "#/components/parameters/Id" }]),
            );
        }
        for (method, op) in item.iter_mut() {
            if method != "parameters" {
                finish_operation(op);
            }
        }
    }
    doc
}

fn finish_operation(op: &mut Value) {
    let tags: Vec<String> = op["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    let security = op["security"].as_array().cloned().unwrap_or_default();
    let token_required = !security.is_empty()
        && !security
            .iter()
            .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
    let role = security
        .iter()
        .find_map(|s| s["bearerAuth"][0].as_str().map(String::from));
    if let Some(role) = role {
        op["x-required-role"] = Value::String(role);
    }
    let json_body = op["requestBody"]["content"]["application/json"].is_object();
    let mut statuses: Vec<u16> = Vec::new();
    if !tags.iter().any(|t| t == "ops") {
        statuses.extend([500, 503]);
    }
    if json_body {
        statuses.extend([400, 408, 413, 415]);
    }
    if token_required {
        statuses.extend([401, 403]);
    }
    if tags.iter().any(|t| t == "websocket") {
        let upgrade = match tags.len() {
            1 => "UpgradeRequired",
            _ => "Upgrade",
        };
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let mut with = vec![
            json!({ "$ref": format!("#/components/parameters/{upgrade}") }),
            json!({ "$ref": "#/components/parameters/Since" }),
        ];
        with.extend(params);
        op["parameters"] = Value::Array(with);
    }
    let Some(responses) = op["responses"].as_object_mut() else {
        return;
    };
    for status in statuses {
        if let Some(name) = error_component(status) {
            responses
                .entry(status.to_string())
                .or_insert_with(|| json!({ "$ref": format!("#/components/responses/{name}") }));
        }
    }
    for (status, response) in responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else {
            continue;
        };
        if code < 400 || response.get("$ref").is_some() {
            continue;
        }
        if let Some(name) = error_component(code) {
            let mut reference = json!({ "$ref": format!("#/components/responses/{name}") });
            if let Some(d) = response["description"].as_str().filter(|d| !d.is_empty()) {
                reference["description"] = Value::String(d.to_string());
            }
            *response = reference;
        }
    }
    // Stable order: by status, as people read them.
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(sorted);
}

/// The generated document as JSON.
pub fn generated() -> Value {
    finish(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
}

/// The document as served, serialized once.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> =
        LazyLock::new(|| serde_json::to_string(&generated()).unwrap_or_default());
    &JSON
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `value`, with where it was found.
    fn refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push((r.clone(), at.to_string())),
                        _ => refs(v, &format!("{at}/{k}"), out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    refs(v, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// A parameter, resolved if it is a `$ref` to a component.
    fn resolve<'a>(doc: &'a Value, p: &'a Value) -> &'a Value {
        match p["$ref"].as_str() {
            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(p),
            None => p,
        }
    }

    #[test]
    fn the_document_is_well_formed_openapi_3_1() {
        let doc = generated();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        // Every $ref points at something in the document.
        let mut found = Vec::new();
        refs(&doc, "", &mut found);
        assert!(found.len() > 100, "{} refs", found.len());
        for (r, at) in &found {
            let target = r.strip_prefix('#').map(|p| doc.pointer(p));
            assert!(
                matches!(target, Some(Some(_))),
                "{at}: $ref {r} resolves to nothing"
            );
        }
        let paths = doc["paths"].as_object().expect("paths");
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in paths {
            let declared_at_path = item["parameters"].as_array().cloned().unwrap_or_default();
            for (method, op) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(!id.is_empty(), "{method} {path} has no operationId");
                assert!(ids.insert(id.to_string()), "operationId {id} twice");
                assert!(op["summary"].is_string(), "{id}: summary");
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{id}: responses"
                );
                // Every `{name}` of the path is a declared path parameter.
                let params: Vec<Value> = declared_at_path
                    .iter()
                    .chain(op["parameters"].as_array().into_iter().flatten())
                    .map(|p| resolve(&doc, p).clone())
                    .collect();
                for name in path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                {
                    assert!(
                        params.iter().any(|p| p["in"] == "path"
                            && p["name"] == name
                            && p["required"] == true),
                        "{id}: path parameter {name} is not declared"
                    );
                }
                // Every error response refers to a component built from ApiError.
                for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    if status.as_str() >= "400" {
                        assert!(response["$ref"].is_string(), "{id}: {status} inline");
                    }
                }
            }
        }
        assert!(ids.len() >= 90, "{} operations", ids.len());
    }

    #[test]
    fn error_codes_come_from_the_error_type() {
        let doc = generated();
        let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
        let want: Vec<&str> = ApiError::catalogue().iter().map(|e| e.code()).collect();
        assert_eq!(codes, &json!(want));
        for code in [
            "bad_request",
            "invalid_transition",
            "slow_mode",
            "unavailable",
        ] {
            assert!(want.contains(&code), "{code}");
        }
        let conflict = &doc["components"]["responses"]["Conflict"]["content"]["application/json"]
            ["schema"]["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"];
        assert_eq!(
            conflict.as_array().map(Vec::len),
            Some(crate::error::ConflictCode::ALL.len()),
            "{conflict}"
        );
    }

    #[test]
    fn shared_errors_are_added_by_rule() {
        let doc = generated();
        let op = &doc["paths"]["/api/divisions/"]["post"];
        for status in ["400", "401", "403", "408", "413", "415", "500", "503"] {
            assert!(op["responses"][status]["$ref"].is_string(), "{status}");
        }
        assert_eq!(op["x-required-role"], "admin");
        let public = &doc["paths"]["/api/divisions/"]["get"];
        assert!(public["responses"]["401"].is_null());
        assert!(public["x-required-role"].is_null());
        assert!(doc["paths"]["/healthz"]["get"]["responses"]["500"].is_null());
    }

    #[test]
    fn enumerations_come_from_their_types() {
        use ringside_actors::vocabulary::{ReactionType, Vocabulary};
        let doc = generated();
        assert_eq!(
            doc["components"]["schemas"]["ReactionType"]["enum"],
            json!(ReactionType::words())
        );
    }
}

/// `GET /api/openapi.json` (this module serves what it builds).
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(super::resource("/api/openapi.json").get(openapi));
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tags = ["ops"],
    operation_id = "getOpenApi",
    summary = r#"This document"#,
    description = r#"The OpenAPI 3.1 description of the API, generated from the server's code (its handlers' annotations and its types). Public. This path has no trailing slash."#,
    responses(
        (status = 200, description = r#"The OpenAPI document."#, body = crate::http::openapi::schemas::ApiDocument),
    )
)]
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(json())
}
