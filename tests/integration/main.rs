//! Integration tests: the real server over real sockets, on a real PostgreSQL.
//! One binary, so the cluster starts once for all of them.

mod architecture;
mod browser;
mod child;
mod harness;
mod raw_ws;
mod ws_client;

mod analytics;
mod auth;
mod automation;
mod bad_input;
mod body_timeout;
mod catalog;
mod chaos;
mod client_js;
mod comments;
mod console;
mod console_moderation;
mod console_page;
mod delta;
mod embedded;
mod fight_control;
mod guards;
mod hostile;
mod idempotency;
mod live_events;
mod live_ws;
mod migrations;
mod moderation;
mod multi_node;
mod notifications;
mod ops;
mod outage;
mod proxy;
mod push;
mod rankings;
mod reactions_polls;
mod retention;
mod streams;
mod watch;
