//! Delta frames (issue 16, "Bandwidth") over the real server: a fight
//! night run through the fight-control API, watched by a subscriber that
//! asked for deltas and one that did not. The delta subscriber rebuilds
//! exactly the full subscriber's states; the one that did not ask never
//! sees a delta; a subscriber that resumes mid-fight gets full frames
//! first; a bad `delta` is refused with `bad_request`. It prints the bytes
//! saved (the bench's `bandwidth` scenario measures the same, on its own).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use ringside_actors::protocol::merge_patch;

use crate::fight_control::{night, Fight, Night};
use crate::harness::TestApp;
use crate::ws_client::WsClient;

/// One round of `f`: the bell, the clock kept in step with the arena, both
/// corners' counters rising as the cageside statisticians enter them, the
/// horn (or, for `finish`, a KO instead of the horn).
async fn round(n: &Night, f: &Fight, round: i32, finish: bool) {
    n.ok_on(f, "rounds/start/", json!({ "round": round })).await;
    for step in 1..=4i64 {
        n.clock(f, &format!("{}:{:02}", step, 10 * step)).await;
        for (corner, pace) in [("red", 3), ("blue", 2)] {
            let landed = pace * step;
            n.ok_on(
                f,
                "stats/",
                json!({ "corner": corner, "round": round, "strikes_landed": landed + 2,
                        "strikes_attempted": 3 * landed + 4, "significant_strikes_landed": landed,
                        "significant_strikes_attempted": 2 * landed + 1,
                        "takedowns_attempted": step / 2, "control_time_s": 5 * step }),
            )
            .await;
        }
    }
    if finish {
        n.ok_on(
            f,
            "result/",
            json!({ "method": "ko", "winner": "red", "round": round, "time": "4:40" }),
        )
        .await;
        return;
    }
    n.ok_on(f, "rounds/end/", json!({ "round": round })).await;
    for judge in crate::fight_control::JUDGES {
        n.ok_on(
            f,
            "scores/",
            json!({ "judge": judge, "round": round, "red": 10, "blue": 9 }),
        )
        .await;
    }
}

/// The state frames a client holds: the last `data` of each (type, id) per
/// channel, rebuilt from deltas as the TypeScript client does.
#[derive(Default)]
struct Holder {
    states: HashMap<(String, String, Option<i64>), (u64, Value)>,
    /// Every state frame, rebuilt: (channel, seq) → (type, data).
    frames: BTreeMap<(String, u64), (String, Value)>,
    deltas: usize,
    state_frames: usize,
    state_bytes: usize,
    /// The last seq read per channel.
    at: HashMap<String, u64>,
}

impl Holder {
    fn take(&mut self, text: &str) {
        let v: Value = serde_json::from_str(text).expect("JSON frame");
        let (Some(channel), Some(seq)) = (v["channel"].as_str(), v["seq"].as_u64()) else {
            return;
        };
        let channel = channel.to_string();
        self.at.insert(channel.clone(), seq);
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        if !matches!(kind.as_str(), "event_state" | "fight_state") {
            return;
        }
        self.state_frames += 1;
        self.state_bytes += text.len();
        let data = match v.get("patch") {
            Some(patch) => {
                self.deltas += 1;
                let base = v["base"].as_u64().expect("a delta names its base");
                let key = self
                    .states
                    .iter()
                    .find(|((c, k, _), (s, _))| *c == channel && *k == kind && *s == base)
                    .map(|(key, _)| key.clone())
                    .unwrap_or_else(|| panic!("the base of {v} was never sent"));
                let (_, mut data) = self.states.remove(&key).expect("held");
                merge_patch::apply(&mut data, patch);
                let nulls: Vec<String> =
                    serde_json::from_value(v["nulls"].clone()).unwrap_or_default();
                merge_patch::set_nulls(&mut data, &nulls);
                data
            }
            None => v["data"].clone(),
        };
        let id = data["id"].as_i64();
        self.states
            .insert((channel.clone(), kind.clone(), id), (seq, data.clone()));
        self.frames.insert((channel, seq), (kind, data));
    }

    /// Reads `c` until every channel of `heads` is at its head.
    async fn read_to(&mut self, c: &mut WsClient, heads: &HashMap<String, u64>) {
        while heads
            .iter()
            .any(|(ch, head)| self.at.get(ch).copied().unwrap_or(0) < *head)
        {
            let v = c.next_durable().await;
            self.take(&v.to_string());
        }
    }
}

/// Subscribes `c` to the night's fight channels, with or without deltas,
/// and reads the `subscribed` of the event and of each fight.
async fn follow(c: &mut WsClient, n: &Night, delta: bool) -> HashMap<String, (String, u64)> {
    for (i, f) in n.fights.iter().enumerate() {
        let mut op = json!({ "op": "subscribe", "channel": format!("fight:{}", f.id), "ref": i });
        if delta {
            op["delta"] = json!(true);
        }
        c.send(op).await;
    }
    let mut heads = HashMap::new();
    while heads.len() < n.fights.len() + 1 {
        let v = c.next_durable().await;
        assert_eq!(v["type"], "subscribed", "{v}");
        let channel = v["channel"].as_str().expect("channel").to_string();
        let epoch = v["epoch"].as_str().expect("epoch").to_string();
        heads.insert(channel, (epoch, v["seq"].as_u64().expect("seq")));
    }
    heads
}

