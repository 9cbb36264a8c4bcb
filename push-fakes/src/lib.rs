//! Local fake push providers that speak the real wire formats, for
//! Ringside's tests and benchmark.
//!
//! - [`FakeFcm`]: FCM HTTP v1 (HTTP/2 without TLS, or HTTP/1.1) plus the
//!   OAuth2 token endpoint.
//!   The token endpoint checks the service-account JWT (RS256, issuer,
//!   audience, scope, lifetime) and issues access tokens;
//!   `messages:send` checks the bearer token and the v1 JSON body.
//! - [`FakeApns`]: APNs over HTTP/2 without TLS (h2c), or over TLS with a
//!   test certificate ([`FakeApns::start_tls`]). It checks the provider JWT
//!   (ES256, key id, team, age) and the `apns-*` headers.
//!
//! Both answer with the providers' real error bodies when told to
//! ([`Reply`]), record every request they accept, and can be slowed down
//! so a test can stop a sender halfway through a bulk send.
//!
//! ## The providers' limits ([`Limits`])
//!
//! Each fake advertises and enforces what its provider documents or is
//! seen to do; the defaults are those values, a test may set others.
//!
//! - **Concurrent streams per connection.** Each fake sends
//!   `SETTINGS_MAX_CONCURRENT_STREAMS` on every HTTP/2 connection, and
//!   HTTP/2 itself refuses a stream beyond it (`REFUSED_STREAM`).
//!   - FCM: **100**. `fcm.googleapis.com` is served by Google's front ends
//!     (GFE), which advertise 100 streams per connection; Google's own
//!     gRPC connection pool is built on that figure ("the current 100
//!     maximum value is also a configurable value on GFE side",
//!     GoogleCloudPlatform/grpc-gcp-go issue 11).
//!   - APNs: **1000**. Apple does not document a number ("the exact number
//!     of streams is based on the authentication method … and the server
//!     load, so don't assume a specific number", Apple, "Sending
//!     notification requests to APNs"), and asks senders of volume to open
//!     several connections. Clients see it in the server's SETTINGS: 500
//!     in 2016 (openradar 27870881, dropping to 1 after a rejected push),
//!     1,500 in 2019 (jchambers/pushy issue 709), 1000 in aioapns' pool; with
//!     token auth the limit starts low and is raised after the first
//!     authenticated request (HENNGE/aapns, in AndrewBarba/apns2 issue 17).
//!     The fake advertises the raised value from the start (hyper cannot
//!     change a connection's SETTINGS once it is open).
//! - **FCM's quota** ([`Quota`]): **600,000 messages a minute per project**
//!   by default; past it FCM answers `429 RESOURCE_EXHAUSTED`
//!   (`QUOTA_EXCEEDED`) until the quota refills in the following minute;
//!   the minutes are not aligned to the clock and 429s do not count
//!   (Firebase, "FCM Throttling and Quotas",
//!   firebase.google.com/docs/cloud-messaging/throttling-and-quotas). The
//!   fake counts every `messages:send` it authenticates (429s excepted) in
//!   windows starting at the first request after the previous window, and
//!   answers a 429 with `Retry-After` (whole seconds to the window's end,
//!   at least 1) past the quota. APNs documents no such quota (its 429 is
//!   "too many requests for the same device token"), so the fake has none.
//!
//! The fakes also record every connection ([`ConnectionSeen`]: requests,
//! the most streams open at once) and can end them: GOAWAY
//! (`close_connections`, as a front end does when it drains) or a drop
//! without one (`kill_connections`; requests it had not answered are not
//! counted as accepted).

mod apns;
mod fcm;
mod server;

