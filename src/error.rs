//! Every error a client can see, and the one place it becomes a status code
//! and a stable `code`: `{"error":{"code","message","details"}}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::{json, Value};

use ringside_actors::protocol::ErrorCode;
use ringside_actors::writes::Refusal;

use crate::db::DbError;

/// `Retry-After` on a 503, in seconds.
pub const UNAVAILABLE_RETRY_AFTER_S: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        message: String,
        details: Option<Value>,
    },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("this account is banned")]
    Banned,
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A request that clashes with the current state; `code` says how.
    #[error("{message}")]
    Conflict { code: ConflictCode, message: String },
    /// A conflict with what the client needs to see of the state.
    #[error("{message}")]
    ConflictWith {
        code: ConflictCode,
        message: String,
        details: Value,
    },
    #[error("{0}")]
    TooLarge(String),
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// The body did not arrive whole within `BODY_TIMEOUT`.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("too many requests; retry in {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    /// Muted on this event (or everywhere) until `until` (`None`: until lifted).
    #[error("you are muted{}", until_text(until))]
    Muted {
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    #[error("slow mode: one comment every {seconds} s; retry in {retry_after_ms} ms")]
    SlowMode { seconds: i32, retry_after_ms: u64 },
    /// The content filter refused the text.
    #[error("comment refused: {0}")]
    ContentRejected(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

/// How a request clashes with the current state (409's `code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictCode {
    AlreadyExists,
    InUse,
    InvalidTransition,
    TooManyLiveEvents,
    LastAdmin,
    AlreadyVoted,
    PollNotOpen,
    FightInProgress,
    OfficialsMissing,
    CardsIncomplete,
    ContradictsScorecards,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    AlreadyApplied,
}

impl ConflictCode {
    pub const ALL: [ConflictCode; 14] = [
        ConflictCode::AlreadyExists,
        ConflictCode::InUse,
        ConflictCode::InvalidTransition,
        ConflictCode::TooManyLiveEvents,
        ConflictCode::LastAdmin,
        ConflictCode::AlreadyVoted,
        ConflictCode::PollNotOpen,
        ConflictCode::FightInProgress,
        ConflictCode::OfficialsMissing,
        ConflictCode::CardsIncomplete,
        ConflictCode::ContradictsScorecards,
        ConflictCode::IdempotencyInProgress,
        ConflictCode::IdempotencyKeyReused,
        ConflictCode::AlreadyApplied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConflictCode::AlreadyExists => "already_exists",
            ConflictCode::InUse => "in_use",
            ConflictCode::InvalidTransition => "invalid_transition",
            ConflictCode::TooManyLiveEvents => "too_many_live_events",
            ConflictCode::LastAdmin => "last_admin",
            ConflictCode::AlreadyVoted => "already_voted",
            ConflictCode::PollNotOpen => "poll_not_open",
            ConflictCode::FightInProgress => "fight_in_progress",
            ConflictCode::OfficialsMissing => "officials_missing",
            ConflictCode::CardsIncomplete => "cards_incomplete",
            ConflictCode::ContradictsScorecards => "contradicts_scorecards",
            ConflictCode::IdempotencyInProgress => "idempotency_in_progress",
            ConflictCode::IdempotencyKeyReused => "idempotency_key_reused",
            ConflictCode::AlreadyApplied => "already_applied",
        }
    }
}

