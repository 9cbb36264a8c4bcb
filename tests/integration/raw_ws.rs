//! A WebSocket client that speaks the wire format byte by byte, for the
//! tests of what a hostile or unusual client sends: any frame header, any
//! fragmenting, any close, and a source address of its choosing.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

use crate::harness::TestApp;
use crate::ws_client::PATIENCE;

pub const TEXT: u8 = 0x1;
pub const CONTINUATION: u8 = 0x0;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

pub struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The local end, to find this connection in the kernel's tables.
    pub local: SocketAddr,
}

/// A frame from the server: opcode and payload.
#[derive(Debug)]
pub struct ServerFrame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("JSON text frame")
    }

    /// A close frame's status code.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

pub fn server_addr(app: &TestApp) -> SocketAddr {
    app.base
        .trim_start_matches("http://")
        .parse()
        .expect("server address")
}

/// A masked client frame.
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Only the header of a masked text frame that says it carries `len` bytes.
pub fn header_only(len: u64) -> Vec<u8> {
    let mut out = vec![0x80 | TEXT, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[1, 2, 3, 4]);
    out
}

impl RawWs {
    /// Upgrades `path` from `source` (any 127.x address), sending `extra`
    /// header lines; answers the server's head (status line and headers).
    pub async fn connect_from(
        app: &TestApp,
        source: &str,
        path: &str,
        extra: &[(&str, &str)],
    ) -> (RawWs, String) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(format!("{source}:0").parse().expect("source address"))
            .expect("bind the source address");
        let stream = socket
            .connect(server_addr(app))
            .await
            .expect("connect to the server");
        let local = stream.local_addr().expect("local address");
        let mut ws = RawWs {
            stream,
            buf: Vec::new(),
            local,
        };
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            server_addr(app)
        );
        for (name, value) in extra {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        ws.write(request.as_bytes()).await;
        let head = loop {
            if let Some(end) = ws.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&ws.buf[..end]).to_string();
                ws.buf.drain(..end + 4);
                break head;
            }
            assert!(ws.fill().await, "the server hung up during the handshake");
        };
        (ws, head)
    }

    /// [`RawWs::connect_from`] 127.0.0.1, expecting the upgrade.
    pub async fn open(app: &TestApp, path: &str) -> RawWs {
        let (ws, head) = RawWs::connect_from(app, "127.0.0.1", path, &[]).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        ws
    }

    pub async fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            self.stream.writable().await.expect("writable");
            match self.stream.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("write failed: {e}"),
            }
        }
    }

    /// Reads more; false at the end of the stream (or a reset).
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match actix_rt::time::timeout(PATIENCE, self.stream.readable()).await {
                Err(_) => panic!("nothing from the server within the patience"),
                Ok(r) => r.expect("readable"),
            }
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
        }
    }

    /// The next frame, or `None` when the connection ended.
    pub async fn next(&mut self) -> Option<ServerFrame> {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The next text frame as JSON, skipping pings and ephemeral frames.
    pub async fn next_json(&mut self) -> serde_json::Value {
        loop {
            let frame = self.next().await.expect("connection open");
            if frame.opcode == TEXT {
                let v = frame.json();
                if !matches!(v["type"].as_str(), Some("viewers" | "presence")) {
                    return v;
                }
            }
            assert_ne!(frame.opcode, CLOSE, "closed: {:?}", frame.close_code());
        }
    }

    /// Reads until a close frame; its code (`None`: ended without one).
    pub async fn close_code(&mut self) -> Option<u16> {
        while let Some(frame) = self.next().await {
            if frame.opcode == CLOSE {
                return frame.close_code();
            }
        }
        None
    }

    /// Whether the server ends the connection (end of stream or reset)
    /// within the patience, reading whatever comes first.
    pub async fn hung_up(&mut self) -> bool {
        let read = async { while self.fill().await {} };
        actix_rt::time::timeout(PATIENCE, read).await.is_ok()
    }
}

fn parse_server_frame(b: &[u8]) -> Option<(ServerFrame, usize)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0F;
    let (len, at) = match b[1] & 0x7F {
        126 => (u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize, 4),
        127 => {
            let mut n = [0u8; 8];
            n.copy_from_slice(b.get(2..10)?);
            (u64::from_be_bytes(n) as usize, 10)
        }
        n => (n as usize, 2),
    };
    let payload = b.get(at..at + len)?.to_vec();
    Some((ServerFrame { opcode, payload }, at + len))
}

/// Whether the kernel still has a TCP socket with this local and remote end
/// (`/proc/net/tcp`: what `ss` shows), in any state but closed.
pub fn tcp_socket_exists(local: SocketAddr, remote: SocketAddr) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let hex = |s: SocketAddr| match s {
        SocketAddr::V4(v4) => format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        ),
        SocketAddr::V6(_) => panic!("IPv4 only"),
    };
    let (local, remote) = (hex(local), hex(remote));
    table.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols.len() > 3 && cols[1] == local && cols[2] == remote
    })
}

/// Waits for `cond` to hold, polling; false if it did not within `limit`.
pub async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}
