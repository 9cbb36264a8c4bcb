//! A small pool of HTTP/2 connections to a push provider (one unless told
//! otherwise: `PUSH_CONNECTIONS` for the push endpoints), each push a stream
//! of its own on the least busy connection, each connection opened again
//! when it breaks. The provider's `SETTINGS_MAX_CONCURRENT_STREAMS` holds
//! per connection (FCM's front ends: 100), so the pool is what lets
//! `PUSH_CONCURRENCY` pushes be in flight at once; Apple asks senders of
//! volume for several connections too. A request the connection never sent
//! (it had closed: GOAWAY, reset) is sent once more on another connection
//! at once; one that may have been sent is the caller's to retry. `https` is h2 over
//! TLS (ALPN, the Mozilla roots from webpki-roots, rustls with ring);
//! `http` is h2c with prior knowledge, which only local fakes speak.
//!
//! Not a general HTTP client on purpose: a push is one small POST on a
//! connection that is already open. reqwest parsed each URL twice per
//! request and ran it through redirect, retry and pool layers that a push
//! never uses, which was a quarter of the dispatcher's time
//! (bench/RESULTS.md, "Mobile push").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper::header::{HeaderValue, USER_AGENT};
use hyper::http::uri::{Authority, Scheme};
use hyper::{Request, Response, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A request body, sent whole.
pub type Body = Full<Bytes>;

pub struct Transport {
    scheme: Scheme,
    authority: Authority,
    /// The base URL's path without its trailing slash (often empty).
    base_path: String,
    host: String,
    port: u16,
    /// `None` for `http://` (h2c).
    tls: Option<tokio_rustls::TlsConnector>,
    /// For connecting and for each exchange (request to whole answer).
    timeout: Duration,
    user_agent: HeaderValue,
    /// The pool; a request goes to the slot with the fewest in flight.
    slots: Vec<Slot>,
    /// Where the search for the least busy slot starts (ties rotate).
    next: AtomicUsize,
}

/// One connection of the pool.
#[derive(Default)]
struct Slot {
    /// The open connection; connecting holds the lock, so there is one.
    open: tokio::sync::Mutex<Option<SendRequest<Body>>>,
    /// Requests on it now (waiting to connect included).
    in_flight: AtomicUsize,
}

/// Counts a request on its slot until it is done.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Transport {
    /// A provider at `base_url` (`https://…`, or `http://…` for a fake),
    /// trusting the usual public roots.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Transport, String> {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Transport::with_roots(base_url, timeout, roots)
    }

    /// The same, trusting `roots` (a private CA, as in the tests).
    pub fn with_roots(
        base_url: &str,
        timeout: Duration,
        roots: rustls::RootCertStore,
    ) -> Result<Transport, String> {
        let uri: Uri = base_url
            .parse()
            .map_err(|e| format!("{base_url}: not a URL ({e})"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err(format!("{base_url}: not an absolute http(s) URL"));
        };
        let tls = match scheme.as_str() {
            "https" => Some(tls_connector(roots)?),
            "http" => None,
            other => return Err(format!("{base_url}: unsupported scheme {other}")),
        };
        let port = authority
            .port_u16()
            .unwrap_or(if tls.is_some() { 443 } else { 80 });
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Transport {
            base_path: uri.path().trim_end_matches('/').to_string(),
            scheme,
            authority,
            host,
            port,
            tls,
            timeout,
            user_agent: HeaderValue::from_static(concat!("ringside/", env!("CARGO_PKG_VERSION"))),
            slots: vec![Slot::default()],
            next: AtomicUsize::new(0),
        })
    }

    /// The same with `n` connections (at least one), each opened when it
    /// is first needed.
    pub fn with_connections(mut self, n: usize) -> Transport {
        self.slots = (0..n.max(1)).map(|_| Slot::default()).collect();
        self
    }

    /// Connections in the pool (open or not).
    pub fn connections(&self) -> usize {
        self.slots.len()
    }

    /// The slot with the fewest requests on it: with `c` in flight over
    /// `n` slots, none carries more than `ceil(c / n)`.
    fn least_busy(&self) -> &Slot {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut best = &self.slots[start];
        let mut load = best.in_flight.load(Ordering::Relaxed);
        for i in 1..n {
            let slot = &self.slots[(start + i) % n];
            let l = slot.in_flight.load(Ordering::Relaxed);
            if l < load {
                (best, load) = (slot, l);
            }
        }
        best
    }

    /// The URI of `path` under the base URL (`""`: the base URL itself).
    pub fn uri(&self, path: &str) -> Result<Uri, String> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{path}", self.base_path))
            .build()
            .map_err(|e| format!("{path}: {e}"))
    }

    /// A POST to `uri` with this client's `User-Agent`; add headers, then
    /// the body.
    pub fn post(&self, uri: Uri) -> hyper::http::request::Builder {
        Request::post(uri).header(USER_AGENT, self.user_agent.clone())
    }

    /// Sends `request` and reads the whole answer, within the timeout.
    /// An error means no answer (unreachable, reset, too slow).
    pub async fn send(&self, request: Request<Body>) -> Result<Response<Bytes>, String> {
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }

    async fn exchange(&self, request: Request<Body>) -> Result<Response<Bytes>, String> {
        let mut request = request;
        // Once more when the request was never sent (the connection had
        // closed under it): then it cannot have reached the provider.
        for attempt in 0..2 {
            let slot = self.least_busy();
            slot.in_flight.fetch_add(1, Ordering::Relaxed);
            let _counted = InFlight(&slot.in_flight);
            let mut sender = self.sender(slot).await?;
            if sender.ready().await.is_err() {
                // Closed under us: the next request on this slot reconnects.
                slot.open.lock().await.take();
                if attempt == 0 {
                    continue;
                }
                return Err("the connection closed before the request was sent".into());
            }
            let response = match sender.try_send_request(request).await {
                Ok(response) => response,
                Err(mut e) => match e.take_message() {
                    Some(unsent) if attempt == 0 => {
                        slot.open.lock().await.take();
                        request = unsent;
                        continue;
                    }
                    _ => return Err(e.into_error().to_string()),
                },
            };
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
            return Ok(Response::from_parts(parts, body));
        }
        Err("the connection closed before the request was sent".into())
    }

    /// The slot's open connection, or a new one if it closed (GOAWAY, reset).
    async fn sender(&self, slot: &Slot) -> Result<SendRequest<Body>, String> {
        let mut open = slot.open.lock().await;
        if let Some(sender) = open.as_ref().filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        let sender = tokio::time::timeout(self.timeout, self.connect())
            .await
            .map_err(|_| format!("connecting took over {:?}", self.timeout))??;
        *open = Some(sender.clone());
        Ok(sender)
    }

    async fn connect(&self) -> Result<SendRequest<Body>, String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connecting to {}:{}: {e}", self.host, self.port))?;
        // Small requests, each waited on: no Nagle delay.
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let Some(tls) = &self.tls else {
            return handshake(tcp).await;
        };
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())
            .map_err(|e| format!("{}: {e}", self.host))?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {}: {e}", self.host))?;
        if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(format!("{} does not speak HTTP/2", self.host));
        }
        handshake(stream).await
    }
}

