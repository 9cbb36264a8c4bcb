//! Mobile push: FCM HTTP v1 and APNs over HTTP/2, fed by the durable outbox
//! (`notification_deliveries`) that the dispatcher drains. A provider that
//! is not configured is off: its devices get no delivery rows and in-app
//! notifications still work.

pub mod apns;
pub mod dispatcher;
pub mod fcm;
pub mod transport;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::PushSettings;
use crate::db::notifications::{HandOver, PushTargets};
use crate::db::push_outbox::{Claimed, Content};

/// A bulk send hands at most this many claimed deliveries straight to the
/// dispatcher; the rest are claimed as usual. Bounded so that rows never
/// wait in memory for anything near their lease: at the 10k pushes a
/// second measured on 2 cores this is 10 s of sending, against a default
/// lease of 60 s less the 10 s request timeout (a row past that margin is
/// not sent from memory; it is claimed again once its lease lapses).
const HAND_OVER_MAX: i64 = 100_000;

/// One push to one device: the delivery, its device's token and what its
/// notification says (shared by every delivery of that notification).
#[derive(Debug, Clone)]
pub struct Message {
    pub delivery: i64,
    pub notification: i64,
    pub content: Arc<Content>,
    pub expires_at: DateTime<Utc>,
    pub token: String,
}

impl Message {
    /// Time-critical types interrupt; the rest may wait for the device.
    fn urgent(&self) -> bool {
        matches!(
            self.content.notification_type.as_str(),
            "emergency" | "fight_result" | "breaking_news"
        )
    }

    /// The shown text: the stored message can be longer than a push may be
    /// (4 KiB payloads on both providers); the app shows the rest.
    fn short_body(&self) -> Cow<'_, str> {
        const MAX: usize = 1000;
        let body = &self.content.message;
        match body.char_indices().nth(MAX) {
            None => Cow::Borrowed(body),
            Some(_) => {
                let mut s: String = body.chars().take(MAX - 1).collect();
                s.push('…');
                Cow::Owned(s)
            }
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
    /// The provider's quota is spent (FCM 429 with `Retry-After`): this push
    /// goes back to the outbox for after `after`, the attempt not counted,
    /// and the dispatcher sends that provider nothing until then.
    Throttled { after: Duration, reason: String },
    /// Will never succeed (a malformed request, a payload too large).
    Failed(String),
}

/// A configured provider, serving one platform.
pub enum Provider {
    // Boxed: each holds its connections and credentials (hundreds of bytes).
    Fcm(Box<fcm::Fcm>),
    Apns(Box<apns::Apns>),
}

impl Provider {
    /// The configured ones; a provider that is not set is off, said once.
    pub fn configured(settings: &PushSettings) -> Result<Vec<Provider>, String> {
        let mut out = Vec::new();
        match &settings.fcm {
            Some(s) => out.push(Provider::Fcm(Box::new(fcm::Fcm::new(
                s,
                settings.request_timeout,
                settings.connections,
            )?))),
            None => tracing::warn!("FCM push is off: FCM_SERVICE_ACCOUNT_FILE is not set"),
        }
        match &settings.apns {
            Some(s) => out.push(Provider::Apns(Box::new(apns::Apns::new(
                s,
                settings.request_timeout,
                settings.connections,
            )?))),
            None => tracing::warn!("APNs push is off: APNS_KEY_FILE and friends are not set"),
        }
        Ok(out)
    }

    /// The `devices.platform` it pushes to.
    /// The `provider` label of push metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Fcm(_) => "fcm",
            Provider::Apns(_) => "apns",
        }
    }

    pub fn platform(&self) -> &'static str {
        match self {
            Provider::Fcm(_) => "android",
            Provider::Apns(_) => "ios",
        }
    }

    pub async fn send(&self, message: &Message) -> Outcome {
        match self {
            Provider::Fcm(fcm) => fcm.send(message).await,
            Provider::Apns(apns) => apns.send(message).await,
        }
    }
}