pub use apns::FakeApns;
pub use fcm::FakeFcm;
pub use server::ConnectionSeen;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The test-only keys (see `keys/README.md`).
pub const FCM_PRIVATE_KEY: &str = include_str!("../keys/fcm-test-key.pem");
pub const FCM_PUBLIC_KEY: &str = include_str!("../keys/fcm-test-key.pub.pem");
pub const APNS_PRIVATE_KEY: &str = include_str!("../keys/apns-test-key.p8");
pub const APNS_PUBLIC_KEY: &str = include_str!("../keys/apns-test-key.pub.pem");
/// A test-only CA, and the certificate it issued for 127.0.0.1 (TLS fakes).
pub const TLS_CA_CERT: &str = include_str!("../keys/tls-test-ca.pem");
pub const TLS_SERVER_CERT: &str = include_str!("../keys/tls-test-server.pem");
pub const TLS_SERVER_KEY: &str = include_str!("../keys/tls-test-server-key.pem");
pub const APNS_KEY_ID: &str = "TESTKEY123";
pub const APNS_TEAM_ID: &str = "TESTTEAM99";
pub const APNS_TOPIC: &str = "com.ringside.app";
pub const FCM_PROJECT: &str = "ringside-test";
pub const FCM_CLIENT_EMAIL: &str = "push@ringside-test.iam.gserviceaccount.com";

/// What the fake answers one request with, in the provider's own words.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Accept,
    /// 429 (FCM `QUOTA_EXCEEDED`, APNs `TooManyRequests`), with a
    /// `Retry-After` in seconds when given.
    TooManyRequests {
        retry_after: Option<u64>,
    },
    /// 503 (FCM `UNAVAILABLE`, APNs `ServiceUnavailable`).
    Unavailable,
    /// The app is gone: FCM 404 `UNREGISTERED`, APNs 410 `Unregistered`.
    Unregistered,
    /// A malformed token: FCM 400 `INVALID_ARGUMENT` ("not a valid FCM
    /// registration token"), APNs 400 `BadDeviceToken`.
    BadToken,
}

/// A push the fake accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub token: String,
    /// FCM: the whole `{"message": …}` body; APNs: the payload.
    pub body: Value,
    /// Request headers, lower-case names.
    pub headers: HashMap<String, String>,
    pub at: Instant,
}

/// A request the fake answered (accepted or not), for timing checks.
#[derive(Debug, Clone)]
pub struct Answered {
    pub token: String,
    pub status: u16,
    pub at: Instant,
}

/// What both fakes keep: scripts, dead tokens, the record.
#[derive(Default)]
struct Book {
    scripts: HashMap<String, VecDeque<Reply>>,
    dead: HashSet<String>,
    delay: Duration,
    /// Tokens answered later than the rest.
    slow: HashMap<String, Duration>,
    received: Vec<Received>,
    answered: Vec<Answered>,
    rejected_auth: usize,
}

#[derive(Default)]
struct Shared {
    book: Mutex<Book>,
    changed: Condvar,
    connections: std::sync::Arc<server::Connections>,
}

/// What a fake advertises and enforces (see the crate's header for the
/// sources of the defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` on each HTTP/2 connection.
    pub streams_per_connection: u32,
    /// FCM only: the project's quota; `None`: unlimited.
    pub quota: Option<Quota>,
}

/// At most `requests` sends per `window`; past it, 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub requests: u64,
    pub window: Duration,
}

impl Limits {
    /// FCM's: 100 streams per connection, 600,000 messages a minute.
    pub fn fcm() -> Limits {
        Limits {
            streams_per_connection: 100,
            quota: Some(Quota {
                requests: 600_000,
                window: Duration::from_secs(60),
            }),
        }
    }

