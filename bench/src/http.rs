//! A minimal HTTP/1.1 client over one keep-alive TCP connection: enough to
//! sign in, build a card and publish updates as fast as the server takes
//! them, with no HTTP stack to compile. Responses are parsed with
//! `httparse`; bodies come by `Content-Length` or chunked.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Largest response head or body accepted.
const MAX_RESPONSE: usize = 4 << 20;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// The value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(500)]).into_owned()
    }
}

/// One keep-alive connection to `addr`; reconnects on the next request after
/// an error or a `Connection: close`.
pub struct HttpClient {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    timeout: Duration,
    token: Option<String>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr, timeout: Duration) -> HttpClient {
        HttpClient {
            addr,
            stream: None,
            buf: Vec::with_capacity(8192),
            timeout,
            token: None,
        }
    }

    /// Sends `Authorization: Bearer <token>` from now on.
    pub fn set_token(&mut self, token: String) {
        self.token = Some(token);
    }

    /// Drops the connection (the server may have closed it while idle);
    /// the next request opens a fresh one.
    pub fn reconnect(&mut self) {
        self.stream = None;
    }

    /// The bearer token, once signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub async fn get(&mut self, path: &str) -> Result<Response, String> {
        self.request("GET", path, None).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, String> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.request("POST", path, bytes.as_deref()).await
    }

    /// A POST with an `Idempotency-Key`: a retry with the same key is
    /// answered the first answer and writes nothing.
    pub async fn post_keyed(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        key: &str,
    ) -> Result<Response, String> {
        let bytes = body.to_string().into_bytes();
        self.request_with("POST", path, Some(&bytes), &[("Idempotency-Key", key)])
            .await
    }

    /// One request and its response, within the client's timeout. On any
    /// error the connection is dropped (the next request reconnects).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Response, String> {
        self.request_with(method, path, body, &[]).await
    }

    /// [`HttpClient::request`] with `extra` headers.
    pub async fn request_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        extra: &[(&str, &str)],
    ) -> Result<Response, String> {
        let limit = self.timeout;
        match timeout(limit, self.exchange(method, path, body, extra)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(format!("{method} {path}: no answer within {limit:?}"))
            }
        }
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        extra: &[(&str, &str)],
    ) -> Result<Response, String> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connect {}: {e}", self.addr))?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
            self.buf.clear();
        }
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n",
            self.addr
        );
        if let Some(token) = &self.token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or_default();
        if method != "GET" {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        let Some(stream) = self.stream.as_mut() else {
            return Err("not connected".into());
        };
        stream
            .write_all(&out)
            .await
            .map_err(|e| format!("{method} {path}: write: {e}"))?;
        let (response, keep_alive) = read_response(stream, &mut self.buf).await?;
        if !keep_alive {
            self.stream = None;
        }
        Ok(response)
    }
}

/// Reads more bytes into `buf`; an end of stream is an error.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    if buf.len() > MAX_RESPONSE {
        return Err("response too large".into());
    }
    let mut chunk = [0u8; 16 * 1024];
    let n = stream
        .read(&mut chunk)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("connection closed by the server".into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// Reads one response; `buf` keeps any bytes past it. Returns whether the
/// connection may be reused.
pub(crate) async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<(Response, bool), String> {
    let (status, head_len, length, chunked, keep_alive, headers) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = parsed.code.unwrap_or(0);
                let mut length = None;
                let mut chunked = false;
                let mut keep_alive = parsed.version == Some(1);
                let mut headers = Vec::new();
                for h in parsed.headers.iter() {
                    let value = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                    headers.push((h.name.to_ascii_lowercase(), value.trim().to_string()));
                    if h.name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse::<usize>().ok();
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        chunked = value.contains("chunked");
                    } else if h.name.eq_ignore_ascii_case("connection") {
                        keep_alive = !value.contains("close");
                    }
                }
                break (status, len, length, chunked, keep_alive, headers);
            }
            Ok(httparse::Status::Partial) => fill(stream, buf).await?,
            Err(e) => return Err(format!("bad response head: {e}")),
        }
    };
    buf.drain(..head_len);
    let body = if chunked {
        read_chunked(stream, buf).await?
    } else if let Some(len) = length {
        if len > MAX_RESPONSE {
            return Err("response too large".into());
        }
        while buf.len() < len {
            fill(stream, buf).await?;
        }
        buf.drain(..len).collect()
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // Body until the connection closes.
        // Bounded by MAX_RESPONSE (fill refuses more) and the request timeout.
        while let Ok(()) = fill(stream, buf).await {}
        return Ok((
            Response {
                status,
                body: std::mem::take(buf),
                headers,
            },
            false,
        ));
    };
    Ok((
        Response {
            status,
            body,
            headers,
        },
        keep_alive,
    ))
}

async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    // Each chunk is one round; the body is bounded by MAX_RESPONSE.
    loop {
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            fill(stream, buf).await?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    buf.drain(..i + 2);
                    if i == 0 {
                        return Ok(body);
                    }
                    continue;
                }
                fill(stream, buf).await?;
            }
        }
        if body.len() + size > MAX_RESPONSE {
            return Err("response too large".into());
        }
        while buf.len() < size + 2 {
            fill(stream, buf).await?;
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

/// Polls `GET path` until it answers 200 or `limit` passes.
pub async fn wait_until_healthy(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
    mut alive: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = String::from("no attempt");
    while tokio::time::Instant::now() < deadline {
        if !alive() {
            return Err(format!("the server exited while starting ({last})"));
        }
        let mut client = HttpClient::new(addr, Duration::from_secs(2));
        match client.get(path).await {
            Ok(r) if r.status == 200 => return Ok(()),
            Ok(r) => last = format!("status {}", r.status),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("not healthy within {limit:?}: {last}"))
}
