//! A tiny HTTP server on its own thread and runtime: HTTP/1.1 or h2c for
//! FCM (its token endpoint is plain HTTP/1.1), h2c for APNs, or h2 over
//! TLS (ALPN, the test certificate) as the real providers serve.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::watch;

pub type Reply = Response<Full<Bytes>>;
pub type Handler = Arc<
    dyn Fn(Parts, Bytes, Arc<Conn>) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync,
>;

#[derive(Clone)]
pub enum Protocol {
    /// HTTP/1.1, or HTTP/2 for a client that opens with its preface (h2c
    /// with prior knowledge), as one port.
    Auto,
    H2c,
    /// HTTP/2 over TLS, agreed by ALPN.
    H2Tls(tokio_rustls::TlsAcceptor),
}

/// One accepted connection, as the handlers see it.
pub struct Conn {
    index: usize,
    alive: AtomicBool,
}

impl Conn {
    /// False once the connection was killed: an answer would go nowhere,
    /// so the request is not counted as accepted.
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }
}

/// What a fake saw of one connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionSeen {
    /// Requests received on it.
    pub requests: usize,
    /// The most requests it had open at once (HTTP/2 streams being answered).
    pub max_streams: usize,
    /// Requests open on it now.
    pub open_streams: usize,
    /// Still open.
    pub open: bool,
}

/// Every connection a fake accepted, and the controls that end them.
pub struct Connections {
    seen: Mutex<Vec<ConnectionSeen>>,
    /// Bumped to send GOAWAY on every open connection (graceful).
    goaway: watch::Sender<u64>,
    /// Bumped to drop every open connection at once (no GOAWAY).
    kill: watch::Sender<u64>,
}

impl Default for Connections {
    fn default() -> Connections {
        Connections {
            seen: Mutex::new(Vec::new()),
            goaway: watch::channel(0).0,
            kill: watch::channel(0).0,
        }
    }
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ConnectionSeen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn seen(&self) -> Vec<ConnectionSeen> {
        self.lock().clone()
    }

    pub fn goaway(&self) {
        self.goaway.send_modify(|n| *n += 1);
    }

    pub fn kill(&self) {
        self.kill.send_modify(|n| *n += 1);
    }

    fn opened(&self) -> usize {
        let mut seen = self.lock();
        seen.push(ConnectionSeen {
            open: true,
            ..ConnectionSeen::default()
        });
        seen.len() - 1
    }

    fn closed(&self, index: usize) {
        if let Some(c) = self.lock().get_mut(index) {
            c.open = false;
        }
    }

    fn stream_opened(&self, index: usize) {
        if let Some(c) = self.lock().get_mut(index) {
            c.requests += 1;
            c.open_streams += 1;
            c.max_streams = c.max_streams.max(c.open_streams);
        }
    }

    fn stream_closed(&self, index: usize) {
        if let Some(c) = self.lock().get_mut(index) {
            c.open_streams = c.open_streams.saturating_sub(1);
        }
    }
}

/// Counts a stream as open until its answer is ready (or it is dropped).
struct StreamGuard {
    connections: Arc<Connections>,
    index: usize,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.connections.stream_closed(self.index);
    }
}

/// Serves `handler` on 127.0.0.1 (a free port) until the process ends,
/// advertising `max_streams` (`SETTINGS_MAX_CONCURRENT_STREAMS`) on every
/// HTTP/2 connection: HTTP/2 itself refuses a stream beyond it
/// (`REFUSED_STREAM`).
pub fn start(
    protocol: Protocol,
    max_streams: u32,
    connections: Arc<Connections>,
    handler: Handler,
) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a fake provider");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("local address");
    std::thread::Builder::new()
        .name(format!("fake-provider-{}", addr.port()))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the fake provider");
            runtime.block_on(accept(
                listener,
                protocol,
                max_streams,
                connections,
                handler,
            ));
        })
        .expect("spawn the fake provider");
    addr
}

/// Drives one connection until it ends, a GOAWAY is asked for (then until
/// its open streams are answered) or it is killed (dropped at once).
macro_rules! drive {
    ($conn:expr, $connections:expr, $info:expr) => {{
        let conn = $conn;
        tokio::pin!(conn);
        let mut goaway = $connections.goaway.subscribe();
        let mut kill = $connections.kill.subscribe();
        let mut going = false;
        loop {
            tokio::select! {
                biased;
                _ = conn.as_mut() => break,
                changed = kill.changed() => {
                    if changed.is_ok() {
                        $info.alive.store(false, Ordering::SeqCst);
                        break;
                    }
                }
                changed = goaway.changed(), if !going => {
                    going = true;
                    if changed.is_ok() {
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }};
}

async fn accept(
    listener: std::net::TcpListener,
    protocol: Protocol,
    max_streams: u32,
    connections: Arc<Connections>,
    handler: Handler,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (handler, protocol, connections) =
            (handler.clone(), protocol.clone(), connections.clone());
        tokio::spawn(async move {
            let info = Arc::new(Conn {
                index: connections.opened(),
                alive: AtomicBool::new(true),
            });
            let service = {
                let (info, connections) = (info.clone(), connections.clone());
                hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (handler, info, connections) =
                        (handler.clone(), info.clone(), connections.clone());
                    connections.stream_opened(info.index);
                    let guard = StreamGuard {
                        connections,
                        index: info.index,
                    };
                    async move {
                        let (parts, body) = req.into_parts();
                        let bytes = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let reply = handler(parts, bytes, info).await;
                        drop(guard);
                        Ok::<_, std::convert::Infallible>(reply)
                    }
                })
            };
            let h2 = || {
                let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                builder.max_concurrent_streams(max_streams);
                builder
            };
            // A client that goes away mid-request is not the fake's problem.
            match protocol {
                Protocol::Auto => {
                    let mut builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    builder.http2().max_concurrent_streams(max_streams);
                    drive!(
                        builder.serve_connection(TokioIo::new(stream), service),
                        connections,
                        info
                    )
                }
                Protocol::H2c => drive!(
                    h2().serve_connection(TokioIo::new(stream), service),
                    connections,
                    info
                ),
                Protocol::H2Tls(acceptor) => {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        drive!(
                            h2().serve_connection(TokioIo::new(tls), service),
                            connections,
                            info
                        )
                    }
                }
            }
            connections.closed(info.index);
        });
    }
}

/// The acceptor for the test certificate (`keys/tls-test-server.pem`),
/// offering only h2.
pub fn test_tls() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(crate::TLS_SERVER_CERT.as_bytes())
            .collect::<Result<_, _>>()
            .expect("the test certificate");
    let key = PrivateKeyDer::from_pem_slice(crate::TLS_SERVER_KEY.as_bytes())
        .expect("the test certificate's key");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the test certificate and key");
    config.alpn_protocols = vec![b"h2".to_vec()];
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}

/// A response with a JSON body and extra headers.
pub fn json(status: u16, body: &serde_json::Value, headers: &[(&str, String)]) -> Reply {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// An empty 200 with extra headers.
pub fn empty(headers: &[(&str, String)]) -> Reply {
    let mut builder = Response::builder().status(200);
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Request headers as a lower-case map.
pub fn headers(parts: &Parts) -> std::collections::HashMap<String, String> {
    parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}