fn until_text(until: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    match until {
        Some(t) => format!(
            " until {}",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => " until a moderator lifts it".into(),
    }
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            details: None,
        }
    }

    /// A field that failed validation, named in `details`.
    pub fn invalid(field: &str, problem: impl Into<String>) -> ApiError {
        let problem = problem.into();
        ApiError::BadRequest {
            message: format!("{field}: {problem}"),
            details: Some(json!({ field: problem })),
        }
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// One error of every kind a client can see (each conflict code once),
    /// in status order: the OpenAPI document takes its codes, statuses and
    /// examples from here, so a new variant is documented by adding it.
    pub fn catalogue() -> Vec<ApiError> {
        let mut all = vec![
            ApiError::invalid("name", "must be 1 to 100 characters"),
            ApiError::Unauthorized("authentication required"),
            ApiError::Forbidden("this needs the admin role".into()),
            ApiError::Banned,
            ApiError::Muted { until: None },
            ApiError::not_found("fighter"),
            ApiError::MethodNotAllowed,
            ApiError::RequestTimeout,
        ];
        all.extend(ConflictCode::ALL.map(|code| ApiError::Conflict {
            code,
            message: format!("{} (example)", code.as_str()),
        }));
        all.extend([
            ApiError::TooLarge("body larger than the limit (example)".into()),
            ApiError::UnsupportedMediaType,
            ApiError::ContentRejected("blocked term".into()),
            ApiError::RateLimited {
                retry_after_ms: 1200,
            },
            ApiError::SlowMode {
                seconds: 30,
                retry_after_ms: 12400,
            },
            ApiError::Internal(String::new()),
            ApiError::Unavailable("database unavailable".into()),
        ]);
        all
    }

    /// `details` as the body carries it.
    fn details(&self) -> Value {
        match self {
            ApiError::BadRequest { details, .. } => details.clone().unwrap_or(Value::Null),
            ApiError::RateLimited { retry_after_ms } => json!({ "retry_after_ms": retry_after_ms }),
            ApiError::SlowMode {
                seconds,
                retry_after_ms,
            } => json!({ "retry_after_ms": retry_after_ms, "slow_mode_seconds": seconds }),
            ApiError::Muted { until } => json!({ "until": until }),
            ApiError::ConflictWith { details, .. } => details.clone(),
            _ => Value::Null,
        }
    }

    /// The body this error answers.
    pub fn body(&self) -> Value {
        json!({
            "error": { "code": self.code(), "message": self.to_string(), "details": self.details() }
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Banned => "banned",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } | ApiError::ConflictWith { code, .. } => code.as_str(),
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Muted { .. } => "muted",
            ApiError::SlowMode { .. } => "slow_mode",
            ApiError::ContentRejected(_) => "content_rejected",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Banned => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::ConflictWith { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited { .. } | ApiError::SlowMode { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Muted { .. } => StatusCode::FORBIDDEN,
            ApiError::ContentRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::RateLimited { retry_after_ms }
            | ApiError::SlowMode { retry_after_ms, .. } => {
                response.insert_header((
                    header::RETRY_AFTER,
                    retry_after_ms.div_ceil(1000).max(1).to_string(),
                ));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            // Storage away or the server stopping: nothing was applied, and
            // a retry a moment later (with the same Idempotency-Key) is safe.
            ApiError::Unavailable(_) => {
                response
                    .insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_S.to_string()));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

impl ApiError {
    /// The same error as a WebSocket client hears it (`error` frame).
    pub fn refusal(&self) -> Refusal {
        let code = match self {
            ApiError::BadRequest { .. } => ErrorCode::BadRequest,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::Banned => ErrorCode::Banned,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::TooLarge(_) => ErrorCode::TooLarge,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Muted { .. } => ErrorCode::Muted,
            ApiError::SlowMode { .. } => ErrorCode::SlowMode,
            ApiError::Unavailable(_) | ApiError::Internal(_) => ErrorCode::Unavailable,
            other => ErrorCode::Other(other.code()),
        };
        let retry_after_ms = match self {
            ApiError::RateLimited { retry_after_ms }
            | ApiError::SlowMode { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        };
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let message = match self {
            ApiError::Internal(_) => "internal error; try again".to_string(),
            other => other.to_string(),
        };
        Refusal {
            code,
            message,
            retry_after_ms,
        }
    }
}

/// The fight's rules refuse a change: a bad value (400), or not now (409,
/// with what the cards give or lack when that is why).
impl From<ringside_actors::fight::FightError> for ApiError {
    fn from(e: ringside_actors::fight::FightError) -> ApiError {
        use ringside_actors::fight::FightError as F;
        let message = e.to_string();
        let conflict = |code| ApiError::Conflict {
            code,
            message: message.clone(),
        };
        match e {
            F::Invalid { field, message } => ApiError::invalid(field, message),
            F::WrongState(_) => conflict(ConflictCode::InvalidTransition),
            F::OfficialsMissing => conflict(ConflictCode::OfficialsMissing),
            F::FightInProgress(fight) => ApiError::ConflictWith {
                code: ConflictCode::FightInProgress,
                message,
                details: json!({ "live_fight": fight }),
            },
            F::AlreadyScored { .. } => conflict(ConflictCode::AlreadyExists),
            F::CardsIncomplete(missing) => ApiError::ConflictWith {
                code: ConflictCode::CardsIncomplete,
                message,
                details: json!({ "missing": missing
                    .iter()
                    .map(|(judge, round)| json!({ "judge": judge, "round": round }))
                    .collect::<Vec<_>>() }),
            },
            F::ContradictsScorecards(verdict) => ApiError::ConflictWith {
                code: ConflictCode::ContradictsScorecards,
                message,
                details: json!({ "cards_give": verdict }),
            },
        }
    }
}

/// The persistence actor refused a write before running it.
impl From<ringside_actors::persistence::PersistError> for ApiError {
    fn from(e: ringside_actors::persistence::PersistError) -> ApiError {
        use ringside_actors::persistence::PersistError;
        match e {
            PersistError::Full => ApiError::Unavailable(
                "storage is unavailable and the write queue is full; try again shortly".into(),
            ),
            PersistError::Stopped => ApiError::Unavailable("the server is shutting down".into()),
            PersistError::Expired => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl From<crate::db::pagination::BadLimit> for ApiError {
    fn from(e: crate::db::pagination::BadLimit) -> ApiError {
        ApiError::invalid("limit", e.to_string())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        match e {
            DbError::Query(e) => e.into(),
            DbError::Pool(e) => ApiError::Unavailable(format!("database unavailable: {e}")),
            DbError::Cancelled => ApiError::Unavailable("server is shutting down".into()),
            DbError::TimedOut(_) => {
                ApiError::Unavailable(format!("{e}; nothing was written, try again"))
            }
            DbError::Superseded => ApiError::Conflict {
                code: ConflictCode::IdempotencyInProgress,
                message: e.to_string(),
            },
            DbError::Migration(e) => ApiError::Internal(e),
        }
    }
}

impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> ApiError {
        match e {
            DieselError::NotFound => ApiError::NotFound("not found".into()),
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or_default().to_string();
                match kind {
                    DatabaseErrorKind::UniqueViolation => ApiError::Conflict {
                        code: crate::error::ConflictCode::AlreadyExists,
                        message: format!("already exists ({constraint})"),
                    },
                    // Deleting something still referenced.
                    DatabaseErrorKind::ForeignKeyViolation
                        if info.message().starts_with("update or delete") =>
                    {
                        ApiError::Conflict {
                            code: crate::error::ConflictCode::InUse,
                            message: format!("still referenced by other records ({constraint})"),
                        }
                    }
                    DatabaseErrorKind::ForeignKeyViolation => {
                        let field =
                            field_of_constraint(info.table_name().unwrap_or_default(), &constraint);
                        ApiError::invalid(&field, "refers to something that does not exist")
                    }
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                        ApiError::BadRequest {
                            message: format!("a value is out of range ({constraint})"),
                            details: Some(json!({ "constraint": constraint })),
                        }
                    }
                    DatabaseErrorKind::SerializationFailure => {
                        ApiError::Unavailable("concurrent update; try again".into())
                    }
                    _ if info.message().starts_with(crate::db::fence::REFUSAL) => {
                        ApiError::Unavailable(
                            "the database did not commit the write in time; nothing was \
                             written, try again"
                                .into(),
                        )
                    }
                    // Text PostgreSQL cannot store (NUL in `text` or `jsonb`).
                    // The edge refuses it per field first (`http::validate`);
                    // this only keeps anything that slips past from being a 500.
                    _ if unstorable_text(info.message()) => ApiError::BadRequest {
                        message: "the text contains a character that cannot be stored".into(),
                        details: None,
                    },
                    _ => ApiError::Internal(info.message().to_string()),
                }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// PostgreSQL's messages for text it refuses to store: SQLSTATE 22021
/// (`character_not_in_repertoire`, NUL in `text`) and 22P05
/// (`untranslatable_character`, `\u0000` in `jsonb`); diesel gives the
/// message, not the state.
fn unstorable_text(message: &str) -> bool {
    message.starts_with("invalid byte sequence for encoding")
        || message.starts_with("unsupported Unicode escape sequence")
}

/// `fights_red_fighter_id_fkey` on `fights` → `red_fighter`: the API's name.
fn field_of_constraint(table: &str, constraint: &str) -> String {
    let name = constraint.strip_prefix(table).unwrap_or(constraint);
    let name = name.trim_start_matches('_').trim_end_matches("_fkey");
    name.strip_suffix("_id").unwrap_or(name).to_string()
}

/// Names the missing thing in a 404.
pub fn named(what: &'static str) -> impl Fn(ApiError) -> ApiError {
    move |e| match e {
        ApiError::NotFound(_) => ApiError::not_found(what),
        other => other,
    }
}

/// Words a uniqueness clash for the client.
pub fn already_exists(message: &'static str) -> impl Fn(ApiError) -> ApiError {
    move |e| match e {
        ApiError::Conflict { .. } => ApiError::Conflict {
            code: crate::error::ConflictCode::AlreadyExists,
            message: message.into(),
        },
        other => other,
    }
}

/// A reference to something missing becomes a field error.
pub fn refers(field: &'static str) -> impl Fn(diesel::result::Error) -> ApiError {
    move |e| match ApiError::from(e) {
        ApiError::NotFound(_) => {
            ApiError::invalid(field, "refers to something that does not exist")
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_become_field_names() {
        assert_eq!(
            field_of_constraint("fights", "fights_red_fighter_id_fkey"),
            "red_fighter"
        );
        assert_eq!(
            field_of_constraint("fighters", "fighters_division_id_fkey"),
            "division"
        );
    }
}
