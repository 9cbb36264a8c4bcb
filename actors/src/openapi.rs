//! The vocabularies as OpenAPI schemas (the `openapi` feature, which only
//! the server turns on): each a string whose values are the type's own, so
//! the document cannot list others.

use crate::vocabulary::{self, Vocabulary};

/// The OpenAPI schema of a vocabulary: a string whose `enum` is
/// [`Vocabulary::words`], so the document cannot list other values.
pub fn schema_of<V: Vocabulary>(
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description))
        .enum_values(Some(V::words()))
        .into()
}

/// Each vocabulary as a named OpenAPI schema (its name in the document and
/// what it means); the values come from the type.
macro_rules! openapi_schemas {
    ($($ty:ty => $name:literal, $description:literal;)+) => {$(
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                schema_of::<$ty>($description)
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
        }
    )+};
}

openapi_schemas! {
    crate::Role => "Role", "Ordered: viewer < reporter < moderator < admin; each role can do everything the roles below it can.";
    crate::EventStatus => "EventStatus", "A live event's (or live fight's) status: upcoming -> live -> completed, and cancelled from upcoming or live.";
    crate::fight::Winner => "Corner", "A corner of the cage.";
    vocabulary::ReactionType => "ReactionType", "What a reaction is.";
    vocabulary::ReactionTarget => "ReactionTargetType", "What a reaction is on: `update` (a verified live update), `comment` (a shown comment), `fight` (a live fight) or `event` (a live event).";
    vocabulary::UpdateType => "UpdateType", "What a live update reports.";
    vocabulary::ResultMethod => "ResultMethod", "How a fight ended, as the Unified Rules name it: finishes (`ko`, `tko`, `submission`, `technical_submission`), decisions and draws on the cards (`unanimous_decision`, `split_decision`, `majority_decision`, `unanimous_draw`, `split_draw`, `majority_draw`, and after an accidental-foul stoppage `technical_decision`, `technical_draw`), `dq` and `no_contest`.";
    vocabulary::Stoppage => "Stoppage", "Who stopped a fight won by TKO.";
    vocabulary::FightStatus => "FightStatus", "A live fight's status: upcoming -> in_progress -> completed, and cancelled from upcoming.";
    vocabulary::TransitionKind => "TransitionKind", "What a timeline entry records.";
    vocabulary::CommentStatus => "CommentStatus", "A comment's status: `active` (shown), `held` (caught by the content filter under `MODERATION_FILTER_ACTION=hold`, waiting for a moderator), `hidden` (by a moderator, or by reports), `deleted` (by a moderator; the row is kept). Only `active` comments are shown.";
    vocabulary::PollStatus => "PollStatus", "A poll's status: draft -> open -> closed. Votes are taken only while `open`.";
    vocabulary::ModerationAction => "ModerationActionType", "What a moderator (or the system) did; `automation` is a fired automation job (no moderator: the system), `cancel_automation` a job cancelled by staff. `unmute_user`, `unban_user` and `dismiss_report` are reserved: no operation records them yet.";
    vocabulary::ModerationTarget => "ModerationTarget", "What a moderation action was done to: a comment, a user, a live event (`event`), a live update, a report, a live fight, a poll or an automation job (`job`).";
    vocabulary::FollowTarget => "FollowTarget", "What can be followed: a fighter or a catalog event (not a live event).";
    vocabulary::ActivityType => "ActivityType", "What the activity log records.";
    vocabulary::NotificationType => "NotificationType", "`fight_result`, `ranking_change`, `event_start` and `breaking_news` come from the triggers (see the `notifications` tag); admins' sends may use any type but `emergency`; `emergency` is only the broadcast's (`POST /api/admin/broadcast/`).";
    vocabulary::DeliveryStatus => "DeliveryStatus", "Push delivery: `pending` (queued), `sending`, `sent` (every device accepted it), `partial` (some did), `failed` (none did) or `skipped` (no device to push to: none active, push off, quiet hours, or no provider for its platforms).";
    vocabulary::Platform => "Platform", "A device's push platform.";
    vocabulary::RankingCause => "RankingCause", "Why a ranking moved: `entered` (a fighter was placed from his record: created, record corrected, moved division, or first fight in a division), `imported` (an imported ranking), `fight` (his own result), `passed` (another fighter's move shifted him), `amended` (his result was reversed).";
    vocabulary::JobKind => "AutomationJobKind", "What an automation job does: `auto_start` (start the live event at its `start_time`), `reminder` (notify the event's followers before it), `advance` (announce the next fight as \"up next\" and start it), `round_end` (end a round whose clock reached 5:00), `poll_close` (close a poll at its `closes_at`), `complete` (end the live event after its last fight).";
    vocabulary::JobStatus => "AutomationJobStatus", "An automation job's status: `pending` (planned), `done` (fired), `cancelled` (by staff), `skipped` (fired and found nothing to do: `outcome` says why).";
    vocabulary::CampaignSource => "CampaignSource", "What fired a campaign: a trigger, `POST /api/notifications/send/` or `POST /api/admin/broadcast/`.";
}
