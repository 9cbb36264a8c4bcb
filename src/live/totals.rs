//! Coalesced live counts: reaction totals per target and poll tallies.
//! A write marks its target; at most once per interval (`REACTION_INTERVAL_MS`)
//! each marked target's counts are read from Postgres (the stored truth, so
//! after a burst every node shows exactly what is stored) and go out as an
//! ephemeral frame on the target's channels, on every node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ringside_actors::protocol;
use ringside_actors::room::SnapshotPatch;
use ringside_actors::Channel;
use serde_json::json;

use crate::db::{polls, reactions, Db, DbError};
use crate::live::Bus;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Counted {
    Reactions { target_type: String, target_id: i64 },
    Poll(i64),
}

/// Targets whose counts changed since the last flush, with their channels.
#[derive(Default)]
pub struct Totals {
    marked: Mutex<HashMap<Counted, Vec<Channel>>>,
}

impl Totals {
    pub fn mark(&self, what: Counted, channels: Vec<Channel>) {
        if let Ok(mut marked) = self.marked.lock() {
            marked.insert(what, channels);
        }
    }

    fn take(&self) -> HashMap<Counted, Vec<Channel>> {
        self.marked
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }

    /// Runs the flush loop (inside an actix system) until the process ends.
    pub fn run(self: std::sync::Arc<Self>, db: Db, bus: Bus, every: Duration) {
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let marked = self.take();
                if marked.is_empty() {
                    continue;
                }
                let keys: Vec<(Counted, Vec<Channel>)> = marked.into_iter().collect();
                let read = keys.clone();
                let frames = db
                    .run_unbounded(move |conn| {
                        read.iter()
                            .map(|(what, _)| frame_for(conn, what))
                            .collect::<Result<Vec<_>, DbError>>()
                    })
                    .await;
                match frames {
                    Ok(frames) => {
                        for ((what, channels), (frame_type, data)) in keys.iter().zip(frames) {
                            for channel in channels {
                                bus.ephemeral(
                                    channel,
                                    protocol::ephemeral(frame_type, channel, &data),
                                    patch_for(what, channel, &data),
                                );
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!("reading live totals failed: {e}; retrying");
                        for (what, channels) in keys {
                            self.mark(what, channels);
                        }
                    }
                }
            }
        });
    }
}

/// What a tally makes current in a snapshot: an event's or a fight's own
/// reaction totals (`reactions`) on its own channel. Poll tallies are not
/// patched: a poll's opening and closing refresh the event's snapshot.
fn patch_for(what: &Counted, channel: &Channel, data: &serde_json::Value) -> Option<SnapshotPatch> {
    let Counted::Reactions {
        target_type,
        target_id,
    } = what
    else {
        return None;
    };
    let own = match (target_type.as_str(), channel) {
        ("event", Channel::Event(id)) | ("fight", Channel::Fight(id)) => id == target_id,
        _ => false,
    };
    own.then(|| SnapshotPatch {
        field: "reactions".into(),
        value: data["totals"].clone(),
    })
}

fn frame_for(
    conn: &mut diesel::PgConnection,
    what: &Counted,
) -> Result<(&'static str, serde_json::Value), DbError> {
    Ok(match what {
        Counted::Reactions {
            target_type,
            target_id,
        } => (
            "reactions",
            json!({
                "target": { "type": target_type, "id": target_id },
                "totals": reactions::totals(conn, target_type, *target_id)?,
            }),
        ),
        Counted::Poll(id) => {
            let poll = polls::find(conn, *id)?;
            ("poll", polls::view(conn, &poll)?)
        }
    })
}
