//! Notifications: templates written once per type and filled per user, the
//! triggers that create them, and who they reach. Each firing is one
//! campaign: a notification per recipient, stored and numbered on
//! `user:{id}` in the transaction of the change that caused it (so a
//! connected user gets it at once and an offline one finds it later), and a
//! push delivery per device in the same transaction (the outbox the
//! dispatcher in `crate::push` drains).

pub mod admin;
pub mod inbox;
pub mod templates;

use diesel::{PgConnection, QueryResult};
use serde_json::{json, Value};

use crate::db::catalog;
use crate::db::models::{Fight, LiveUpdate};
use crate::db::notifications::{self, NewCampaign, Personal, PushTargets, Sent};
use crate::features::rankings::Move;
use templates::Template;

/// The preference switch a notification type obeys (`system` obeys none).
fn switch_of(notification_type: &str) -> Option<&'static str> {
    match notification_type {
        "fight_result" => Some("fight_results"),
        "breaking_news" => Some("breaking_news"),
        "ranking_change" => Some("ranking_changes"),
        "event_start" => Some("event_start"),
        "user_activity" => Some("user_activity"),
        _ => None,
    }
}

/// Who a notification is for, before preferences have their say.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// Only these users (an admin's list); `None`: anyone.
    pub users: Option<Vec<i64>>,
    /// Followers of any of these fighters or events.
    pub fighters: Vec<i64>,
    pub events: Vec<i64>,
    /// Everyone else too, except users who asked for followed things only.
    pub everyone: bool,
}

/// Users (id, display name) a notification of `notification_type` reaches:
/// not banned, the type's switch on (absent preferences: all on), and
/// either following one of the reach's fighters or events, or reached as
/// "everyone" without `followed_only`. A listed user is reached as everyone
/// is, and `system` and `user_activity` notifications ignore `followed_only`
/// (it narrows what is about fighters and events; a reply to you or a system
/// message is not).
pub fn recipients(
    conn: &mut PgConnection,
    notification_type: &str,
    reach: &Reach,
) -> QueryResult<Vec<(i64, String)>> {
    notifications::recipients(
        conn,
        notifications::Audience {
            switch: switch_of(notification_type),
            users: reach.users.as_deref(),
            fighters: &reach.fighters,
            events: &reach.events,
            everyone: reach.everyone,
            ignore_followed_only: matches!(notification_type, "system" | "user_activity"),
        },
    )
}

/// A trigger's campaign: what it is about and the text per recipient.
fn fire(
    conn: &mut PgConnection,
    notification_type: &str,
    reach: Reach,
    action_url: String,
    data: Value,
    push: &PushTargets,
    text: impl Fn(&str) -> (String, String),
) -> QueryResult<Sent> {
    let people = recipients(conn, notification_type, &reach)?;
    if people.is_empty() {
        return Ok(Sent::default());
    }
    let personal: Vec<Personal> = people
        .iter()
        .map(|(user, name)| {
            let (title, message) = text(name);
            Personal {
                recipient: *user,
                title,
                message,
            }
        })
        .collect();
    let campaign = NewCampaign {
        source: "trigger",
        notification_type: notification_type.into(),
        audience: json!({
            "kind": "trigger", "fighters": reach.fighters, "events": reach.events,
            "everyone": reach.everyone,
        }),
        created_by: None,
        title: text("").0,
        action_url: Some(action_url),
        data,
    };
    notifications::send(conn, &campaign, personal, push)
}

