//! Ringside's edges: HTTP, Postgres, auth, configuration and the command line.
//! The live core (rooms, sessions, protocol, domain rules) is the
//! `ringside-actors` crate; this crate connects it to the world.

pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod content_filter;
pub mod db;
pub mod embedded_postgres;
pub mod error;
pub mod features;
pub mod http;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod process_stats;
pub mod push;
pub mod rate_limit;
pub mod retention;
pub mod scheduler;
pub mod server;
pub mod state;
pub mod validate;
