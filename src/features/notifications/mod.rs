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
use ringside_actors::fight::{OfficialResult, Winner};
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

/// An official result: followers of either fighter or of the event, and
/// everyone who wants results, unless their preferences turn results off.
/// The text says the method and its details, the round and time (the cards
/// for a decision) and a title changing hands.
pub fn on_fight_result(
    conn: &mut PgConnection,
    fight: &Fight,
    result: &OfficialResult,
    title_won: bool,
    push: &PushTargets,
) -> QueryResult<Sent> {
    let told = Told::of(conn, fight, result, title_won)?;
    let template = match result.winner {
        Some(_) => Template::FightResult,
        None => Template::FightResultNoWinner,
    };
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
        told.data(result, None),
        push,
        |user| template.render(&told.fields(user, "")),
    )
}

/// A result amended or overturned: a correction to everyone who was told
/// the result (and still takes results).
pub fn on_result_amended(
    conn: &mut PgConnection,
    fight: &Fight,
    before: &OfficialResult,
    after: &OfficialResult,
    title_won: bool,
    push: &PushTargets,
) -> QueryResult<Sent> {
    let users = crate::db::notifications::told_of_fight(conn, "fight_result", fight.id)?;
    if users.is_empty() {
        return Ok(Sent::default());
    }
    let told = Told::of(conn, fight, after, title_won)?;
    let reason = after.reason.clone().unwrap_or_default();
    let template = match after.winner {
        Some(_) => Template::Amended,
        None => Template::AmendedNoWinner,
    };
    fire(
        conn,
        "fight_result",
        Reach {
            users: Some(users),
            fighters: vec![fight.red_fighter_id, fight.blue_fighter_id],
            events: vec![fight.event_id],
            everyone: true,
        },
        format!("/fights/{}", fight.id),
        told.data(after, Some(before)),
        push,
        |user| template.render(&told.fields(user, &reason)),
    )
}

/// What a result notification says, worked out once for every recipient.
struct Told {
    red: String,
    blue: String,
    winner: String,
    method: &'static str,
    how: String,
    when: String,
    event: String,
    title: String,
    fight: i64,
    event_id: i64,
}

impl Told {
    fn of(
        conn: &mut PgConnection,
        fight: &Fight,
        result: &OfficialResult,
        title_won: bool,
    ) -> QueryResult<Told> {
        let (red, blue) = catalog::corner_names(conn, fight)?;
        let winner = match result.winner {
            Some(Winner::Red) => red.clone(),
            Some(Winner::Blue) => blue.clone(),
            None => String::new(),
        };
        let title = if title_won {
            let division = catalog::find_division(conn, fight.division_id)?.name;
            format!(" and is the new {division} champion")
        } else {
            String::new()
        };
        Ok(Told {
            red,
            blue,
            winner,
            method: templates::method_words(result.method),
            how: templates::result_words(result),
            when: templates::result_when(result, fight.scheduled_rounds),
            event: catalog::find_event(conn, fight.event_id)?.name,
            title,
            fight: fight.id,
            event_id: fight.event_id,
        })
    }

    fn fields<'a>(&'a self, user: &'a str, reason: &'a str) -> templates::Fields<'a> {
        templates::Fields {
            user,
            red: &self.red,
            blue: &self.blue,
            winner: &self.winner,
            method: self.method,
            how: &self.how,
            when: &self.when,
            event: &self.event,
            title: &self.title,
            reason,
        }
    }

    fn data(&self, result: &OfficialResult, amended_from: Option<&OfficialResult>) -> Value {
        json!({
            "fight": self.fight, "event": self.event_id, "winner": result.winner,
            "method": result.method, "round": result.round, "time": result.time,
            "technique": result.technique, "stoppage": result.stoppage, "foul": result.foul,
            "cards": result.cards, "title_won": !self.title.is_empty(),
            "amended_from": amended_from, "reason": amended_from.and(result.reason.as_ref()),
        })
    }
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
    to_event_followers(conn, live, json!({}), push, |user, event| {
        templates::event_start(user, &event.name, &event.venue)
    })
}

/// The event starts soon: its followers are reminded (automation's
/// `reminder_minutes`), as an `event_start` notification.
pub fn on_event_reminder(
    conn: &mut PgConnection,
    live: &crate::db::models::LiveEvent,
    minutes: i64,
    push: &PushTargets,
) -> QueryResult<Sent> {
    to_event_followers(
        conn,
        live,
        json!({ "reminder": true }),
        push,
        |user, event| templates::event_reminder(user, &event.name, &event.venue, minutes),
    )
}

/// An `event_start` notification about a live event to its event's
/// followers; `extra` joins its data.
fn to_event_followers(
    conn: &mut PgConnection,
    live: &crate::db::models::LiveEvent,
    extra: Value,
    push: &PushTargets,
    text: impl Fn(&str, &crate::db::models::Event) -> (String, String),
) -> QueryResult<Sent> {
    let event = crate::db::catalog::find_event(conn, live.event_id)?;
    let mut data = json!({ "live_event": live.id, "event": live.event_id });
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    fire(
        conn,
        "event_start",
        Reach {
            events: vec![live.event_id],
            ..Reach::default()
        },
        format!("/live/events/{}", live.id),
        data,
        push,
        |user| text(user, &event),
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
