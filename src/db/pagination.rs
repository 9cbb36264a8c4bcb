//! Keyset pagination for every list: `?limit=&cursor=`, answered as
//! `{"results":[…],"next_cursor":…}`. The cursor is opaque to clients (today
//! the last id seen), so lists stay stable while rows are added.

use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The query parameters every list takes.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size. Out of range answers 400 `bad_request` (`details`: `{"limit": "limit must be between 1 and 200"}`).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Opaque cursor: the `next_cursor` of the previous page. Omit for the first page. A cursor that does not parse answers 400 `bad_request`.
    #[param(value_type = Option<String>)]
    pub cursor: Option<Cursor>,
}

/// Rows after this id (ascending lists) or before it (newest-first lists).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
pub struct Cursor(pub i64);

impl TryFrom<String> for Cursor {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse::<i64>()
            .map(Cursor)
            .map_err(|_| format!("invalid cursor {s:?}"))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("limit must be between 1 and {MAX_LIMIT}")]
pub struct BadLimit;

impl PageParams {
    pub fn limit(&self) -> Result<i64, BadLimit> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(BadLimit),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub results: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` were fetched with `limit + 1`: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| id(r).to_string())
        } else {
            None
        };
        Page {
            results: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            results: self.results.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
