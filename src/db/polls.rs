//! Live polls: a question with options, opened and closed by moderators;
//! one vote per user per poll, enforced by the database.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ringside_actors::Channel;
use serde::Serialize;
use serde_json::{json, Value};

use super::channels::{self, Published};
use super::pagination::PageParams;
use super::schema::{poll_options, poll_votes, polls};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = polls)]
pub struct Poll {
    pub id: i64,
    #[serde(rename = "live_event")]
    pub live_event_id: i64,
    #[serde(rename = "live_fight")]
    pub live_fight_id: Option<i64>,
    pub question: String,
    pub status: String,
    pub created_by: Option<i64>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When automation closes it (the event's `settings.auto_poll_close`).
    pub closes_at: Option<DateTime<Utc>>,
}

impl Poll {
    /// The channels that show it: the event's, and the fight's for a fight poll.
    pub fn channels(&self) -> Vec<Channel> {
        let mut out = vec![Channel::Event(self.live_event_id)];
        out.extend(self.live_fight_id.map(Channel::Fight));
        out
    }
}

pub fn create(
    conn: &mut PgConnection,
    live_event: i64,
    live_fight: Option<i64>,
    question: &str,
    options: &[String],
    created_by: i64,
    closes_at: Option<DateTime<Utc>>,
) -> QueryResult<Poll> {
    let poll: Poll = diesel::insert_into(polls::table)
        .values((
            polls::live_event_id.eq(live_event),
            polls::live_fight_id.eq(live_fight),
            polls::question.eq(question),
            polls::created_by.eq(created_by),
            polls::closes_at.eq(closes_at),
        ))
        .returning(Poll::as_returning())
        .get_result(conn)?;
    let rows: Vec<_> = options
        .iter()
        .enumerate()
        .map(|(i, text)| {
            (
                poll_options::poll_id.eq(poll.id),
                poll_options::position.eq(i as i32),
                poll_options::text.eq(text),
            )
        })
        .collect();
    diesel::insert_into(poll_options::table)
        .values(&rows)
        .execute(conn)?;
    Ok(poll)
}

pub fn find_for_update(conn: &mut PgConnection, id: i64) -> QueryResult<Poll> {
    polls::table
        .find(id)
        .for_update()
        .select(Poll::as_select())
        .first(conn)
}

/// The open polls of a live event that close at a set time.
pub fn closing(conn: &mut PgConnection, event: i64) -> QueryResult<Vec<(i64, DateTime<Utc>)>> {
    polls::table
        .filter(polls::live_event_id.eq(event))
        .filter(polls::status.eq("open"))
        .filter(polls::closes_at.is_not_null())
        .select((polls::id, polls::closes_at.assume_not_null()))
        .load(conn)
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Poll> {
    polls::table.find(id).select(Poll::as_select()).first(conn)
}

/// The poll with its options and their current tallies.
pub fn view(conn: &mut PgConnection, poll: &Poll) -> QueryResult<Value> {
    let options: Vec<(i64, String)> = poll_options::table
        .filter(poll_options::poll_id.eq(poll.id))
        .order(poll_options::position)
        .select((poll_options::id, poll_options::text))
        .load(conn)?;
    let counts: Vec<(i64, i64)> = poll_votes::table
        .filter(poll_votes::poll_id.eq(poll.id))
        .group_by(poll_votes::option_id)
        .select((poll_votes::option_id, diesel::dsl::count_star()))
        .load(conn)?;
    let votes = |id: i64| counts.iter().find(|(o, _)| *o == id).map_or(0, |(_, n)| *n);
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let mut body = serde_json::to_value(poll)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    body["options"] = options
        .iter()
        .map(|(id, text)| json!({ "id": id, "text": text, "votes": votes(*id) }))
        .collect();
    body["total_votes"] = json!(total);
    Ok(body)
}

/// Moves a poll to `status` (open or closed) and numbers a `poll` message on
/// its channels.
pub fn set_status(
    conn: &mut PgConnection,
    id: i64,
    status: &str,
) -> QueryResult<(Value, Vec<Published>)> {
    let poll: Poll = match status {
        "open" => diesel::update(polls::table.find(id))
            .set((
                polls::status.eq("open"),
                polls::opened_at.eq(diesel::dsl::now),
            ))
            .returning(Poll::as_returning())
            .get_result(conn)?,
        _ => diesel::update(polls::table.find(id))
            .set((
                polls::status.eq("closed"),
                polls::closed_at.eq(diesel::dsl::now),
            ))
            .returning(Poll::as_returning())
            .get_result(conn)?,
    };
    let body = view(conn, &poll)?;
    let published = poll
        .channels()
        .iter()
        .map(|c| channels::append(conn, c, "poll", &body))
        .collect::<QueryResult<Vec<_>>>()?;
    Ok((body, published))
}

/// Records a vote. A second vote by the same user is a unique violation;
/// an option of another poll a foreign-key one.
pub fn vote(conn: &mut PgConnection, poll: i64, option: i64, user: i64) -> QueryResult<()> {
    diesel::insert_into(poll_votes::table)
        .values((
            poll_votes::poll_id.eq(poll),
            poll_votes::option_id.eq(option),
            poll_votes::user_id.eq(user),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn list(
    conn: &mut PgConnection,
    live_event: Option<i64>,
    drafts: bool,
    page: &PageParams,
    limit: i64,
) -> QueryResult<Vec<Poll>> {
    let mut q = page_query!(polls, Poll, page, limit);
    if !drafts {
        q = q.filter(polls::status.ne("draft"));
    }
    if let Some(e) = live_event {
        q = q.filter(polls::live_event_id.eq(e));
    }
    q.load(conn)
}

/// A live event's open polls.
pub fn open_of(conn: &mut PgConnection, live_event: i64) -> QueryResult<Vec<Poll>> {
    polls::table
        .filter(polls::live_event_id.eq(live_event))
        .filter(polls::status.eq("open"))
        .order(polls::id)
        .select(Poll::as_select())
        .load(conn)
}
