//! Channel states as clients see them: the REST detail answers and the
//! `snapshot` of `subscribed` frames are the same JSON, built here.

use chrono::Utc;
use diesel::prelude::*;
use ringside_actors::fight::Transition;
use serde_json::{json, Value};

use super::live_events::{self, CardEntry};
use super::{catalog, schema};

/// One fight on the card.
pub fn card_entry_json(e: &CardEntry) -> QueryResult<Value> {
    let bout = super::fight_control::bout_of(&e.live, &e.fight)?;
    let view = bout.view(Utc::now(), bout.cards_open(e.open_scoring));
    Ok(json!({
        "id": e.live.id,
        "live_event": e.live.live_event_id,
        "fight": e.fight.id,
        "status": e.live.status,
        "current_round": e.live.current_round,
        "scheduled_rounds": e.fight.scheduled_rounds,
        "card_order": e.fight.card_order,
        "is_title_fight": e.fight.is_title_fight,
        "division": e.fight.division_id,
        "red_fighter": { "id": e.fight.red_fighter_id, "name": e.red_name },
        "blue_fighter": { "id": e.fight.blue_fighter_id, "name": e.blue_name },
        "viewer_count": e.live.viewer_count,
        "officials": view.officials,
        "clock": view.clock,
        "stats": view.stats,
        "fouls": view.fouls,
        "scorecards": view.scorecards,
        "scores_in": view.scores_in,
        "projected": view.projected,
        "result": view.result,
        "started_at": e.live.started_at,
        "ended_at": e.live.ended_at,
    }))
}

/// A timeline entry as everyone sees it: a judge's numbers hidden while
/// the cards are.
pub fn timeline_entry_json(entry: &super::fight_control::Entry, cards_open: bool) -> Value {
    let data = match Transition::from_stored(&entry.kind, &entry.data) {
        Some(t) => t.public_data(cards_open),
        // Unreadable (never expected): a score's numbers still stay hidden.
        None if entry.kind == "score" && !cards_open => {
            json!({ "judge": entry.data["judge"], "round": entry.data["round"] })
        }
        None => entry.data.clone(),
    };
    json!({
        "n": entry.n,
        "seq": entry.seq,
        "kind": entry.kind,
        "data": data,
        "by": entry.by_user,
        "at": entry.at,
    })
}

/// How many timeline entries a fight snapshot carries (the rest are at
/// `GET /api/live/fights/{id}/timeline/`).
pub const RECENT_TIMELINE: i64 = 20;

/// `event:{id}` and `GET /api/live/events/{id}/`: the live event, its event and its card.
pub fn event(conn: &mut PgConnection, id: i64) -> QueryResult<Value> {
    let live = live_events::find(conn, id)?;
    let event = catalog::find_event(conn, live.event_id)?;
    let card = live_events::card(conn, id)?;
    let mut body = serde_json::to_value(&live)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    body["event_detail"] = json!({
        "id": event.id,
        "name": event.name,
        "venue": event.venue,
        "scheduled_start": event.scheduled_start,
    });
    body["fights"] = Value::Array(
        card.iter()
            .map(card_entry_json)
            .collect::<QueryResult<_>>()?,
    );
    // Ephemeral state a subscriber would otherwise wait for: reaction
    // totals and the tallies of open polls.
    body["reactions"] = json!(super::reactions::totals(conn, "event", id)?);
    body["polls"] = Value::Array(
        super::polls::open_of(conn, id)?
            .iter()
            .map(|p| super::polls::view(conn, p))
            .collect::<QueryResult<_>>()?,
    );
    Ok(body)
}

/// `fight:{id}` and `GET /api/live/fights/{id}/`.
pub fn fight(conn: &mut PgConnection, id: i64) -> QueryResult<Value> {
    let entry = live_events::card_entry(conn, id)?;
    let mut body = card_entry_json(&entry)?;
    body["reactions"] = json!(super::reactions::totals(conn, "fight", id)?);
    // The cards are open exactly when the snapshot shows them.
    let open = body["scorecards"].is_array();
    body["timeline"] = Value::Array(
        super::fight_control::timeline(conn, id, 0, RECENT_TIMELINE, true)?
            .iter()
            .map(|e| timeline_entry_json(e, open))
            .collect(),
    );
    Ok(body)
}

/// `comments:{id}`: which event it is (the comment history is listed over REST).
pub fn comments(conn: &mut PgConnection, live_event: i64) -> QueryResult<Value> {
    let live = live_events::find(conn, live_event)?;
    Ok(json!({ "live_event": live.id, "slow_mode_seconds": live.slow_mode_seconds }))
}

/// `user:{id}`: the unread count.
/// The staff channel's snapshot: the updates waiting for approval (oldest
/// first) and how many of the event's comments are in the moderation queue.
pub fn moderation(conn: &mut PgConnection, live_event: i64) -> QueryResult<Value> {
    let page = super::pagination::PageParams {
        limit: None,
        cursor: None,
    };
    let mut pending = super::live_updates::list(
        conn,
        Some(live_event),
        super::live_updates::Review::Pending,
        &page,
        100,
    )?;
    pending.truncate(100);
    Ok(json!({
        "pending_updates": pending,
        "queue_size": super::comments::queue_size(conn, live_event)?,
    }))
}

pub fn user(conn: &mut PgConnection, user: i64) -> QueryResult<Value> {
    use schema::push_notifications as n;
    let unread: i64 = n::table
        .filter(n::recipient_id.eq(user))
        .filter(n::is_read.eq(false))
        .count()
        .get_result(conn)?;
    Ok(json!({ "user": user, "unread": unread }))
}

/// How many contenders a division's table lists (DESIGN §10: 1–15).
pub const CONTENDERS: i64 = 15;

/// `rankings:{division}` and `GET /api/rankings/?division=`: the division,
/// its champion (or null) and its top contenders.
pub fn division(conn: &mut PgConnection, division: i64) -> QueryResult<Value> {
    let d = catalog::find_division(conn, division)?;
    let table = super::rankings::table(conn, division, CONTENDERS)?;
    let champion = table.champion.map(|(fighter, name, since, rating)| {
        json!({ "fighter": fighter, "fighter_name": name, "since": since, "rating": rating })
    });
    let results: Vec<Value> = table
        .contenders
        .into_iter()
        .map(|(e, name, updated_at)| {
            json!({
                "fighter": e.fighter_id,
                "fighter_name": name,
                "rank": e.rank,
                "rating": e.rating,
                "rating_deviation": e.rating_deviation,
                "previous_rank": e.previous_rank,
                "updated_at": updated_at,
            })
        })
        .collect();
    Ok(json!({ "division": d, "champion": champion, "results": results }))
}
