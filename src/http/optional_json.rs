//! A JSON body a client may leave out (moderators' optional reasons): an
//! empty body is `None`; anything sent must be valid, or it is refused like
//! any other JSON body (actix's `Option<Json<T>>` would silently drop it).

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.starts_with("application/json"));
        let payload = payload.take();
        Box::pin(async move {
            let bytes = read_limited(payload).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(None));
            }
            if !json_type {
                return Err(ApiError::UnsupportedMediaType);
            }
            serde_json::from_slice(&bytes)
                .map(|v| OptionalJson(Some(v)))
                .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
        })
    }
}

/// The whole body, up to the API's limit (413 past it, 408 when the body
/// deadline passes). Read ourselves: `web::Bytes` stops at its own 256 KiB
/// limit with an error that is not "too large".
pub async fn read_limited(mut payload: Payload) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match super::body_deadline::is_timeout(&e) {
            true => ApiError::RequestTimeout,
            false => ApiError::bad_request(format!("body: {e}")),
        })?;
        if bytes.len() + chunk.len() > super::MAX_BODY_BYTES {
            return Err(ApiError::TooLarge(format!(
                "body larger than {} bytes",
                super::MAX_BODY_BYTES
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}
