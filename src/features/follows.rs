//! Follows (fighters and events, which push notifications target) and the
//! activity log clients report to: views and shares (comments, reactions,
//! votes and follows are logged by their own writes). Both are written
//! through the persistence actor, batched with the night's other writes.

use ringside_actors::vocabulary::{ActivityType, FollowTarget, Vocabulary};
use ringside_actors::Role;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{authorize, TokenUser};
use crate::db::activity::{self, Activity};
use crate::db::catalog;
use crate::db::follows::{self, Follow};
use crate::error::{refers, ApiError};
use crate::live::persist;
use crate::state::AppState;
use crate::validate;

/// What is followed: the body of `POST /api/follows/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FollowCreate, description = r#"Unknown fields are refused."#)]
pub struct Target {
    /// `event` is a catalog event, not a live event.
    #[schema(value_type = ringside_actors::vocabulary::FollowTarget)]
    pub target_type: String,
    /// The fighter's or event's id; must exist.
    pub target_id: i64,
}

/// A view or a share: the body of `POST /api/activity/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ActivityCreate, description = r#"Unknown fields are refused. `target_type` and `target_id` come together or not at all."#)]
pub struct ActivityInput {
    #[schema(value_type = ringside_actors::vocabulary::ActivityType)]
    pub activity_type: String,
    #[serde(default)]
    #[schema(schema_with = activity_target_schema)]
    pub target_type: Option<String>,
    #[serde(default)]
    /// Not checked to exist.
    #[schema(default = json!(null))]
    pub target_id: Option<i64>,
    #[serde(default)]
    /// The client's own session id; only its first 64 characters are kept.
    #[schema(default = json!(null))]
    pub session_id: Option<String>,
    #[serde(default)]
    /// Free-form; under 4 KiB as JSON (null is `{}`).
    #[schema(default = json!({}), value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// What a view or share may be of.
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
/// Client metadata is kept small: it is stored per row.
const MAX_METADATA_BYTES: usize = 4096;

fn target_type(value: &str) -> Result<FollowTarget, ApiError> {
    validate::one_of::<FollowTarget>("target_type", value)
}

/// Follows a fighter or an event; answers the follow and whether it is new
/// (following twice is not an error, and logs once).
pub async fn follow(
    state: &AppState,
    token: TokenUser,
    target: Target,
) -> Result<(Follow, bool), ApiError> {
    let Target {
        target_type: kind,
        target_id,
    } = target;
    let kind = target_type(&kind)?;
    let user = token.user_id;
    persist(&state.persister, move |conn| {
        authorize(conn, token, Role::Viewer)?;
        match kind {
            FollowTarget::Fighter => catalog::find_fighter(conn, target_id).map(|_| ()),
            FollowTarget::Event => catalog::find_event(conn, target_id).map(|_| ()),
        }
        .map_err(refers("target_id"))?;
        let kind = kind.as_str();
        let (follow, new) = follows::follow(conn, user, kind, target_id)?;
        if new {
            activity::record(
                conn,
                Activity {
                    user,
                    activity_type: ActivityType::Follow.as_str(),
                    target: Some((kind, target_id)),
                    session: None,
                    metadata: json!({}),
                },
            )?;
        }
        Ok((follow, new))
    })
    .await
}

/// Stops following; `not_found` when there was no such follow.
pub async fn unfollow(
    state: &AppState,
    user: i64,
    kind: &str,
    target_id: i64,
) -> Result<(), ApiError> {
    let kind = target_type(kind)?;
    let removed = state
        .db
        .run(move |c| {
            let kind = kind.as_str();
            follows::unfollow(c, user, kind, target_id).map_err(ApiError::from)
        })
        .await?;
    if removed == 0 {
        return Err(ApiError::not_found("follow"));
    }
    Ok(())
}

/// Records a view or a share, as a client reports it; stored in batches.
pub async fn record(state: &AppState, token: TokenUser, a: ActivityInput) -> Result<(), ApiError> {
    let kind = match ActivityType::parse(&a.activity_type) {
        Some(kind @ (ActivityType::View | ActivityType::Share)) => kind,
        _ => {
            return Err(ApiError::invalid(
                "activity_type",
                "clients report view or share; the rest is logged by the writes themselves",
            ))
        }
    };
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
    if !metadata.is_object() || metadata.to_string().len() > MAX_METADATA_BYTES {
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
        authorize(conn, token, Role::Viewer)?;
        activity::record(
            conn,
            Activity {
                user,
                activity_type: kind.as_str(),
                target: target.as_ref().map(|(t, id)| (t.as_str(), *id)),
                session,
                metadata,
            },
        )?;
        Ok(())
    })
    .await
}
