//! The commit fence (migration 000014, durable writes): a transaction armed with a moment
//! commits only if PostgreSQL reaches COMMIT by then, on its own clock.
//! Writes whose caller is answered 503 at a deadline arm it with that
//! deadline, so what the caller heard stays true however long the database
//! was frozen or away.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::commit_fences;

/// Arms the fence for the transaction `conn` is in.
pub fn arm(conn: &mut PgConnection, commit_by: SystemTime) -> QueryResult<()> {
    diesel::insert_into(commit_fences::table)
        .values(commit_fences::commit_by.eq(DateTime::<Utc>::from(commit_by)))
        .execute(conn)
        .map(|_| ())
}

/// How the fence's refusal begins (the migration's `RAISE`).
pub const REFUSAL: &str = "ringside: commit deadline passed";
