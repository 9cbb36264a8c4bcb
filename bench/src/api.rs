//! Ringside's REST API as the bench uses it: sign in, build the smallest
//! card a live event needs, create and start the live event, end it after.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::http::{HttpClient, Response};
use crate::stats::realtime_ns;

fn expect(what: &str, r: Result<Response, String>, status: u16) -> Result<Value, String> {
    let r = r.map_err(|e| format!("{what}: {e}"))?;
    if r.status != status {
        return Err(format!(
            "{what}: expected {status}, got {}: {}",
            r.status,
            r.text()
        ));
    }
    r.json().map_err(|e| format!("{what}: {e}"))
}

fn id_of(what: &str, v: &Value) -> Result<i64, String> {
    v["id"]
        .as_i64()
        .ok_or_else(|| format!("{what}: no id in {v}"))
}

/// Signs in; the returned client sends the admin's token.
pub async fn sign_in(addr: SocketAddr, email: &str, password: &str) -> Result<HttpClient, String> {
    let mut client = HttpClient::new(addr, Duration::from_secs(30));
    let v = expect(
        "sign in",
        client
            .post(
                "/api/auth/login/",
                Some(&json!({"email": email, "password": password})),
            )
            .await,
        200,
    )?;
    let token = v["token"]
        .as_str()
        .ok_or_else(|| format!("sign in: no token in {v}"))?;
    client.set_token(token.to_string());
    Ok(client)
}

/// Creates a division, two fighters, an event with one fight, its live
/// coverage, and starts it. Returns the live event's id. Names carry a
/// unique suffix so a reused server does not refuse them.
pub async fn prepare_live_event(client: &mut HttpClient) -> Result<i64, String> {
    let tag = format!("{}-{}", std::process::id(), realtime_ns() % 1_000_000_000);
    let division = id_of(
        "division",
        &expect(
            "create division",
            client
                .post(
                    "/api/divisions/",
                    Some(&json!({"name": format!("Bench {tag}"), "weight_limit_lbs": 155})),
                )
                .await,
            201,
        )?,
    )?;
    let mut fighters = Vec::new();
    for (name, nickname) in [("Red", "The Publisher"), ("Blue", "The Subscriber")] {
        let v = expect(
            "create fighter",
            client
                .post(
                    "/api/fighters/",
                    Some(&json!({"name": format!("Bench {name} {tag}"),
                        "nickname": nickname, "division": division})),
                )
                .await,
            201,
        )?;
        fighters.push(id_of("fighter", &v)?);
    }
    let event = id_of(
        "event",
        &expect(
            "create event",
            client
                .post(
                    "/api/events/",
                    Some(&json!({"name": format!("Bench Night {tag}"),
                        "venue": "Loopback Arena",
                        "scheduled_start": "2030-01-01T20:00:00Z"})),
                )
                .await,
            201,
        )?,
    )?;
    expect(
        "create fight",
        client
            .post(
                "/api/fights/",
                Some(&json!({"event": event, "red_fighter": fighters[0],
                    "blue_fighter": fighters[1], "division": division,
                    "scheduled_rounds": 5, "card_order": 1, "is_title_fight": false})),
            )
            .await,
        201,
    )?;
    let live = id_of(
        "live event",
        &expect(
            "create live event",
            client
                .post("/api/live/events/", Some(&json!({"event": event})))
                .await,
            201,
        )?,
    )?;
    let r = client
        .post(&format!("/api/live/events/{live}/start/"), None)
        .await
        .map_err(|e| format!("start live event: {e}"))?;
    if r.status != 200 {
        return Err(format!(
            "start live event: expected 200, got {}: {}",
            r.status,
            r.text()
        ));
    }
    Ok(live)
}

/// Ends the live event (best effort: a reused server keeps a free slot).
pub async fn end_live_event(client: &mut HttpClient, live: i64) {
    // Idle since the card was built: the server has likely closed it.
    client.reconnect();
    match client
        .post(&format!("/api/live/events/{live}/end/"), None)
        .await
    {
        Ok(r) if r.status == 200 => {}
        Ok(r) => eprintln!("ending the live event: {}: {}", r.status, r.text()),
        Err(e) => eprintln!("ending the live event: {e}"),
    }
}
