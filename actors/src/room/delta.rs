//! Delta frames for the state frames (`event_state`, `fight_state`): the
//! room sees every frame of its channel on this node, in order, whichever
//! node published it, so it keeps the last state of each kind here and
//! makes each delta once per message, never per subscriber.
//!
//! A delta goes only when it is smaller than the frame (and exact: see
//! [`merge_patch`]).
//!
//! What it keeps is bounded: nothing while no subscriber asked for deltas,
//! else one `data` per (frame type, `data.id`): the event's state and each
//! fight of its card on `event:`, one fight on `fight:`; at most
//! [`MAX_STATES`].
//!
//! A subscriber that asked gets the delta only when it was sent the base
//! frame itself: every frame from `in_step_from` on reached it in order
//! (one u64 per delta subscription), and the base is one of them.
//! Otherwise, and for replays, it gets the full frame.

use std::collections::HashMap;

use serde_json::Value;

use super::Room;
use crate::protocol::{self, merge_patch, Frame, FrameType};

/// States kept per room at most (a card has far fewer fights).
pub(super) const MAX_STATES: usize = 64;

/// Which state a frame is: its type and its `data.id` (an event channel
/// carries the event's and each of its fights').
type Key = (FrameType, Option<i64>);

/// The last state of each kind, by the seq of the frame that carried it.
#[derive(Default)]
pub(super) struct States {
    last: HashMap<Key, (u64, Value)>,
}

impl States {
    /// Forgets everything: frames are about to reach subscribers without
    /// passing here (a reload), so what is kept may no longer be the last.
    pub(super) fn clear(&mut self) {
        self.last.clear();
    }

    /// The delta of a state frame at `seq` from the last of its kind, if
    /// there is one, it is exact and it is smaller; the frame becomes the
    /// last of its kind either way.
    fn next(&mut self, channel: &crate::Channel, seq: u64, frame: &Frame) -> Option<(u64, Frame)> {
        let kind = frame.kind().filter(|k| k.carries_state())?;
        #[derive(serde::Deserialize)]
        struct Body {
            data: Value,
        }
        let data = serde_json::from_str::<Body>(frame).ok()?.data;
        let key = (kind, data.get("id").and_then(Value::as_i64));
        let previous = self.last.remove(&key);
        let delta = previous.and_then(|(base, before)| {
            let (patch, nulls) = merge_patch::between(&before, &data)?;
            let delta = protocol::delta(kind, channel, seq, base, &patch, &nulls);
            (delta.len() < frame.len()).then_some((base, delta))
        });
        if self.last.len() >= MAX_STATES {
            // The oldest state is the least likely to change again.
            if let Some(oldest) = self
                .last
                .iter()
                .min_by_key(|(_, (s, _))| *s)
                .map(|(k, _)| *k)
            {
                self.last.remove(&oldest);
            }
        }
        self.last.insert(key, (seq, data));
        delta
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.last.len()
    }
}

