//! The server behind the nginx configuration it ships (`ops/nginx/`): Debian's
//! nginx runs the sample's own `map`, `upstream` and location blocks (only the
//! listening address, TLS and the upstream port differ) in front of the real
//! server, which trusts it (`RINGSIDE_TRUSTED_PROXIES`). WebSockets work
//! through it, and per-address limits count the clients, not the proxy.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::harness::{fresh_database, test_config_with, TestApp};
use crate::live_ws::{live_event, post_update, watch};
use crate::ws_client::{Ended, WsClient};

/// nginx on a free loopback port, stopped (and its folder removed) on drop,
/// also when the test fails.
struct Nginx {
    dir: PathBuf,
    child: Option<Child>,
    addr: SocketAddr,
}

impl Nginx {
    /// Starts nginx with the shipped proxy configuration in front of
    /// `upstream` and waits until it answers `/healthz` through it.
    fn start(upstream: SocketAddr) -> Nginx {
        let binary = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
        let dir = std::env::temp_dir().join(format!(
            "ringside-tests-{}-nginx-{}",
            std::process::id(),
            upstream.port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("nginx dir");
        let addr = free_port();
        std::fs::write(dir.join("nginx.conf"), config(addr, upstream)).expect("nginx.conf");
        let mut nginx = Nginx {
            dir,
            child: None,
            addr,
        };
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&nginx.dir)
            .arg("-c")
            .arg(nginx.dir.join("nginx.conf"))
            .arg("-e")
            .arg(nginx.dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {binary}: {e} (install nginx-light; ./scripts/test.sh does)")
            });
        nginx.child = Some(child);
        nginx.wait_up();
        nginx
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn wait_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(Some(status)) = self.child.as_mut().map(|c| c.try_wait().ok().flatten()) {
                panic!("nginx exited ({status}): {}", self.log());
            }
            if healthz(self.addr) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not pass requests on: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: the master stops its workers before it exits (a
            // SIGKILL would leave them behind).
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// One `GET /healthz` through nginx: whether it answered 200.
fn healthz(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut got = Vec::new();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_ok()
        && s.read_to_end(&mut got).is_ok()
        && got.starts_with(b"HTTP/1.1 200")
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ops/nginx")
        .join(name)
}

/// The test's nginx.conf: the sample's `map` and `upstream` blocks (the
/// upstream port rewritten) and its location file, included as it is, in a
/// plain-HTTP server on `listen`; logs, pid and temporary files in the
/// prefix folder.
fn config(listen: SocketAddr, upstream: SocketAddr) -> String {
    let sample_conf = std::fs::read_to_string(sample("ringside.conf")).expect("ringside.conf");
    let map = block(&sample_conf, "map $http_upgrade $connection_upgrade");
    let upstream_block = block(&sample_conf, "upstream ringside");
    let rewritten =
        upstream_block.replace("server 127.0.0.1:8000;", &format!("server {upstream};"));
    assert_ne!(
        rewritten, upstream_block,
        "the sample's upstream must name `server 127.0.0.1:8000;`"
    );
    let locations = sample("ringside-locations.conf");
    assert!(locations.is_file(), "{} is missing", locations.display());
    format!(
        "pid nginx.pid;\n\
         worker_processes 1;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
         access_log off;\n\
         client_body_temp_path client_body;\n\
         proxy_temp_path proxy;\n\
         fastcgi_temp_path fastcgi;\n\
         uwsgi_temp_path uwsgi;\n\
         scgi_temp_path scgi;\n\
         {map}\n\
         {rewritten}\n\
         server {{\n\
         listen {listen};\n\
         include {};\n\
         }}\n\
         }}\n",
        locations.display()
    )
}

/// The block that starts with `head`, through its closing brace.
fn block(conf: &str, head: &str) -> String {
    let start = conf
        .find(head)
        .unwrap_or_else(|| panic!("ringside.conf has no `{head}` block"));
    let mut depth = 0;
    for (i, c) in conf[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return conf[start..=start + i].to_string();
                }
            }
            _ => {}
        }
    }
    panic!("the `{head}` block is not closed");
}

