//! Mobile push: FCM HTTP v1 and APNs over HTTP/2, fed by the durable outbox
//! (`notification_deliveries`) that the dispatcher drains. A provider that
//! is not configured is off: its devices get no delivery rows and in-app
//! notifications still work.

pub mod apns;
pub mod dispatcher;
pub mod fcm;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::PushSettings;
use crate::db::notifications::{HandOver, PushTargets};

/// A bulk send hands at most this many claimed deliveries straight to the
/// dispatcher; the rest are claimed as usual. Bounded so that rows never
/// wait in memory for anything near their lease.
const HAND_OVER_MAX: i64 = 20_000;

/// One push to one device, as the outbox row and its notification say.
#[derive(Debug, Clone)]
pub struct Message {
    pub delivery: i64,
    pub notification: i64,
    pub notification_type: String,
    pub title: String,
    pub body: String,
    pub action_url: Option<String>,
    pub data: Value,
    pub expires_at: DateTime<Utc>,
    pub token: String,
}

impl Message {
    /// Time-critical types interrupt; the rest may wait for the device.
    fn urgent(&self) -> bool {
        matches!(
            self.notification_type.as_str(),
            "emergency" | "fight_result" | "breaking_news"
        )
    }

    /// The shown text: the stored message can be longer than a push may be
    /// (4 KiB payloads on both providers); the app shows the rest.
    fn short_body(&self) -> String {
        const MAX: usize = 1000;
        if self.body.chars().count() <= MAX {
            self.body.clone()
        } else {
            let mut s: String = self.body.chars().take(MAX - 1).collect();
            s.push('…');
            s
        }
    }

    /// One delivery of a notification replaces another on the device, so a
    /// retry after an unanswered request never shows twice.
    fn collapse_id(&self) -> String {
        format!("n{}", self.notification)
    }
}

/// What a provider said about one push.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted for delivery (the provider's message id, when it gives one).
    Accepted(Option<String>),
    /// The token is dead: the device is deactivated.
    InvalidToken(String),
    /// Try again later: after the provider's `Retry-After` when it sent one.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will never succeed (a malformed request, a payload too large).
    Failed(String),
}

/// The configured providers.
pub struct Providers {
    pub fcm: Option<fcm::Fcm>,
    pub apns: Option<apns::Apns>,
}

impl Providers {
    pub fn new(settings: &PushSettings) -> Result<Providers, String> {
        let fcm = match &settings.fcm {
            Some(s) => Some(fcm::Fcm::new(s, settings.request_timeout)?),
            None => {
                tracing::warn!("FCM push is off: FCM_SERVICE_ACCOUNT_FILE is not set");
                None
            }
        };
        let apns = match &settings.apns {
            Some(s) => Some(apns::Apns::new(s, settings.request_timeout)?),
            None => {
                tracing::warn!("APNs push is off: APNS_KEY_FILE and friends are not set");
                None
            }
        };
        Ok(Providers { fcm, apns })
    }

    /// Platforms with a provider.
    pub fn platforms(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.fcm.is_some() {
            out.push("android".to_string());
        }
        if self.apns.is_some() {
            out.push("ios".to_string());
        }
        out
    }

    pub async fn send(&self, platform: &str, message: &Message) -> Outcome {
        match (platform, &self.fcm, &self.apns) {
            ("android", Some(fcm), _) => fcm.send(message).await,
            ("ios", _, Some(apns)) => apns.send(message).await,
            _ => Outcome::Failed(format!("no push provider for {platform}")),
        }
    }
}

/// What the rest of the server holds: where deliveries may go, and a way
/// to wake the dispatcher when some were just committed.
#[derive(Clone)]
pub struct Push {
    targets: PushTargets,
    hand_over: Option<HandOver>,
    dispatcher: Option<dispatcher::Handle>,
}

impl Push {
    /// Starts the dispatcher (on its own arbiter) when a provider is set.
    pub fn start(settings: &PushSettings, db: crate::db::Db) -> Result<Push, String> {
        let providers = Providers::new(settings)?;
        let claimer = format!("{}:{}", std::process::id(), crate::auth::random_token(6));
        let targets = PushTargets {
            platforms: providers.platforms(),
            ttl_seconds: settings.ttl.as_secs() as i64,
            hand_over: None,
        };
        let (dispatcher, hand_over) = if targets.platforms.is_empty() {
            (None, None)
        } else {
            let hand_over = HandOver {
                claimer: claimer.clone(),
                lease_seconds: settings.lease.as_secs_f64(),
                max: HAND_OVER_MAX,
            };
            let handle = dispatcher::start(db, Arc::new(providers), settings.clone(), claimer);
            (Some(handle), Some(hand_over))
        };
        Ok(Push {
            targets,
            hand_over,
            dispatcher,
        })
    }

    /// Where deliveries may go; all of them wait to be claimed.
    pub fn targets(&self) -> &PushTargets {
        &self.targets
    }

    /// The same, with the first deliveries claimed by this node as they are
    /// queued: pass `Sent::claimed` to [`Push::hand_over`] after the commit.
    pub fn targets_to_hand_over(&self) -> PushTargets {
        PushTargets {
            hand_over: self.hand_over.clone(),
            ..self.targets.clone()
        }
    }

    /// Gives committed, already claimed deliveries to this node's dispatcher.
    pub fn hand_over(&self, rows: Vec<crate::db::push_outbox::Claimed>) {
        if let Some(d) = &self.dispatcher {
            d.hand_over(rows);
        }
    }

    /// Deliveries were committed: look now rather than at the next poll.
    pub fn wake(&self) {
        if let Some(d) = &self.dispatcher {
            d.wake();
        }
    }

    /// Stops claiming, lets the pushes in flight finish and records them.
    pub async fn stop(&self) {
        if let Some(d) = &self.dispatcher {
            d.stop().await;
        }
    }
}

/// A provider's answer, read whole.
pub(crate) struct Answer {
    pub status: reqwest::StatusCode,
    /// `Retry-After`, when given.
    pub after: Option<Duration>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// Sends one request; a provider that cannot be reached is a retry.
pub(crate) async fn exchange(
    provider: &str,
    request: reqwest::RequestBuilder,
) -> Result<Answer, Outcome> {
    let response = request.send().await.map_err(|e| Outcome::Retry {
        after: None,
        reason: format!("{provider} unreachable: {e}"),
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    let after = retry_after(&headers);
    let body = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        after,
        headers,
        body,
    })
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    (at.with_timezone(&Utc) - Utc::now()).to_std().ok()
}

/// A reqwest client for a provider. `h2_only`: HTTP/2 with prior knowledge
/// (APNs speaks nothing else; over `http://` this is h2c for local fakes).
pub(crate) fn http_client(timeout: Duration, h2_only: bool) -> Result<reqwest::Client, String> {
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .http2_keep_alive_interval(Duration::from_secs(30))
        .http2_keep_alive_while_idle(true)
        .user_agent(concat!("ringside/", env!("CARGO_PKG_VERSION")));
    let builder = if h2_only {
        builder.http2_prior_knowledge()
    } else {
        builder
    };
    builder.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = (Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).expect("header"));
        let got = retry_after(&h).expect("a date");
        assert!(got > Duration::from_secs(100) && got <= Duration::from_secs(120));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
