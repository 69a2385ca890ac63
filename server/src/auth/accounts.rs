//! Accounts with passwords: sign-up, login, logout, and the first admin.
//!
//! Passwords are hashed with argon2id (OWASP's parameters: 19 MiB, two
//! passes, one lane) off the async workers. Logins are rate-limited per
//! client address, and every sign-in gets a fresh session id.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use sqlx::AnyPool;
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::door::ClientAddr;
use super::guest::{UserAnswer, clean_display_name};
use super::{SESSION_USER_ID, User, UserRole};
use crate::auth::AuthState;
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;

pub fn router() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new().routes(routes!(signup)).routes(routes!(login)).routes(routes!(logout))
}

fn hasher() -> Argon2<'static> {
    // 19 MiB, t = 2, p = 1: valid constants, so `new` cannot fail.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
///
/// # Errors
/// [`Error::Internal`] if hashing fails.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| Error::Internal(format!("hashing task: {e}")))?
    .map_err(|e| Error::Internal(format!("hashing: {e}")))
}

/// A real hash to check against when the username is unknown, so a missing
/// account takes as long to refuse as a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    use rand::RngCore as _;
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(&secret, &salt).map(|h| h.to_string()).unwrap_or_default()
});

/// Checks a password against a stored hash (the decoy when there is none).
async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| DECOY_HASH.clone());
        PasswordHash::new(&hash).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Usernames: 3–32 of `[a-z0-9_]`.
fn validate_username(name: &str) -> Result<()> {
    let ok = (3..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(Error::Invalid("usernames are 3–32 characters of a-z 0-9 _".into())) }
}

fn validate_password(password: &str) -> Result<()> {
    match password.chars().count() {
        0..8 => Err(Error::Invalid("passwords have at least 8 characters".into())),
        8..=1024 => Ok(()),
        _ => Err(Error::Invalid("passwords have at most 1024 characters".into())),
    }
}

async fn start_session(session: &Session, user_id: &str) -> Result<()> {
    // A new identity gets a new session id: never keep one chosen before sign-in.
    session.cycle_id().await.map_err(|e| Error::Internal(format!("session store: {e}")))?;
    session.insert(SESSION_USER_ID, user_id).await.map_err(|e| Error::Internal(format!("session store: {e}")))
}

#[derive(Deserialize, ToSchema)]
struct SignupRequest {
    /// 3–32 of a-z 0-9 _.
    username: String,
    /// At least 8 characters.
    password: String,
    display_name: Option<String>,
}

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/api/auth/signup",
    tag = "auth",
    request_body = SignupRequest,
    responses((status = 201, body = UserAnswer), (status = 409, body = ErrorBody, description = "username taken"),
              (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "too many sign-ups from this address; see Retry-After"))
)]
async fn signup(
    State(state): State<AuthState>,
    client: ClientAddr,
    session: Session,
    ApiJson(request): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<UserAnswer>)> {
    // The cheap checks first; the 19 MiB hash last, a few at a time.
    state.door.signups.check(&client.key(), state.clock.now_ms())?;
    validate_username(&request.username)?;
    super::guest::check_name_words("username", &request.username)?;
    validate_password(&request.password)?;
    let display_name = clean_display_name(request.display_name.as_deref().unwrap_or(&request.username))?;
    let db = &state.db;
    let taken =
        sqlx::query("select 1 from users where username = $1").bind(&request.username).fetch_optional(db).await?;
    if taken.is_some() {
        return Err(Error::Conflict("that username is taken".into()));
    }
    let hash = {
        let _slot = state.door.hashing.acquire().await.map_err(|_| Error::Internal("hashing closed".into()))?;
        hash_password(request.password).await?
    };
    let user = User {
        id: format!("u_{}", ulid::Ulid::new().to_string().to_lowercase()),
        username: Some(request.username),
        display_name,
        role: UserRole::User,
    };
    let inserted = sqlx::query(
        "insert into users (id, username, display_name, role, password_hash, created_at) values ($1, $2, $3, 'user', $4, $5)
         on conflict (username) do nothing",
    )
    .bind(&user.id)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&hash)
    .bind(state.clock.now_ms())
    .execute(db)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Error::Conflict("that username is taken".into()));
    }
    start_session(&session, &user.id).await?;
    Ok((StatusCode::CREATED, Json(UserAnswer { user, grants: Vec::new(), default_language: None })))
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    #[sqlx(flatten)]
    user: super::UserRow,
    password_hash: Option<String>,
}

