//! Queries on accounts.

use diesel::prelude::*;
use ringside_actors::Role;

use super::models::{NewUser, User};
use super::pagination::PageParams;
use super::schema::users;

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut PgConnection, new: &NewUser) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(User::as_returning())
        .get_result(conn)
}

pub fn set_role(conn: &mut PgConnection, id: i64, role: Role) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role.as_str()))
        .returning(User::as_returning())
        .get_result(conn)
}

pub fn set_password(conn: &mut PgConnection, id: i64, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
}

/// Sets a new password and revokes every token signed before, if the
/// account is still at `expected_version` (the caller saw it so): `None`
/// when it has moved meanwhile.
pub fn change_password(
    conn: &mut PgConnection,
    id: i64,
    hash: &str,
    expected_version: i32,
) -> QueryResult<Option<User>> {
    diesel::update(users::table)
        .filter(users::id.eq(id))
        .filter(users::token_version.eq(expected_version))
        .set((
            users::password_hash.eq(hash),
            users::token_version.eq(users::token_version + 1),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .optional()
}

/// Revokes every token of the account; its new version.
pub fn bump_token_version(conn: &mut PgConnection, id: i64) -> QueryResult<i32> {
    diesel::update(users::table.find(id))
        .set(users::token_version.eq(users::token_version + 1))
        .returning(users::token_version)
        .get_result(conn)
}

pub fn touch_login(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(diesel::dsl::now))
        .execute(conn)
}

pub fn any_admin(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq("admin")),
    ))
    .get_result(conn)
}

pub fn list(
    conn: &mut PgConnection,
    page: &PageParams,
    limit: i64,
    role: Option<Role>,
) -> QueryResult<Vec<User>> {
    let mut q = page_query!(users, User, page, limit);
    if let Some(role) = role {
        q = q.filter(users::role.eq(role.as_str()));
    }
    q.load(conn)
}

/// The display names of `ids`, by id.
pub fn display_names(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::id.eq_any(ids))
        .order(users::id)
        .select((users::id, users::display_name))
        .load(conn)
}
