//! Chaos over real processes: two nodes sharing PostgreSQL and Redis carry
//! a 2/s event while every node is restarted in turn (SIGTERM: 1012 with a
//! retry hint) and one is killed (SIGKILL: no goodbye). Viewers reconnect to
//! whichever node answers and resume with `since`; the publisher retries
//! with its `Idempotency-Key` on the other node. In the end every viewer has
//! every acknowledged update exactly once, in order.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use crate::child::ChildServer;
use crate::harness::{fresh_database, RedisServer, TestApp};
use crate::live_ws::live_event;

const VIEWERS: usize = 40;

/// What one viewer saw: the update seqs, in arrival order, and how often
/// it had to reconnect.
#[derive(Default)]
struct Seen {
    updates: Vec<u64>,
    subscribed: bool,
    reconnects: u32,
}

/// Follows `event:{event}` on one of `bases`, moving to the next node when
/// a connection ends or cannot be made, resuming from the last seq seen.
async fn viewer(
    bases: Rc<Vec<String>>,
    event: i64,
    first: usize,
    seen: Rc<RefCell<Seen>>,
    done: Rc<Cell<bool>>,
) {
    let mut node = first;
    let mut position: Option<(String, u64)> = None;
    while !done.get() {
        let since = position
            .as_ref()
            .map(|(epoch, seq)| format!("?since={epoch}:{seq}"))
            .unwrap_or_default();
        let url = format!(
            "{}/api/live/events/{event}/{since}",
            bases[node].replace("http://", "ws://")
        );
        let Ok((_, mut conn)) = awc::Client::new().ws(url).connect().await else {
            node = (node + 1) % bases.len();
            actix_rt::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        loop {
            let frame = match actix_rt::time::timeout(Duration::from_millis(500), conn.next()).await
            {
                Err(_) if done.get() => return,
                Err(_) => continue,
                Ok(Some(Ok(frame))) => frame,
                Ok(_) => break,
            };
            match frame {
                Frame::Text(bytes) => {
                    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
                        continue;
                    };
                    if v["channel"] != json!(format!("event:{event}")) {
                        continue;
                    }
                    if v["type"] == "subscribed" {
                        let epoch = v["epoch"].as_str().unwrap_or_default().to_string();
                        let head = v["seq"].as_u64().unwrap_or_default();
                        // A fresh subscription starts at the head; a resume
                        // in the same epoch replays from where it was.
                        let at = match &position {
                            Some((was, seq)) if *was == epoch => *seq,
                            _ => head,
                        };
                        position = Some((epoch, at));
                        seen.borrow_mut().subscribed = true;
                    } else if let Some(seq) = v["seq"].as_u64() {
                        if let Some((_, at)) = position.as_mut() {
                            *at = seq;
                        }
                        if v["type"] == "update" {
                            seen.borrow_mut().updates.push(seq);
                        }
                    }
                }
                Frame::Ping(p) => {
                    let _ = conn.send(Message::Pong(p)).await;
                }
                Frame::Close(_) => break,
                _ => {}
            }
        }
        seen.borrow_mut().reconnects += 1;
        node = (node + 1) % bases.len();
    }
}