/// What the rest of the server holds: where deliveries may go, and a way
/// to wake the dispatchers when some were just committed.
#[derive(Clone)]
pub struct Push {
    targets: PushTargets,
    hand_over: Option<HandOver>,
    /// One per configured provider, each on its own arbiter (thread): a
    /// provider's request path is the busiest code in a bulk send, and the
    /// two providers share nothing.
    dispatchers: Vec<(&'static str, dispatcher::Handle)>,
}

impl Push {
    /// Starts a dispatcher per configured provider.
    pub fn start(settings: &PushSettings, db: crate::db::Db) -> Result<Push, String> {
        let providers = Provider::configured(settings)?;
        // One name for this node's claims: a row handed over by a bulk
        // send is held by it, whichever dispatcher sends it.
        let claimer = format!("{}:{}", std::process::id(), crate::auth::random_token(6));
        let targets = PushTargets {
            platforms: providers.iter().map(|p| p.platform().to_string()).collect(),
            ttl_seconds: settings.ttl.as_secs() as i64,
            hand_over: None,
        };
        let hand_over = (!providers.is_empty()).then(|| HandOver {
            claimer: claimer.clone(),
            lease_seconds: settings.lease.as_secs_f64(),
            max: HAND_OVER_MAX,
        });
        let dispatchers = providers
            .into_iter()
            .map(|provider| {
                let platform = provider.platform();
                let handle = dispatcher::start(
                    db.clone(),
                    Arc::new(provider),
                    settings.clone(),
                    claimer.clone(),
                );
                (platform, handle)
            })
            .collect();
        Ok(Push {
            targets,
            hand_over,
            dispatchers,
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

    /// Gives committed, already claimed deliveries to the dispatchers of
    /// their platforms.
    pub fn hand_over(&self, rows: Vec<Claimed>) {
        if let [(_, only)] = self.dispatchers.as_slice() {
            only.hand_over(rows);
            return;
        }
        let mut rows = rows;
        for (platform, dispatcher) in &self.dispatchers {
            let (mine, rest) = rows.into_iter().partition(|r| r.platform == *platform);
            dispatcher.hand_over(mine);
            rows = rest;
        }
    }

    /// Deliveries were committed: look now rather than at the next poll.
    pub fn wake(&self) {
        for (_, d) in &self.dispatchers {
            d.wake();
        }
    }

    /// Stops claiming, lets the pushes in flight finish and records them.
    pub async fn stop(&self) {
        futures_util::future::join_all(self.dispatchers.iter().map(|(_, d)| d.stop())).await;
    }
}

/// A provider's answer, read whole.
pub(crate) struct Answer {
    pub status: hyper::StatusCode,
    /// `Retry-After`, when given.
    pub after: Option<Duration>,
    /// The header the provider names its message with (APNs: `apns-id`).
    pub id: Option<String>,
    pub body: bytes::Bytes,
}

/// Sends one request; a provider that cannot be reached (or does not
/// answer in time) is a retry.
pub(crate) async fn exchange(
    provider: &str,
    transport: &transport::Transport,
    request: Result<hyper::Request<transport::Body>, hyper::http::Error>,
    id_header: Option<&'static str>,
) -> Result<Answer, Outcome> {
    let request = request.map_err(|e| Outcome::Failed(format!("{provider} request: {e}")))?;
    let response = transport.send(request).await.map_err(|e| Outcome::Retry {
        after: None,
        reason: format!("{provider} unreachable: {e}"),
    })?;
    let headers = response.headers();
    let after = retry_after(headers);
    let id = id_header
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(Answer {
        status: response.status(),
        after,
        id,
        body: response.into_body(),
    })
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    let value = headers.get(hyper::header::RETRY_AFTER)?.to_str().ok()?;
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    (at.with_timezone(&Utc) - Utc::now()).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderMap, HeaderValue, RETRY_AFTER};

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
