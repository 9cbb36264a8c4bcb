//! The writing half of a session: for a WebSocket or an SSE stream, the
//! HTTP response body itself; for long-poll, what each poll drains.
//!
//! Rooms push frames into a session's bounded queue (the [`Outbox`]); the
//! connection's dispatcher polls this body, which encodes everything waiting
//! into one buffer per poll, so a burst goes out in as few writes as the
//! socket allows, with no task or channel in between. A frame older than the
//! expiry when its turn comes ends the connection with 4001 (the client
//! resumes with `since`, or the cursor); a close asked for by the session
//! goes before anything still queued. A socket the client stopped reading is
//! not polled at all: the hub's stall sweep finds it by its progress counter.
//!
//! The [`Encoding`] is all that differs between transports: the same frames,
//! the same bytes of JSON, framed for a WebSocket, an event stream or a
//! long-poll answer.
//!
//! [`Outbox`]: crate::outbox::Outbox

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_codec::Encoder;
use actix_http::ws::{CloseCode, CloseReason, Codec, Message};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::sync::oneshot;

use crate::cursor::Cursor;
use crate::outbox::{queue, Outgoing};
use crate::protocol::{self, close, Frame};
use crate::telemetry::{self, Initiator};

/// At most this much is encoded per poll, so one busy socket cannot hog its
/// thread and buffers stay small.
const MAX_CHUNK: usize = 64 * 1024;

/// A close the session wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: &'static str,
    /// It answers the client's own close: nothing more comes from the
    /// client, so the connection ends at once instead of lingering.
    pub echo: bool,
}

impl CloseRequest {
    /// A close the server starts.
    pub fn server(code: u16, reason: &'static str) -> CloseRequest {
        CloseRequest {
            code,
            reason,
            echo: false,
        }
    }
}

/// After a WebSocket close the server starts, how long the connection stays
/// open reading before it ends. The client answers a close with its own; a
/// socket closed with that answer (or a pong) unread sends a reset, and a
/// reset can overtake the close frame still unread on the client's side: in
/// a restart of a node holding 19,000 clients, a fifth of them lost the
/// 1012 and its retry hint that way.
const LINGER: Duration = Duration::from_secs(1);

/// How frames go on the wire.
pub enum Encoding {
    /// RFC 6455 frames.
    WebSocket(Codec),
    /// `text/event-stream`: an event per frame (`event:` its type, `data:` its
    /// JSON, `id:` the cursor when the frame moved it), comments to keep
    /// proxies from closing a quiet stream, and a `close` event at the end.
    EventStream(Cursor),
    /// Long-poll: the frames of one answer as JSON array elements (the
    /// edges wrap them with the cursor); pings are not sent at all.
    Poll(Cursor),
}

impl Encoding {
    pub fn websocket() -> Encoding {
        Encoding::WebSocket(Codec::new())
    }

    fn ws(codec: &mut Codec, message: Message, buf: &mut BytesMut) {
        // Encoding text, pings, pongs and closes into a buffer cannot fail.
        let _ = codec.encode(message, buf);
    }

    fn text(&mut self, frame: Frame, buf: &mut BytesMut) {
        match self {
            Encoding::WebSocket(codec) => {
                Encoding::ws(codec, Message::Text(frame.text().clone()), buf)
            }
            Encoding::EventStream(cursor) => {
                if frame.mark().is_some_and(|m| cursor.note(m)) {
                    // Writing into a buffer cannot fail.
                    let _ = writeln!(buf, "id: {cursor}");
                }
                if let Some(kind) = frame.kind() {
                    buf.extend_from_slice(b"event: ");
                    buf.extend_from_slice(kind.as_str().as_bytes());
                    buf.extend_from_slice(b"\n");
                }
                // One data line: frames are compact JSON, whose strings
                // escape line breaks, so no scan per subscriber is needed.
                buf.extend_from_slice(b"data: ");
                buf.extend_from_slice(frame.as_bytes());
                buf.extend_from_slice(b"\n\n");
            }
            Encoding::Poll(cursor) => {
                if let Some(mark) = frame.mark() {
                    cursor.note(mark);
                }
                if !buf.is_empty() {
                    buf.extend_from_slice(b",");
                }
                buf.extend_from_slice(frame.as_bytes());
            }
        }
    }