/// Posts updates every 500 ms until `stop`, each retried with its key on
/// the other node until acknowledged, into `acked`; sets `finished` last.
async fn publisher(
    bases: Rc<Vec<String>>,
    db_url: String,
    token: String,
    event: i64,
    stop: Rc<Cell<bool>>,
    acked: Rc<RefCell<Vec<u64>>>,
    finished: Rc<Cell<bool>>,
) {
    let mut n = 0u64;
    while !stop.get() {
        n += 1;
        let key = format!("chaos-{n}");
        let body = json!({ "live_event": event, "live_fight": null, "update_type": "news",
                           "title": format!("Update {n}"), "description": "", "round_number": null,
                           "data": {}, "is_breaking": false });
        let mut node = n as usize % bases.len();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "update {n} never acknowledged");
            let app = TestApp::at(bases[node].clone(), db_url.clone());
            let sent = awc::Client::new()
                .post(app.url("/api/live/updates/"))
                .bearer_auth(&token)
                .insert_header(("Idempotency-Key", key.as_str()))
                .timeout(Duration::from_secs(10))
                .send_json(&body)
                .await;
            if let Ok(mut resp) = sent {
                if resp.status().as_u16() == 201 {
                    let v: Value = resp.json().await.expect("the answer");
                    acked.borrow_mut().push(v["seq"].as_u64().expect("seq"));
                    break;
                }
            }
            node = (node + 1) % bases.len();
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
        actix_rt::time::sleep(Duration::from_millis(500)).await;
    }
    finished.set(true);
}

/// Waits until `cond` holds, polling (a bounded wait on a condition).
async fn until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until two more updates than now are acknowledged.
async fn two_more(acked: &Rc<RefCell<Vec<u64>>>, what: &str) {
    let before = acked.borrow().len();
    until(what, Duration::from_secs(30), || {
        acked.borrow().len() >= before + 2
    })
    .await;
}

#[actix_rt::test]
async fn rolling_restarts_and_a_killed_node_lose_nothing_and_every_viewer_resumes() {
    let redis = RedisServer::start();
    let env = [("REDIS_URL", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut a = ChildServer::start_on(fresh_database(), &env).await;
    let mut b = ChildServer::start_on(a.db_url.clone(), &env).await;
    let bases = Rc::new(vec![a.base(), b.base()]);
    let (admin, event, _) = live_event(&a.app()).await;

    let done = Rc::new(Cell::new(false));
    let seen: Vec<Rc<RefCell<Seen>>> = (0..VIEWERS).map(|_| Rc::default()).collect();
    for (i, s) in seen.iter().enumerate() {
        actix_rt::spawn(viewer(bases.clone(), event, i % 2, s.clone(), done.clone()));
    }
    until("every viewer subscribed", Duration::from_secs(30), || {
        seen.iter().all(|s| s.borrow().subscribed)
    })
    .await;
    let acked = Rc::new(RefCell::new(Vec::new()));
    let stop = Rc::new(Cell::new(false));
    let finished = Rc::new(Cell::new(false));
    actix_rt::spawn(publisher(
        bases.clone(),
        a.db_url.clone(),
        admin,
        event,
        stop.clone(),
        acked.clone(),
        finished.clone(),
    ));

    // A rolling restart: b, then a, each stopped gracefully and back.
    two_more(&acked, "updates flowing").await;
    b.stop_gracefully().await;
    b.start_again(&env).await;
    two_more(&acked, "updates after b's restart").await;
    a.stop_gracefully().await;
    a.start_again(&env).await;
    two_more(&acked, "updates after a's restart").await;
    // And a node killed outright.
    b.kill();
    two_more(&acked, "updates while b is dead").await;
    b.start_again(&env).await;
    two_more(&acked, "updates after b is back").await;

    stop.set(true);
    until(
        "the publisher's last update",
        Duration::from_secs(60),
        || finished.get(),
    )
    .await;
    let published = acked.borrow().clone();
    until(
        "every viewer has every update",
        Duration::from_secs(30),
        || {
            seen.iter()
                .all(|s| s.borrow().updates.len() >= published.len())
        },
    )
    .await;
    done.set(true);
    for (i, s) in seen.iter().enumerate() {
        let s = s.borrow();
        assert_eq!(
            s.updates, published,
            "viewer {i}: every update once, in order"
        );
        assert!(
            s.reconnects >= 2,
            "viewer {i} rode out the restarts ({})",
            s.reconnects
        );
    }
    assert!(published.len() >= 10, "{} updates", published.len());
    // The publisher's retries never doubled an update.
    assert!(published.windows(2).all(|w| w[0] < w[1]), "{published:?}");
}
