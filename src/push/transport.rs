//! One HTTP/2 connection to a push provider, shared by every push as a
//! stream of its own and opened again when it breaks. `https` is h2 over
//! TLS (ALPN, the Mozilla roots from webpki-roots, rustls with ring);
//! `http` is h2c with prior knowledge, which only local fakes speak.
//!
//! Not a general HTTP client on purpose: a push is one small POST on a
//! connection that is already open. reqwest parsed each URL twice per
//! request and ran it through redirect, retry and pool layers that a push
//! never uses, which was a quarter of the dispatcher's time
//! (bench/RESULTS.md, "Mobile push").

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
    /// The open connection; connecting holds the lock, so there is one.
    open: tokio::sync::Mutex<Option<SendRequest<Body>>>,
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
            open: tokio::sync::Mutex::new(None),
        })
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
        let mut sender = self.sender().await?;
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Response::from_parts(parts, body))
    }

    /// The open connection, or a new one if it closed (GOAWAY, reset).
    async fn sender(&self) -> Result<SendRequest<Body>, String> {
        let mut open = self.open.lock().await;
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