/// The server trusting the proxy (which reaches it from 127.0.0.1).
async fn server_behind_proxy(extra: &[(&str, String)]) -> (TestApp, Nginx) {
    let mut vars = vec![("RINGSIDE_TRUSTED_PROXIES", "127.0.0.1".to_string())];
    vars.extend(extra.iter().cloned());
    let app = TestApp::with_config(test_config_with(fresh_database(), &vars)).await;
    let upstream = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("server address");
    let nginx = actix_rt::task::spawn_blocking(move || Nginx::start(upstream))
        .await
        .expect("nginx started");
    (app, nginx)
}

/// A sign-in attempt (unknown account) through `proxy` from the source
/// address `from`, over a socket of its own: the answer's status.
async fn sign_in_from(proxy: SocketAddr, from: Ipv4Addr) -> u16 {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from.into(), 0))
        .expect("bind the source address");
    let mut s = socket.connect(proxy).await.expect("connect to nginx");
    let body = json!({ "email": "nobody@example.com", "password": "wrong-password" }).to_string();
    let request = format!(
        "POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.expect("request");
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got))
        .await
        .expect("an answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&got);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"))
}

#[actix_rt::test]
async fn a_websocket_works_through_the_proxy() {
    let (app, nginx) = server_behind_proxy(&[]).await;
    let (admin, event, _) = live_event(&app).await;
    let via = TestApp::at(nginx.base(), app.db_url.clone());

    // `watch` reads `welcome`, then `subscribed`.
    let (mut c, subscribed) = watch(&via, event, "").await;
    assert_eq!(subscribed["channel"], format!("event:{event}"));
    let posted = post_update(&via, &admin, event, "Through the proxy").await;
    let frame = c.next_durable().await;
    assert_eq!(frame["type"], "update", "{frame}");
    assert_eq!(frame["seq"], posted["seq"]);
    assert_eq!(frame["data"]["title"], "Through the proxy");
}

#[actix_rt::test]
async fn sign_in_limits_count_each_client_behind_the_proxy() {
    let (_app, nginx) = server_behind_proxy(&[("LOGIN_RATE_PER_IP", "3".into())]).await;
    let two = Ipv4Addr::new(127, 0, 0, 2);
    let three = Ipv4Addr::new(127, 0, 0, 3);
    for attempt in 1..=3 {
        assert_eq!(
            sign_in_from(nginx.addr, two).await,
            401,
            "attempt {attempt} from .2"
        );
    }
    assert_eq!(
        sign_in_from(nginx.addr, two).await,
        429,
        "the fourth from .2"
    );
    // Without the proxy's X-Forwarded-For both would share nginx's address.
    let first_from_three = sign_in_from(nginx.addr, three).await;
    assert!(
        matches!(first_from_three, 200 | 401),
        "the first from .3 is limited apart: {first_from_three}"
    );
}

/// Needs `MAX_CONNECTIONS_PER_IP` enforced on WebSocket upgrades (a close
/// frame 1008 right after the upgrade), which is built on the main branch.
#[actix_rt::test]
async fn websocket_connections_per_client_address_through_the_proxy() {
    let (app, nginx) = server_behind_proxy(&[("MAX_CONNECTIONS_PER_IP", "2".into())]).await;
    let (_, event, _) = live_event(&app).await;
    let via = TestApp::at(nginx.base(), app.db_url.clone());
    let path = format!("/api/live/events/{event}/");
    let two = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    let three = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));

    let mut held = Vec::new();
    for n in 1..=2 {
        let mut c = WsClient::connect_from(&via, &path, two)
            .await
            .unwrap_or_else(|status| panic!("socket {n} from .2 refused: {status}"));
        assert_eq!(c.next().await["type"], "welcome", "socket {n} from .2");
        held.push(c);
    }
    let mut third = WsClient::connect_from(&via, &path, two)
        .await
        .expect("the upgrade itself is answered");
    assert_eq!(
        third.ended().await,
        Ended::Closed(Some(1008)),
        "the third socket from .2"
    );
    // Another client behind the same proxy is counted apart.
    let mut other = WsClient::connect_from(&via, &path, three)
        .await
        .expect("a socket from .3");
    assert_eq!(other.next().await["type"], "welcome");
}
