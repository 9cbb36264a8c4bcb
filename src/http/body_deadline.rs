//! The request body deadline: a body that has not arrived whole within
//! `BODY_TIMEOUT` of the request's start ends in an error, which the body
//! readers answer with 408 `request_timeout`.
//!
//! actix cuts slow headers (`client_request_timeout`) but waits for a body as
//! long as the client keeps the socket open, so a client that declares a
//! length and then trickles or stops would hold a worker's connection (and a
//! buffer) forever. The answer closes the connection: actix does so by itself
//! when a response goes out before the declared body was read.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use futures_util::Stream;
use tokio::time::{sleep, Sleep};

use crate::state::AppState;

/// Marks the payload error as ours, so it is told apart from a broken socket.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

/// Whether a payload error is the body deadline passing.
pub fn is_timeout(e: &PayloadError) -> bool {
    match e {
        PayloadError::Io(e) => e.get_ref().is_some_and(|inner| inner.is::<BodyTimedOut>()),
        _ => false,
    }
}

/// Middleware: puts the deadline on every request that has a body, except
/// WebSocket upgrades (whose "body" is the socket itself).
pub async fn enforce(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, Held>>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.guards.body_timeout);
    let Some(timeout) = timeout.filter(|_| has_body(&req) && !super::ws::is_upgrade(req.request()))
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let expired = Rc::new(Cell::new(None));
    let inner = req.take_payload();
    req.set_payload(Payload::from(Box::pin(Deadline {
        inner: Some(inner),
        timer: Box::pin(sleep(timeout)),
        expired: expired.clone(),
    }) as Pin<Box<dyn Stream<Item = _>>>));
    let res = next.call(req).await?;
    Ok(match expired.take() {
        None => res.map_into_left_body(),
        // The unread payload must outlive the answer: actix closes the
        // connection after a response only while the request's payload is
        // unfinished and still held; a dropped one it drains instead (for a
        // chunked body), which a trickling client could make last forever.
        Some(payload) => res.map_body(|_, body| {
            EitherBody::right(Held {
                body: body.boxed(),
                _payload: payload,
            })
        }),
    })
}

/// A declared length above zero or a transfer coding; anything else has no body
/// (HTTP/1.1, RFC 9112 §6.3), so it needs no timer.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    match headers.get(header::CONTENT_LENGTH) {
        None => false,
        // An unparsable length never gets this far (actix refuses it).
        Some(v) => v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0),
    }
}

/// The request's payload, ending in an error once the deadline passes; it
/// then hands the unread rest to the middleware through `expired`.
struct Deadline {
    inner: Option<Payload>,
    timer: Pin<Box<Sleep>>,
    expired: Rc<Cell<Option<Payload>>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        // What has arrived is handed on first: only waiting is timed.
        if let Poll::Ready(item) = Pin::new(inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match this.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.expired.set(this.inner.take());
                Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    BodyTimedOut,
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A response body that keeps the timed-out request's payload until it has
/// been sent (see [`enforce`]).
pub struct Held {
    body: BoxBody,
    _payload: Payload,
}

impl MessageBody for Held {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}