/// The HTTP/2 handshake; the connection is driven by a task of its own
/// until it closes.
async fn handshake<T>(io: T) -> Result<SendRequest<Body>, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        // Notice a dead connection while idle between bursts.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "push provider connection closed");
        }
    });
    Ok(sender)
}

fn tls_connector(roots: rustls::RootCertStore) -> Result<tokio_rustls::TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_read_once() {
        let t =
            Transport::new("https://api.push.apple.com", Duration::from_secs(1)).expect("https");
        assert_eq!(
            (t.host.as_str(), t.port, t.tls.is_some()),
            ("api.push.apple.com", 443, true)
        );
        assert_eq!(
            t.uri("/3/device/abc").expect("uri").to_string(),
            "https://api.push.apple.com/3/device/abc"
        );
        let t =
            Transport::new("http://127.0.0.1:9000/prefix/", Duration::from_secs(1)).expect("http");
        assert_eq!((t.port, t.tls.is_some()), (9000, false));
        assert_eq!(
            t.uri("/v1/x").expect("uri").to_string(),
            "http://127.0.0.1:9000/prefix/v1/x"
        );
        assert!(Transport::new("ftp://example.com", Duration::from_secs(1)).is_err());
        assert!(Transport::new("/relative", Duration::from_secs(1)).is_err());
    }
}
