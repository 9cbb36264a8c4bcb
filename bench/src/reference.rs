//! The reference fan-out server: the minimal hand-written tokio +
//! tokio-tungstenite broadcaster DESIGN §7 compares Ringside against.
//!
//! Every WebSocket client (any path) gets one bounded channel and one task
//! that writes what arrives on it. `POST /api/live/updates/` takes a JSON
//! update, assigns the next `seq`, serializes the update frame ONCE and
//! `try_send`s the same bytes to every client; a client whose channel is
//! full is dropped. Frames have Ringside's shape (`welcome`, `subscribed`,
//! `update` with the posted body as `data`), so the same subscribers measure
//! both. No auth, no storage: it is the floor, not a competitor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Clients and the sequence, under one lock so seq order is send order.
#[derive(Default)]
struct Hub {
    seq: u64,
    next_id: u64,
    clients: HashMap<u64, mpsc::Sender<Utf8Bytes>>,
}

type Shared = Arc<Mutex<Hub>>;

/// Runs the server until the process is stopped or `max_secs` pass.
pub fn run(bind: &str, queue: usize, max_secs: u64) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| format!("bind {bind}: {e}"))?;
        let hub: Shared = Arc::default();
        let serve = async {
            loop {
                // Accept errors (e.g. out of files) are transient: keep serving.
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, hub.clone(), queue));
            }
        };
        match tokio::time::timeout(std::time::Duration::from_secs(max_secs), serve).await {
            Ok(never) => never,
            Err(_) => Ok(()),
        }
    })
}

/// One TCP connection: HTTP requests (keep-alive) until a WebSocket upgrade.
async fn connection(mut stream: TcpStream, hub: Shared, queue: usize) {
    let mut buf = Vec::with_capacity(512);
    // At most 1M requests per connection; each iteration answers one.
    for _ in 0..1_000_000 {
        let Some((method, path, head_len, length, ws_key)) = read_head(&mut stream, &mut buf).await
        else {
            return;
        };
        while buf.len() < head_len + length {
            buf.reserve(head_len + length - buf.len());
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body: Vec<u8> = buf[head_len..head_len + length].to_vec();
        buf.drain(..head_len + length);
        if let Some(key) = ws_key {
            let accept = derive_accept_key(key.as_bytes());
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            if stream.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            // Clients only send control frames: a small read buffer will do.
            let config = WebSocketConfig::default()
                .read_buffer_size(1024)
                .write_buffer_size(4096);
            let ws =
                WebSocketStream::from_partially_read(stream, buf, Role::Server, Some(config)).await;
            // Its own task, so this connection's HTTP state is freed.
            tokio::spawn(subscriber(ws, hub, queue));
            return;
        }
        let (status, answer) = match (method.as_str(), path.as_str()) {
            ("POST", "/api/live/updates/") => match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(update)) => (201, publish(&hub, update)),
                _ => (400, json!({"error": {"code": "bad_request"}})),
            },
            ("GET", "/healthz") => (200, json!({"status": "ok"})),
            _ => (404, json!({"error": {"code": "not_found"}})),
        };
        let body = answer.to_string();
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if stream.write_all((head + &body).as_bytes()).await.is_err() {
            return;
        }
    }
}

type Head = (String, String, usize, usize, Option<String>);

/// Reads a request head: method, path, head length, body length and the
/// WebSocket key of an upgrade.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Head> {
    // A head arrives in a few reads; 64 reads or 64 KiB is plenty.
    for _ in 0..64 {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let mut length = 0;
                let mut key = None;
                for h in request.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(h.value).ok()?.trim().parse().ok()?;
                    } else if h.name.eq_ignore_ascii_case("sec-websocket-key") {
                        key = Some(String::from_utf8_lossy(h.value).into_owned());
                    }
                }
                let method = request.method?.to_string();
                let path = request.path?.to_string();
                return (length <= 1 << 20).then_some((method, path, len, length, key));
            }
            Ok(httparse::Status::Partial) if buf.len() < 64 * 1024 => {
                buf.reserve(1024);
                match stream.read_buf(buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
            _ => return None,
        }
    }
    None
}

/// Numbers the update, serializes it once, offers it to every client.
fn publish(hub: &Shared, mut update: serde_json::Map<String, Value>) -> Value {
    let Ok(mut hub) = hub.lock() else {
        return json!({"error": {"code": "unavailable"}});
    };
    hub.seq += 1;
    let seq = hub.seq;
    let channel = format!("event:{}", update.get("live_event").unwrap_or(&json!(0)));
    update.insert("id".into(), json!(seq));
    update.insert("seq".into(), json!(seq));
    let frame: Utf8Bytes =
        json!({"type": "update", "channel": channel, "seq": seq, "data": update})
            .to_string()
            .into();
    hub.clients
        .retain(|_, tx| tx.try_send(frame.clone()).is_ok());
    json!({"id": seq, "seq": seq})
}

/// One WebSocket client: registered with a `subscribed` frame at the current
/// seq, then fed from its channel until it or the channel closes.
async fn subscriber(mut ws: WebSocketStream<TcpStream>, hub: Shared, queue: usize) {
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(queue.max(2));
    let id = {
        let Ok(mut hub) = hub.lock() else { return };
        hub.next_id += 1;
        let id = hub.next_id;
        let welcome = json!({"type": "welcome", "session": id.to_string(), "user": null});
        let subscribed = json!({"type": "subscribed", "channel": "event:1", "epoch": "ref",
            "seq": hub.seq, "snapshot": {}});
        let _ = tx.try_send(welcome.to_string().into());
        let _ = tx.try_send(subscribed.to_string().into());
        hub.clients.insert(id, tx);
        id
    };
    loop {
        tokio::select! {
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if ws.feed(Message::Text(frame)).await.is_err() {
                    break;
                }
                // Batch whatever else is already waiting, then flush once.
                let mut failed = false;
                for _ in 0..256 {
                    let Ok(more) = rx.try_recv() else { break };
                    if ws.feed(Message::Text(more)).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || ws.flush().await.is_err() {
                    break;
                }
            }
            incoming = ws.next() => match incoming {
                // Pings are answered by tungstenite itself.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    if let Ok(mut hub) = hub.lock() {
        hub.clients.remove(&id);
    }
}
