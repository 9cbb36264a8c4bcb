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
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes =
                body.await
                    .map_err(|e| match e.as_error::<actix_web::error::PayloadError>() {
                        Some(p) if crate::body_deadline::is_timeout(p) => ApiError::RequestTimeout,
                        _ => ApiError::bad_request(format!("body: {e}")),
                    })?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(None));
            }
            if bytes.len() > super::MAX_BODY_BYTES {
                return Err(ApiError::TooLarge(format!(
                    "body larger than {} bytes",
                    super::MAX_BODY_BYTES
                )));
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
