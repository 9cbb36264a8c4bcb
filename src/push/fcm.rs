//! FCM HTTP v1: a service-account JWT (RS256) is exchanged at the account's
//! `token_uri` for an OAuth2 access token, cached until five minutes before
//! it expires; each push is one `POST /v1/projects/{project}/messages:send`,
//! a stream on a multiplexed HTTP/2 connection (FCM serves v1 over HTTP/2;
//! over `http://`, for local fakes, that is h2c with prior knowledge).

use std::time::{Duration, Instant};

use std::borrow::Cow;
use std::collections::BTreeMap;

use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{StatusCode, Uri};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::transport::{Body, Transport};
use super::{Message, Outcome};
use crate::config::FcmSettings;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// A cached token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

pub struct Fcm {
    http: Transport,
    /// Made once: every push goes to the same place.
    send_uri: Uri,
    tokens: AccessTokens,
}

impl Fcm {
    pub fn new(
        settings: &FcmSettings,
        timeout: Duration,
        connections: usize,
    ) -> Result<Fcm, String> {
        let http = Transport::new(&settings.base_url, timeout)
            .map_err(|e| format!("FCM_BASE_URL: {e}"))?
            .with_connections(connections);
        let key = EncodingKey::from_rsa_pem(settings.private_key.as_bytes())
            .map_err(|e| format!("FCM private key: {e}"))?;
        let send_uri = http.uri(&format!(
            "/v1/projects/{}/messages:send",
            settings.project_id
        ))?;
        let token_endpoint = Transport::new(&settings.token_uri, timeout)
            .map_err(|e| format!("the service account's token_uri: {e}"))?;
        Ok(Fcm {
            send_uri,
            tokens: AccessTokens {
                token_uri: token_endpoint.uri("")?,
                http: token_endpoint,
                key,
                key_id: settings.private_key_id.clone(),
                client_email: settings.client_email.clone(),
                audience: settings.token_uri.clone(),
                cached: tokio::sync::Mutex::new(None),
            },
            http,
        })
    }

    pub async fn send(&self, message: &Message) -> Outcome {
        let token = match self.tokens.get().await {
            Ok(token) => token,
            Err(reason) => {
                return Outcome::Retry {
                    after: None,
                    reason: format!("OAuth2 token: {reason}"),
                }
            }
        };
        let collapse_id = message.collapse_id();
        let body = match serde_json::to_vec(&body(message, &collapse_id)) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(format!("FCM body: {e}")),
        };
        let request = self
            .http
            .post(self.send_uri.clone())
            .header(AUTHORIZATION, token.header.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Body::from(body));
        let answer = match super::exchange("FCM", &self.http, request, None).await {
            Ok(answer) => answer,
            Err(outcome) => return outcome,
        };
        if answer.status == StatusCode::UNAUTHORIZED {
            // Our access token was refused (revoked, expired early): fetch
            // a new one for the retry.
            self.tokens.forget(&token).await;
        }
        outcome(answer.status, answer.after, &answer.body)
    }
}

/// The v1 request body (`{"message": …}`).
#[derive(Serialize)]
struct V1Body<'a> {
    message: V1Message<'a>,
}

#[derive(Serialize)]
struct V1Message<'a> {
    token: &'a str,
    notification: Shown<'a>,
    /// FCM takes only string values here.
    data: BTreeMap<&'a str, Cow<'a, str>>,
    android: Android<'a>,
}

#[derive(Serialize)]
struct Shown<'a> {
    title: &'a str,
    body: Cow<'a, str>,
}

#[derive(Serialize)]
struct Android<'a> {
    priority: &'static str,
    ttl: String,
    collapse_key: &'a str,
    notification: Tag<'a>,
}

#[derive(Serialize)]
struct Tag<'a> {
    tag: &'a str,
}

