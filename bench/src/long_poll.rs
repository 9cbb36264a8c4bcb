//! One long-poll subscriber (DESIGN §12): a keep-alive HTTP/1.1 connection
//! from the worker's source address, polling
//! `GET /api/live/poll/?channels=event:{id}&timeout_s=25&cursor=…` in a
//! loop, each poll sending the cursor the last answer gave (the first, none:
//! it starts the server-side session and gets its `welcome`). Each answer,
//! `{"frames":[…],"cursor":"…"}` with a `Content-Length` body, is read by
//! `http::read_response`; its frames are accounted for as the WebSocket
//! subscriber does (`subscriber::on_incoming`), all received when the answer
//! was. A `close` frame, an answer other than 200, or the server closing
//! the connection ends the subscriber.

use std::cell::RefCell;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::{timeout, timeout_at};

use crate::http;
use crate::sse::host_and_path;
use crate::stats::realtime_ns;
use crate::subscriber::{self, Incoming, Phase, SubState, Tally, Target};

/// How long a poll asks the server to wait when nothing is waiting.
const POLL_TIMEOUT_S: u64 = 25;
/// How long past that a poll's answer may take before it counts as lost.
const ANSWER_GRACE: Duration = Duration::from_secs(15);

/// Runs one long-poll subscriber to the end: subscribe (a few attempts),
/// then poll until the session ends or the worker's deadline.
pub async fn run(
    target: &Target,
    source: IpAddr,
    state: &SubState,
    tally: &RefCell<Tally>,
    gate: &Semaphore,
) {
    let Some(mut poller) = subscriber::attempts(target, tally, gate, || {
        subscribe(target, source, state, tally)
    })
    .await
    else {
        state.phase.set(Phase::Failed);
        return;
    };
    state.fd.set(poller.stream.as_raw_fd());
    state.phase.set(Phase::Subscribed);
    read_loop(&mut poller, target, state, tally).await;
    state.fd.set(-1);
}

/// One poll's answer.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    frames: Vec<Incoming<'a>>,
    cursor: String,
}

/// One subscriber's connection and where its session stands.
struct Poller {
    stream: TcpStream,
    /// Bytes read past the last answer.
    buf: Vec<u8>,
    host: String,
    /// `/api/live/poll/?channels=…`.
    path: String,
    /// The last answer's cursor; `None` before the first.
    cursor: Option<String>,
    /// How the server ended the session, seen in an answer already
    /// accounted for (a `close` frame's code, `connection: close`).
    ended: Option<String>,
}

impl Poller {
    /// One poll with the cursor held; returns the answer's body.
    async fn poll(&mut self) -> Result<Vec<u8>, String> {
        let mut request = format!("GET {}&timeout_s={POLL_TIMEOUT_S}", self.path);
        if let Some(cursor) = &self.cursor {
            request.push_str("&cursor=");
            request.push_str(&percent_encode(cursor));
        }
        request.push_str(&format!(
            " HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\r\n",
            self.host
        ));
        self.stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("poll: write: {e}"))?;
        let limit = Duration::from_secs(POLL_TIMEOUT_S) + ANSWER_GRACE;
        let (response, keep_alive) =
            timeout(limit, http::read_response(&mut self.stream, &mut self.buf))
                .await
                .map_err(|_| format!("poll: no answer within {limit:?}"))?
                .map_err(|e| format!("poll: {e}"))?;
        if response.status != 200 {
            return Err(format!(
                "poll: status {}: {:.120}",
                response.status,
                response.text()
            ));
        }
        if !keep_alive {
            self.ended = Some("connection: close".into());
        }
        Ok(response.body)
    }
}

/// Connects and polls until an answer carries `subscribed`; sets the
/// subscriber's seq from it and accounts for the frames after it in the
/// same answer. Returns the connection with the session's cursor.
async fn subscribe(
    target: &Target,
    source: IpAddr,
    state: &SubState,
    tally: &RefCell<Tally>,
) -> Result<Poller, String> {
    let stream = subscriber::connect(target, source).await?;
    let (host, path) = host_and_path(&target.url)?;
    let mut poller = Poller {
        stream,
        buf: Vec::new(),
        host: host.to_string(),
        path: path.to_string(),
        cursor: None,
        ended: None,
    };
    // The first answer is `welcome`, the next one `subscribed`.
    for _ in 0..8 {
        let body = poller.poll().await?;
        let now = realtime_ns();
        let answer: Answer =
            serde_json::from_slice(&body).map_err(|e| format!("subscribe: bad answer: {e}"))?;
        poller.cursor = Some(answer.cursor);
        if let Some(i) = answer.frames.iter().position(|f| f.kind == "subscribed") {
            state.last_seq.set(answer.frames[i].seq.unwrap_or(0));
            for frame in &answer.frames[i + 1..] {
                if let Some(code) = subscriber::on_incoming(frame, now, state, tally) {
                    poller.ended = Some(code);
                    break;
                }
            }
            return Ok(poller);
        }
        if let Some(f) = answer
            .frames
            .iter()
            .find(|f| f.kind == "error" || f.kind == "close")
        {
            return Err(format!("subscribe: {} frame", f.kind));
        }
        if poller.ended.is_some() {
            return Err("subscribe: the server closed the connection".into());
        }
    }
    Err("subscribe: no subscribed frame".into())
}

async fn read_loop(poller: &mut Poller, target: &Target, state: &SubState, tally: &RefCell<Tally>) {
    // Ends when the session ends, on an error, or at the worker's deadline:
    // one poll per round.
    loop {
        if let Some(how) = poller.ended.take() {
            return subscriber::closed(state, tally, how);
        }
        let body = match timeout_at(target.deadline, poller.poll()).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                tally.borrow_mut().error(e);
                return subscriber::closed(state, tally, "error");
            }
            Err(_) => return,
        };
        let now = realtime_ns();
        let answer: Answer = match serde_json::from_slice(&body) {
            Ok(a) => a,
            Err(e) => {
                let mut t = tally.borrow_mut();
                t.parse_errors += 1;
                t.error(format!("poll: bad answer: {e}"));
                drop(t);
                return subscriber::closed(state, tally, "bad answer");
            }
        };
        poller.cursor = Some(answer.cursor);
        for frame in &answer.frames {
            if let Some(code) = subscriber::on_incoming(frame, now, state, tally) {
                return subscriber::closed(state, tally, code);
            }
        }
    }
}

/// A query-string value with everything but letters, digits and `-._`
/// percent-encoded.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_cursors() {
        assert_eq!(
            percent_encode("s1~event:7@k3x9:17"),
            "s1%7Eevent%3A7%40k3x9%3A17"
        );
    }

    #[test]
    fn reads_answers_with_close_frames() {
        let body = br#"{"frames":[{"type":"update","channel":"event:1","seq":5,"data":{"data":{"sent_ns":1}}},{"code":4001,"reason":"too slow","type":"close"}],"cursor":"event:1@e:5"}"#;
        let answer: Answer = serde_json::from_slice(body).expect("answer");
        assert_eq!(answer.cursor, "event:1@e:5");
        let state = SubState::default();
        state.last_seq.set(4);
        let tally = RefCell::new(Tally::default());
        let codes: Vec<Option<String>> = answer
            .frames
            .iter()
            .map(|f| subscriber::on_incoming(f, realtime_ns(), &state, &tally))
            .collect();
        assert_eq!(codes, vec![None, Some("4001".to_string())]);
        assert_eq!(tally.borrow().deliveries, 1);
        assert_eq!(state.last_seq.get(), 5);
    }
}
