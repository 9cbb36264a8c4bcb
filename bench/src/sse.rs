//! One Server-Sent Events subscriber (DESIGN §12): a raw TCP connection from
//! the worker's source address, `GET /api/live/stream/?channels=event:{id}`
//! with `Accept: text/event-stream`, then the response body de-chunked and
//! split into events. Each event's `data:` is one frame, accounted for as
//! the WebSocket subscriber does (`subscriber::on_frame`); `: keep-alive`
//! comments are counted; a `close` event (or the end of the response) ends
//! the subscriber with its code.

use std::cell::RefCell;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::timeout_at;

use crate::subscriber::{self, Incoming, Phase, SubState, Tally, Target};

/// Longest response head, chunk-size line or event accepted.
const MAX_PIECE: usize = 1 << 20;

/// Runs one SSE subscriber to the end: connect (a few attempts), then read.
pub async fn run(
    target: &Target,
    source: IpAddr,
    state: &SubState,
    tally: &RefCell<Tally>,
    gate: &Semaphore,
) {
    let Some((mut events, seq)) =
        subscriber::attempts(target, tally, gate, || subscribe(target, source)).await
    else {
        state.phase.set(Phase::Failed);
        return;
    };
    state.last_seq.set(seq);
    state.fd.set(events.stream.as_raw_fd());
    state.phase.set(Phase::Subscribed);
    read_loop(&mut events, target, state, tally).await;
    state.fd.set(-1);
}

/// Connects, sends the request, checks the response head and reads events
/// until `subscribed`; returns the stream and the channel's current seq.
async fn subscribe(target: &Target, source: IpAddr) -> Result<(Events, u64), String> {
    let mut stream = subscriber::connect(target, source).await?;
    let (host, path) = host_and_path(&target.url)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sse: write: {e}"))?;
    let mut events = Events::new(stream);
    events.read_head().await?;
    // `welcome` comes first, maybe a viewer count; `subscribed` soon after.
    for _ in 0..32 {
        match events.next().await? {
            Item::Event(data) => {
                let frame: Incoming = serde_json::from_str(&data)
                    .map_err(|e| format!("subscribe: bad frame: {e}"))?;
                match frame.kind {
                    "subscribed" => return Ok((events, frame.seq.unwrap_or(0))),
                    "error" | "close" => {
                        return Err(format!("subscribe: {} frame: {data:.120}", frame.kind))
                    }
                    _ => {}
                }
            }
            Item::Comment => {}
            Item::End => return Err("subscribe: the response ended".into()),
        }
    }
    Err("subscribe: no subscribed frame".into())
}

async fn read_loop(events: &mut Events, target: &Target, state: &SubState, tally: &RefCell<Tally>) {
    // Ends on a close event, the end of the response, an error, or the
    // worker's deadline: one event per round.
    loop {
        let next = match timeout_at(target.deadline, events.next()).await {
            Ok(next) => next,
            Err(_) => return,
        };
        match next {
            Ok(Item::Event(data)) => {
                if let Some(code) = subscriber::on_frame(&data, state, tally) {
                    return subscriber::closed(state, tally, code);
                }
            }
            Ok(Item::Comment) => {
                *tally
                    .borrow_mut()
                    .unsequenced
                    .entry(": comment".into())
                    .or_default() += 1;
            }
            Ok(Item::End) => return subscriber::closed(state, tally, "eof"),
            Err(e) => {
                tally.borrow_mut().error(format!("read: {e}"));
                return subscriber::closed(state, tally, "error");
            }
        }
    }
}

/// `host:port` and `/path?query` of an `http://` URL.
pub(crate) fn host_and_path(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: expected http://"))?;
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

/// What the event stream gave next.
#[derive(Debug, PartialEq, Eq)]
enum Item {
    /// An event's data (its `data:` lines joined by line breaks).
    Event(String),
    /// A comment line (`: keep-alive`).
    Comment,
    /// The response is over (last chunk, or the connection closed).
    End,
}

/// Where the de-chunker is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// A chunk-size line comes next.
    Size,
    /// This many bytes of the current chunk are still to come.
    Data(usize),
    /// The CRLF after a chunk's data.
    End,
    /// The last (empty) chunk came: the body is over.
    Done,
    /// The body is not chunked: it lasts until the connection closes.
    Identity,
}

/// The response of one stream: the socket, the bytes read but not yet
/// de-chunked, and the body not yet split into lines.
struct Events {
    stream: TcpStream,
    raw: Vec<u8>,
    chunk: Chunk,
    body: Vec<u8>,
    /// The socket reached its end.
    eof: bool,
    /// The current event's data lines.
    data: Option<String>,
}

impl Events {
    fn new(stream: TcpStream) -> Events {
        Events {
            stream,
            raw: Vec::new(),
            chunk: Chunk::Size,
            body: Vec::new(),
            eof: false,
            data: None,
        }
    }