impl Room {
    /// The deltas of frames about to fan out, by seq: only while some
    /// subscriber asked for them (else nothing is kept either).
    pub(super) fn deltas(&mut self, ready: &[(u64, Frame)]) -> HashMap<u64, (u64, Frame)> {
        if !self.subscribers.values().any(|s| s.in_step_from.is_some()) {
            self.states.clear();
            return HashMap::new();
        }
        ready
            .iter()
            .filter_map(|(seq, frame)| Some((*seq, self.states.next(&self.channel, *seq, frame)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::{Join, Publish};
    use super::*;
    use crate::outbox::Outbox;
    use crate::protocol::Since;
    use crate::test_support::{client, room_config, start_room, Client, FakeStore};
    use crate::Channel;

    fn join(outbox: &Outbox, since: Option<Since>, delta: bool) -> Join {
        Join {
            outbox: outbox.clone(),
            since,
            reference: None,
            delta,
        }
    }

    /// A fight's state after `n` changes: most of it stays the same.
    fn fight(id: i64, n: u64) -> Value {
        json!({
            "id": id, "status": "in_progress", "red": {"name": "Red Corner", "record": "20-1-0"},
            "blue": {"name": "Blue Corner", "record": "18-3-0"}, "weight_class": "Lightweight",
            "round": 1 + n / 4, "clock": {"elapsed_s": n * 7, "running": true},
            "stats": {"red": {"strikes_landed": n}, "blue": {"strikes_landed": n / 2}},
            "transition": {"seq": n, "kind": "stats"},
        })
    }

    /// What a client that applies deltas holds: the last `data` of each
    /// (type, id), by seq; a delta whose base it lacks fails the test.
    #[derive(Default)]
    struct Holder {
        states: HashMap<(String, Option<i64>), (u64, Value)>,
        deltas: usize,
    }

    impl Holder {
        fn take(&mut self, frame: &Value) -> Value {
            let kind = frame["type"].as_str().expect("type").to_string();
            let seq = frame["seq"].as_u64().expect("seq");
            let data = match frame.get("patch") {
                Some(patch) => {
                    self.deltas += 1;
                    let base = frame["base"].as_u64().expect("a delta names its base");
                    let (key, mut data) = self
                        .states
                        .iter()
                        .find(|((k, _), (s, _))| *k == kind && *s == base)
                        .map(|(key, (_, data))| (key.clone(), data.clone()))
                        .unwrap_or_else(|| panic!("base {base} of {frame} was never sent"));
                    merge_patch::apply(&mut data, patch);
                    let nulls: Vec<String> =
                        serde_json::from_value(frame["nulls"].clone()).unwrap_or_default();
                    merge_patch::set_nulls(&mut data, &nulls);
                    self.states.remove(&key);
                    data
                }
                None => frame["data"].clone(),
            };
            let id = data.get("id").and_then(Value::as_i64);
            self.states.insert((kind, id), (seq, data.clone()));
            data
        }
    }

    async fn subscribed(c: &mut Client) -> u64 {
        let v = c.next().await;
        assert_eq!(v["type"], "subscribed");
        v["seq"].as_u64().expect("seq")
    }

    fn publish(store: &FakeStore, channel: &Channel, kind: &str, data: Value) -> Publish {
        store.append_frame(channel, kind, &data)
    }

    #[actix_rt::test]
    async fn a_delta_subscriber_ends_with_the_full_subscribers_states_in_fewer_bytes() {
        let channel = Channel::Event(3);
        let store = FakeStore::new();
        store.add_channel(&channel, "e1");
        let (room, _) = start_room(&channel, &store, room_config());
        let (mut full, mut delta) = (client(1, None, 256), client(2, None, 256));
        room.send(join(&full.outbox, None, false))
            .await
            .expect("join");
        room.send(join(&delta.outbox, None, true))
            .await
            .expect("join");
        subscribed(&mut full).await;
        subscribed(&mut delta).await;
        // Two fights' states and the event's, interleaved on one channel.
        let mut sent = Vec::new();
        for n in 0..30 {
            let (kind, data) = match n % 5 {
                0 => (
                    "event_state",
                    json!({"id": 3, "status": "live", "current_fight": 10 + n / 10}),
                ),
                1 | 2 => ("fight_state", fight(10, n)),
                3 => ("update", json!({"id": n, "title": "jab"})),
                _ => ("fight_state", fight(11, n)),
            };
            sent.push((kind, data.clone()));
            room.do_send(publish(&store, &channel, kind, data));
        }
        let (mut full_holder, mut delta_holder) = (Holder::default(), Holder::default());
        let (mut full_bytes, mut delta_bytes) = (0, 0);
        for (seq, (kind, data)) in (1..).zip(&sent) {
            let (f, d) = (full.next().await, delta.next().await);
            assert_eq!(
                (f["seq"].as_u64(), d["seq"].as_u64()),
                (Some(seq), Some(seq))
            );
            assert_eq!((&f["type"], &d["type"]), (&json!(kind), &json!(kind)));
            assert!(f.get("patch").is_none(), "a client that did not ask: {f}");
            if *kind == "update" {
                assert_eq!(f, d, "only state frames are ever deltas");
                continue;
            }
            full_bytes += f.to_string().len();
            delta_bytes += d.to_string().len();
            assert_eq!(&full_holder.take(&f), data);
            assert_eq!(
                &delta_holder.take(&d),
                data,
                "the delta gives the same state"
            );
        }
        // The first of each kind is full; the others can be deltas.
        assert_eq!(delta_holder.deltas, 24 - 3);
        assert!(delta_bytes < full_bytes, "{delta_bytes} vs {full_bytes}");
    }

    #[actix_rt::test]
    async fn a_late_or_resuming_subscriber_gets_a_full_frame_before_any_delta() {
        let channel = Channel::Fight(10);
        let store = FakeStore::new();
        store.add_channel(&channel, "e1");
        let (room, _) = start_room(&channel, &store, room_config());
        let mut early = client(1, None, 256);
        room.send(join(&early.outbox, None, true))
            .await
            .expect("join");
        subscribed(&mut early).await;
        for n in 0..3 {
            room.do_send(publish(&store, &channel, "fight_state", fight(10, n)));
        }
        let mut holder = Holder::default();
        for _ in 0..3 {
            holder.take(&early.next().await);
        }
        assert_eq!(
            holder.deltas, 2,
            "the room keeps the state, the early one gets deltas"
        );
        // Joins mid-fight: the room has a state to diff from, but this
        // client never got it.
        let mut late = client(2, None, 256);
        room.send(join(&late.outbox, None, true))
            .await
            .expect("join");
        // Resumes after seq 1: seqs 2 and 3 are replayed, in full.
        let mut resuming = client(3, None, 256);
        let since = Some(Since {
            epoch: "e1".into(),
            seq: 1,
        });
        room.send(join(&resuming.outbox, since, true))
            .await
            .expect("join");
        assert_eq!(subscribed(&mut late).await, 3);
        assert_eq!(subscribed(&mut resuming).await, 3);
        for seq in [2, 3] {
            let replayed = resuming.next().await;
            assert_eq!(replayed["seq"], seq);
            assert!(
                replayed.get("data").is_some(),
                "replays are full: {replayed}"
            );
        }
        for n in 3..6 {
            room.do_send(publish(&store, &channel, "fight_state", fight(10, n)));
        }
        for c in [&mut late, &mut resuming] {
            let first = c.next().await;
            assert_eq!(first["seq"], 4);
            assert!(first.get("data").is_some(), "full first: {first}");
            for seq in [5, 6] {
                let next = c.next().await;
                assert_eq!(
                    (next["seq"].as_u64(), next["base"].as_u64()),
                    (Some(seq), Some(seq - 1))
                );
            }
        }
        for seq in 4..=6 {
            assert_eq!(holder.take(&early.next().await), fight(10, seq - 1));
        }
        assert_eq!(holder.deltas, 5);
    }

    #[test]
    fn a_state_that_cannot_be_patched_exactly_goes_full_and_what_is_kept_is_bounded() {
        let channel = Channel::Event(3);
        let mut states = States::default();
        let state = |seq, data: Value| protocol::durable("event_state", &channel, seq, &data);
        let live = json!({"id": 3, "status": "live", "current_fight": 10, "end_time": null});
        assert!(states.next(&channel, 1, &state(1, live.clone())).is_none());
        let next = json!({"id": 3, "status": "live", "current_fight": 11, "end_time": null});
        let (base, delta) = states.next(&channel, 2, &state(2, next)).expect("a delta");
        assert_eq!(base, 1);
        let v: Value = serde_json::from_str(&delta).expect("json");
        assert_eq!(v["patch"], json!({"current_fight": 11}));
        // `current_fight` becoming null is said beside the patch.
        let between = json!({"id": 3, "status": "live", "current_fight": null, "end_time": null});
        let (_, delta) = states
            .next(&channel, 3, &state(3, between))
            .expect("a delta");
        let v: Value = serde_json::from_str(&delta).expect("json");
        assert_eq!(
            (&v["patch"], &v["nulls"]),
            (&json!({}), &json!(["/current_fight"]))
        );
        assert!(states
            .next(
                &channel,
                4,
                &protocol::durable("update", &channel, 4, &live)
            )
            .is_none());
        assert_eq!(states.len(), 1, "updates carry no state");
        for id in 0..(MAX_STATES as i64 + 10) {
            let seq = 5 + id as u64;
            let f = protocol::durable("fight_state", &channel, seq, &fight(id, 0));
            states.next(&channel, seq, &f);
        }
        assert_eq!(states.len(), MAX_STATES);
    }
}
