//! Fake FCM: the OAuth2 token endpoint and HTTP v1 `messages:send`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hyper::body::Bytes;
use hyper::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::server::{self, Protocol};
use crate::{
    controls, now_s, Limits, Quota, Received, Reply, Shared, FCM_CLIENT_EMAIL, FCM_PROJECT,
};

pub struct FakeFcm {
    /// What `FCM_BASE_URL` should say.
    pub base_url: String,
    /// Where the service account's token exchange goes.
    pub token_uri: String,
    shared: Arc<Shared>,
    tokens: Arc<Mutex<Tokens>>,
}

#[derive(Default)]
struct Tokens {
    live: HashSet<String>,
    issued: usize,
}

/// The quota's current window: when it began and what it has counted.
struct Window {
    quota: Option<Quota>,
    began: Option<Instant>,
    used: u64,
}

impl Window {
    /// Counts one send, or says how long until the quota refills.
    fn admit(&mut self) -> Result<(), u64> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let now = Instant::now();
        let began = match self.began {
            Some(at) if now.duration_since(at) < quota.window => at,
            _ => {
                self.used = 0;
                *self.began.insert(now)
            }
        };
        if self.used < quota.requests {
            self.used += 1;
            return Ok(());
        }
        let left = quota.window.saturating_sub(now.duration_since(began));
        Err((left.as_secs_f64().ceil() as u64).max(1))
    }
}

impl FakeFcm {
    /// With FCM's limits ([`Limits::fcm`]).
    pub fn start() -> FakeFcm {
        FakeFcm::start_with(Limits::fcm())
    }

    pub fn start_with(limits: Limits) -> FakeFcm {
        let shared = Arc::new(Shared::default());
        let window = Arc::new(Mutex::new(Window {
            quota: limits.quota,
            began: None,
            used: 0,
        }));
        let tokens = Arc::new(Mutex::new(Tokens::default()));
        let token_uri = Arc::new(Mutex::new(String::new()));
        let handler: server::Handler = {
            let (shared, tokens, token_uri, window) = (
                shared.clone(),
                tokens.clone(),
                token_uri.clone(),
                window.clone(),
            );
            Arc::new(move |parts, body, conn: Arc<server::Conn>| {
                let (shared, tokens, token_uri, window) = (
                    shared.clone(),
                    tokens.clone(),
                    token_uri.clone(),
                    window.clone(),
                );
                Box::pin(async move {
                    if parts.uri.path() == "/token" {
                        let audience = token_uri.lock().map(|u| u.clone()).unwrap_or_default();
                        return exchange(&tokens, &audience, &body);
                    }
                    let delay = shared.delay_for(|| {
                        let request: Value = serde_json::from_slice(&body).ok()?;
                        Some(request["message"]["token"].as_str()?.to_string())
                    });
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if !conn.alive() {
                        // Killed while this one waited: nobody will read it.
                        return server::empty(&[]);
                    }
                    send(&shared, &tokens, &window, &parts, &body)
                })
            })
        };
        let addr = server::start(
            Protocol::Auto,
            limits.streams_per_connection,
            shared.connections.clone(),
            handler,
        );
        let base_url = format!("http://{addr}");
        let uri = format!("{base_url}/token");
        if let Ok(mut t) = token_uri.lock() {
            *t = uri.clone();
        }
        FakeFcm {
            base_url,
            token_uri: uri,
            shared,
            tokens,
        }
    }

    /// A Google service-account JSON whose `token_uri` is this fake.
    pub fn service_account_json(&self) -> String {
        json!({
            "type": "service_account",
            "project_id": FCM_PROJECT,
            "private_key_id": "test-key-1",
            "private_key": crate::FCM_PRIVATE_KEY,
            "client_email": FCM_CLIENT_EMAIL,
            "client_id": "1",
            "token_uri": self.token_uri,
        })
        .to_string()
    }

    /// Access tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.tokens.lock().map(|t| t.issued).unwrap_or(0)
    }

    /// Every access token issued so far stops working (as a revocation would).
    pub fn revoke_access_tokens(&self) {
        if let Ok(mut t) = self.tokens.lock() {
            t.live.clear();
        }
    }
}

controls!(FakeFcm);

fn oauth_error(description: &str) -> server::Reply {
    server::json(
        400,
        &json!({ "error": "invalid_grant", "error_description": description }),
        &[],
    )
}

