//! APNs over HTTP/2 with token auth: an ES256 JWT from the team's .p8 key,
//! renewed every 50 minutes (Apple refuses tokens older than an hour and
//! throttles renewing more than every 20 minutes); each push is one stream,
//! `POST /3/device/{token}`, multiplexed over one connection.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{Message, Outcome};
use crate::config::ApnsSettings;

const RENEW_AFTER: Duration = Duration::from_secs(50 * 60);

pub struct Apns {
    http: reqwest::Client,
    base_url: String,
    topic: String,
    tokens: ProviderTokens,
}

impl Apns {
    pub fn new(settings: &ApnsSettings, timeout: Duration) -> Result<Apns, String> {
        let key = EncodingKey::from_ec_pem(settings.key.as_bytes())
            .map_err(|e| format!("APNs key: {e}"))?;
        Ok(Apns {
            http: super::http_client(timeout, true)?,
            base_url: settings.base_url.clone(),
            topic: settings.topic.clone(),
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
        let request = self
            .http
            .post(format!("{}/3/device/{}", self.base_url, message.token))
            .header(reqwest::header::AUTHORIZATION, format!("bearer {jwt}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", if message.urgent() { "10" } else { "5" })
            .header(
                "apns-expiration",
                message.expires_at.timestamp().max(0).to_string(),
            )
            .header("apns-collapse-id", message.collapse_id())
            .header("apns-id", apns_id(message.delivery))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload(message).to_string());
        let answer = match super::exchange("APNs", request).await {
            Ok(answer) => answer,
            Err(outcome) => return outcome,
        };
        let id = answer
            .headers
            .get("apns-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let outcome = outcome(answer.status, answer.after, id, &answer.body);
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

fn payload(message: &Message) -> Value {
    let mut body = json!({
        "aps": {
            "alert": { "title": message.title, "body": message.short_body() },
            "sound": "default",
            "thread-id": message.notification_type,
        },
        "notification_id": message.notification,
        "type": message.notification_type,
        "data": message.data,
    });
    if let Some(url) = &message.action_url {
        body["action_url"] = url.clone().into();
    }
    body
}

/// Reads APNs' answer: a status and `{"reason": …}`.
fn outcome(status: StatusCode, after: Option<Duration>, id: Option<String>, text: &str) -> Outcome {
    if status.is_success() {
        return Outcome::Accepted(id);
    }
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
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
    cached: Mutex<Option<(String, Instant)>>,
}

impl ProviderTokens {
    fn get(&self) -> Result<String, String> {
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
        *cached = Some((jwt.clone(), Instant::now()));
        Ok(jwt)
    }

    fn forget(&self, jwt: &str) {
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
        let ok = outcome(StatusCode::OK, None, Some("abc".into()), "");
        assert_eq!(ok, Outcome::Accepted(Some("abc".into())));
        for (status, body) in [
            (
                410,
                r#"{"reason":"Unregistered","timestamp":1700000000000}"#,
            ),
            (400, r#"{"reason":"BadDeviceToken"}"#),
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
                r#"{"reason":"TooManyRequests"}"#
            ),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            outcome(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                None,
                r#"{"reason":"PayloadTooLarge"}"#
            ),
            Outcome::Failed(_)
        ));
        assert_eq!(apns_id(255), "00000000-0000-4000-8000-0000000000ff");
    }
}
