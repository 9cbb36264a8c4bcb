//! Fake APNs: `POST /3/device/{token}` over HTTP/2 (h2c), token auth.

use std::sync::Arc;

use hyper::body::Bytes;
use hyper::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::server::{self, Protocol};
use crate::{
    controls, now_s, Limits, Received, Reply, Shared, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC,
};

/// APNs refuses payloads over 4 KiB.
const MAX_PAYLOAD: usize = 4096;

pub struct FakeApns {
    /// What `APNS_BASE_URL` should say (`http://`: HTTP/2 without TLS).
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeApns {
    /// h2c on `http://127.0.0.1:{port}`, with APNs' limits ([`Limits::apns`]).
    pub fn start() -> FakeApns {
        FakeApns::start_with(Limits::apns())
    }

    /// h2c with other limits (APNs has no quota: `limits.quota` is ignored).
    pub fn start_with(limits: Limits) -> FakeApns {
        FakeApns::serve(Protocol::H2c, "http", limits)
    }

    /// h2 over TLS on `https://127.0.0.1:{port}`, with a certificate from
    /// the test CA ([`crate::TLS_CA_CERT`]), as Apple serves it.
    pub fn start_tls() -> FakeApns {
        FakeApns::serve(Protocol::H2Tls(server::test_tls()), "https", Limits::apns())
    }

    fn serve(protocol: Protocol, scheme: &str, limits: Limits) -> FakeApns {
        let shared = Arc::new(Shared::default());
        let handler: server::Handler = {
            let shared = shared.clone();
            Arc::new(move |parts, body, conn: Arc<server::Conn>| {
                let shared = shared.clone();
                Box::pin(async move {
                    let delay = shared.delay_for(|| {
                        let path = parts.uri.path();
                        path.strip_prefix("/3/device/").map(str::to_string)
                    });
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if !conn.alive() {
                        // Killed while this one waited: nobody will read it.
                        return server::empty(&[]);
                    }
                    push(&shared, &parts, &body)
                })
            })
        };
        let addr = server::start(
            protocol,
            limits.streams_per_connection,
            shared.connections.clone(),
            handler,
        );
        FakeApns {
            base_url: format!("{scheme}://{addr}"),
            shared,
        }
    }
}

controls!(FakeApns);

fn refuse(status: u16, reason: &str, headers: &[(&str, String)]) -> server::Reply {
    let mut body = json!({ "reason": reason });
    if status == 410 {
        body["timestamp"] = json!(now_s() * 1000);
    }
    server::json(status, &body, headers)
}

/// Provider tokens whose signature was verified, with their `iat`: like
/// APNs, the fake checks a token once and then only its age.
static VERIFIED: std::sync::Mutex<Vec<(String, i64)>> = std::sync::Mutex::new(Vec::new());

/// The provider token: ES256, our key id, our team, at most an hour old.
fn check_jwt(header: Option<&String>) -> Result<(), &'static str> {
    let jwt = header
        .and_then(|h| h.strip_prefix("bearer "))
        .ok_or("MissingProviderToken")?;
    let known = VERIFIED
        .lock()
        .ok()
        .and_then(|v| v.iter().find(|(t, _)| t == jwt).map(|(_, iat)| *iat));
    if let Some(iat) = known {
        return if now_s() - iat > 3600 {
            Err("ExpiredProviderToken")
        } else {
            Ok(())
        };
    }
    let head = jsonwebtoken::decode_header(jwt).map_err(|_| "InvalidProviderToken")?;
    if head.alg != Algorithm::ES256 || head.kid.as_deref() != Some(APNS_KEY_ID) {
        return Err("InvalidProviderToken");
    }
    let key = DecodingKey::from_ec_pem(crate::APNS_PUBLIC_KEY.as_bytes())
        .map_err(|_| "InternalServerError")?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_required_spec_claims(&["iss"]);
    validation.validate_exp = false;
    validation.set_issuer(&[APNS_TEAM_ID]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .map_err(|_| "InvalidProviderToken")?
        .claims;
    let iat = claims["iat"].as_i64().ok_or("InvalidProviderToken")?;
    if now_s() - iat > 3600 {
        return Err("ExpiredProviderToken");
    }
    if let Ok(mut v) = VERIFIED.lock() {
        v.push((jwt.to_string(), iat));
    }
    Ok(())
}

fn push(shared: &Shared, parts: &Parts, body: &Bytes) -> server::Reply {
    if parts.version != hyper::Version::HTTP_2 {
        return refuse(400, "BadRequest", &[]);
    }
    let Some(token) = parts.uri.path().strip_prefix("/3/device/") else {
        return refuse(404, "BadPath", &[]);
    };
    if parts.method != hyper::Method::POST {
        return refuse(405, "MethodNotAllowed", &[]);
    }
    let token = token.to_string();
    let headers = server::headers(parts);
    if let Err(reason) = check_jwt(headers.get("authorization")) {
        shared.auth_rejected();
        return refuse(403, reason, &[]);
    }
    match headers.get("apns-topic").map(String::as_str) {
        None => return refuse(400, "MissingTopic", &[]),
        Some(APNS_TOPIC) => {}
        Some(_) => return refuse(400, "TopicDisallowed", &[]),
    }
    let push_type_ok = matches!(
        headers.get("apns-push-type").map(String::as_str),
        Some("alert" | "background" | "voip" | "liveactivity")
    );
    if !push_type_ok {
        return refuse(400, "InvalidPushType", &[]);
    }
    if !matches!(
        headers.get("apns-priority").map(String::as_str),
        None | Some("10" | "5" | "1")
    ) {
        return refuse(400, "BadPriority", &[]);
    }
    if headers
        .get("apns-expiration")
        .is_some_and(|e| e.parse::<i64>().is_err())
    {
        return refuse(400, "BadExpirationDate", &[]);
    }
    if headers
        .get("apns-collapse-id")
        .is_some_and(|c| c.len() > 64)
    {
        return refuse(400, "BadCollapseId", &[]);
    }
    if body.len() > MAX_PAYLOAD {
        return refuse(413, "PayloadTooLarge", &[]);
    }
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return refuse(400, "PayloadEmpty", &[]);
    };
    if !payload["aps"].is_object() {
        return refuse(400, "PayloadEmpty", &[]);
    }
    let apns_id = headers
        .get("apns-id")
        .cloned()
        .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
    let reply = shared.reply_for(&token);
    let (status, response) = match &reply {
        Reply::Accept => (200, server::empty(&[("apns-id", apns_id)])),
        Reply::TooManyRequests { retry_after } => {
            let headers: Vec<(&str, String)> = retry_after
                .map(|s| vec![("retry-after", s.to_string())])
                .unwrap_or_default();
            (429, refuse(429, "TooManyRequests", &headers))
        }
        Reply::Unavailable => (503, refuse(503, "ServiceUnavailable", &[])),
        Reply::Unregistered => (410, refuse(410, "Unregistered", &[])),
        Reply::BadToken => (400, refuse(400, "BadDeviceToken", &[])),
    };
    let accepted = (reply == Reply::Accept).then(|| Received {
        token: token.clone(),
        body: payload,
        headers,
        at: std::time::Instant::now(),
    });
    shared.answered(&token, status, accepted);
    response
}
