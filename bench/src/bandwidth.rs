//! The `bandwidth` scenario (issue 16): what delta frames save on a fight
//! night's state frames. A card's fights are run through the real
//! fight-control API (officials, the bell, the clock kept in step, both
//! corners' counters rising, the horn, the judges' scores, the result)
//! while two WebSocket subscribers follow the event and each fight: one
//! that asked for deltas (`?delta=true`, `"delta": true`) and one that did
//! not. It counts the bytes of the `event_state` and `fight_state` frames
//! each received, rebuilds the delta subscriber's states (RFC 7386 and the
//! delta's `nulls`) and
//! checks they equal the full subscriber's, frame by frame.
//!
//! Ringside only: the reference server has no fights.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::api;
use crate::http::HttpClient;
use crate::scenario::CommonArgs;

#[derive(Debug, Clone, clap::Args)]
pub struct BandwidthArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Rounds the fight goes: 5 ends on the cards, fewer with a KO in the
    /// round after.
    #[arg(long, default_value_t = 5)]
    pub rounds: i32,
    /// Statisticians' entries per corner per round.
    #[arg(long, default_value_t = 6)]
    pub entries: i64,
}

type Ws = WebSocketStream<TcpStream>;

const JUDGES: [&str; 3] = ["Judge One", "Judge Two", "Judge Three"];

/// How long a frame that must come may take.
const PATIENCE: Duration = Duration::from_secs(30);

pub async fn run(args: BandwidthArgs) -> Result<(), String> {
    let env = crate::scenario::Env {
        common: &args.common,
        viewers: 10,
    };
    let mut server =
        crate::scenario::server_for(crate::server_control::Kind::Ringside, &env).await?;
    let result = measure(&args, server.addr).await;
    server.stop().await;
    let figures = result?;
    println!(
        "{}",
        serde_json::to_string_pretty(&figures).unwrap_or_default()
    );
    Ok(())
}

async fn ok(admin: &mut HttpClient, path: &str, body: Value) -> Result<Value, String> {
    let r = admin.post(path, Some(&body)).await?;
    if !(200..300).contains(&r.status) {
        return Err(format!("POST {path}: {}: {}", r.status, r.text()));
    }
    r.json()
}

/// The live fights of the live event, in card order (main event first).
async fn live_fights(admin: &mut HttpClient, live: i64) -> Result<Vec<i64>, String> {
    let r = admin.get(&format!("/api/live/events/{live}/")).await?;
    let v = r.json()?;
    Ok(v["fights"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["id"].as_i64()).collect())
        .unwrap_or_default())
}

/// One round of a fight: the bell, the clock in step and the counters
/// rising `entries` times per corner, then the horn and the three cards (or
/// a KO at the last entry when `finish`).
async fn round(
    admin: &mut HttpClient,
    fight: i64,
    round: i32,
    entries: i64,
    finish: bool,
) -> Result<(), String> {
    let at = |what: &str| format!("/api/live/fights/{fight}/{what}");
    ok(admin, &at("rounds/start/"), json!({ "round": round })).await?;
    let entries = entries.max(1);
    let mut elapsed = 0;
    for step in 1..=entries {
        elapsed = 280 * step / entries;
        let clock = format!("{}:{:02}", elapsed / 60, elapsed % 60);
        ok(
            admin,
            &at("rounds/clock/"),
            json!({ "elapsed": clock, "reason": "in step with the arena clock" }),
        )
        .await?;
        for (corner, pace) in [("red", 3), ("blue", 2)] {
            let landed = pace * step;
            ok(
                admin,
                &at("stats/"),
                json!({ "corner": corner, "round": round, "strikes_landed": landed + 2,
                        "strikes_attempted": 3 * landed + 4, "significant_strikes_landed": landed,
                        "significant_strikes_attempted": 2 * landed + 1,
                        "takedowns_attempted": step / 3, "control_time_s": elapsed / 4 }),
            )
            .await?;
        }
    }
    if finish {
        let time = format!("{}:{:02}", elapsed / 60, elapsed % 60);
        ok(
            admin,
            &at("result/"),
            json!({ "method": "ko", "winner": "red", "round": round, "time": time }),
        )
        .await?;
        return Ok(());
    }
    ok(admin, &at("rounds/end/"), json!({ "round": round })).await?;
    for judge in JUDGES {
        ok(
            admin,
            &at("scores/"),
            json!({ "judge": judge, "round": round, "red": 10, "blue": 9 }),
        )
        .await?;
    }
    Ok(())
}

