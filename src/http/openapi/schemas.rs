//! Schemas of answers the handlers build as JSON values (snapshots, pages,
//! totals, small results) and of the request bodies a handler reads into a
//! type shared with other operations: described here, once, as types, so
//! the document says what each answer carries. Never built: the handlers
//! write the JSON; `tests/integration/ops.rs` checks live answers carry
//! only documented fields.
#![allow(dead_code)] // described, never constructed

use serde::Serialize;
use utoipa::openapi::response::Response;
use utoipa::openapi::RefOr;
use utoipa::{ToResponse, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: String,
    pub database: String,
    /// `local`: one node; `redis`: several nodes, bus connected.
    pub bus: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiDocument {}

#[derive(Serialize, ToSchema)]
pub struct UnmuteResult {
    pub user: i64,
    #[schema(required = true)]
    pub live_event: Option<i64>,
    #[schema(minimum = 1)]
    pub lifted: i64,
}

#[derive(Serialize, ToSchema)]
pub struct UnbanResult {
    pub user: i64,
    pub banned: bool,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityRecorded {
    pub recorded: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ReadAllResult {
    /// How many notifications were unread and are now read.
    #[schema(minimum = 0)]
    pub marked: i64,
    pub unread: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SendResult {
    /// The campaign's id (see `GET /api/notifications/analytics/`).
    pub id: i64,
    /// Users a notification was stored for.
    #[schema(minimum = 0)]
    pub recipients: i64,
    /// Pushes queued (one per device).
    #[schema(minimum = 0)]
    pub deliveries: i64,
}

/// A page of campaigns; with `campaign`, that campaign alone.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Analytics {
    CampaignStatsPage(CampaignStatsPage),
    CampaignStats(Box<crate::db::notifications::CampaignStats>),
}

#[derive(Serialize, ToSchema)]
pub struct CampaignStatsPage {
    /// Newest first.
    pub results: Vec<crate::db::notifications::CampaignStats>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastResult {
    /// The campaign's id (see `GET /api/notifications/analytics/`).
    pub id: i64,
    /// The stored notification's id (the frame's `data.id`).
    pub notification: i64,
    /// WebSocket sessions on this node the frame was sent to (other nodes send it to theirs).
    #[schema(minimum = 0)]
    pub sessions: i64,
    /// Pushes queued (one per device).
    #[schema(minimum = 0)]
    pub deliveries: i64,
}

/// The answer to register and login.
#[derive(Serialize, ToSchema)]
pub struct Session {
    /// Bearer token (JWT, HS256) for the `Authorization` header.
    pub token: String,
    /// Seconds until the token expires.
    #[schema(minimum = 0)]
    pub expires_in: i64,
    pub user: crate::db::models::User,
}

#[derive(Serialize, ToSchema)]
pub struct DivisionCreate {
    /// Trimmed; unique.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(minimum = 1, maximum = 999)]
    pub weight_limit_lbs: f64,
}

#[derive(Serialize, ToSchema)]
pub struct FighterCreate {
    /// Trimmed.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Trimmed; absent or null for none.
    #[schema(min_length = 1, max_length = 100)]
    pub nickname: Option<String>,
    /// Division id; must exist.
    pub division: i64,
    #[schema(minimum = 0, maximum = 1000, default = json!(0), required = false)]
    pub wins: i32,
    #[schema(minimum = 0, maximum = 1000, default = json!(0), required = false)]
    pub losses: i32,
    #[schema(minimum = 0, maximum = 1000, default = json!(0), required = false)]
    pub draws: i32,
    #[schema(minimum = 0, maximum = 1000, default = json!(0), required = false)]
    pub no_contests: i32,
    /// Trimmed; absent or null for none.
    #[schema(min_length = 1, max_length = 100)]
    pub country: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventCreate {
    /// Trimmed.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Trimmed.
    #[schema(max_length = 200, default = json!(""), required = false)]
    pub venue: String,
    /// RFC 3339 with an offset.
    pub scheduled_start: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct FightCreate {
    /// Event id; must exist.
    pub event: i64,
    /// Fighter id; must exist.
    pub red_fighter: i64,
    /// Fighter id; must exist and differ from red_fighter.
    pub blue_fighter: i64,
    /// Division id; must exist.
    pub division: i64,
    #[schema(minimum = 1, maximum = 5, default = json!(3), required = false)]
    pub scheduled_rounds: i32,
    /// 1 is the main event; unique per event.
    #[schema(minimum = 1, maximum = 100)]
    pub card_order: i32,
    #[schema(default = json!(false), required = false)]
    pub is_title_fight: bool,
}

/// A contender in a division's table.
#[derive(Serialize, ToSchema)]
pub struct RankingEntry {
    /// Fighter id.
    pub fighter: i64,
    pub fighter_name: String,
    /// 1 is the top contender (the champion is not one).
    #[schema(minimum = 1)]
    pub rank: i64,
    /// Glicko-2 rating (a 0-0 fighter starts at 1500; a record or an
    /// imported place starts higher or lower).
    pub rating: f64,
    /// Glicko-2 rating deviation (350 for a 0-0 fighter; smaller with more fights).
    pub rating_deviation: f64,
    /// The rank held before the last change (null: champion, or newly ranked).
    #[schema(minimum = 1, required = true)]
    pub previous_rank: Option<i64>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A division's champion.
#[derive(Serialize, ToSchema)]
pub struct Champion {
    /// Fighter id.
    pub fighter: i64,
    pub fighter_name: String,
    /// When he won (or was given) the title.
    #[schema(required = true)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub rating: f64,
}

/// A division's ranking: the division, its champion (null: vacant) and
/// its top 15 contenders in rank order.
#[derive(Serialize, ToSchema)]
pub struct RankingTable {
    pub division: crate::db::models::Division,
    #[schema(required = true)]
    pub champion: Option<crate::http::openapi::schemas::Champion>,
    pub results: Vec<crate::http::openapi::schemas::RankingEntry>,
}

/// A place on the pound-for-pound list.
#[derive(Serialize, ToSchema)]
pub struct PoundForPoundEntry {
    /// Fighter id.
    pub fighter: i64,
    pub fighter_name: String,
    #[schema(minimum = 1, maximum = 15)]
    pub rank: i64,
    /// The division (id) of his best entry.
    pub division: i64,
    pub rating: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PoundForPound {
    pub results: Vec<crate::http::openapi::schemas::PoundForPoundEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct RankingHistoryPage {
    pub results: Vec<crate::db::rankings::HistoryRow>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The event a live event covers, as the snapshot embeds it.
#[derive(Serialize, ToSchema)]
pub struct EventDetail {
    pub id: i64,
    pub name: String,
    pub venue: String,
    pub scheduled_start: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct CornerFighter {
    pub id: i64,
    pub name: String,
}

/// One fight on a live event's card, as the snapshot shows it: an entry of a live event snapshot's `fights`, the answer of `GET /api/live/fights/{id}/` and of fight control, the `snapshot` of a `fight:` subscription and the `data` of `fight_state` frames.
#[derive(Serialize, ToSchema)]
pub struct LiveFight {
    /// The live fight's id.
    pub id: i64,
    /// The live event's id.
    pub live_event: i64,
    /// The fight's id.
    pub fight: i64,
    pub status: ringside_actors::vocabulary::FightStatus,
    /// 0 before the first round.
    #[schema(minimum = 0, maximum = 5)]
    pub current_round: i32,
    /// 3, or 5 for title fights and main events.
    #[schema(minimum = 1, maximum = 5)]
    pub scheduled_rounds: i32,
    #[schema(minimum = 1)]
    pub card_order: i64,
    pub is_title_fight: bool,
    /// Division id.
    pub division: i64,
    pub red_fighter: crate::http::openapi::schemas::CornerFighter,
    pub blue_fighter: crate::http::openapi::schemas::CornerFighter,
    #[schema(minimum = 0)]
    pub viewer_count: i64,
    /// The referee and the three judges, once assigned.
    #[schema(required = true)]
    pub officials: Option<ringside_actors::fight::Officials>,
    pub clock: ringside_actors::fight::view::Clock,
    pub stats: ringside_actors::fight::view::Stats,
    /// Every foul, with the points it took.
    pub fouls: Vec<ringside_actors::fight::Foul>,
    /// Each judge's card with deductions; null while hidden (the event's `settings.open_scoring` off and no result yet). Staff read them at `GET /api/live/fights/{id}/scorecards/`.
    #[schema(required = true)]
    pub scorecards: Option<Vec<ringside_actors::scoring::Card>>,
    /// How many judges' rounds are in.
    #[schema(minimum = 0)]
    pub scores_in: i64,
    /// What the cards of the rounds every judge has scored give now; only while in progress with the cards visible, never after a result.
    #[schema(required = true)]
    pub projected: Option<ringside_actors::scoring::Verdict>,
    /// Set once a result is recorded.
    #[schema(required = true)]
    pub result: Option<ringside_actors::fight::OfficialResult>,
    #[schema(required = true)]
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(required = true)]
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The fight's reaction totals (target `fight`). Only in `GET /api/live/fights/{id}/` and the `snapshot` of a `fight:` subscription.
    #[schema(required = false)]
    pub reactions: crate::http::openapi::schemas::ReactionCounts,
    /// The last 20 entries of the fight's timeline (all at `GET /api/live/fights/{id}/timeline/`). Only in `GET /api/live/fights/{id}/` and the `snapshot` of a `fight:` subscription.
    #[schema(required = false)]
    pub timeline: Vec<crate::http::openapi::schemas::TimelineEntry>,
    /// The transition this `fight_state` frame reports (its timeline entry). Only in `fight_state` frames.
    #[schema(required = false)]
    pub transition: crate::http::openapi::schemas::TimelineEntry,
}

/// One transition of a fight, as its timeline keeps it.
#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    /// 1, 2, 3… per fight.
    #[schema(minimum = 1)]
    pub n: i64,
    /// Its position on `fight:{id}`.
    #[schema(required = true)]
    pub seq: Option<i64>,
    pub kind: ringside_actors::vocabulary::TransitionKind,
    /// The transition's fields (a judge's numbers left out while the cards are hidden).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Who entered it (user id).
    #[schema(required = true)]
    pub by: Option<i64>,
    /// Server time.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/live/fights/{id}/timeline/`.
#[derive(Serialize, ToSchema)]
pub struct FightTimeline {
    pub live_fight: i64,
    pub results: Vec<crate::http::openapi::schemas::TimelineEntry>,
}

/// `GET /api/live/fights/{id}/scorecards/`.
#[derive(Serialize, ToSchema)]
pub struct Scorecards {
    pub live_fight: i64,
    pub judges: Vec<String>,
    #[schema(required = true)]
    pub cards: Option<Vec<ringside_actors::scoring::Card>>,
    pub fouls: Vec<ringside_actors::fight::Foul>,
    #[schema(required = true)]
    pub projected: Option<ringside_actors::scoring::Verdict>,
    #[schema(required = true)]
    pub result: Option<ringside_actors::fight::OfficialResult>,
}

/// Reactions per type; every type is present.
#[derive(Serialize, ToSchema)]
pub struct ReactionCounts {
    #[schema(minimum = 0)]
    pub like: i64,
    #[schema(minimum = 0)]
    pub wow: i64,
    #[schema(minimum = 0)]
    pub angry: i64,
    #[schema(minimum = 0)]
    pub sad: i64,
    #[schema(minimum = 0)]
    pub celebrate: i64,
}

/// A live event's snapshot: the summary row plus its event and its card in card order.
#[derive(Serialize, ToSchema)]
pub struct LiveEventDetail {
    #[serde(flatten)]
    pub live_event: crate::db::models::LiveEvent,
    pub event_detail: crate::http::openapi::schemas::EventDetail,
    pub fights: Vec<crate::http::openapi::schemas::LiveFight>,
    /// The live event's reaction totals (target `event`), so a client need not wait for the next `reactions` frame.
    pub reactions: crate::http::openapi::schemas::ReactionCounts,
    /// The event's open polls with their tallies (draft and closed polls are listed by `GET /api/live/polls/`).
    pub polls: Vec<crate::http::openapi::schemas::Poll>,
}

/// A live poll with its options (in the order given) and their tallies (also the `data` of `poll` frames).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 3, "live_event": 1, "live_fight": 3, "question": "Who wins?", "status": "open", "created_by": 2, "opened_at": "2026-12-05T21:00:00Z", "closed_at": null, "created_at": "2026-12-05T20:55:12Z", "options": [{"id": 11, "text": "Ruiz", "votes": 120}, {"id": 12, "text": "Okafor", "votes": 98}], "total_votes": 218}))]
pub struct Poll {
    pub id: i64,
    /// The live event (id) it belongs to.
    pub live_event: i64,
    /// The live fight (id) it is about, if any.
    #[schema(required = true)]
    pub live_fight: Option<i64>,
    #[schema(min_length = 1, max_length = 300)]
    pub question: String,
    pub status: ringside_actors::vocabulary::PollStatus,
    /// The creating moderator's user id (null once the account is deleted).
    #[schema(required = true)]
    pub created_by: Option<i64>,
    #[schema(required = true)]
    pub opened_at: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(required = true)]
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it closes by itself once open (the event's `settings.auto_poll_close`, on by default).
    #[schema(required = true)]
    pub closes_at: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(min_items = 2, max_items = 20)]
    pub options: Vec<crate::http::openapi::schemas::PollOption>,
    #[schema(minimum = 0)]
    pub total_votes: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PollOption {
    /// What a vote names as `option`.
    pub id: i64,
    #[schema(min_length = 1, max_length = 100)]
    pub text: String,
    #[schema(minimum = 0)]
    pub votes: i64,
}

/// One corner's counters for one round, next to `corner` and `round`. At least one counter; every other field must be a stat name. The counters after the change must be possible (landed at most attempted, significant at most all strikes, both corners' control time within the round's clock).
#[derive(Serialize, ToSchema)]
pub struct FightStatsRequest {
    pub corner: ringside_actors::fight::Winner,
    /// A round that has begun (1 to `current_round`).
    pub round: i64,
    /// Why: needed to lower a counter, or after the result (a correction).
    #[schema(required = false, max_length = 200)]
    pub reason: String,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub strikes_landed: i32,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub strikes_attempted: i32,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub significant_strikes_landed: i32,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub significant_strikes_attempted: i32,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub takedowns_landed: i32,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub takedowns_attempted: i32,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub knockdowns: i32,
    #[schema(minimum = 0, maximum = 10000, required = false)]
    pub submission_attempts: i32,
    /// Seconds of control in the round.
    #[schema(minimum = 0, maximum = 300, required = false)]
    pub control_time_s: i32,
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub results: Vec<crate::db::models::User>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DivisionPage {
    pub results: Vec<crate::db::models::Division>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FighterPage {
    pub results: Vec<crate::db::models::Fighter>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub results: Vec<crate::db::models::Event>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FightPage {
    pub results: Vec<crate::db::models::Fight>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LiveEventPage {
    pub results: Vec<crate::db::models::LiveEvent>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LiveUpdatePage {
    pub results: Vec<crate::db::models::LiveUpdate>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CommentReportResult {
    /// The reported comment (id).
    pub comment: i64,
    /// Its reports so far, this one included.
    #[schema(minimum = 1)]
    pub report_count: i64,
    /// Its status after the report (`hidden` when this report reached `MODERATION_AUTO_HIDE_REPORTS`).
    pub status: ringside_actors::vocabulary::CommentStatus,
}

#[derive(Serialize, ToSchema)]
pub struct Mute {
    /// The mute's id.
    pub id: i64,
    /// The muted user (id).
    pub user: i64,
    /// The live event (id) it applies to; null: everywhere.
    #[schema(required = true)]
    pub live_event: Option<i64>,
    /// When it ends, as stored.
    pub until: chrono::DateTime<chrono::Utc>,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct BanResult {
    /// The banned user (id).
    pub user: i64,
    pub banned: bool,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SlowMode {
    pub live_event: i64,
    #[schema(minimum = 0, maximum = 3600)]
    pub slow_mode_seconds: i32,
}

#[derive(Serialize, ToSchema)]
pub struct ReactionTarget {
    pub r#type: ringside_actors::vocabulary::ReactionTarget,
    pub id: i64,
}

/// A stored reaction (also the `data` of the `ack` of the WebSocket `react` op).
#[derive(Serialize, ToSchema)]
pub struct ReactionResult {
    pub target: crate::http::openapi::schemas::ReactionTarget,
    pub reaction_type: ringside_actors::vocabulary::ReactionType,
}

/// A target's exact stored totals (also the `data` of `reactions` frames).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"target": {"type": "fight", "id": 7}, "totals": {"angry": 2, "celebrate": 40, "like": 311, "sad": 0, "wow": 57}}))]
pub struct ReactionTotals {
    pub target: crate::http::openapi::schemas::ReactionTarget,
    pub totals: crate::http::openapi::schemas::ReactionCounts,
}

/// A stored vote (also the `data` of the `ack` of the WebSocket `vote` op).
#[derive(Serialize, ToSchema)]
pub struct VoteResult {
    pub poll: i64,
    pub option: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"channel": "comments:7", "count": 3, "users": [{"id": 4, "display_name": "Ana"}, {"id": 9, "display_name": "Ben"}]}))]
pub struct Presence {
    /// The channel name as asked.
    pub channel: String,
    /// Distinct members on every node: a signed-in user once however many sessions, each anonymous connection once.
    #[schema(minimum = 0)]
    pub count: i64,
    /// The signed-in members, by id, while `count` is at most `PRESENCE_LIST_MAX`; null above it. Anonymous members are counted, not listed.
    #[schema(required = true)]
    pub users: Option<Vec<PresenceUsers>>,
}

#[derive(Serialize, ToSchema)]
pub struct PresenceUsers {
    pub id: i64,
    pub display_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentPage {
    pub results: Vec<crate::db::comments::CommentView>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ModerationActionPage {
    /// Newest first.
    pub results: Vec<crate::db::moderation::ModerationAction>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PollPage {
    pub results: Vec<crate::http::openapi::schemas::Poll>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FollowPage {
    pub results: Vec<crate::db::follows::Follow>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    /// Newest first.
    pub results: Vec<crate::db::activity::ActivityRow>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Unknown fields are refused.
#[derive(Serialize, ToSchema)]
pub struct DeviceUnregisterRequest {
    pub platform: ringside_actors::vocabulary::Platform,
    /// The token as registered (trimmed, then 1 to 4096 characters).
    #[schema(min_length = 1, max_length = 4096)]
    pub token: String,
    /// Optional and ignored.
    pub app_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub results: Vec<crate::db::notifications::Notification>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// The caller's total unread count (whatever the filter and page).
    #[schema(minimum = 0)]
    pub unread: i64,
}

/// A 403 of the comment write: banned or muted. Only its name is used here
/// (`response = CommentForbidden` in an annotation); `finish` (in `super`) builds the
/// component from [`ERRORS`].
pub struct CommentForbidden;

impl<'s> ToResponse<'s> for CommentForbidden {
    fn response() -> (&'s str, RefOr<Response>) {
        ("CommentForbidden", RefOr::T(Response::new("")))
    }
}

/// A 429 of the comment write: the author's rate or the event's slow mode
/// (built like [`CommentForbidden`]).
pub struct CommentThrottled;

impl<'s> ToResponse<'s> for CommentThrottled {
    fn response() -> (&'s str, RefOr<Response>) {
        ("CommentThrottled", RefOr::T(Response::new("")))
    }
}

/// A long-poll answer: the frames that waited, and where to poll from next.
#[derive(Serialize, ToSchema)]
pub struct PollAnswer {
    /// Frames of the WebSocket protocol (the `websocket` tag), in order; an
    /// ended session's last answer ends with a `close` frame.
    #[schema(value_type = Vec<Object>)]
    pub frames: Vec<serde_json::Value>,
    /// Send it back as `?cursor=` on the next poll.
    pub cursor: String,
}

/// A live event's automation: its switches (defaults filled in) and its jobs.
#[derive(Serialize, ToSchema)]
pub struct AutomationOverview {
    pub settings: crate::features::automation::Settings,
    /// Pending jobs first (soonest due first), then the latest 50 others, newest first.
    pub jobs: Vec<crate::db::automation::Job>,
}

/// What a send would do.
#[derive(Serialize, ToSchema)]
pub struct SendPreview {
    /// Users the audience reaches now.
    #[schema(minimum = 0)]
    pub audience_size: i64,
    pub sample: PreviewSample,
}

/// The notification as one recipient would get it.
#[derive(Serialize, ToSchema)]
pub struct PreviewSample {
    /// Null when the audience reaches nobody.
    #[schema(required = true)]
    pub user: Option<PreviewUser>,
    pub title: String,
    pub message: String,
    #[schema(required = true)]
    pub action_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewUser {
    pub id: i64,
    pub display_name: String,
}

/// The moderators' panel of one user.
#[derive(Serialize, ToSchema)]
pub struct ModeratedUser {
    pub user: ModeratedAccount,
    pub banned: bool,
    pub mutes: Vec<MuteInForce>,
    /// Their latest 50 comments in any status, newest first.
    pub comments: Vec<AuthoredComment>,
    /// The latest 50 moderation actions on them, newest first.
    pub actions: Vec<crate::db::moderation::ModerationAction>,
}

#[derive(Serialize, ToSchema)]
pub struct ModeratedAccount {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: ringside_actors::Role,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct MuteInForce {
    /// Null: everywhere.
    #[schema(required = true)]
    pub live_event: Option<i64>,
    /// Null: until lifted.
    #[schema(required = true)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuthoredComment {
    pub id: i64,
    pub live_event: i64,
    pub content: String,
    pub status: ringside_actors::vocabulary::CommentStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The seed's live limits as the server applies them.
#[derive(Serialize, ToSchema)]
pub struct LiveLimits {
    pub max_concurrent_events: u32,
    pub max_viewers_per_event: u32,
    pub max_connections_per_user: u32,
    /// Bytes.
    pub max_message_size: usize,
    pub heartbeat_interval_s: u64,
    pub connection_timeout_s: u64,
    /// Comments per minute per user.
    pub comment_rate_limit: u32,
}