/// After an official result: followers of either fighter or the event, and
/// everyone else whose preferences ask for results (unless they follow
/// only what they follow).
pub fn on_fight_result(
    conn: &mut PgConnection,
    fight: &Fight,
    push: &PushTargets,
) -> QueryResult<Sent> {
    let (Some(method), Some(round), Some(time)) = (
        fight.result_method.as_deref(),
        fight.result_round,
        fight.result_time.as_deref(),
    ) else {
        return Ok(Sent::default());
    };
    let names = catalog::fighter_names(conn, &[fight.red_fighter_id, fight.blue_fighter_id])?;
    let name_of = |id: i64| {
        names
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let (red, blue) = (
        name_of(fight.red_fighter_id),
        name_of(fight.blue_fighter_id),
    );
    let winner = match fight.winner_corner.as_deref() {
        Some("red") => red.clone(),
        Some("blue") => blue.clone(),
        _ => String::new(),
    };
    let event = crate::db::catalog::find_event(conn, fight.event_id)?;
    let outcome = match fight.winner_corner.as_deref() {
        Some(_) => Template::FightResult,
        None => Template::FightResultNoWinner,
    };
    let method_words = templates::method_words(method);
    fire(
        conn,
        "fight_result",
        Reach {
            fighters: vec![fight.red_fighter_id, fight.blue_fighter_id],
            events: vec![fight.event_id],
            everyone: true,
            ..Reach::default()
        },
        format!("/fights/{}", fight.id),
        json!({
            "fight": fight.id, "event": fight.event_id, "winner": fight.winner_corner,
            "method": method, "round": round, "time": time,
        }),
        push,
        |user| {
            outcome.render(&templates::Fields {
                user,
                red: &red,
                blue: &blue,
                winner: &winner,
                method: &method_words,
                round,
                time,
                event: &event.name,
            })
        },
    )
}

/// After a result moved rankings: followers of each fighter who fought and
/// whose rank changed (the caller passes `Applied::to_notify`), unless
/// their preferences turn ranking changes off. The text says the move and why.
pub fn on_ranking_moves(
    conn: &mut PgConnection,
    moves: &[&Move],
    push: &PushTargets,
) -> QueryResult<Sent> {
    let mut sent = Sent::default();
    for m in moves {
        let fighter = catalog::find_fighter(conn, m.fighter)?.name;
        let division = catalog::find_division(conn, m.division)?.name;
        sent.absorb(fire(
            conn,
            "ranking_change",
            Reach {
                fighters: vec![m.fighter],
                ..Reach::default()
            },
            format!("/rankings/?division={}", m.division),
            json!({
                "fighter": m.fighter, "division": m.division, "fight": m.fight,
                "cause": m.cause,
                "rank_before": m.rank_before, "rank_after": m.rank_after,
                "rating_before": m.rating_before, "rating_after": m.rating_after,
                "reason": m.reason,
            }),
            push,
            |user| {
                templates::ranking_change(
                    user,
                    &fighter,
                    &division,
                    templates::RankMove {
                        before: m.rank_before,
                        after: m.rank_after,
                        rating_before: m.rating_before,
                        rating_after: m.rating_after,
                        reason: &m.reason,
                    },
                )
            },
        )?);
    }
    Ok(sent)
}

/// A live event started: followers of its event, unless their preferences
/// turn event starts off.
pub fn on_event_start(
    conn: &mut PgConnection,
    live: &crate::db::models::LiveEvent,
    push: &PushTargets,
) -> QueryResult<Sent> {
    let event = crate::db::catalog::find_event(conn, live.event_id)?;
    fire(
        conn,
        "event_start",
        Reach {
            events: vec![live.event_id],
            ..Reach::default()
        },
        format!("/live/events/{}", live.id),
        json!({ "live_event": live.id, "event": live.event_id }),
        push,
        |user| templates::event_start(user, &event.name, &event.venue),
    )
}

/// A breaking update went out: everyone who wants breaking news (those who
/// follow only what they follow, if they follow the event).
pub fn on_breaking_news(
    conn: &mut PgConnection,
    update: &LiveUpdate,
    push: &PushTargets,
) -> QueryResult<Sent> {
    let event = crate::db::live_events::find(conn, update.live_event_id)?.event_id;
    fire(
        conn,
        "breaking_news",
        Reach {
            events: vec![event],
            everyone: true,
            ..Reach::default()
        },
        format!("/live/events/{}", update.live_event_id),
        json!({ "live_event": update.live_event_id, "update": update.id, "event": event }),
        push,
        |user| templates::breaking_news(user, &update.title, &update.description),
    )
}

/// Someone answered a comment: its author hears it (`user_activity`),
/// unless their preferences turn user activity off.
pub fn on_reply(
    conn: &mut PgConnection,
    reply: &crate::db::comments::CommentView,
    parent: &crate::db::models::LiveComment,
    push: &PushTargets,
) -> QueryResult<Sent> {
    let live = reply.comment.live_event_id;
    fire(
        conn,
        "user_activity",
        Reach {
            users: Some(vec![parent.user_id]),
            ..Reach::default()
        },
        format!("/live/events/{live}/comments/?parent={}", parent.id),
        json!({
            "comment": reply.comment.id, "parent_comment": parent.id, "live_event": live,
            "author": reply.comment.user_id,
        }),
        push,
        |user| templates::reply(user, &reply.user_display_name, &reply.comment.content),
    )
}