/// Signs in with a username and password.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, body = UserAnswer), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "too many attempts; see Retry-After"))
)]
async fn login(
    State(state): State<AuthState>,
    client: ClientAddr,
    session: Session,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<UserAnswer>> {
    // Per address (behind a trusted proxy: the real client's) and per
    // account: many addresses guessing one password get no more tries.
    let now = state.clock.now_ms();
    state.door.logins_per_address.check(&client.key(), now)?;
    let account: String = request.username.chars().take(64).collect();
    state.door.logins_per_account.check(&account.to_lowercase(), now)?;
    let found: Option<Credentials> = sqlx::query_as(
        "select id, username, display_name, role, password_hash from users where username = $1 and banned = 0",
    )
    .bind(&request.username)
    .fetch_optional(&state.db)
    .await?;
    let hash = found.as_ref().and_then(|c| c.password_hash.clone());
    let valid = {
        let _slot = state.door.hashing.acquire().await.map_err(|_| Error::Internal("hashing closed".into()))?;
        verify_password(request.password, hash).await
    };
    let Some(Credentials { user, .. }) = found.filter(|_| valid) else {
        return Err(Error::InvalidCredentials);
    };
    let user = User::from(user);
    start_session(&session, &user.id).await?;
    Ok(Json(UserAnswer { user, grants: Vec::new(), default_language: None }))
}

/// Signs out: the session is deleted.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 204)))]
async fn logout(State(state): State<AuthState>, session: Session) -> Result<StatusCode> {
    let user: Option<String> =
        session.get(super::SESSION_USER_ID).await.map_err(|e| Error::Internal(format!("session store: {e}")))?;
    session.flush().await.map_err(|e| Error::Internal(format!("session store: {e}")))?;
    // The tokens the session handed out go with it (on every device of the
    // user: tokens are not bound to one session).
    if let Some(user) = user {
        state.revocations.cut_off_user(&state.db, &user, state.clock.now_ms()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Creates the `admin` account at the first start, with `PARLEY_ADMIN_PASSWORD`
/// or a generated password, which is printed this once.
///
/// # Errors
/// Database or hashing errors.
pub async fn ensure_admin(db: &AnyPool, password: Option<String>, now_ms: i64) -> Result<()> {
    let exists = sqlx::query("select 1 from users where username = 'admin'").fetch_optional(db).await?.is_some();
    if exists {
        return Ok(());
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(|| {
        use rand::Rng as _;
        rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(20).map(char::from).collect()
    });
    validate_password(&password)?;
    let hash = hash_password(password.clone()).await?;
    sqlx::query(
        "insert into users (id, username, display_name, role, password_hash, created_at)
         values ($1, 'admin', 'Administrator', 'admin', $2, $3) on conflict (username) do nothing",
    )
    .bind(format!("u_{}", ulid::Ulid::new().to_string().to_lowercase()))
    .bind(hash)
    .bind(now_ms)
    .execute(db)
    .await?;
    if generated {
        println!(
            "\n  Parley's admin account: username `admin`, password `{password}`\n  (shown once; set PARLEY_ADMIN_PASSWORD to choose it)\n"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_at_owasp_parameters_and_verifies() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(hash)).await);
        assert!(!verify_password("x".into(), Some("not a hash".into())).await);
        assert!(!verify_password(String::new(), None).await, "the decoy never signs anyone in");
    }

    #[test]
    fn validates_usernames_and_passwords() {
        assert!(validate_username("ana_99").is_ok());
        for bad in ["an", "Ana", "ana-b", &"a".repeat(33)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
    }
}
