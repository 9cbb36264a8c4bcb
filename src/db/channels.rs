//! Channel ordering in Postgres: each durable message gets the next `seq` of
//! its channel and is kept in `channel_messages`, in the same transaction as
//! the change it reports. The row lock on `channel_sequences` serialises
//! concurrent publishers of one channel, so sequence order is commit order.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use ringside_actors::room::FanoutHint;
use ringside_actors::store::Head;
use ringside_actors::Channel;
use serde_json::Value;

use super::schema::{channel_messages, channel_sequences};

/// A durable message, stored: what the hub delivers after the commit (the
/// live edge makes the wire frame of it; `db/` builds no frames).
#[derive(Debug, Clone)]
pub struct Published {
    pub channel: Channel,
    pub epoch: String,
    pub seq: u64,
    /// The frame's `type` and `data`.
    pub frame_type: String,
    pub data: Value,
    /// The channel's new state, when the message changed it.
    pub snapshot: Option<Value>,
    /// Comments: how a room over its fan-out budget may sample it.
    pub hint: Option<FanoutHint>,
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Text)]
    epoch: String,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
}

/// A fresh epoch: 8 URL-safe characters (never a `:`).
fn new_epoch() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Numbers and stores one durable message. Call inside the transaction that
/// makes the change; deliver the result after it commits.
pub fn append(
    conn: &mut PgConnection,
    channel: &Channel,
    frame_type: &str,
    data: &Value,
) -> QueryResult<Published> {
    let (epoch, seq) = next_position(conn, channel)?;
    store(conn, channel, epoch, seq, frame_type, data)
}

#[derive(QueryableByName)]
struct ChannelPosition {
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    epoch: String,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
}

/// [`append`] for many channels at once, one message each (a notification
/// to thousands of users): three statements whatever the count. Channels
/// must be distinct; their rows are locked in name order, so two bulk
/// appends never deadlock.
pub fn append_many(
    conn: &mut PgConnection,
    frame_type: &str,
    messages: Vec<(Channel, Value)>,
) -> QueryResult<Vec<Published>> {
    use diesel::sql_types::{Array, Jsonb};
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_name: std::collections::HashMap<String, (Channel, Value)> = messages
        .into_iter()
        .map(|(channel, data)| (channel.to_string(), (channel, data)))
        .collect();
    let mut names: Vec<String> = by_name.keys().cloned().collect();
    names.sort_unstable();
    let positions: Vec<ChannelPosition> = diesel::sql_query(
        "INSERT INTO channel_sequences (channel, epoch, last_seq) \
         SELECT c, $2, 1 FROM unnest($1::text[]) AS c ORDER BY c \
         ON CONFLICT (channel) DO UPDATE SET last_seq = channel_sequences.last_seq + 1, updated_at = now() \
         RETURNING channel, epoch, last_seq",
    )
    .bind::<Array<Text>, _>(&names)
    .bind::<Text, _>(new_epoch())
    .load(conn)?;
    let mut published = Vec::with_capacity(positions.len());
    let (mut epochs, mut seqs, mut payloads) = (Vec::new(), Vec::new(), Vec::new());
    let mut stored_names = Vec::with_capacity(positions.len());
    for pos in positions {
        let Some((channel, data)) = by_name.remove(&pos.channel) else {
            continue;
        };
        published.push(Published {
            frame_type: frame_type.to_string(),
            data: data.clone(),
            channel,
            epoch: pos.epoch.clone(),
            seq: pos.last_seq as u64,
            snapshot: None,
            hint: None,
        });
        stored_names.push(pos.channel);
        epochs.push(pos.epoch);
        seqs.push(pos.last_seq);
        payloads.push(data);
    }
    diesel::sql_query(
        "INSERT INTO channel_messages (channel, epoch, seq, frame_type, payload) \
         SELECT c, e, s, $5, p FROM unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[]) AS m(c, e, s, p)",
    )
    .bind::<Array<Text>, _>(&stored_names)
    .bind::<Array<Text>, _>(&epochs)
    .bind::<Array<BigInt>, _>(&seqs)
    .bind::<Array<Jsonb>, _>(&payloads)
    .bind::<Text, _>(frame_type)
    .execute(conn)?;
    Ok(published)
}

/// Takes the channel's next `seq` (locking its row until the transaction
/// ends), for a message that must carry its own number.
pub fn next_position(conn: &mut PgConnection, channel: &Channel) -> QueryResult<(String, u64)> {
    let pos: Position = diesel::sql_query(
        "INSERT INTO channel_sequences (channel, epoch, last_seq) VALUES ($1, $2, 1) \
         ON CONFLICT (channel) DO UPDATE SET last_seq = channel_sequences.last_seq + 1, updated_at = now() \
         RETURNING epoch, last_seq",
    )
    .bind::<Text, _>(channel.to_string())
    .bind::<Text, _>(new_epoch())
    .get_result(conn)?;
    Ok((pos.epoch, pos.last_seq as u64))
}

