//! The extractors that say in a handler's signature who may call it:
//! `Auth<Viewer>` for any signed-in user, `Auth<Admin>` for admins,
//! `MaybeAuth` where anonymous callers are welcome, `TokenUser` for writes
//! that load the account in their own transaction ([`crate::auth::authorize`]).
//! `Auth` and `MaybeAuth` reload the user on every request, so a role change
//! or a ban takes effect at once, not when the token expires.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use ringside_actors::Role;

use crate::auth::{check_account, TokenUser};
use crate::db::models::User;
use crate::error::ApiError;
use crate::state::AppState;

/// The lowest role a handler accepts.
pub trait MinRole {
    const ROLE: Role;
}

macro_rules! role_marker {
    ($($name:ident => $role:expr),*) => {$(
        #[derive(Debug)]
        pub struct $name;
        impl MinRole for $name {
            const ROLE: Role = $role;
        }
    )*};
}
role_marker!(Viewer => Role::Viewer, Moderator => Role::Moderator, Admin => Role::Admin);

/// A signed-in, non-banned user holding at least `R`'s role.
#[derive(Debug)]
pub struct Auth<R: MinRole> {
    pub user: User,
    _role: PhantomData<R>,
}

/// The user if a valid token came with the request; anonymous otherwise. A
/// token that is present but invalid is still refused: a client that thinks
/// it is signed in must hear that it is not.
#[derive(Debug)]
pub struct MaybeAuth(pub Option<User>);

pub fn bearer_token(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(ApiError::Unauthorized(
            "expected Authorization: Bearer <token>",
        )),
    }
}

/// Resolves a token to a live account; shared by every extractor.
pub async fn user_for_token(state: &AppState, token: &str) -> Result<User, ApiError> {
    let claimed = state.tokens.verify(token).map_err(ApiError::from)?;
    let user = state
        .db
        .run(move |conn| crate::db::users::find(conn, claimed.user_id).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::Unauthorized("invalid token"))?;
    check_account(&user, Some(claimed.version))?;
    Ok(user)
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))
}

impl<R: MinRole + 'static> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    // A signed-in `MaybeAuth` that holds the role.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let maybe = MaybeAuth::from_request(req, payload);
        Box::pin(async move {
            let MaybeAuth(user) = maybe.await?;
            let user = user.ok_or(ApiError::Unauthorized("authentication required"))?;
            if !user.role().includes(R::ROLE) {
                return Err(ApiError::Forbidden(format!(
                    "this needs the {} role",
                    R::ROLE
                )));
            }
            Ok(Auth {
                user,
                _role: PhantomData,
            })
        })
    }
}

impl FromRequest for TokenUser {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let token =
                bearer_token(req)?.ok_or(ApiError::Unauthorized("authentication required"))?;
            let state = app_state(req)?;
            let claimed = state.tokens.verify(&token).map_err(ApiError::from)?;
            crate::logging::note_user(req, claimed.user_id);
            Ok(TokenUser {
                user_id: claimed.user_id,
                version: Some(claimed.version),
            })
        })())
    }
}

impl FromRequest for MaybeAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = app_state(req);
        let req = req.clone();
        Box::pin(async move {
            match token? {
                None => Ok(MaybeAuth(None)),
                Some(token) => {
                    let state = state?;
                    let user = user_for_token(&state, &token).await?;
                    crate::logging::note_user(&req, user.id);
                    Ok(MaybeAuth(Some(user)))
                }
            }
        })
    }
}