#[actix_rt::test]
async fn a_delta_subscriber_ends_a_fight_night_with_the_full_subscribers_states() {
    let app = TestApp::spawn().await;
    let n = night(&app, 2, json!({})).await;
    let event = format!("/api/live/events/{}/", n.event);
    let mut full = WsClient::open(&app, &event).await;
    let mut delta = WsClient::open(&app, &format!("{event}?delta=true")).await;
    follow(&mut full, &n, false).await;
    follow(&mut delta, &n, true).await;
    let (main, co_main) = (&n.fights[0], &n.fights[1]);

    // The co-main goes the distance; a fan follows it on its own channel
    // with deltas, drops after round 1 and resumes in round 2.
    n.ok_on(co_main, "start/", json!({})).await;
    let co_path = format!("/api/live/fights/{}/", co_main.id);
    let mut fan = WsClient::open(&app, &format!("{co_path}?delta=true")).await;
    let subscribed = fan.next_durable().await;
    let epoch = subscribed["epoch"].as_str().expect("epoch").to_string();
    round(&n, co_main, 1, false).await;
    let mut left_at = 0;
    while left_at < subscribed["seq"].as_u64().expect("seq") + 3 {
        left_at = fan.next_durable().await["seq"].as_u64().expect("seq");
    }
    drop(fan);
    round(&n, co_main, 2, false).await;
    let mut fan = WsClient::open(
        &app,
        &format!("{co_path}?since={epoch}:{left_at}&delta=true"),
    )
    .await;
    let resumed = fan.next_durable().await;
    assert_eq!(resumed["type"], "subscribed", "{resumed}");
    let head = resumed["seq"].as_u64().expect("seq");
    assert!(head > left_at + 3, "round 2 went on without the fan");
    round(&n, co_main, 3, false).await;
    let mut fan_holder = Holder::default();
    let mut first_live = None;
    while fan_holder
        .at
        .get(&format!("fight:{}", co_main.id))
        .copied()
        .unwrap_or(0)
        < head + 5
    {
        let v = fan.next_durable().await;
        let seq = v["seq"].as_u64().expect("seq");
        if seq <= head {
            assert!(v.get("data").is_some(), "a replayed frame is full: {v}");
        } else if first_live.is_none() && v["type"] == "fight_state" {
            first_live = Some(v.clone());
        }
        fan_holder.take(&v.to_string());
    }
    let first_live = first_live.expect("live frames after the replay");
    assert!(
        first_live.get("data").is_some() && first_live.get("patch").is_none(),
        "the first live state frame after a resume is full: {first_live}"
    );
    assert!(fan_holder.deltas > 0, "then deltas");
    n.ok_on(
        co_main,
        "result/",
        json!({ "method": "unanimous_decision", "winner": "red" }),
    )
    .await;

    // The main event ends in round 2.
    n.ok_on(main, "start/", json!({})).await;
    round(&n, main, 1, false).await;
    round(&n, main, 2, true).await;

    // Where every channel is now: a late subscriber's `subscribed` says.
    let mut late = WsClient::open(&app, &event).await;
    let heads: HashMap<String, u64> = follow(&mut late, &n, false)
        .await
        .into_iter()
        .map(|(channel, (_, seq))| (channel, seq))
        .collect();
    let (mut got_full, mut got_delta) = (Holder::default(), Holder::default());
    got_full.read_to(&mut full, &heads).await;
    got_delta.read_to(&mut delta, &heads).await;

    let saving = 100.0 * (1.0 - got_delta.state_bytes as f64 / got_full.state_bytes as f64);
    println!(
        "delta frames: {} state frames; full {} bytes ({} per frame), delta {} bytes ({} per frame): {saving:.1}% saved",
        got_full.state_frames,
        got_full.state_bytes,
        got_full.state_bytes / got_full.state_frames,
        got_delta.state_bytes,
        got_delta.state_bytes / got_delta.state_frames,
    );
    assert_eq!(
        got_full.deltas, 0,
        "a client that did not ask gets no delta"
    );
    assert!(got_full.state_frames > 100, "{}", got_full.state_frames);
    assert_eq!(
        got_delta.frames, got_full.frames,
        "the delta subscriber rebuilds every state frame exactly"
    );
    assert_eq!(got_delta.states, got_full.states);
    assert!(
        got_delta.deltas * 10 > got_delta.state_frames * 9,
        "nearly every state frame is a delta: {} of {}",
        got_delta.deltas,
        got_delta.state_frames
    );
    assert!(saving > 50.0, "{saving:.1}%");
}

#[actix_rt::test]
async fn a_bad_delta_is_refused_with_bad_request() {
    let app = TestApp::spawn().await;
    let n = night(&app, 1, json!({})).await;
    let path = format!("/api/live/fights/{}/", n.fights[0].id);
    let mut c = WsClient::open(&app, &path).await;
    assert_eq!(c.next_durable().await["type"], "subscribed");
    c.send(json!({ "op": "subscribe", "channel": format!("event:{}", n.event), "delta": "yes", "ref": 7 }))
        .await;
    let refused = c.next_durable().await;
    assert_eq!(
        (&refused["type"], &refused["code"], &refused["ref"]),
        (&json!("error"), &json!("bad_request"), &json!(7)),
        "{refused}"
    );
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("`delta` must be true or false")),
        "{refused}"
    );
    assert_eq!(
        WsClient::connect(&app, &format!("{path}?delta=maybe"))
            .await
            .err(),
        Some(400)
    );
}
