//! The HTTP server: application state, middleware and the listening socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};
use actix_web::{dev::Server, middleware, web, App, HttpServer};
use ringside_actors::hub::Hub;
use ringside_actors::persistence::Persistence;

use crate::live::PgWriter;

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::rate_limit::LoginLimiter;
use crate::state::AppState;

/// A bound, not yet awaited server. Must be created inside an actix system.
pub struct Running {
    pub server: Server,
    pub addr: SocketAddr,
    /// The write listener (`RINGSIDE_WRITE_BIND`), when configured.
    pub write_server: Option<Server>,
    pub write_addr: Option<SocketAddr>,
    pub hub: Addr<Hub>,
    /// Stopped after the server, so the last requests' pushes are sent.
    pub push: crate::push::Push,
    /// Flushed once more after the server has drained.
    pub analytics: Arc<crate::live::analytics::Analytics>,
}

pub fn start(config: Arc<Config>, db: Db, secret_key: &[u8]) -> std::io::Result<Running> {
    let metrics = Arc::new(Metrics::new());
    let persister = Persistence::new(
        PgWriter::new(db.clone()),
        crate::live::persistence_config(&config),
    )
    .start();
    let store = Arc::new(crate::live::PgLiveStore::new(db.clone(), persister.clone()));
    let hub = Hub::new(store, crate::live::hub_config(&config)).start();
    let bus = match &config.redis_url {
        None => crate::live::Bus::local(hub.clone()),
        Some(url) => crate::live::Bus::redis(hub.clone(), url, db.clone())
            .map_err(|e| std::io::Error::other(format!("REDIS_URL: {e}")))?,
    };
    let comment_limiter = crate::rate_limit::CommentLimiter::new(
        config.live.comment_rate_limit,
        config.redis_url.as_deref(),
        &db,
    )
    .map_err(|e| std::io::Error::other(format!("REDIS_URL: {e}")))?;
    let totals = Arc::new(crate::live::Totals::default());
    totals
        .clone()
        .run(db.clone(), bus.clone(), config.engagement.totals_interval);
    let reaction_writer = Persistence::new(
        crate::live::reaction_writer::ReactionWriter::new(db.clone()),
        crate::live::reaction_persistence_config(&config),
    )
    .start();
    let push = crate::push::Push::start(&config.push, db.clone())
        .map_err(|e| std::io::Error::other(format!("push: {e}")))?;
    let analytics = Arc::new(crate::live::analytics::Analytics::new(&bus, db.clone()));
    analytics
        .clone()
        .run(hub.clone(), bus.clone(), config.analytics_flush_interval);
    let state = web::Data::new(AppState {
        analytics: analytics.clone(),
        push: push.clone(),
        tokens: TokenKeys::new(secret_key, config.token_ttl),
        login_limiter: LoginLimiter::new(config.login_rate_per_account, config.login_rate_per_ip),
        metrics: metrics.clone(),
        hub: hub.clone(),
        bus,
        persister,
        content_filter: crate::content_filter::ContentFilter::new(&config.moderation_blocked_terms),
        write_limiter: crate::rate_limit::WriteLimiter::new(
            config.engagement.reaction_rate_limit,
            config.engagement.vote_rate_limit,
        ),
        comment_limiter,
        totals,
        reaction_writer,
        live_slots: crate::live::ConnectionSlots::new(config.guards.max_connections_per_ip),
        long_polls: crate::live::LongPolls::new(crate::live::LONG_POLL_IDLE),
        db,
        config: config.clone(),
    });
    let metrics = web::Data::from(metrics);

    let polls = state.long_polls.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            polls.sweep();
        }
    });

    crate::scheduler::start(state.clone());
    crate::retention::start(state.clone());

    let pruned = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            pruned.login_limiter.prune();
            pruned.write_limiter.prune();
            pruned.comment_limiter.prune();
        }
    });

    let app = move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .wrap(middleware::from_fn(crate::http::idempotency::idempotent))
            .wrap(middleware::from_fn(crate::http::cors::cors))
            .wrap(middleware::from_fn(crate::http::body_deadline::enforce))
            .wrap(middleware::from_fn(crate::http::request_log::log))
            .configure(crate::http::configure)
    };
    let listener = |workers: usize, bind: SocketAddr| {
        HttpServer::new(app.clone())
            // Each TCP connection's socket, so a WebSocket that will not go
            // away can be aborted (`http/socket.rs`).
            .on_connect(crate::http::socket::on_connect)
            .workers(workers)
            .shutdown_timeout(10)
            // Signals are ours (see `stop_on_signal`): sessions hear 1012 first.
            .disable_signals()
            .bind(bind)
    };
    let server = listener(config.workers, config.bind)?;
    let addr = first_addr(server.addrs())?;
    // The write path's own workers: the same routes, but the fan-out's
    // sockets live on the main listener's workers, so a POST here waits
    // for no socket write (see "Decisions" in the README).
    let (write_server, write_addr) = match config.write_bind {
        None => (None, None),
        Some(bind) => {
            let server = listener(config.write_workers, bind)?;
            let addr = first_addr(server.addrs())?;
            (Some(server.run()), Some(addr))
        }
    };
    Ok(Running {
        server: server.run(),
        addr,
        write_server,
        write_addr,
        hub,
        push,
        analytics,
    })
}

fn first_addr(addrs: Vec<SocketAddr>) -> std::io::Result<SocketAddr> {
    addrs
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("no listening address"))
}

/// Waits for SIGINT or SIGTERM, then closes every WebSocket with 1012 and
/// stops the servers gracefully (requests in flight finish).
pub async fn stop_on_signal(servers: Vec<actix_web::dev::ServerHandle>, hub: Addr<Hub>) {
    until_signal().await;
    let sessions = hub.send(ringside_actors::hub::Shutdown).await.unwrap_or(0);
    tracing::info!(sessions, "shutting down: clients told to reconnect");
    for server in servers {
        server.stop(true).await;
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn until_signal() {
    use actix_web::rt::signal;
    let terminate = async {
        match signal::unix::signal(signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    first_of(signal::ctrl_c(), terminate).await;
}

/// Resolves when either future does.
async fn first_of(a: impl std::future::Future, b: impl std::future::Future) {
    futures_util::future::select(std::pin::pin!(a), std::pin::pin!(b)).await;
}