/// RFC 7523 JWT bearer grant, checked as Google does.
fn exchange(tokens: &Mutex<Tokens>, audience: &str, body: &Bytes) -> server::Reply {
    let form = String::from_utf8_lossy(body);
    let field = |name: &str| {
        form.split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    if field("grant_type").as_deref()
        != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
    {
        return server::json(
            400,
            &json!({ "error": "unsupported_grant_type", "error_description": "Invalid grant_type" }),
            &[],
        );
    }
    let Some(assertion) = field("assertion") else {
        return oauth_error("Missing assertion");
    };
    let Ok(key) = DecodingKey::from_rsa_pem(crate::FCM_PUBLIC_KEY.as_bytes()) else {
        return oauth_error("fake misconfigured");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[FCM_CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let claims = match jsonwebtoken::decode::<Value>(&assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return oauth_error(&format!("Invalid JWT Signature or claims: {e}")),
    };
    let scope = claims["scope"].as_str().unwrap_or("");
    if !scope
        .split(' ')
        .any(|s| s == "https://www.googleapis.com/auth/firebase.messaging")
    {
        return oauth_error("Invalid OAuth scope or ID token audience provided.");
    }
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if exp - iat > 3600 || iat > now_s() + 60 {
        return oauth_error("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    }
    let Ok(mut t) = tokens.lock() else {
        return oauth_error("fake poisoned");
    };
    t.issued += 1;
    let token = format!("ya29.fake-{}", t.issued);
    t.live.insert(token.clone());
    server::json(
        200,
        &json!({ "access_token": token, "expires_in": 3599, "token_type": "Bearer" }),
        &[],
    )
}

fn google_error(
    status: u16,
    code: &str,
    message: &str,
    fcm_code: Option<&str>,
    headers: &[(&str, String)],
) -> server::Reply {
    let mut error = json!({ "code": status, "message": message, "status": code });
    if let Some(fcm) = fcm_code {
        error["details"] = json!([{
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": fcm,
        }]);
    }
    server::json(status, &json!({ "error": error }), headers)
}

/// 429 `RESOURCE_EXHAUSTED` (`QUOTA_EXCEEDED`), with `Retry-After` in seconds.
fn quota_exceeded(retry_after: Option<u64>) -> server::Reply {
    let headers: Vec<(&str, String)> = retry_after
        .map(|s| vec![("retry-after", s.to_string())])
        .unwrap_or_default();
    google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Send requests'.",
        Some("QUOTA_EXCEEDED"),
        &headers,
    )
}

fn invalid(message: &str) -> server::Reply {
    google_error(
        400,
        "INVALID_ARGUMENT",
        message,
        Some("INVALID_ARGUMENT"),
        &[],
    )
}

/// `POST /v1/projects/{project}/messages:send`.
fn send(
    shared: &Shared,
    tokens: &Mutex<Tokens>,
    window: &Mutex<Window>,
    parts: &Parts,
    body: &Bytes,
) -> server::Reply {
    if parts.method != hyper::Method::POST
        || parts.uri.path() != format!("/v1/projects/{FCM_PROJECT}/messages:send")
    {
        return google_error(
            404,
            "NOT_FOUND",
            "Requested entity was not found.",
            None,
            &[],
        );
    }
    let headers = server::headers(parts);
    let bearer = headers
        .get("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    let authorised = tokens
        .lock()
        .map(|t| t.live.contains(bearer))
        .unwrap_or(false);
    if !authorised {
        shared.auth_rejected();
        return google_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            None,
            &[],
        );
    }
    let admitted = window
        .lock()
        .map(|mut w| w.admit())
        .unwrap_or_else(|p| p.into_inner().admit());
    if let Err(retry_after) = admitted {
        let token = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|r| r["message"]["token"].as_str().map(str::to_string))
            .unwrap_or_default();
        shared.answered(&token, 429, None);
        return quota_exceeded(Some(retry_after));
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid("Invalid JSON payload received.");
    };
    let message = &request["message"];
    let Some(token) = message["token"].as_str().filter(|t| !t.is_empty()) else {
        return invalid("Invalid value at 'message.token'");
    };
    if let Some(data) = message.get("data") {
        let all_strings = data
            .as_object()
            .is_some_and(|d| d.values().all(Value::is_string));
        if !all_strings {
            return invalid("Invalid value at 'message.data': values must be strings");
        }
    }
    for field in ["title", "body"] {
        let value = &message["notification"][field];
        if !(value.is_null() || value.is_string()) {
            return invalid(&format!("Invalid value at 'message.notification.{field}'"));
        }
    }
    let android = &message["android"];
    if !android.is_null() {
        let priority_ok = matches!(android["priority"].as_str(), None | Some("NORMAL" | "HIGH"));
        let ttl_ok = android["ttl"].as_str().is_none_or(|t| {
            t.strip_suffix('s')
                .is_some_and(|n| n.parse::<f64>().is_ok_and(|n| n >= 0.0))
        });
        if !priority_ok || !ttl_ok {
            return invalid("Invalid value at 'message.android'");
        }
    }
    let reply = shared.reply_for(token);
    let (status, response) = match &reply {
        Reply::Accept => {
            let n = shared.lock().received.len() + 1;
            (
                200,
                server::json(
                    200,
                    &json!({ "name": format!("projects/{FCM_PROJECT}/messages/0:{n}") }),
                    &[],
                ),
            )
        }
        Reply::TooManyRequests { retry_after } => (429, quota_exceeded(*retry_after)),
        Reply::Unavailable => (
            503,
            google_error(
                503,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                Some("UNAVAILABLE"),
                &[],
            ),
        ),
        Reply::Unregistered => (
            404,
            google_error(
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                Some("UNREGISTERED"),
                &[],
            ),
        ),
        Reply::BadToken => (
            400,
            invalid("The registration token is not a valid FCM registration token"),
        ),
    };
    let accepted = (reply == Reply::Accept).then(|| Received {
        token: token.to_string(),
        body: request.clone(),
        headers,
        at: std::time::Instant::now(),
    });
    shared.answered(token, status, accepted);
    response
}
