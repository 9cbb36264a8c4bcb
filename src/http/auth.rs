//! Sign-up, sign-in, "who am I", password changes and signing out everywhere.

use actix_web::{web, HttpRequest, HttpResponse};
use ringside_actors::Role;
use serde::Deserialize;
use serde_json::json;

use super::extract::{Auth, Viewer};
use super::{already_exists, created, query, resource};
use crate::auth;
use crate::db::models::{NewUser, User};
use crate::db::users;
use crate::error::ApiError;
use crate::live::KickReason;
use crate::state::AppState;
use crate::validate;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/auth/register/").post(register))
        .service(resource("/api/auth/login/").post(login))
        .service(resource("/api/auth/me/").get(me))
        .service(resource("/api/auth/password/").post(change_password))
        .service(resource("/api/auth/logout-all/").post(logout_all));
}

#[derive(Deserialize)]
struct PasswordBody {
    old_password: String,
    new_password: String,
}

#[derive(Deserialize)]
struct RegisterBody {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

fn session(state: &AppState, user: User) -> serde_json::Value {
    json!({
        "token": state.tokens.sign_for(&user),
        "expires_in": state.tokens.ttl().as_secs(),
        "user": user,
    })
}

/// Verifying is as slow as hashing: off the request threads too.
async fn verify(stored: String, password: String) -> Result<bool, ApiError> {
    web::block(move || auth::verify_password(&stored, &password))
        .await
        .map_err(|_| ApiError::Unavailable("server is shutting down".into()))
}

/// Hashing is deliberately slow: it runs off the request threads.
async fn hash(password: String) -> Result<String, ApiError> {
    web::block(move || auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::Unavailable("server is shutting down".into()))?
}

/// The address sign-in limits count under: behind a trusted proxy, the client
/// it names (otherwise every client would share the proxy's quota).
fn client(req: &HttpRequest, state: &AppState) -> Option<std::net::IpAddr> {
    crate::client_addr::client_ip(req, &state.config.guards.trusted_proxies)
        .map(crate::client_addr::limit_key)
}

async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let email = validate::email(&body.email)?;
    let display_name = validate::line("display_name", &body.display_name, 1, 50)?;
    validate::password(&body.password)?;
    state.login_limiter.check(client(&req, &state), None)?;
    let password_hash = hash(body.password).await?;
    let user = query(&state.db, move |conn| {
        users::insert(
            conn,
            &NewUser {
                email: &email,
                password_hash: &password_hash,
                display_name: &display_name,
                role: Role::Viewer.as_str(),
                is_verified: false,
            },
        )
    })
    .await
    .map_err(already_exists("an account with this email already exists"))?;
    tracing::info!(user = user.id, "account registered");
    Ok(created(session(&state, user)))
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { email, password } = body.into_inner();
    validate::plain("email", &email)?;
    validate::no_nul("password", &password)?;
    let email = email.trim().to_lowercase();
    state
        .login_limiter
        .check(client(&req, &state), Some(&email))?;
    let user = query(&state.db, move |conn| users::find_by_email(conn, &email)).await?;
    // Unknown account and wrong password cost the same and answer the same.
    let stored = user.as_ref().map_or_else(
        || auth::decoy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let ok = verify(stored, password).await?;
    let user = match user {
        Some(user) if ok => user,
        _ => return Err(ApiError::Unauthorized("invalid email or password")),
    };
    if user.is_banned() {
        return Err(ApiError::Banned);
    }
    let id = user.id;
    query(&state.db, move |conn| users::touch_login(conn, id)).await?;
    Ok(HttpResponse::Ok().json(session(&state, user)))
}

async fn me(auth: Auth<Viewer>) -> HttpResponse {
    HttpResponse::Ok().json(auth.user)
}

/// Changes the password: the old one must be right (attempts count like
/// sign-ins), the new one is checked like a registration's. Every token is
/// revoked and every live connection closed; the answer carries a new token.
async fn change_password(
    req: HttpRequest,
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
    body: web::Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let PasswordBody {
        old_password,
        new_password,
    } = body.into_inner();
    validate::no_nul("old_password", &old_password)?;
    validate::password(&new_password).map_err(|e| {
        let problem = match e {
            ApiError::BadRequest {
                details: Some(d), ..
            } => d["password"].as_str().map(str::to_string),
            _ => None,
        };
        ApiError::invalid(
            "new_password",
            problem.unwrap_or_else(|| {
                format!(
                    "must be {} to {} characters",
                    validate::MIN_PASSWORD,
                    validate::MAX_PASSWORD
                )
            }),
        )
    })?;
    let user = auth.user;
    state
        .login_limiter
        .check(client(&req, &state), Some(&user.email))?;
    if !verify(user.password_hash.clone(), old_password).await? {
        return Err(ApiError::Unauthorized("the old password is wrong"));
    }
    let password_hash = hash(new_password).await?;
    let (id, version) = (user.id, user.token_version);
    let user = query(&state.db, move |conn| {
        users::change_password(conn, id, &password_hash, version)
    })
    .await?
    // Another change or a sign-out won the race: this token is revoked.
    .ok_or(ApiError::Unauthorized("token revoked; sign in again"))?;
    state.bus.kick(user.id, KickReason::SignedOut);
    tracing::info!(user = user.id, "password changed; tokens revoked");
    Ok(HttpResponse::Ok().json(session(&state, user)))
}

/// Revokes every token of the caller and closes their live connections.
async fn logout_all(
    auth: Auth<Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = auth.user.id;
    query(&state.db, move |conn| users::bump_token_version(conn, id)).await?;
    state.bus.kick(id, KickReason::SignedOut);
    tracing::info!(user = id, "signed out everywhere");
    Ok(HttpResponse::NoContent().finish())
}
