//! Who is here: headcounts on this node (connections, distinct members),
//! presence over every node (with joins and leaves in small channels), and
//! viewer counts for event and fight channels (announced, stored, and in
//! snapshots).

use std::collections::BTreeSet;
use std::time::Duration;

use actix::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{LocalHeadcount, Room};
use crate::channel::Channel;
use crate::protocol;

/// Who follows a channel on one node: connections, distinct members (a
/// signed-in user once however many sessions, each anonymous connection
/// once), and the members' ids when the room is small.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headcount {
    pub connections: usize,
    pub members: usize,
    pub users: Option<Vec<i64>>,
}

/// A channel's presence on every node, as `GET /api/live/presence/…` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    pub count: usize,
    /// Member ids, for small channels.
    pub users: Option<Vec<i64>>,
}

/// A peer's count is dropped when not heard from for this long (the hub
/// keeps the counts of channels it has no room for as long).
pub(crate) const PEER_COUNT_TTL: Duration = Duration::from_secs(5);

/// A channel's presence from the headcounts of the nodes that follow it:
/// members added up; members listed only when every node listed its own
/// and the total is at most `list_max`. No headcount at all is nobody.
pub(crate) fn combine<'a>(
    headcounts: impl IntoIterator<Item = &'a Headcount>,
    list_max: usize,
) -> Presence {
    let mut count = 0;
    let mut users: Option<BTreeSet<i64>> = Some(BTreeSet::new());
    for headcount in headcounts {
        count += headcount.members;
        users = match (users, &headcount.users) {
            (Some(mut all), Some(theirs)) => {
                all.extend(theirs);
                Some(all)
            }
            _ => None,
        };
    }
    Presence {
        users: users
            .filter(|_| count <= list_max)
            .map(|u| u.into_iter().collect()),
        count,
    }
}

impl Room {
    fn counts_viewers(&self) -> bool {
        matches!(self.channel, Channel::Event(_) | Channel::Fight(_))
    }

    /// Viewers (connections) on every node: ours plus what peers said recently.
    pub(super) fn viewers(&self) -> usize {
        let peers: usize = self.peers.values().map(|(h, _)| h.connections).sum();
        self.subscribers.len() + peers
    }

    pub(super) fn local_headcount(&self) -> Headcount {
        let mut users = BTreeSet::new();
        let mut anonymous = 0;
        for sub in self.subscribers.values() {
            match sub.outbox.user {
                Some(u) => {
                    users.insert(u);
                }
                None => anonymous += 1,
            }
        }
        let members = users.len() + anonymous;
        Headcount {
            connections: self.subscribers.len(),
            members,
            users: (members <= self.config.presence_list_max).then(|| users.into_iter().collect()),
        }
    }

    /// Presence over every node: ours and what peers said recently.
    pub(super) fn presence_now(&self, local: &Headcount) -> Presence {
        let peers = self.peers.values().map(|(h, _)| h);
        combine(
            std::iter::once(local).chain(peers),
            self.config.presence_list_max,
        )
    }

    /// Announces presence when it changed: the count, and who joined and
    /// left when the channel is small. Big event and fight rooms already
    /// announce `viewers`; a second frame per change would only double the
    /// traffic of a connection storm, so there it is kept for REST and
    /// snapshots only.
    fn announce_presence(&mut self, now: Presence) {
        let quiet = matches!(self.channel, Channel::User(_))
            || (self.counts_viewers() && now.users.is_none());
        if now == self.presence || quiet {
            self.presence = now;
            return;
        }
        let mut data = json!({ "count": now.count });
        if let (Some(before), Some(after)) = (&self.presence.users, &now.users) {
            let joined: Vec<i64> = after
                .iter()
                .filter(|u| !before.contains(u))
                .copied()
                .collect();
            let left: Vec<i64> = before
                .iter()
                .filter(|u| !after.contains(u))
                .copied()
                .collect();
            data["joined"] = json!(joined);
            data["left"] = json!(left);
        }
        let frame = protocol::ephemeral("presence", &self.channel, &data);
        self.subscribers
            .retain(|_, sub| sub.outbox.deliver(frame.clone()));
        self.presence = now;
    }

    pub(super) fn snapshot_now(&self) -> Value {
        let mut snapshot = self.snapshot.clone();
        if self.counts_viewers() {
            if let Value::Object(map) = &mut snapshot {
                map.insert("viewer_count".into(), json!(self.viewers()));
            }
        }
        if let Value::Object(map) = &mut snapshot {
            map.insert("presence".into(), json!({ "count": self.presence.count }));
        }
        snapshot
    }

    /// Tells the owner when this node's headcount changed, announces
    /// presence, and sends and stores viewer counts when they changed.
    pub(super) fn share_counts(&mut self, ctx: &mut Context<Self>) {
        let headcount = self.local_headcount();
        if headcount != self.shared {
            self.shared = headcount.clone();
            self.owner.headcount.do_send(LocalHeadcount {
                channel: self.channel.clone(),
                headcount: headcount.clone(),
            });
        }
        self.peers
            .retain(|_, (_, heard)| heard.elapsed() < PEER_COUNT_TTL);
        let presence = self.presence_now(&headcount);
        self.announce_presence(presence);
        let count = self.viewers();
        if self.counts_viewers() && count != self.viewers_sent {
            self.viewers_sent = count;
            let frame = protocol::ephemeral("viewers", &self.channel, &json!({ "count": count }));
            self.subscribers
                .retain(|_, sub| sub.outbox.deliver(frame.clone()));
        }
        if self.counts_viewers() && count != self.viewers_stored {
            self.viewers_stored = count;
            let store = self.store.clone();
            let channel = self.channel.clone();
            ctx.spawn(
                async move {
                    if let Err(e) = store.record_viewers(&channel, count as u64).await {
                        tracing::warn!(%channel, "storing the viewer count failed: {e}");
                    }
                }
                .into_actor(self),
            );
        }
    }
}