/// Opens a WebSocket on the event, follows each fight too, and reads every
/// `subscribed`: channel → its head.
async fn follow(
    addr: SocketAddr,
    live: i64,
    fights: &[i64],
    delta: bool,
) -> Result<(Ws, HashMap<String, u64>), String> {
    let query = if delta { "?delta=true" } else { "" };
    let url = format!("ws://{addr}/api/live/events/{live}/{query}");
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|e| format!("WebSocket: {e}"))?;
    for fight in fights {
        let op = json!({ "op": "subscribe", "channel": format!("fight:{fight}"), "delta": delta });
        ws.send(Message::Text(op.to_string().into()))
            .await
            .map_err(|e| format!("subscribe: {e}"))?;
    }
    let mut heads = HashMap::new();
    while heads.len() < fights.len() + 1 {
        let v: Value =
            serde_json::from_str(&next_text(&mut ws).await?).map_err(|e| format!("frame: {e}"))?;
        if v["type"] == "subscribed" {
            let channel = v["channel"].as_str().unwrap_or_default().to_string();
            heads.insert(channel, v["seq"].as_u64().unwrap_or(0));
        }
    }
    Ok((ws, heads))
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        let msg = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .map_err(|_| "no frame within the patience".to_string())?
            .ok_or("the connection ended")?
            .map_err(|e| format!("WebSocket: {e}"))?;
        match msg {
            Message::Text(t) => return Ok(t.to_string()),
            Message::Close(c) => return Err(format!("closed: {c:?}")),
            _ => {}
        }
    }
}

/// A delta's `nulls`: members set to null after the patch (RFC 6901
/// pointers into objects).
fn set_nulls(target: &mut Value, nulls: &Value) {
    for pointer in nulls
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let Some((parent, last)) = pointer.rsplit_once('/') else {
            continue;
        };
        let key = last.replace("~1", "/").replace("~0", "~");
        if let Some(Value::Object(object)) = target.pointer_mut(parent) {
            object.insert(key, Value::Null);
        }
    }
}

