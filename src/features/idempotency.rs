//! `Idempotency-Key` on POSTs: a signed-in caller's retry with the same key
//! within 24 hours answers the first answer and writes nothing, on any node
//! (a reporter whose phone timed out must not post a knockdown twice).
//!
//! The rules, per (user, key):
//! - a request claims the key before it runs, with a random attempt number;
//! - every write it commits (through the persistence actor or
//!   `Db::transaction`) first marks the key committed, only if the key is
//!   still its attempt's, so exactly one attempt can apply anything, and the
//!   key's row stays locked while that write is open;
//! - when it has answered: an attempt that applied something keeps its
//!   answer (status, type, body) for replay; one that applied nothing (a
//!   refusal, a 503) releases the key, so a retry runs anew;
//! - a retry while the first is running answers 409 `idempotency_in_progress`;
//!   with another method, path or body, 409 `idempotency_key_reused`; after
//!   a claimer that applied something died before keeping its answer, 409
//!   `already_applied`.

use chrono::Utc;
use ring::digest;

use crate::db::idempotency::{self as db, Claimed};
use crate::error::{ApiError, ConflictCode};
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
pub const KEEP_FOR_HOURS: i64 = 24;

/// What to do with a request that came with a key.
pub enum Begin {
    /// Run it under this claim.
    Run(Claimed),
    /// Answer what the first request answered.
    Replay {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
}

/// The header's value: 1 to 255 visible ASCII characters.
pub fn parse_key(raw: &[u8]) -> Result<String, ApiError> {
    let visible = |b: &u8| (0x21..=0x7e).contains(b);
    if raw.is_empty() || raw.len() > 255 || !raw.iter().all(visible) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(String::from_utf8_lossy(raw).into_owned())
}

/// What makes two requests the same: method, path and query, body.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(method.as_bytes());
    ctx.update(b" ");
    ctx.update(path.as_bytes());
    ctx.update(b"\n");
    ctx.update(body);
    ctx.finish().as_ref().to_vec()
}

fn conflict(code: ConflictCode, message: &str) -> ApiError {
    ApiError::Conflict {
        code,
        message: message.into(),
    }
}

fn random_attempt() -> Result<i64, ApiError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("random attempt: {e}")))?;
    Ok(i64::from_le_bytes(bytes))
}

/// Claims `key` for `user`'s request, or says how to answer instead.
pub async fn begin(
    state: &AppState,
    user: i64,
    key: String,
    hash: Vec<u8>,
) -> Result<Begin, ApiError> {
    let claimed = Claimed {
        user,
        key,
        attempt: random_attempt()?,
    };
    // Long enough for the request's write to commit (its deadline); a
    // later retry may take the key over, which then supersedes this one.
    let hold = chrono::Duration::from_std(state.db.timeout() * 2).unwrap_or_default();
    // Fenced like any write: a claim the database takes only after this
    // request was answered 503 must not hold the key against its retry.
    state
        .db
        .transaction(move |c| {
            let now = Utc::now();
            if db::insert(c, &claimed, &hash, now + hold)? {
                return Ok(Begin::Run(claimed));
            }
            let Some(row) = db::find_for_update(c, &claimed)? else {
                return Err(conflict(
                    ConflictCode::IdempotencyInProgress,
                    "a request with this Idempotency-Key is being answered; retry shortly",
                ));
            };
            let expired = row.created_at < now - chrono::Duration::hours(KEEP_FOR_HOURS);
            if !expired && row.request_hash != hash {
                return Err(conflict(
                    ConflictCode::IdempotencyKeyReused,
                    "this Idempotency-Key was used for a different request",
                ));
            }
            if !expired {
                if let (Some(status), Some(body)) = (row.status, row.response) {
                    return Ok(Begin::Replay {
                        status: u16::try_from(status).unwrap_or(200),
                        content_type: row.content_type,
                        body,
                    });
                }
                if row.locked_until > now {
                    return Err(conflict(
                        ConflictCode::IdempotencyInProgress,
                        "a request with this Idempotency-Key is being answered; retry shortly",
                    ));
                }
                if row.committed {
                    return Err(conflict(
                        ConflictCode::AlreadyApplied,
                        "a request with this Idempotency-Key was applied, but its answer \
                         was lost; do not send it again",
                    ));
                }
            }
            // Expired, or the last attempt applied nothing and is gone.
            db::reclaim(c, &claimed, &hash, now + hold)?;
            Ok(Begin::Run(claimed))
        })
        .await
}

/// After the request answered: keep the answer if it applied something,
/// release the key otherwise. A failure here only costs the replay (a
/// retry then hears `already_applied` or runs anew), so it is logged.
pub async fn end(
    state: &AppState,
    claimed: Claimed,
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
) {
    let key = claimed.key.clone();
    let done = state
        .db
        .run(move |c| {
            let status = i16::try_from(status).unwrap_or(500);
            db::finish(c, &claimed, status, content_type.as_deref(), &body).map_err(ApiError::from)
        })
        .await;
    if let Err(e) = done {
        tracing::warn!(%key, "could not keep the answer of an Idempotency-Key: {e}");
    }
}