    /// Reads what the socket has into `raw`; notes its end.
    async fn fill(&mut self) -> Result<(), String> {
        self.raw.reserve(4096);
        let n = self
            .stream
            .read_buf(&mut self.raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// Reads and checks the response head: 200, `text/event-stream`.
    async fn read_head(&mut self) -> Result<(), String> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut head = httparse::Response::new(&mut headers);
            match head.parse(&self.raw) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = head.code.unwrap_or(0);
                    let header = |name: &str| {
                        head.headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
                            .unwrap_or_default()
                    };
                    if status != 200 {
                        return Err(format!("sse: status {status}"));
                    }
                    if !header("content-type").starts_with("text/event-stream") {
                        return Err(format!("sse: content-type {:?}", header("content-type")));
                    }
                    self.chunk = if header("transfer-encoding").contains("chunked") {
                        Chunk::Size
                    } else {
                        Chunk::Identity
                    };
                    self.raw.drain(..len);
                    return Ok(());
                }
                Ok(httparse::Status::Partial) if self.raw.len() < MAX_PIECE && !self.eof => {
                    self.fill().await?
                }
                Ok(httparse::Status::Partial) => return Err("sse: no response head".into()),
                Err(e) => return Err(format!("sse: bad response head: {e}")),
            }
        }
    }

    /// Moves what `raw` holds of the body into `body`, removing the chunk
    /// framing.
    fn dechunk(&mut self) -> Result<(), String> {
        loop {
            match self.chunk {
                Chunk::Identity => {
                    self.body.append(&mut self.raw);
                    return Ok(());
                }
                Chunk::Done => return Ok(()),
                Chunk::Data(left) => {
                    let n = left.min(self.raw.len());
                    if n == 0 {
                        return Ok(());
                    }
                    self.body.extend_from_slice(&self.raw[..n]);
                    self.raw.drain(..n);
                    self.chunk = if n == left {
                        Chunk::End
                    } else {
                        Chunk::Data(left - n)
                    };
                }
                Chunk::End => {
                    if self.raw.len() < 2 {
                        return Ok(());
                    }
                    if &self.raw[..2] != b"\r\n" {
                        return Err("sse: a chunk not followed by CRLF".into());
                    }
                    self.raw.drain(..2);
                    self.chunk = Chunk::Size;
                }
                Chunk::Size => {
                    let Some(i) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                        if self.raw.len() > MAX_PIECE {
                            return Err("sse: chunk-size line too long".into());
                        }
                        return Ok(());
                    };
                    let line = String::from_utf8_lossy(&self.raw[..i]).into_owned();
                    let hex = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(hex, 16)
                        .map_err(|_| format!("sse: bad chunk size {line:?}"))?;
                    self.raw.drain(..i + 2);
                    // Trailers after the last chunk are not read: the body is over.
                    self.chunk = if size == 0 {
                        Chunk::Done
                    } else {
                        Chunk::Data(size)
                    };
                }
            }
        }
    }

    /// The next event or comment, reading as needed.
    async fn next(&mut self) -> Result<Item, String> {
        loop {
            self.dechunk()?;
            if let Some(item) = self.split()? {
                return Ok(item);
            }
            if self.chunk == Chunk::Done || self.eof {
                return Ok(Item::End);
            }
            self.fill().await?;
        }
    }

    /// Takes complete lines off `body` until one ends an event or is a
    /// comment; `None` when no complete item is there yet.
    fn split(&mut self) -> Result<Option<Item>, String> {
        let mut taken = 0;
        let mut item = None;
        while let Some(i) = self.body[taken..].iter().position(|&b| b == b'\n') {
            let raw_line = &self.body[taken..taken + i];
            taken += i + 1;
            let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
            if line.is_empty() {
                // A blank line dispatches the event, if it had data.
                if let Some(data) = self.data.take() {
                    item = Some(Item::Event(data));
                    break;
                }
                continue;
            }
            if line[0] == b':' {
                item = Some(Item::Comment);
                break;
            }
            let line = std::str::from_utf8(line).map_err(|_| "sse: a line not in UTF-8")?;
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            // `event:` repeats the frame's type and `id:` is the cursor: the
            // frame's JSON says all the accounting needs.
            if field == "data" {
                match self.data.as_mut() {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_string()),
                }
            }
        }
        self.body.drain(..taken);
        if item.is_none() && self.body.len() + self.data.as_ref().map_or(0, String::len) > MAX_PIECE
        {
            return Err("sse: event too large".into());
        }
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `body` (already de-chunked) the way `next` does.
    fn items(events: &mut Events) -> Vec<Item> {
        let mut out = Vec::new();
        while let Some(item) = events.split().expect("split") {
            out.push(item);
        }
        out
    }

    async fn events() -> Events {
        // A socket that is never read: the tests feed `raw` themselves.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let stream = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        Events::new(stream)
    }

    #[tokio::test]
    async fn dechunks_and_splits_events_across_reads() {
        let mut e = events().await;
        let body = "id: event:7@k3x9:17\nevent: subscribed\ndata: {\"type\":\"subscribed\",\"seq\":17}\n\n: keep-alive\n\nevent: update\ndata: {\"type\":\"update\",\n";
        let wire = format!("{:x}\r\n{body}\r\n", body.len());
        // The wire in two pieces, cut inside the chunk's data.
        let (a, b) = wire.split_at(30);
        e.raw.extend_from_slice(a.as_bytes());
        e.dechunk().expect("dechunk");
        assert_eq!(items(&mut e), vec![]);
        e.raw.extend_from_slice(b.as_bytes());
        e.raw.extend_from_slice(b"6\r\ndata: \r\n");
        e.raw
            .extend_from_slice(b"b\r\n\"seq\":18}\n\n\r\n0\r\n\r\n");
        e.dechunk().expect("dechunk");
        assert_eq!(
            items(&mut e),
            vec![
                Item::Event(r#"{"type":"subscribed","seq":17}"#.into()),
                Item::Comment,
                Item::Event("{\"type\":\"update\",\n\"seq\":18}".into()),
            ]
        );
        assert_eq!(e.chunk, Chunk::Done);
    }

    #[test]
    fn splits_urls() {
        assert_eq!(
            host_and_path("http://127.0.0.1:80/api/live/stream/?channels=event:1"),
            Ok(("127.0.0.1:80", "/api/live/stream/?channels=event:1"))
        );
        assert!(host_and_path("ws://127.0.0.1:80/").is_err());
    }
}