/// RFC 7386, written again on purpose rather than taken from the actors
/// crate: the bench plays the client and checks the server's deltas with an
/// implementation of its own, as the TypeScript client does.
fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(object) = target {
        for (key, value) in members {
            if value.is_null() {
                object.remove(key);
            } else {
                apply(object.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// What one subscriber received of the state frames.
#[derive(Default)]
struct Received {
    frames: u64,
    bytes: u64,
    deltas: u64,
    delta_bytes: u64,
    /// Rebuilt: (channel, seq) → data.
    states: BTreeMap<(String, u64), Value>,
    /// The last data of each (channel, type, id), by seq.
    last: HashMap<(String, String, Option<i64>), (u64, Value)>,
    missing_base: u64,
    at: HashMap<String, u64>,
}

impl Received {
    fn take(&mut self, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let (Some(channel), Some(seq)) = (v["channel"].as_str(), v["seq"].as_u64()) else {
            return;
        };
        let channel = channel.to_string();
        self.at.insert(channel.clone(), seq);
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        if kind != "event_state" && kind != "fight_state" {
            return;
        }
        self.frames += 1;
        self.bytes += text.len() as u64;
        let data = match (v.get("patch"), v["base"].as_u64()) {
            (Some(patch), Some(base)) => {
                self.deltas += 1;
                self.delta_bytes += text.len() as u64;
                let key = self
                    .last
                    .iter()
                    .find(|((c, k, _), (s, _))| *c == channel && *k == kind && *s == base)
                    .map(|(key, _)| key.clone());
                let Some((_, mut data)) = key.and_then(|k| self.last.remove(&k)) else {
                    self.missing_base += 1;
                    return;
                };
                apply(&mut data, patch);
                set_nulls(&mut data, &v["nulls"]);
                data
            }
            _ => v["data"].clone(),
        };
        let id = data["id"].as_i64();
        self.last
            .insert((channel.clone(), kind, id), (seq, data.clone()));
        self.states.insert((channel, seq), data);
    }

    async fn read_to(&mut self, ws: &mut Ws, heads: &HashMap<String, u64>) -> Result<(), String> {
        while heads
            .iter()
            .any(|(c, head)| self.at.get(c).copied().unwrap_or(0) < *head)
        {
            let text = next_text(ws).await?;
            self.take(&text);
        }
        Ok(())
    }
}

async fn measure(args: &BandwidthArgs, addr: SocketAddr) -> Result<Value, String> {
    let c = &args.common;
    let mut admin = api::sign_in(addr, &c.admin_email, &c.admin_password).await?;
    let live = api::prepare_live_event(&mut admin).await?;
    let fights = live_fights(&mut admin, live).await?;
    let main = *fights.first().ok_or("the card has no fight")?;
    for (i, fight) in fights.iter().enumerate() {
        ok(
            &mut admin,
            &format!("/api/live/fights/{fight}/officials/"),
            json!({ "referee": format!("Referee {i}"), "judges": JUDGES }),
        )
        .await?;
    }
    let (mut full, _) = follow(addr, live, &fights, false).await?;
    let (mut delta, _) = follow(addr, live, &fights, true).await?;

    eprintln!(
        "running fight {main} over {} rounds, {} entries per corner per round…",
        args.rounds, args.entries
    );
    ok(
        &mut admin,
        &format!("/api/live/fights/{main}/start/"),
        json!({}),
    )
    .await?;
    let rounds = args.rounds.clamp(1, 5);
    for r in 1..=rounds {
        round(&mut admin, main, r, args.entries, false).await?;
    }
    if rounds == 5 {
        ok(
            &mut admin,
            &format!("/api/live/fights/{main}/result/"),
            json!({ "method": "unanimous_decision", "winner": "red" }),
        )
        .await?;
    } else {
        round(&mut admin, main, rounds + 1, args.entries, true).await?;
    }

    let (_, heads) = follow(addr, live, &fights, false).await?;
    let (mut got_full, mut got_delta) = (Received::default(), Received::default());
    got_full.read_to(&mut full, &heads).await?;
    got_delta.read_to(&mut delta, &heads).await?;
    api::end_live_event(&mut admin, live).await;

    let same = got_full.states == got_delta.states;
    if !same || got_delta.missing_base > 0 || got_full.deltas > 0 {
        return Err(format!(
            "the delta subscriber's states differ (same: {same}, missing bases: {}, deltas to the full subscriber: {})",
            got_delta.missing_base, got_full.deltas
        ));
    }
    let per = |bytes: u64, n: u64| if n == 0 { 0.0 } else { bytes as f64 / n as f64 };
    let saving = 100.0 * (1.0 - got_delta.bytes as f64 / got_full.bytes.max(1) as f64);
    Ok(json!({
        "scenario": "bandwidth",
        "rounds": rounds,
        "entries_per_corner_per_round": args.entries,
        "state_frames": got_full.frames,
        "full": { "bytes": got_full.bytes, "bytes_per_frame": per(got_full.bytes, got_full.frames).round() },
        "delta": {
            "bytes": got_delta.bytes,
            "bytes_per_frame": per(got_delta.bytes, got_delta.frames).round(),
            "frames_as_deltas": got_delta.deltas,
            "bytes_per_delta": per(got_delta.delta_bytes, got_delta.deltas).round(),
        },
        "saving_percent": (saving * 10.0).round() / 10.0,
        "states_identical": same,
    }))
}
