//! Who is calling: password hashing (argon2id), signed bearer tokens (JWT,
//! HS256, with expiry), and the checks every use of a token ends with
//! ([`check_account`], [`authorize`] inside a write's transaction). The HTTP
//! extractors that enforce roles in handler signatures are in
//! `http/extract.rs`.
//!
//! A token carries the account's `token_version`; a password change or "sign
//! out everywhere" bumps it, and every token signed before is refused.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ringside_actors::Role;
use serde::{Deserialize, Serialize};

use crate::db::models::User;
use crate::error::ApiError;

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::Internal(format!("random salt: {e}")))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
}

/// False for a wrong password and for a malformed stored hash alike.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A real hash of nothing anyone knows: verifying against it when the account
/// does not exist makes "no such user" cost what "wrong password" costs.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token(24)).unwrap_or_default())
}

/// URL-safe random text from the OS generator.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random generator is available");
    B64.encode(buf)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    /// The account's `token_version` when signed; tokens from before the
    /// column existed have none and count as version 0.
    #[serde(default)]
    ver: i32,
}

/// What a valid token says: whose it is and the account version it was
/// signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    pub user_id: i64,
    pub version: i32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
}

/// Signs and checks tokens with one HMAC key, through `jsonwebtoken`
/// (compact JWS, HS256). Tokens from the hand-written signer this replaced
/// are standard JWTs of the same claims and still verify (tested).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    pub fn new(key: &[u8], ttl: Duration) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is exact, as before: no grace period.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user` at its current `token_version`.
    pub fn sign_for(&self, user: &User) -> String {
        self.sign(user.id, user.token_version)
    }

    pub fn sign(&self, user_id: i64, version: i32) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            ver: version,
        };
        // HMAC signing of claims we built cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signs any claims")
    }

    /// The user id and version in a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claimed, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Malformed,
            })?
            .claims;
        // jsonwebtoken lets a token live through its `exp` second; this
        // server never did.
        if claims.exp <= chrono::Utc::now().timestamp() {
            return Err(TokenError::Expired);
        }
        let user_id = claims.sub.parse().map_err(|_| TokenError::Malformed)?;
        Ok(Claimed {
            user_id,
            version: claims.ver,
        })
    }
}

/// A valid token's user id, checked without touching the database: for
/// writes that load the account inside their own transaction anyway (see
/// [`authorize`]), which saves a round trip on the hottest paths.
#[derive(Debug, Clone, Copy)]
pub struct TokenUser {
    pub user_id: i64,
    /// The token's account version, compared in [`authorize`]; `None` for a
    /// WebSocket session's writes (checked at connect; the socket is closed
    /// when the version moves).
    pub version: Option<i32>,
}

impl TokenUser {
    /// A write from a live session already signed in as `user_id`.
    pub fn session(user_id: i64) -> TokenUser {
        TokenUser {
            user_id,
            version: None,
        }
    }
}

/// The checks every use of a token ends with: the token is still current
/// (`version`: `None` when a live session already checked it at connect and
/// is closed on revocation) and the account is not banned.
pub fn check_account(user: &User, version: Option<i32>) -> Result<(), ApiError> {
    if version.is_some_and(|v| v != user.token_version) {
        return Err(ApiError::Unauthorized("token revoked; sign in again"));
    }
    if user.is_banned() {
        return Err(ApiError::Banned);
    }
    Ok(())
}

/// Loads the account behind a token inside a transaction and checks it the
/// way [`Auth`] does: it exists, the token is current, the account is not
/// banned, and it holds at least `role`.
pub fn authorize(
    conn: &mut diesel::PgConnection,
    token: TokenUser,
    role: Role,
) -> Result<User, ApiError> {
    let user = crate::db::users::find(conn, token.user_id)?
        .ok_or(ApiError::Unauthorized("invalid token"))?;
    check_account(&user, token.version)?;
    if !user.role().includes(role) {
        return Err(ApiError::Forbidden(format!("this needs the {role} role")));
    }
    Ok(user)
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> ApiError {
        match e {
            TokenError::Expired => ApiError::Unauthorized("token expired; sign in again"),
            _ => ApiError::Unauthorized("invalid token"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let token = keys.sign(42, 3);
        assert_eq!(
            keys.verify(&token),
            Ok(Claimed {
                user_id: 42,
                version: 3
            })
        );

        let other = TokenKeys::new(
            b"another key, just as long as the first",
            Duration::from_secs(60),
        );
        assert_eq!(other.verify(&token), Err(TokenError::BadSignature));

        let forged_payload = B64.encode(br#"{"sub":"1","iat":0,"exp":99999999999}"#);
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(keys.verify(&forged), Err(TokenError::BadSignature));
        assert_eq!(keys.verify("not-a-token"), Err(TokenError::Malformed));
    }

    /// Signed by the hand-written HS256 code this module had before it used
    /// jsonwebtoken (`TokenKeys::new(KEY, 100 years).sign(42, 3)`): the
    /// format was standard JWT, so tokens already handed out keep working.
    const OLD_KEY: &[u8] = b"a fixed key for the format test, 32+ bytes";
    const OLD_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
        eyJzdWIiOiI0MiIsImlhdCI6MTc5NjExMjQ2NCwiZXhwIjo0OTQ5NzEyNDY0LCJ2ZXIiOjN9.\
        cp-3hRK6qGut6ubB_r6vN5nrmOOxt8D-grCbjmNC_eU";

    #[test]
    fn tokens_signed_by_the_old_code_still_verify() {
        let keys = TokenKeys::new(OLD_KEY, Duration::from_secs(60));
        assert_eq!(
            keys.verify(OLD_TOKEN),
            Ok(Claimed {
                user_id: 42,
                version: 3
            })
        );
        let other = TokenKeys::new(b"not the key it was signed with!!", Duration::from_secs(60));
        assert_eq!(other.verify(OLD_TOKEN), Err(TokenError::BadSignature));
    }

    #[test]
    fn unsigned_and_foreign_algorithm_tokens_are_refused() {
        let keys = TokenKeys::new(OLD_KEY, Duration::from_secs(60));
        let payload = OLD_TOKEN.split('.').nth(1).unwrap_or_default();
        let none = format!(
            "{}.{payload}.",
            B64.encode(br#"{"alg":"none","typ":"JWT"}"#)
        );
        assert_eq!(keys.verify(&none), Err(TokenError::Malformed));
        let hs512 = format!(
            "{}.{payload}.AAAA",
            B64.encode(br#"{"alg":"HS512","typ":"JWT"}"#)
        );
        assert_eq!(keys.verify(&hs512), Err(TokenError::Malformed));
        let no_sub = B64.encode(br#"{"iat":0,"exp":99999999999}"#);
        let token = keys.sign(1, 0);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(
            keys.verify(&format!("{}.{no_sub}.{}", parts[0], parts[2])),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(0));
        assert_eq!(keys.verify(&keys.sign(1, 0)), Err(TokenError::Expired));
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horse!"));
        assert!(!verify_password("garbage", "correct horse"));
    }
}
