//! A tiny HTTP server on its own thread and runtime: HTTP/1.1 or h2c for
//! FCM (its token endpoint is plain HTTP/1.1), h2c for APNs, or h2 over
//! TLS (ALPN, the test certificate) as the real providers serve.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

pub type Reply = Response<Full<Bytes>>;
pub type Handler =
    Arc<dyn Fn(Parts, Bytes) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

#[derive(Clone)]
pub enum Protocol {
    /// HTTP/1.1, or HTTP/2 for a client that opens with its preface (h2c
    /// with prior knowledge), as one port.
    Auto,
    H2c,
    /// HTTP/2 over TLS, agreed by ALPN.
    H2Tls(tokio_rustls::TlsAcceptor),
}

/// Serves `handler` on 127.0.0.1 (a free port) until the process ends.
pub fn start(protocol: Protocol, handler: Handler) -> SocketAddr {
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
            runtime.block_on(accept(listener, protocol, handler));
        })
        .expect("spawn the fake provider");
    addr
}

async fn accept(listener: std::net::TcpListener, protocol: Protocol, handler: Handler) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (handler, protocol) = (handler.clone(), protocol.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let bytes = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    Ok::<_, std::convert::Infallible>(handler(parts, bytes).await)
                }
            });
            let h2 = || {
                let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                builder.max_concurrent_streams(1000);
                builder
            };
            // A client that goes away mid-request is not the fake's problem.
            let _ = match protocol {
                Protocol::Auto => {
                    let mut builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    builder.http2().max_concurrent_streams(1000);
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                        .map_err(|_| ())
                }
                Protocol::H2c => h2()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                    .map_err(|_| ()),
                Protocol::H2Tls(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => h2()
                        .serve_connection(TokioIo::new(tls), service)
                        .await
                        .map_err(|_| ()),
                    Err(_) => Err(()),
                },
            };
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
