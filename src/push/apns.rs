//! APNs over HTTP/2 with token auth: an ES256 JWT from the team's .p8 key,
//! renewed every 50 minutes (Apple refuses tokens older than an hour and
//! throttles renewing more than every 20 minutes); each push is one stream,
//! `POST /3/device/{token}`, multiplexed over one connection.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::borrow::Cow;

use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{json, Value};

use super::transport::{Body, Transport};
use super::{Message, Outcome};
use crate::config::ApnsSettings;

const RENEW_AFTER: Duration = Duration::from_secs(50 * 60);

pub struct Apns {
    http: Transport,
    topic: HeaderValue,
    tokens: ProviderTokens,
}

impl Apns {
    pub fn new(
        settings: &ApnsSettings,
        timeout: Duration,
        connections: usize,
    ) -> Result<Apns, String> {
        let key = EncodingKey::from_ec_pem(settings.key.as_bytes())
            .map_err(|e| format!("APNs key: {e}"))?;
        Ok(Apns {
            http: Transport::new(&settings.base_url, timeout)
                .map_err(|e| format!("APNS_BASE_URL: {e}"))?
                .with_connections(connections),
            topic: HeaderValue::try_from(settings.topic.as_str())
                .map_err(|e| format!("APNS_TOPIC: {e}"))?,
            tokens: ProviderTokens {
                key,
                key_id: settings.key_id.clone(),
                team_id: settings.team_id.clone(),
                cached: Mutex::new(None),
            },
        })
    }

    pub async fn send(&self, message: &Message) -> Outcome {
        let jwt = match self.tokens.get() {
            Ok(jwt) => jwt,
            Err(e) => return Outcome::Failed(format!("signing the APNs token: {e}")),
        };
        let payload = match serde_json::to_vec(&payload(message)) {
            Ok(payload) => payload,
            Err(e) => return Outcome::Failed(format!("APNs payload: {e}")),
        };
        let collapse_id = match HeaderValue::try_from(message.collapse_id()) {
            Ok(id) => id,
            Err(e) => return Outcome::Failed(format!("apns-collapse-id: {e}")),
        };
        let Ok(uri) = self.http.uri(&format!("/3/device/{}", message.token)) else {
            // APNs tokens are hex; this one cannot even be put in a path.
            return Outcome::InvalidToken("APNs: not a device token".into());
        };
        let priority = if message.urgent() { "10" } else { "5" };
        let request = self
            .http
            .post(uri)
            .header(AUTHORIZATION, jwt.clone())
            .header("apns-topic", self.topic.clone())
            .header("apns-push-type", HeaderValue::from_static("alert"))
            .header("apns-priority", HeaderValue::from_static(priority))
            .header(
                "apns-expiration",
                HeaderValue::from(message.expires_at.timestamp().max(0)),
            )
            .header("apns-collapse-id", collapse_id)
            .header("apns-id", apns_id(message.delivery))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Body::from(payload));
        let answer = match super::exchange("APNs", &self.http, request, Some("apns-id")).await {
            Ok(answer) => answer,
            Err(outcome) => return outcome,
        };
        let outcome = outcome(answer.status, answer.after, answer.id, &answer.body);
        if let Outcome::Retry { reason, .. } = &outcome {
            if reason.contains("ProviderToken") {
                self.tokens.forget(&jwt);
            }
        }
        outcome
    }
}

/// Each delivery's own apns-id (a UUID), so Apple's logs and ours agree.
fn apns_id(delivery: i64) -> String {
    format!(
        "00000000-0000-4000-8000-{:012x}",
        delivery as u64 & 0xffff_ffff_ffff
    )
}

/// The payload: `aps` for the system, the rest for the app.
#[derive(Serialize)]
struct Payload<'a> {
    aps: Aps<'a>,
    notification_id: i64,
    #[serde(rename = "type")]
    notification_type: &'a str,
    data: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_url: Option<&'a str>,
}

#[derive(Serialize)]
struct Aps<'a> {
    alert: Alert<'a>,
    sound: &'static str,
    #[serde(rename = "thread-id")]
    thread_id: &'a str,
}

#[derive(Serialize)]
struct Alert<'a> {
    title: &'a str,
    body: Cow<'a, str>,
}

fn payload(message: &Message) -> Payload<'_> {
    let content = &message.content;
    Payload {
        aps: Aps {
            alert: Alert {
                title: &content.title,
                body: message.short_body(),
            },
            sound: "default",
            thread_id: &content.notification_type,
        },
        notification_id: message.notification,
        notification_type: &content.notification_type,
        data: &content.data,
        action_url: content.action_url.as_deref(),
    }
}

/// Reads APNs' answer: a status and `{"reason": …}`.
fn outcome(
    status: StatusCode,
    after: Option<Duration>,
    id: Option<String>,
    text: &[u8],
) -> Outcome {
    if status.is_success() {
        return Outcome::Accepted(id);
    }
    let body: Value = serde_json::from_slice(text).unwrap_or(Value::Null);
    let reason_code = body["reason"].as_str().unwrap_or("");
    let reason = format!("APNs {}: {reason_code}", status.as_u16());
    match (status.as_u16(), reason_code) {
        (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => {
            Outcome::InvalidToken(reason)
        }
        // Our JWT: renewed for the retry.
        (403, "ExpiredProviderToken" | "InvalidProviderToken") => Outcome::Retry { after, reason },
        (429 | 500..=599, _) => Outcome::Retry { after, reason },
        _ => Outcome::Failed(reason),
    }
}

/// The provider JWT, shared by every stream until it is due for renewal.
struct ProviderTokens {
    key: EncodingKey,
    key_id: String,
    team_id: String,
    /// The `Authorization` value (`bearer <jwt>`) and when it was made.
    cached: Mutex<Option<(HeaderValue, Instant)>>,
}

impl ProviderTokens {
    fn get(&self) -> Result<HeaderValue, String> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((jwt, made)) = &*cached {
            if made.elapsed() < RENEW_AFTER {
                return Ok(jwt.clone());
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({ "iss": self.team_id, "iat": chrono::Utc::now().timestamp() });
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())?;
        let jwt = HeaderValue::try_from(format!("bearer {jwt}")).map_err(|e| e.to_string())?;
        *cached = Some((jwt.clone(), Instant::now()));
        Ok(jwt)
    }

    fn forget(&self, jwt: &HeaderValue) {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if cached.as_ref().is_some_and(|(t, _)| t == jwt) {
            *cached = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_read_as_apple_documents_them() {
        let ok = outcome(StatusCode::OK, None, Some("abc".into()), b"");
        assert_eq!(ok, Outcome::Accepted(Some("abc".into())));
        for (status, body) in [
            (
                410,
                &br#"{"reason":"Unregistered","timestamp":1700000000000}"#[..],
            ),
            (400, &br#"{"reason":"BadDeviceToken"}"#[..]),
        ] {
            let got = outcome(
                StatusCode::from_u16(status).expect("status"),
                None,
                None,
                body,
            );
            assert!(matches!(got, Outcome::InvalidToken(_)), "{status}");
        }
        assert!(matches!(
            outcome(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                None,
                br#"{"reason":"TooManyRequests"}"#
            ),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            outcome(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                None,
                br#"{"reason":"PayloadTooLarge"}"#
            ),
            Outcome::Failed(_)
        ));
        assert_eq!(apns_id(255), "00000000-0000-4000-8000-0000000000ff");
    }
}
