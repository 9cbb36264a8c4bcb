//! The OpenAPI document generated from the code: `#[utoipa::path]` on the
//! handlers, `ToSchema` on the request bodies, the prose in `docs/api/`.
//!
//! Not served yet: `/api/openapi.json` still answers the hand-written
//! `docs/openapi.json` until the generated document covers every route
//! (`tests/integration/ops.rs` compares the two).

use utoipa::openapi::tag::TagBuilder;
use utoipa::{Modify, OpenApi};

/// The error shape every failure answers (`crate::error::ApiError`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described, never built: ApiError writes the JSON
pub struct Error {
    error: ErrorDetail,
}

/// `code` is stable and maps to the status; `message` is for people.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    #[schema(example = "bad_request")]
    code: ErrorCode,
    /// Human-readable; not stable.
    message: String,
    /// Structured detail (the failing field, JSON position, retry delay…), when known.
    details: Option<serde_json::Value>,
}

/// Every error code, with its status: `bad_request` 400, `unauthorized` 401,
/// `forbidden` / `banned` / `muted` 403, `not_found` 404,
/// `method_not_allowed` 405, `request_timeout` 408, `already_exists` /
/// `in_use` / `invalid_transition` / `too_many_live_events` / `last_admin` /
/// `already_voted` / `poll_not_open` 409, `too_large` 413,
/// `unsupported_media_type` 415, `content_rejected` 422, `rate_limited` /
/// `slow_mode` 429, `internal` 500, `unavailable` 503.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    Banned,
    Muted,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    AlreadyExists,
    InUse,
    InvalidTransition,
    TooManyLiveEvents,
    LastAdmin,
    AlreadyVoted,
    PollNotOpen,
    TooLarge,
    UnsupportedMediaType,
    ContentRejected,
    RateLimited,
    SlowMode,
    Internal,
    Unavailable,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Ringside API", version = "0.1.0"),
    paths(
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        super::ops::openapi,
        super::auth::register,
        super::auth::login,
        super::auth::me,
        super::auth::change_password,
        super::auth::logout_all,
    ),
    components(schemas(Error)),
    modifiers(&Prose)
)]
pub struct ApiDoc;

/// The tags in order, with their descriptions (Markdown in `docs/api/tags/`).
const TAGS: &[(&str, &str)] = &[
    ("ops", include_str!("../../docs/api/tags/ops.md")),
    ("auth", include_str!("../../docs/api/tags/auth.md")),
    ("users", include_str!("../../docs/api/tags/users.md")),
    (
        "divisions",
        include_str!("../../docs/api/tags/divisions.md"),
    ),
    ("fighters", include_str!("../../docs/api/tags/fighters.md")),
    ("events", include_str!("../../docs/api/tags/events.md")),
    ("fights", include_str!("../../docs/api/tags/fights.md")),
    ("rankings", include_str!("../../docs/api/tags/rankings.md")),
    ("live", include_str!("../../docs/api/tags/live.md")),
    (
        "fight-control",
        include_str!("../../docs/api/tags/fight-control.md"),
    ),
    (
        "live-updates",
        include_str!("../../docs/api/tags/live-updates.md"),
    ),
    (
        "engagement",
        include_str!("../../docs/api/tags/engagement.md"),
    ),
    (
        "moderation",
        include_str!("../../docs/api/tags/moderation.md"),
    ),
    (
        "notifications",
        include_str!("../../docs/api/tags/notifications.md"),
    ),
    (
        "websocket",
        include_str!("../../docs/api/tags/websocket.md"),
    ),
];

/// The long prose: the API's description and the tags'.
struct Prose;

impl Modify for Prose {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.info.description = Some(
            include_str!("../../docs/api/description.md")
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

/// The generated document as JSON.
pub fn generated() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}