    fn ping(&mut self, buf: &mut BytesMut) {
        match self {
            Encoding::WebSocket(codec) => Encoding::ws(codec, Message::Ping(Bytes::new()), buf),
            Encoding::EventStream(_) => buf.extend_from_slice(b": keep-alive\n\n"),
            Encoding::Poll(_) => {}
        }
    }

    fn pong(&mut self, payload: Bytes, buf: &mut BytesMut) {
        if let Encoding::WebSocket(codec) = self {
            Encoding::ws(codec, Message::Pong(payload), buf);
        }
    }

    fn close(&mut self, request: CloseRequest, buf: &mut BytesMut) {
        let CloseRequest { code, reason, .. } = request;
        match self {
            Encoding::WebSocket(codec) => Encoding::ws(
                codec,
                Message::Close(Some(CloseReason {
                    code: CloseCode::from(code),
                    description: (!reason.is_empty()).then(|| reason.to_string()),
                })),
                buf,
            ),
            Encoding::EventStream(_) | Encoding::Poll(_) => {
                self.text(protocol::closing(code, reason), buf)
            }
        }
    }
}

pub struct Writer {
    encoding: Encoding,
    queue: queue::Receiver<Outgoing>,
    close: oneshot::Receiver<CloseRequest>,
    /// Frames handed to the socket so far (read by the stall sweep).
    written: Arc<AtomicU64>,
    expiry: Duration,
    done: bool,
    /// Set once a close the server started is out: the body ends when it fires.
    linger: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Kept alive, never polled: see [`Writer::keeping`].
    _keep: Option<Box<dyn std::any::Any + Send>>,
    /// Dropped with the body: tells its session at once that it is gone.
    _gone: Option<oneshot::Sender<()>>,
}

impl Writer {
    pub fn new(
        encoding: Encoding,
        queue: queue::Receiver<Outgoing>,
        close: oneshot::Receiver<CloseRequest>,
        written: Arc<AtomicU64>,
        expiry: Duration,
    ) -> Writer {
        Writer {
            encoding,
            queue,
            close,
            written,
            expiry,
            done: false,
            linger: None,
            _keep: None,
            _gone: None,
        }
    }

    /// Signals `gone`'s receiver when this body is dropped (the client hung
    /// up, a parked poll expired).
    pub(crate) fn signalling(mut self, gone: oneshot::Sender<()>) -> Writer {
        self._gone = Some(gone);
        self
    }

    /// A body that only sends a close: a connection refused right after its
    /// upgrade (or its stream's start).
    pub fn closing(encoding: Encoding, code: u16, reason: &'static str) -> Writer {
        telemetry::sink().closed(code, Initiator::Server);
        let (_, queue) = queue::bounded(1);
        let (tx, close) = oneshot::channel();
        let _ = tx.send(CloseRequest::server(code, reason));
        Writer::new(encoding, queue, close, Arc::default(), Duration::MAX)
    }

    /// Holds `value` until this body is dropped, that is for as long as the
    /// connection writes (a per-address connection slot, say).
    pub fn keeping(mut self, value: Box<dyn std::any::Any + Send>) -> Writer {
        self._keep = Some(value);
        self
    }

    /// Where an SSE or long-poll stream stands (`None` for a WebSocket).
    pub fn cursor(&self) -> Option<&Cursor> {
        match &self.encoding {
            Encoding::WebSocket(_) => None,
            Encoding::EventStream(c) | Encoding::Poll(c) => Some(c),
        }
    }

