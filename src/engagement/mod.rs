//! Engagement writes, one code path for REST and WebSocket: comments (with
//! the content filter, mutes, slow mode and rate limits), reactions and poll
//! votes. Each operation validates, throttles, stores through the
//! persistence actor (answered after the commit) and then delivers what it
//! published; [`Writes`] adapts them to the live core's WebSocket ops.

pub mod comments;
pub mod polls;
pub mod reaction_writer;
pub mod reactions;
mod totals;
mod writes;

pub use totals::{Counted, Totals};
pub use writes::Writes;

use crate::error::ApiError;

/// A reference to something missing becomes a field error.
fn refers(field: &'static str) -> impl Fn(diesel::result::Error) -> ApiError {
    move |e| match ApiError::from(e) {
        ApiError::NotFound(_) => {
            ApiError::invalid(field, "refers to something that does not exist")
        }
        other => other,
    }
}