    /// APNs': 1000 streams per connection, no quota.
    pub fn apns() -> Limits {
        Limits {
            streams_per_connection: 1000,
            quota: None,
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scripted reply for `token`, or what its liveness says.
    fn reply_for(&self, token: &str) -> Reply {
        let mut book = self.lock();
        if let Some(reply) = book.scripts.get_mut(token).and_then(VecDeque::pop_front) {
            return reply;
        }
        if book.dead.contains(token) {
            Reply::Unregistered
        } else {
            Reply::Accept
        }
    }

    fn answered(&self, token: &str, status: u16, accepted: Option<Received>) {
        let mut book = self.lock();
        book.answered.push(Answered {
            token: token.to_string(),
            status,
            at: Instant::now(),
        });
        if let Some(r) = accepted {
            book.received.push(r);
        }
        drop(book);
        self.changed.notify_all();
    }

    fn auth_rejected(&self) {
        self.lock().rejected_auth += 1;
        self.changed.notify_all();
    }

    /// How long to wait before answering a push to `token` (read from the
    /// request only when some token is slow).
    fn delay_for(&self, token: impl FnOnce() -> Option<String>) -> Duration {
        let book = self.lock();
        let slow = match book.slow.is_empty() {
            true => None,
            false => token().and_then(|t| book.slow.get(&t).copied()),
        };
        slow.unwrap_or(book.delay).max(book.delay)
    }
}

/// The controls and record both fakes share.
macro_rules! controls {
    ($fake:ty) => {
        impl $fake {
            /// Answers for `token`'s next requests, in order; then the default.
            pub fn script(&self, token: &str, replies: Vec<$crate::Reply>) {
                self.shared
                    .lock()
                    .scripts
                    .insert(token.to_string(), replies.into());
            }

            /// Every request for `token` is answered as unregistered.
            pub fn kill_token(&self, token: &str) {
                self.shared.lock().dead.insert(token.to_string());
            }

            /// Each answer waits this long first.
            pub fn set_delay(&self, delay: std::time::Duration) {
                self.shared.lock().delay = delay;
            }

            /// Pushes to `token` are answered only after `delay`.
            pub fn slow_token(&self, token: &str, delay: std::time::Duration) {
                self.shared.lock().slow.insert(token.to_string(), delay);
            }

            /// Every connection accepted so far, in order.
            pub fn connections(&self) -> Vec<$crate::ConnectionSeen> {
                self.shared.connections.seen()
            }

            /// Sends GOAWAY on every open connection: what is open is
            /// answered, then the connection closes.
            pub fn close_connections(&self) {
                self.shared.connections.goaway();
            }

            /// Drops every open connection at once, without GOAWAY; the
            /// requests it had not answered are not accepted.
            pub fn kill_connections(&self) {
                self.shared.connections.kill();
            }

            /// Requests being answered now, on every connection.
            pub fn open_streams(&self) -> usize {
                self.shared
                    .connections
                    .seen()
                    .iter()
                    .map(|c| c.open_streams)
                    .sum()
            }

            /// Pushes accepted so far.
            pub fn received(&self) -> Vec<$crate::Received> {
                self.shared.lock().received.clone()
            }

            /// How many pushes were accepted so far (cheap: no copy).
            pub fn accepted(&self) -> usize {
                self.shared.lock().received.len()
            }

            /// When each push accepted at or after `since` was accepted
            /// (no copy of the pushes themselves: the benchmark's view).
            pub fn accepted_since(&self, since: std::time::Instant) -> Vec<std::time::Instant> {
                let book = self.shared.lock();
                book.received
                    .iter()
                    .filter(|r| r.at >= since)
                    .map(|r| r.at)
                    .collect()
            }

            /// Every answer so far (accepted or not).
            pub fn answered(&self) -> Vec<$crate::Answered> {
                self.shared.lock().answered.clone()
            }

            /// Requests refused for their credentials (bad or missing tokens).
            pub fn rejected_auth(&self) -> usize {
                self.shared.lock().rejected_auth
            }

            /// Waits until `done` holds for the accepted pushes (true) or
            /// `timeout` passes (false).
            pub fn wait_for(
                &self,
                timeout: std::time::Duration,
                done: impl Fn(&[$crate::Received]) -> bool,
            ) -> bool {
                let deadline = std::time::Instant::now() + timeout;
                let mut book = self.shared.lock();
                loop {
                    if done(&book.received) {
                        return true;
                    }
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    book = self
                        .shared
                        .changed
                        .wait_timeout(book, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    };
}
pub(crate) use controls;

/// Seconds since the epoch.
fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
