//! Reactions: each one logged in `reaction_events` and counted in
//! `reaction_totals` in the same transaction, so totals are exact.

use std::collections::BTreeMap;

use diesel::prelude::*;
use ringside_actors::Channel;

use super::schema::{live_comments, live_fights, live_updates, reaction_events, reaction_totals};

pub const TARGET_TYPES: [&str; 4] = ["update", "comment", "fight", "event"];
pub const REACTION_TYPES: [&str; 5] = ["like", "wow", "angry", "sad", "celebrate"];

/// Where a target's totals are shown: the channels its followers are on.
pub fn channels_of(
    conn: &mut PgConnection,
    target_type: &str,
    target_id: i64,
) -> QueryResult<Vec<Channel>> {
    Ok(match target_type {
        "event" => {
            super::live_events::find(conn, target_id)?;
            vec![Channel::Event(target_id)]
        }
        "fight" => {
            let event: i64 = live_fights::table
                .find(target_id)
                .select(live_fights::live_event_id)
                .first(conn)?;
            vec![Channel::Fight(target_id), Channel::Event(event)]
        }
        "update" => {
            let event: i64 = live_updates::table
                .find(target_id)
                .filter(live_updates::is_verified.eq(true))
                .select(live_updates::live_event_id)
                .first(conn)?;
            vec![Channel::Event(event)]
        }
        "comment" => {
            let event: i64 = live_comments::table
                .find(target_id)
                .filter(live_comments::status.eq("active"))
                .select(live_comments::live_event_id)
                .first(conn)?;
            vec![Channel::Comments(event)]
        }
        _ => return Err(diesel::result::Error::NotFound),
    })
}

/// Logs one reaction and counts it; a `like` on a comment also counts in
/// the comment's `like_count`.
pub fn add(
    conn: &mut PgConnection,
    user: i64,
    target_type: &str,
    target_id: i64,
    reaction_type: &str,
) -> QueryResult<()> {
    diesel::insert_into(reaction_events::table)
        .values((
            reaction_events::user_id.eq(user),
            reaction_events::target_type.eq(target_type),
            reaction_events::target_id.eq(target_id),
            reaction_events::reaction_type.eq(reaction_type),
        ))
        .execute(conn)?;
    diesel::insert_into(reaction_totals::table)
        .values((
            reaction_totals::target_type.eq(target_type),
            reaction_totals::target_id.eq(target_id),
            reaction_totals::reaction_type.eq(reaction_type),
            reaction_totals::count.eq(1i64),
        ))
        .on_conflict((
            reaction_totals::target_type,
            reaction_totals::target_id,
            reaction_totals::reaction_type,
        ))
        .do_update()
        .set(reaction_totals::count.eq(reaction_totals::count + 1))
        .execute(conn)?;
    if target_type == "comment" && reaction_type == "like" {
        diesel::update(live_comments::table.find(target_id))
            .set(live_comments::like_count.eq(live_comments::like_count + 1))
            .execute(conn)?;
    }
    Ok(())
}

/// A target's totals, every reaction type present (zero when none).
pub fn totals(
    conn: &mut PgConnection,
    target_type: &str,
    target_id: i64,
) -> QueryResult<BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, i64> =
        REACTION_TYPES.iter().map(|r| (r.to_string(), 0)).collect();
    let rows: Vec<(String, i64)> = reaction_totals::table
        .filter(reaction_totals::target_type.eq(target_type))
        .filter(reaction_totals::target_id.eq(target_id))
        .select((reaction_totals::reaction_type, reaction_totals::count))
        .load(conn)?;
    out.extend(rows);
    Ok(out)
}
