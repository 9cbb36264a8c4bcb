//! A real WebSocket client for the tests (awc over a real socket).

use std::time::Duration;

use actix_codec::Framed;
use awc::ws::{Codec, Frame, Message};
use awc::BoxedSocket;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use crate::harness::TestApp;

/// How long a test waits for a frame that must come.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct WsClient {
    conn: Framed<BoxedSocket, Codec>,
}

/// What a finished connection said last.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(Option<u16>),
    /// The connection ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Connects to `path` (with `?token=` when given); Err is the HTTP status of a refusal.
    pub async fn connect(app: &TestApp, path: &str) -> Result<WsClient, u16> {
        WsClient::connect_from(app, path, None).await
    }

    /// [`WsClient::connect`] from a source address of its own (127.0.0.2 …),
    /// for per-address limits.
    pub async fn connect_from(
        app: &TestApp,
        path: &str,
        source: Option<std::net::IpAddr>,
    ) -> Result<WsClient, u16> {
        let url = format!("{}{}", app.base.replace("http://", "ws://"), path);
        let client = match source {
            None => awc::Client::new(),
            Some(ip) => awc::Client::builder()
                .connector(awc::Connector::new().local_address(ip))
                .finish(),
        };
        match client.ws(url).max_frame_size(1 << 20).connect().await {
            Ok((_, conn)) => Ok(WsClient { conn }),
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => Err(status.as_u16()),
            Err(e) => panic!("WebSocket connect failed: {e}"),
        }
    }

    /// Connects and reads the welcome frame.
    pub async fn open(app: &TestApp, path: &str) -> WsClient {
        let mut c = WsClient::connect(app, path)
            .await
            .expect("upgrade accepted");
        let welcome = c.next().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.conn
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("frame sent");
    }

    pub async fn send_message(&mut self, m: Message) {
        self.conn.send(m).await.expect("frame sent");
    }

    /// The next JSON frame, answering pings; panics after [`PATIENCE`].
    pub async fn next(&mut self) -> Value {
        loop {
            let frame = actix_rt::time::timeout(PATIENCE, self.conn.next())
                .await
                .expect("a frame within the patience")
                .expect("connection open")
                .expect("valid frame");
            match frame {
                Frame::Text(bytes) => return serde_json::from_slice(&bytes).expect("JSON frame"),
                Frame::Ping(p) => self.conn.send(Message::Pong(p)).await.expect("pong"),
                Frame::Close(reason) => panic!("closed: {reason:?}"),
                _ => {}
            }
        }
    }

    /// The next frame that is not ephemeral (viewers, presence, reactions).
    pub async fn next_durable(&mut self) -> Value {
        loop {
            let v = self.next().await;
            if !matches!(
                v["type"].as_str(),
                Some("viewers" | "presence" | "reactions")
            ) {
                return v;
            }
        }
    }

    /// Reads until the server ends the connection.
    pub async fn ended(&mut self) -> Ended {
        loop {
            match actix_rt::time::timeout(PATIENCE, self.conn.next()).await {
                Err(_) => panic!("the connection stayed open"),
                Ok(None) | Ok(Some(Err(_))) => return Ended::Dropped,
                Ok(Some(Ok(Frame::Close(reason)))) => {
                    return Ended::Closed(reason.map(|r| u16::from(r.code)))
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}
