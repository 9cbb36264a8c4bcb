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
    pub hub: Addr<Hub>,
}

pub fn start(config: Arc<Config>, db: Db, secret_key: &[u8]) -> std::io::Result<Running> {
    let metrics = Arc::new(Metrics::default());
    let persister =
        Persistence::new(PgWriter::new(db.clone()), crate::live::persistence_config()).start();
    let store = Arc::new(crate::live::PgLiveStore::new(db.clone(), persister.clone()));
    let hub = Hub::new(store, crate::live::hub_config(&config)).start();
    let state = web::Data::new(AppState {
        tokens: TokenKeys::new(secret_key, config.token_ttl),
        login_limiter: LoginLimiter::new(config.login_rate_per_account, config.login_rate_per_ip),
        metrics: metrics.clone(),
        hub: hub.clone(),
        persister,
        db,
        config: config.clone(),
    });
    let metrics = web::Data::from(metrics);

    let pruned = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            pruned.login_limiter.prune();
        }
    });

    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .wrap(middleware::from_fn(crate::metrics::track))
            .wrap(
                // The path without its query string: WebSocket clients may
                // put their token there.
                middleware::Logger::new("%a \"%{request}xi\" %s %b %Dms")
                    .custom_request_replace("request", |req| {
                        format!("{} {}", req.method(), req.path())
                    })
                    .log_target("ringside::http"),
            )
            .configure(crate::http::configure)
    })
    .workers(config.workers)
    .shutdown_timeout(10)
    .bind(config.bind)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("no listening address"))?;
    Ok(Running {
        server: server.run(),
        addr,
        hub,
    })
}