/// Stores the message at a position taken with [`next_position`].
pub fn store(
    conn: &mut PgConnection,
    channel: &Channel,
    epoch: String,
    seq: u64,
    frame_type: &str,
    data: &Value,
) -> QueryResult<Published> {
    diesel::insert_into(channel_messages::table)
        .values((
            channel_messages::channel.eq(channel.to_string()),
            channel_messages::epoch.eq(&epoch),
            channel_messages::seq.eq(seq as i64),
            channel_messages::frame_type.eq(frame_type),
            channel_messages::payload.eq(data),
        ))
        .execute(conn)?;
    Ok(Published {
        frame_type: frame_type.to_string(),
        data: data.clone(),
        channel: channel.clone(),
        epoch,
        seq,
        snapshot: None,
        hint: None,
    })
}

/// Channels whose stored history began before `cutoff`, and may be cut:
/// every channel but those of live events that are upcoming or live, or
/// ended after `cutoff` (their night is kept whole), at most `limit`.
pub fn cuttable(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        channel: String,
    }
    let rows: Vec<Name> = diesel::sql_query(
        "WITH kept AS ( \
             SELECT id FROM live_events \
              WHERE status IN ('upcoming', 'live') OR COALESCE(end_time, updated_at) > $1), \
         kept_channels AS ( \
             SELECT 'event:' || id AS channel FROM kept \
             UNION ALL SELECT 'comments:' || id FROM kept \
             UNION ALL SELECT 'moderation:' || id FROM kept \
             UNION ALL SELECT 'fight:' || f.id FROM live_fights f JOIN kept ON kept.id = f.live_event_id) \
         SELECT DISTINCT m.channel FROM channel_messages m \
          WHERE m.created_at < $1 \
            AND m.channel NOT IN (SELECT channel FROM kept_channels) \
          LIMIT $2",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.channel).collect())
}

/// Cuts a channel's history: its stored messages go, and it gets a new
/// epoch, so a resume from before the cut gets `resync` rather than a gap
/// (its seq goes on counting). Answers how many messages went.
pub fn cut(conn: &mut PgConnection, channel: &str) -> QueryResult<usize> {
    conn.transaction(|conn| {
        diesel::update(channel_sequences::table.find(channel))
            .set((
                channel_sequences::epoch.eq(new_epoch()),
                channel_sequences::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        diesel::delete(channel_messages::table.filter(channel_messages::channel.eq(channel)))
            .execute(conn)
    })
}

/// The channel's head, creating its epoch on first use.
pub fn head(conn: &mut PgConnection, channel: &Channel) -> QueryResult<Head> {
    let name = channel.to_string();
    diesel::insert_into(channel_sequences::table)
        .values((
            channel_sequences::channel.eq(&name),
            channel_sequences::epoch.eq(new_epoch()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let (epoch, last_seq): (String, i64) = channel_sequences::table
        .find(&name)
        .select((channel_sequences::epoch, channel_sequences::last_seq))
        .first(conn)?;
    Ok(Head {
        epoch,
        last_seq: last_seq as u64,
    })
}

/// Stored frames `after < seq <= upto`, encoded exactly as they went out live.
/// Whether a channel names something that exists.
pub fn exists(conn: &mut PgConnection, channel: &Channel) -> QueryResult<bool> {
    use super::schema::{divisions, live_events, live_fights, users};
    use diesel::dsl::exists;
    match *channel {
        Channel::Event(id) | Channel::Comments(id) | Channel::Moderation(id) => {
            diesel::select(exists(live_events::table.find(id))).get_result(conn)
        }
        Channel::Fight(id) => diesel::select(exists(live_fights::table.find(id))).get_result(conn),
        Channel::User(id) => diesel::select(exists(users::table.find(id))).get_result(conn),
        Channel::Division(id) => diesel::select(exists(divisions::table.find(id))).get_result(conn),
        Channel::News | Channel::Rankings => Ok(true),
    }
}

pub fn replay(
    conn: &mut PgConnection,
    channel: &Channel,
    epoch: &str,
    after: u64,
    upto: u64,
) -> QueryResult<Vec<(u64, String, Value)>> {
    let rows: Vec<(i64, String, Value)> = channel_messages::table
        .filter(channel_messages::channel.eq(channel.to_string()))
        .filter(channel_messages::epoch.eq(epoch))
        .filter(channel_messages::seq.gt(after as i64))
        .filter(channel_messages::seq.le(upto as i64))
        .order(channel_messages::seq)
        .select((
            channel_messages::seq,
            channel_messages::frame_type,
            channel_messages::payload,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, frame_type, payload)| (seq as u64, frame_type, payload))
        .collect())
}
