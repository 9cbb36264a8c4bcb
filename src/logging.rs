//! Structured logs through tracing: human-readable by default (coloured
//! only when stderr is a terminal and `NO_COLOR` is unset), one JSON object
//! a line with `LOG_FORMAT=json`; levels from `RUST_LOG`. Requests are
//! logged by `http/request_log.rs`.

use std::io::IsTerminal;

use actix_web::{HttpMessage, HttpRequest};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(&spec).map_err(|e| format!("invalid RUST_LOG={spec:?}: {e}"))?
        }
        _ => EnvFilter::new("info,ringside::http=info"),
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Pretty => builder.with_ansi(colour).try_init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(|e| format!("could not start logging: {e}"))
}

/// Who made a request, once authentication found out (for the request log).
#[derive(Debug, Clone, Copy)]
pub struct RequestUser(pub i64);

/// Notes the request's user for its log line.
pub fn note_user(req: &HttpRequest, user_id: i64) {
    req.extensions_mut().insert(RequestUser(user_id));
}
