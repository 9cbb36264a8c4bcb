//! Notifications: templates written once per type and filled per user, and
//! the triggers that create them. Each notification is stored and numbered
//! on `user:{id}` in the transaction of the change that caused it, so a
//! connected user gets it at once and an offline one finds it later.
//!
//! Mobile push (FCM, APNs) and its delivery outbox are not built yet: the
//! rows carry `delivery_status` `pending` for the dispatcher to come.

pub mod templates;

use diesel::prelude::*;
use serde_json::json;

use crate::db::channels::Published;
use crate::db::fight_control::RankMove;
use crate::db::models::Fight;
use crate::db::notifications::{self, NewNotification};
use crate::db::schema::{fighters, follows, notification_preferences, users};
use templates::Template;

/// Which preference switch a notification type obeys.
#[derive(Clone, Copy)]
enum Switch {
    FightResults,
    RankingChanges,
    EventStart,
}

/// Users (id, display name) following any of `fighters` or `events`, once
/// each, not banned, whose preferences (absent: the defaults, all on) keep
/// `switch` on.
fn followers(
    conn: &mut PgConnection,
    fighters: &[i64],
    events: &[i64],
    switch: Switch,
) -> QueryResult<Vec<(i64, String)>> {
    use notification_preferences as np;
    let query = follows::table
        .inner_join(users::table.on(users::id.eq(follows::user_id)))
        .left_join(np::table.on(np::user_id.eq(follows::user_id)))
        .filter(
            (follows::target_type
                .eq("fighter")
                .and(follows::target_id.eq_any(fighters)))
            .or(follows::target_type
                .eq("event")
                .and(follows::target_id.eq_any(events))),
        )
        .filter(users::banned_at.is_null())
        .select((users::id, users::display_name))
        .distinct()
        .into_boxed();
    let unset = np::user_id.nullable().is_null();
    match switch {
        Switch::FightResults => query.filter(np::fight_results.nullable().eq(true).or(unset)),
        Switch::RankingChanges => query.filter(np::ranking_changes.nullable().eq(true).or(unset)),
        Switch::EventStart => query.filter(np::event_start.nullable().eq(true).or(unset)),
    }
    .load(conn)
}

/// After an official result: everyone who follows either fighter or the
/// event, unless their preferences turn fight results off.
pub fn on_fight_result(conn: &mut PgConnection, fight: &Fight) -> QueryResult<Vec<Published>> {
    let (Some(method), Some(round), Some(time)) = (
        fight.result_method.as_deref(),
        fight.result_round,
        fight.result_time.as_deref(),
    ) else {
        return Ok(Vec::new());
    };
    let names: Vec<(i64, String)> = fighters::table
        .filter(fighters::id.eq_any([fight.red_fighter_id, fight.blue_fighter_id]))
        .select((fighters::id, fighters::name))
        .load(conn)?;
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
    let recipients = followers(
        conn,
        &[fight.red_fighter_id, fight.blue_fighter_id],
        &[fight.event_id],
        Switch::FightResults,
    )?;
    let outcome = match fight.winner_corner.as_deref() {
        Some(_) => Template::FightResult,
        None => Template::FightResultNoWinner,
    };
    let mut published = Vec::with_capacity(recipients.len());
    for (user, display_name) in recipients {
        let fields = templates::Fields {
            user: &display_name,
            red: &red,
            blue: &blue,
            winner: &winner,
            method: &templates::method_words(method),
            round,
            time,
            event: &event.name,
        };
        let (title, message) = outcome.render(&fields);
        let (_, frame) = notifications::create(
            conn,
            &NewNotification {
                recipient: user,
                notification_type: "fight_result".into(),
                title,
                message,
                action_url: Some(format!("/fights/{}", fight.id)),
                data: json!({
                    "fight": fight.id, "event": fight.event_id, "winner": fight.winner_corner,
                    "method": method, "round": round, "time": time,
                }),
            },
        )?;
        published.push(frame);
    }
    Ok(published)
}

/// After a result moved rankings: followers of each fighter whose rank
/// changed, unless their preferences turn ranking changes off.
pub fn on_ranking_moves(
    conn: &mut PgConnection,
    moves: &[RankMove],
) -> QueryResult<Vec<Published>> {
    use crate::db::schema::divisions;
    let mut published = Vec::new();
    for m in moves {
        let fighter: String = fighters::table
            .find(m.fighter)
            .select(fighters::name)
            .first(conn)?;
        let division: String = divisions::table
            .find(m.division)
            .select(divisions::name)
            .first(conn)?;
        let recipients = followers(conn, &[m.fighter], &[], Switch::RankingChanges)?;
        for (user, display_name) in recipients {
            let (title, message) = templates::ranking_change(
                &display_name,
                &fighter,
                &division,
                m.old_rank,
                m.new_rank,
            );
            let (_, frame) = notifications::create(
                conn,
                &NewNotification {
                    recipient: user,
                    notification_type: "ranking_change".into(),
                    title,
                    message,
                    action_url: Some(format!("/rankings/?division={}", m.division)),
                    data: json!({
                        "fighter": m.fighter, "division": m.division,
                        "old_rank": m.old_rank, "new_rank": m.new_rank,
                    }),
                },
            )?;
            published.push(frame);
        }
    }
    Ok(published)
}

/// A live event started: followers of its event, unless their preferences
/// turn event starts off.
pub fn on_event_start(
    conn: &mut PgConnection,
    live: &crate::db::models::LiveEvent,
) -> QueryResult<Vec<Published>> {
    let event = crate::db::catalog::find_event(conn, live.event_id)?;
    let recipients = followers(conn, &[], &[live.event_id], Switch::EventStart)?;
    let mut published = Vec::with_capacity(recipients.len());
    for (user, display_name) in recipients {
        let (title, message) = templates::event_start(&display_name, &event.name, &event.venue);
        let (_, frame) = notifications::create(
            conn,
            &NewNotification {
                recipient: user,
                notification_type: "event_start".into(),
                title,
                message,
                action_url: Some(format!("/live/events/{}", live.id)),
                data: json!({ "live_event": live.id, "event": live.event_id }),
            },
        )?;
        published.push(frame);
    }
    Ok(published)
}