    /// Whether the stream has ended (its close is out, or the session is gone).
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn encode_close(&mut self, request: CloseRequest, buf: &mut BytesMut) {
        self.encoding.close(request, buf);
        self.done = true;
        self.queue.close();
        if !request.echo && matches!(self.encoding, Encoding::WebSocket(_)) {
            self.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
    }
}

impl Stream for Writer {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return match this.linger.as_mut().map(|l| l.as_mut().poll(cx)) {
                Some(Poll::Pending) => Poll::Pending,
                _ => Poll::Ready(None),
            };
        }
        let mut buf = BytesMut::new();
        match Pin::new(&mut this.close).poll(cx) {
            Poll::Ready(Ok(request)) => {
                this.encode_close(request, &mut buf);
                return Poll::Ready(Some(Ok(buf.freeze())));
            }
            // The session is gone without a word: end the connection.
            Poll::Ready(Err(_)) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        let mut frames = 0u64;
        while buf.len() < MAX_CHUNK {
            match this.queue.poll_recv(cx) {
                Poll::Ready(Some(Outgoing::Text(_, queued))) if queued.age() > this.expiry => {
                    telemetry::sink().closed(close::TOO_SLOW, Initiator::Server);
                    this.encode_close(
                        CloseRequest::server(close::TOO_SLOW, "too slow: reconnect with since"),
                        &mut buf,
                    );
                    break;
                }
                Poll::Ready(Some(Outgoing::Text(frame, _))) => this.encoding.text(frame, &mut buf),
                Poll::Ready(Some(Outgoing::Ping)) => this.encoding.ping(&mut buf),
                Poll::Ready(Some(Outgoing::Pong(payload))) => {
                    this.encoding.pong(*payload, &mut buf)
                }
                Poll::Ready(None) => {
                    this.done = true;
                    break;
                }
                Poll::Pending => break,
            }
            frames += 1;
        }
        if frames > 0 {
            this.written.fetch_add(frames, Ordering::Relaxed);
            telemetry::sink().frames_sent(frames);
        }
        if !buf.is_empty() {
            Poll::Ready(Some(Ok(buf.freeze())))
        } else if this.done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use actix_codec::Decoder;
    use actix_http::ws::Frame as WsFrame;
    use futures_util::{FutureExt, StreamExt};

    use super::*;
    use crate::outbox::Queued;
    use crate::protocol::Frame;

    /// Decodes what the server wrote, as a client would.
    fn decode(chunk: &[u8]) -> Vec<WsFrame> {
        let mut codec = Codec::new().client_mode().max_size(1 << 20);
        let mut buf = BytesMut::from(chunk);
        let mut frames = Vec::new();
        while let Some(frame) = codec.decode(&mut buf).expect("valid frames") {
            frames.push(frame);
        }
        assert!(buf.is_empty(), "no partial frame in a chunk");
        frames
    }

    fn texts(frames: &[WsFrame]) -> Vec<String> {
        frames
            .iter()
            .filter_map(|f| match f {
                WsFrame::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                _ => None,
            })
            .collect()
    }

    fn close_code(frame: &WsFrame) -> Option<u16> {
        match frame {
            WsFrame::Close(Some(reason)) => Some(reason.code.into()),
            _ => None,
        }
    }

    struct Parts {
        tx: queue::Sender<Outgoing>,
        closer: oneshot::Sender<CloseRequest>,
        written: Arc<AtomicU64>,
        writer: Writer,
    }

    fn writer(expiry: Duration) -> Parts {
        let (tx, rx) = queue::bounded(256);
        let (closer, close) = oneshot::channel();
        let written = Arc::new(AtomicU64::new(0));
        let writer = Writer::new(Encoding::websocket(), rx, close, written.clone(), expiry);
        Parts {
            tx,
            closer,
            written,
            writer,
        }
    }

    fn text(s: &str) -> Outgoing {
        Outgoing::Text(Frame::from(s.to_string()), Queued::now())
    }

    #[actix_rt::test]
    async fn everything_queued_goes_out_in_one_chunk() {
        let mut p = writer(Duration::from_secs(60));
        for i in 0..10 {
            p.tx.try_send(text(&format!("f{i}"))).expect("room");
        }
        p.tx.try_send(Outgoing::Ping).expect("room");
        let chunk = p.writer.next().await.expect("a chunk").expect("bytes");
        let frames = decode(&chunk);
        assert_eq!(
            texts(&frames),
            (0..10).map(|i| format!("f{i}")).collect::<Vec<_>>()
        );
        assert!(matches!(frames.last(), Some(WsFrame::Ping(_))));
        assert_eq!(p.written.load(Ordering::Relaxed), 11);
        assert!(
            p.writer.next().now_or_never().is_none(),
            "nothing left: pending"
        );
        drop(p.closer);
    }

    #[actix_rt::test]
    async fn a_chunk_stops_once_past_64_kib_and_the_rest_follows() {
        let mut p = writer(Duration::from_secs(60));
        let big = "x".repeat(10 * 1024);
        for _ in 0..10 {
            p.tx.try_send(text(&big)).expect("room");
        }
        let first = decode(&p.writer.next().await.expect("a chunk").expect("bytes"));
        let second = decode(&p.writer.next().await.expect("a chunk").expect("bytes"));
        // Six frames are under 64 KiB, the seventh takes the chunk past it.
        assert_eq!((first.len(), second.len()), (7, 3));
        drop(p.closer);
    }

    #[actix_rt::test]
    async fn a_frame_older_than_the_expiry_closes_with_4001_and_ends_the_body() {
        let expiry = Duration::from_secs(1);
        let mut p = writer(expiry);
        p.tx.try_send(text("fresh")).expect("room");
        let stale = Instant::now()
            .checked_sub(expiry * 2)
            .expect("the clock reaches back two seconds");
        p.tx.try_send(Outgoing::Text(Frame::from("stale"), Queued::at(stale)))
            .expect("room");
        p.tx.try_send(text("after")).expect("room");
        let frames = decode(&p.writer.next().await.expect("a chunk").expect("bytes"));
        assert_eq!(texts(&frames), vec!["fresh".to_string()]);
        assert_eq!(frames.last().and_then(close_code), Some(close::TOO_SLOW));
        assert!(
            p.writer.next().await.is_none(),
            "the body ends after the close"
        );
        assert!(p.tx.try_send(text("late")).is_err(), "the queue is closed");
        drop(p.closer);
    }

    #[actix_rt::test]
    async fn a_close_request_goes_before_queued_frames_and_ends_the_body() {
        let mut p = writer(Duration::from_secs(60));
        for i in 0..3 {
            p.tx.try_send(text(&format!("f{i}"))).expect("room");
        }
        p.closer
            .send(CloseRequest::server(close::POLICY, "bye"))
            .expect("writer alive");
        let frames = decode(&p.writer.next().await.expect("a chunk").expect("bytes"));
        assert_eq!(frames.len(), 1, "only the close: {frames:?}");
        assert_eq!(close_code(&frames[0]), Some(close::POLICY));
        assert!(p.writer.next().await.is_none());
    }

    #[actix_rt::test]
    async fn a_server_close_lingers_before_the_body_ends_and_an_echo_ends_at_once() {
        let mut p = writer(Duration::from_secs(60));
        p.closer
            .send(CloseRequest::server(close::RESTART, "restarting"))
            .expect("writer alive");
        let started = Instant::now();
        let frames = decode(&p.writer.next().await.expect("a chunk").expect("bytes"));
        assert_eq!(close_code(&frames[0]), Some(close::RESTART));
        assert!(
            p.writer.next().now_or_never().is_none(),
            "the connection stays open to read the client's answer"
        );
        assert!(p.writer.next().await.is_none(), "then the body ends");
        assert!(started.elapsed() >= LINGER);

        let mut q = writer(Duration::from_secs(60));
        let echo = CloseRequest {
            code: close::NORMAL,
            reason: "",
            echo: true,
        };
        q.closer.send(echo).expect("writer alive");
        let _ = q.writer.next().await.expect("the close");
        assert!(
            matches!(q.writer.next().now_or_never(), Some(None)),
            "after the client's own close the body ends at once"
        );
    }

    #[actix_rt::test]
    async fn a_refused_connection_gets_only_its_close() {
        let mut w = Writer::closing(Encoding::websocket(), close::POLICY, "too many connections");
        let frames = decode(&w.next().await.expect("a chunk").expect("bytes"));
        assert_eq!(frames.len(), 1);
        assert_eq!(close_code(&frames[0]), Some(close::POLICY));
        assert!(w.next().await.is_none());
    }

    #[actix_rt::test]
    async fn pongs_carry_their_payload_and_a_closed_queue_ends_the_body_after_its_frames() {
        let mut p = writer(Duration::from_secs(60));
        p.tx.try_send(Outgoing::Pong(Box::new(Bytes::from_static(b"abc"))))
            .expect("room");
        p.tx.try_send(text("last")).expect("room");
        drop(p.tx);
        let frames = decode(&p.writer.next().await.expect("a chunk").expect("bytes"));
        assert!(
            matches!(&frames[0], WsFrame::Pong(b) if &b[..] == b"abc"),
            "{frames:?}"
        );
        assert_eq!(texts(&frames), vec!["last".to_string()]);
        assert_eq!(p.written.load(Ordering::Relaxed), 2);
        assert!(p.writer.next().await.is_none());
        drop(p.closer);
    }

    #[actix_rt::test]
    async fn an_empty_closed_queue_ends_the_body_at_once() {
        let mut p = writer(Duration::from_secs(60));
        drop(p.tx);
        assert!(p.writer.next().await.is_none());
        assert_eq!(p.written.load(Ordering::Relaxed), 0);
        drop(p.closer);
    }

    #[actix_rt::test]
    async fn a_session_gone_without_a_close_ends_the_body_with_nothing_more_sent() {
        let mut p = writer(Duration::from_secs(60));
        p.tx.try_send(text("queued")).expect("room");
        drop(p.closer);
        assert!(p.writer.next().await.is_none());
        assert!(p.writer.next().await.is_none(), "and stays ended");
        assert_eq!(p.written.load(Ordering::Relaxed), 0);
    }

    #[actix_rt::test]
    async fn an_old_frame_still_within_the_expiry_goes_out() {
        // The expiry is a bound on age: frames queued within it are sent.
        let mut p = writer(Duration::from_secs(3600));
        let old = Instant::now()
            .checked_sub(Duration::from_secs(1800))
            .expect("the clock reaches back half an hour");
        p.tx.try_send(Outgoing::Text(Frame::from("old"), Queued::at(old)))
            .expect("room");
        let frames = decode(&p.writer.next().await.expect("a chunk").expect("bytes"));
        assert_eq!(texts(&frames), vec!["old".to_string()]);
        assert!(frames.iter().all(|f| close_code(f).is_none()));
        drop(p.closer);
    }

    fn stream_writer(encoding: Encoding) -> Parts {
        let (tx, rx) = queue::bounded(256);
        let (closer, close) = oneshot::channel();
        let written = Arc::new(AtomicU64::new(0));
        let writer = Writer::new(
            encoding,
            rx,
            close,
            written.clone(),
            Duration::from_secs(60),
        );
        Parts {
            tx,
            closer,
            written,
            writer,
        }
    }

    fn queue(p: &Parts, frame: Frame) {
        p.tx.try_send(Outgoing::Text(frame, Queued::now()))
            .expect("room");
    }

    #[actix_rt::test]
    async fn an_event_stream_names_each_event_and_ids_those_that_move_the_cursor() {
        use crate::channel::Channel;
        let mut p = stream_writer(Encoding::EventStream(Cursor::default()));
        let event = Channel::Event(7);
        queue(
            &p,
            protocol::subscribed(&event, "k3x9", 17, &serde_json::json!({}), &None),
        );
        queue(
            &p,
            protocol::durable("update", &event, 18, &serde_json::json!({})),
        );
        queue(
            &p,
            protocol::ephemeral("viewers", &event, &serde_json::json!({ "count": 2 })),
        );
        p.tx.try_send(Outgoing::Ping).expect("room");
        let chunk = p.writer.next().await.expect("a chunk").expect("bytes");
        let text = String::from_utf8(chunk.to_vec()).expect("utf-8");
        let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
        assert_eq!(events.len(), 4, "{text}");
        assert!(
            events[0].starts_with("id: event:7@k3x9:17\nevent: subscribed\ndata: {"),
            "{text}"
        );
        assert!(
            events[1].starts_with("id: event:7@k3x9:18\nevent: update\ndata: {"),
            "{text}"
        );
        assert!(
            events[2].starts_with("event: viewers\ndata: {"),
            "no id on ephemeral frames: {text}"
        );
        assert_eq!(events[3], ": keep-alive");
        // The data line is the frame exactly as a WebSocket carries it.
        let data = events[1]
            .lines()
            .nth(2)
            .and_then(|l| l.strip_prefix("data: "));
        let frame: serde_json::Value = serde_json::from_str(data.expect("data")).expect("JSON");
        assert_eq!(
            (frame["type"].clone(), frame["seq"].clone()),
            (serde_json::json!("update"), serde_json::json!(18))
        );
        assert_eq!(
            p.writer.cursor().map(|c| c.to_string()).as_deref(),
            Some("event:7@k3x9:18")
        );
        drop(p.closer);
    }

    #[actix_rt::test]
    async fn a_stream_ends_with_a_close_event_saying_what_a_websocket_would() {
        let mut p = stream_writer(Encoding::EventStream(Cursor::default()));
        p.closer
            .send(CloseRequest::server(close::TOO_SLOW, "too slow"))
            .expect("writer alive");
        let chunk = p.writer.next().await.expect("a chunk").expect("bytes");
        assert_eq!(
            &chunk[..],
            &b"event: close\ndata: {\"code\":4001,\"reason\":\"too slow\",\"type\":\"close\"}\n\n"
                [..]
        );
        assert!(p.writer.next().await.is_none() && p.writer.is_done());
    }

    #[actix_rt::test]
    async fn a_poll_chunk_is_the_frames_as_array_elements_ending_with_the_close() {
        use crate::channel::Channel;
        let mut p = stream_writer(Encoding::Poll(Cursor::default()));
        let news = Channel::News;
        p.tx.try_send(Outgoing::Ping).expect("room");
        assert!(
            p.writer.next().now_or_never().is_none(),
            "a ping alone answers no poll"
        );
        queue(
            &p,
            protocol::subscribed(&news, "e", 3, &serde_json::json!({}), &None),
        );
        queue(
            &p,
            protocol::durable("update", &news, 4, &serde_json::json!({})),
        );
        let chunk = p.writer.next().await.expect("a chunk").expect("bytes");
        let frames: Vec<serde_json::Value> =
            serde_json::from_slice(&[b"[", &chunk[..], b"]"].concat()).expect("JSON elements");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1]["seq"], 4);
        assert_eq!(
            p.writer.cursor().map(|c| c.to_string()).as_deref(),
            Some("news@e:4")
        );
        assert_eq!(
            p.written.load(Ordering::Relaxed),
            3,
            "the ping counts as progress"
        );
        queue(
            &p,
            protocol::durable("update", &news, 5, &serde_json::json!({})),
        );
        p.closer
            .send(CloseRequest::server(close::RESTART, "restart"))
            .expect("writer alive");
        let chunk = p.writer.next().await.expect("a chunk").expect("bytes");
        let frames: Vec<serde_json::Value> =
            serde_json::from_slice(&[b"[", &chunk[..], b"]"].concat()).expect("JSON elements");
        assert_eq!(
            frames,
            vec![serde_json::json!({ "type": "close", "code": 1012, "reason": "restart" })]
        );
        assert!(p.writer.is_done());
    }

    #[actix_rt::test]
    async fn what_the_body_keeps_lives_as_long_as_the_body() {
        let (slot, mut held) = oneshot::channel::<()>();
        let p = writer(Duration::from_secs(60));
        let writer = p.writer.keeping(Box::new(slot));
        assert!(matches!(
            held.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
        drop(writer);
        assert!(matches!(
            held.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        drop(p.closer);
    }
}
