//! Ringside's live core.
//!
//! What lives here is what a live fight night runs on and can be tested
//! without a database or a network: the domain rules (roles, the status
//! machines) and, as the live core grows, the room and session actors and the
//! wire protocol. This crate never imports diesel or redis; storage and the
//! cross-node bus are reached through traits the edges (`src/`) implement.

pub mod asyncapi;
pub mod channel;
pub mod cursor;
pub mod fight;
pub mod history;
pub mod hub;
pub mod lifecycle;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod outbox;
pub mod persistence;
pub mod protocol;
pub mod ranking;
pub mod reader;
pub mod role;
pub mod room;
pub mod scoring;
pub mod session;
pub mod store;
pub mod telemetry;
#[cfg(test)]
mod test_support;
pub mod vocabulary;
pub mod writer;
pub mod writes;

pub use channel::Channel;
pub use lifecycle::{EventAction, EventStatus, IllegalTransition};
pub use role::Role;
