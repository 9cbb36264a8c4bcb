//! Reactions: logged in `reaction_events` and counted in `reaction_totals`
//! in the same transaction, a whole batch at a time, so totals are exact.

use std::collections::BTreeMap;

use diesel::prelude::*;
use ringside_actors::vocabulary::{ReactionType, Vocabulary};
use ringside_actors::Channel;

use super::schema::{live_comments, live_fights, live_updates, reaction_events, reaction_totals};

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

/// A target's totals, every reaction type present (zero when none).
pub fn totals(
    conn: &mut PgConnection,
    target_type: &str,
    target_id: i64,
) -> QueryResult<BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, i64> = ReactionType::words()
        .into_iter()
        .map(|r| (r.to_string(), 0))
        .collect();
    let rows: Vec<(String, i64)> = reaction_totals::table
        .filter(reaction_totals::target_type.eq(target_type))
        .filter(reaction_totals::target_id.eq(target_id))
        .select((reaction_totals::reaction_type, reaction_totals::count))
        .load(conn)?;
    out.extend(rows);
    Ok(out)
}

/// One reaction waiting to be stored by [`add_batch`].
#[derive(Debug, Clone)]
pub struct Reaction {
    pub user: i64,
    /// The token's account version (`None`: a live session, already checked).
    pub token_version: Option<i32>,
    pub target_type: String,
    pub target_id: i64,
    pub reaction_type: String,
    pub session: Option<String>,
}

/// Why one reaction of a batch was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The account is gone.
    UnknownUser,
    /// The token was signed for an older account version.
    Revoked,
    Banned,
    /// The target does not exist (or is not shown).
    UnknownTarget,
}

/// Stores a batch of reactions with a handful of statements whatever its
/// size: one lookup of the users, one per distinct target, one multi-row
/// insert into the log, one upsert of the totals, one insert into the
/// activity log (and one update per liked comment). Returns, per reaction,
/// the channels its target is shown on, or why it was refused.
pub fn add_batch(
    conn: &mut PgConnection,
    batch: &[Reaction],
) -> QueryResult<Vec<Result<Vec<Channel>, Refusal>>> {
    use std::collections::{BTreeMap, HashMap};

    use super::schema::{user_activities, users};

    let ids: Vec<i64> = batch.iter().map(|r| r.user).collect();
    let accounts: HashMap<i64, (bool, i32)> = users::table
        .filter(users::id.eq_any(&ids))
        .select((
            users::id,
            users::banned_at.is_not_null(),
            users::token_version,
        ))
        .load::<(i64, bool, i32)>(conn)?
        .into_iter()
        .map(|(id, banned, version)| (id, (banned, version)))
        .collect();
    let mut targets: HashMap<(&str, i64), Option<Vec<Channel>>> = HashMap::new();
    for r in batch {
        let key = (r.target_type.as_str(), r.target_id);
        if let std::collections::hash_map::Entry::Vacant(slot) = targets.entry(key) {
            slot.insert(match channels_of(conn, key.0, key.1) {
                Ok(c) => Some(c),
                Err(diesel::result::Error::NotFound) => None,
                Err(e) => return Err(e),
            });
        }
    }
    let outcome: Vec<Result<Vec<Channel>, Refusal>> = batch
        .iter()
        .map(|r| match accounts.get(&r.user) {
            None => Err(Refusal::UnknownUser),
            Some((_, version)) if r.token_version.is_some_and(|v| v != *version) => {
                Err(Refusal::Revoked)
            }
            Some((true, _)) => Err(Refusal::Banned),
            Some((false, _)) => targets
                .get(&(r.target_type.as_str(), r.target_id))
                .cloned()
                .flatten()
                .ok_or(Refusal::UnknownTarget),
        })
        .collect();
    let stored: Vec<&Reaction> = batch
        .iter()
        .zip(&outcome)
        .filter(|(_, o)| o.is_ok())
        .map(|(r, _)| r)
        .collect();
    if stored.is_empty() {
        return Ok(outcome);
    }
    let events: Vec<_> = stored
        .iter()
        .map(|r| {
            (
                reaction_events::user_id.eq(r.user),
                reaction_events::target_type.eq(&r.target_type),
                reaction_events::target_id.eq(r.target_id),
                reaction_events::reaction_type.eq(&r.reaction_type),
            )
        })
        .collect();
    diesel::insert_into(reaction_events::table)
        .values(&events)
        .execute(conn)?;
    let mut counts: BTreeMap<(&str, i64, &str), i64> = BTreeMap::new();
    for r in &stored {
        *counts
            .entry((&r.target_type, r.target_id, &r.reaction_type))
            .or_default() += 1;
    }
    let totals: Vec<_> = counts
        .iter()
        .map(|((t, id, kind), n)| {
            (
                reaction_totals::target_type.eq(*t),
                reaction_totals::target_id.eq(*id),
                reaction_totals::reaction_type.eq(*kind),
                reaction_totals::count.eq(*n),
            )
        })
        .collect();
    diesel::insert_into(reaction_totals::table)
        .values(&totals)
        .on_conflict((
            reaction_totals::target_type,
            reaction_totals::target_id,
            reaction_totals::reaction_type,
        ))
        .do_update()
        .set(
            reaction_totals::count
                .eq(reaction_totals::count + diesel::upsert::excluded(reaction_totals::count)),
        )
        .execute(conn)?;
    for ((t, id, kind), n) in &counts {
        if *t == "comment" && *kind == "like" {
            diesel::update(live_comments::table.find(*id))
                .set(live_comments::like_count.eq(live_comments::like_count + *n as i32))
                .execute(conn)?;
        }
    }
    let activities: Vec<_> = stored
        .iter()
        .map(|r| {
            (
                user_activities::user_id.eq(r.user),
                user_activities::activity_type.eq(if r.reaction_type == "like" {
                    "like"
                } else {
                    "react"
                }),
                user_activities::target_type.eq(&r.target_type),
                user_activities::target_id.eq(r.target_id),
                user_activities::session_id.eq(&r.session),
                user_activities::metadata
                    .eq(serde_json::json!({ "reaction_type": r.reaction_type })),
            )
        })
        .collect();
    diesel::insert_into(user_activities::table)
        .values(&activities)
        .execute(conn)?;
    Ok(outcome)
}