fn body<'a>(message: &'a Message, collapse_id: &'a str) -> V1Body<'a> {
    let content = &message.content;
    let mut data = BTreeMap::new();
    if let Value::Object(fields) = &content.data {
        for (k, v) in fields {
            let text = match v {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                other => Cow::Owned(other.to_string()),
            };
            data.insert(k.as_str(), text);
        }
    }
    // Ours win over the notification's own fields of the same name.
    data.insert(
        "notification_id",
        Cow::Owned(message.notification.to_string()),
    );
    data.insert("type", Cow::Borrowed(&content.notification_type));
    if let Some(url) = &content.action_url {
        data.insert("action_url", Cow::Borrowed(url));
    }
    let ttl = (message.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    V1Body {
        message: V1Message {
            token: &message.token,
            notification: Shown {
                title: &content.title,
                body: message.short_body(),
            },
            data,
            android: Android {
                priority: if message.urgent() { "HIGH" } else { "NORMAL" },
                ttl: format!("{ttl}s"),
                collapse_key: collapse_id,
                notification: Tag { tag: collapse_id },
            },
        },
    }
}

/// Reads FCM's answer (`google.rpc.Status` with `FcmError` details).
fn outcome(status: StatusCode, after: Option<Duration>, text: &[u8]) -> Outcome {
    if status.is_success() {
        #[derive(Deserialize)]
        struct Accepted {
            name: Option<String>,
        }
        let name = serde_json::from_slice::<Accepted>(text)
            .ok()
            .and_then(|a| a.name);
        return Outcome::Accepted(name);
    }
    let body: Value = serde_json::from_slice(text).unwrap_or(Value::Null);
    let error = &body["error"];
    let fcm_code = error["details"]
        .as_array()
        .and_then(|details| details.iter().find_map(|d| d["errorCode"].as_str()))
        .unwrap_or("");
    let message = error["message"].as_str().unwrap_or("");
    let reason = format!(
        "FCM {}: {} {}",
        status.as_u16(),
        if fcm_code.is_empty() {
            error["status"].as_str().unwrap_or("")
        } else {
            fcm_code
        },
        message
    );
    match status.as_u16() {
        // The app was uninstalled or the token expired.
        404 => Outcome::InvalidToken(reason),
        _ if fcm_code == "UNREGISTERED" => Outcome::InvalidToken(reason),
        // A token from another Firebase project.
        403 if fcm_code == "SENDER_ID_MISMATCH" => Outcome::InvalidToken(reason),
        400 if message.to_lowercase().contains("registration token") => {
            Outcome::InvalidToken(reason)
        }
        // The project's quota (or an overload): wait as long as told.
        429 if after.is_some() => Outcome::Throttled {
            after: after.unwrap_or_default(),
            reason,
        },
        401 | 429 | 500..=599 => Outcome::Retry { after, reason },
        // THIRD_PARTY_AUTH_ERROR: the project's APNs credentials; may be fixed.
        403 => Outcome::Retry { after, reason },
        _ => Outcome::Failed(reason),
    }
}

/// OAuth2 access tokens for the service account, one fetch at a time.
struct AccessTokens {
    http: Transport,
    key: EncodingKey,
    key_id: Option<String>,
    client_email: String,
    /// `token_uri` as the account says it: the assertion's audience.
    audience: String,
    token_uri: Uri,
    cached: tokio::sync::Mutex<Option<(AccessToken, Instant)>>,
}

/// An access token, with the `Authorization` value made once for all pushes.
#[derive(Clone)]
struct AccessToken {
    header: HeaderValue,
}

impl AccessTokens {
    async fn get(&self) -> Result<AccessToken, String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = &*cached {
            if Instant::now() + RENEW_BEFORE < *expires {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = self.fetch().await?;
        let header = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|e| format!("the access token is not a header value: {e}"))?;
        let token = AccessToken { header };
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    async fn forget(&self, token: &AccessToken) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|(t, _)| t.header == token.header)
        {
            *cached = None;
        }
    }

    /// The JWT bearer grant (RFC 7523) Google's token endpoint takes.
    async fn fetch(&self) -> Result<(String, Duration), String> {
        let now = chrono::Utc::now().timestamp();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = json!({
            "iss": self.client_email, "scope": SCOPE, "aud": self.audience,
            "iat": now, "exp": now + 3600,
        });
        let assertion =
            jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())?;
        // A JWT is URL-safe base64 and dots: nothing to escape.
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let request = self
            .http
            .post(self.token_uri.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .map_err(|e| e.to_string())?;
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| format!("token endpoint unreachable: {e}"))?;
        let status = response.status();
        let text = String::from_utf8_lossy(response.body());
        if !status.is_success() {
            return Err(format!("token endpoint answered {status}: {text}"));
        }
        let body: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let token = body["access_token"]
            .as_str()
            .ok_or("no access_token in the answer")?;
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
        Ok((token.to_string(), Duration::from_secs(lifetime)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            delivery: 7,
            notification: 3,
            content: std::sync::Arc::new(crate::db::push_outbox::Content {
                notification_type: "fight_result".into(),
                title: "Red wins".into(),
                message: "Ana, Red beat Blue".into(),
                action_url: Some("/fights/1".into()),
                data: json!({"fight": 1, "winner": "red", "type": "spoofed"}),
            }),
            expires_at: chrono::Utc::now() + chrono::Duration::seconds(3600),
            token: "tok".into(),
        }
    }

    #[test]
    fn the_body_is_v1_with_string_data() {
        let message = message();
        let b = serde_json::to_value(body(&message, &message.collapse_id())).expect("json");
        let m = &b["message"];
        assert_eq!(m["token"], "tok");
        assert_eq!(m["notification"]["title"], "Red wins");
        assert_eq!(m["data"]["fight"], "1");
        assert_eq!(m["data"]["notification_id"], "3");
        assert_eq!(
            m["data"]["type"], "fight_result",
            "ours win over the data's"
        );
        assert_eq!(m["data"]["action_url"], "/fights/1");
        assert_eq!(m["android"]["notification"]["tag"], "n3");
        assert_eq!(m["android"]["priority"], "HIGH");
        assert_eq!(m["android"]["collapse_key"], "n3");
        let ttl = m["android"]["ttl"].as_str().expect("ttl");
        assert!(ttl.ends_with('s') && ttl.trim_end_matches('s').parse::<i64>().is_ok());
    }

    #[test]
    fn errors_are_read_as_fcm_documents_them() {
        let unregistered = br#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert!(matches!(
            outcome(StatusCode::NOT_FOUND, None, unregistered),
            Outcome::InvalidToken(_)
        ));
        let bad_token = br#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}"#;
        assert!(matches!(
            outcome(StatusCode::BAD_REQUEST, None, bad_token),
            Outcome::InvalidToken(_)
        ));
        let bad_body = br#"{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT"}}"#;
        assert!(matches!(
            outcome(StatusCode::BAD_REQUEST, None, bad_body),
            Outcome::Failed(_)
        ));
        let quota = br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"errorCode":"QUOTA_EXCEEDED"}]}}"#;
        assert_eq!(
            outcome(
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(2)),
                quota
            ),
            Outcome::Throttled {
                after: Duration::from_secs(2),
                reason: "FCM 429: QUOTA_EXCEEDED ".into()
            }
        );
        assert!(matches!(
            outcome(StatusCode::TOO_MANY_REQUESTS, None, quota),
            Outcome::Retry { after: None, .. }
        ));
        assert_eq!(
            outcome(
                StatusCode::OK,
                None,
                br#"{"name":"projects/p/messages/0:1"}"#
            ),
            Outcome::Accepted(Some("projects/p/messages/0:1".into()))
        );
    }
}
