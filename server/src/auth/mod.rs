//! Who is calling: guest sessions (cookies) and bearer tokens.
//!
//! Browsers hold a tower-sessions cookie naming their user; everything else
//! (and the browser's own topic traffic) presents a signed token.

pub mod accounts;
pub mod door;
pub mod guest;
pub mod mint;
pub mod revocation;
pub mod sessions;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Query};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;
use sqlx::AnyPool;
use tower_sessions::Session;

use crate::clock::Clock;
use crate::error::{Error, Result};
use revocation::Revocations;
pub use tokens::{Claims, Op, Permission, Role, TokenKey};

/// What the auth endpoints and the caller extractors need: a piece of every
/// feature's state, so each names only what it uses.
#[derive(Clone, FromRef)]
pub struct AuthState {
    pub db: AnyPool,
    pub tokens: TokenKey,
    pub clock: Clock,
    pub revocations: Arc<Revocations>,
    /// Limits on logins, sign-ups and guests; the client's address.
    pub door: Arc<door::Door>,
}

/// The session key holding the signed-in user's id.
pub const SESSION_USER_ID: &str = "user_id";

pub use parley_api::{User, UserRole};

/// A `users` row as the API shows it; a role the database should not hold
/// fails to decode (an internal error), it is not guessed.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    username: Option<String>,
    display_name: String,
    #[sqlx(try_from = "String")]
    role: UserRole,
}

impl From<UserRow> for User {
    fn from(UserRow { id, username, display_name, role }: UserRow) -> Self {
        User { id, username, display_name, role }
    }
}

/// Looks up a user by id.
///
/// # Errors
/// Database errors.
pub async fn find_user(db: &AnyPool, id: &str) -> Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as("select id, username, display_name, role from users where id = $1 and banned = 0")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(User::from))
}

/// A caller identified by its session cookie.
pub struct SessionUser(pub User);

impl<S> FromRequestParts<S> for SessionUser
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let app = AuthState::from_ref(state);
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::Internal("session layer missing".into()))?;
        let id: Option<String> =
            session.get(SESSION_USER_ID).await.map_err(|e| Error::Internal(format!("session store: {e}")))?;
        let id = id.ok_or(Error::Unauthenticated)?;
        let user = find_user(&app.db, &id).await?.ok_or(Error::Unauthenticated)?;
        Ok(SessionUser(user))
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The `Sec-WebSocket-Protocol` entry that carries a token (`parley.token.{token}`):
/// browsers cannot set headers on a WebSocket, and a token in the URL ends
/// up in access logs.
pub const TOKEN_SUBPROTOCOL: &str = "parley.token.";

/// A caller holding a valid token, from `Authorization: Bearer`, the
/// `Sec-WebSocket-Protocol` header (WebSockets), or `?token=` (clients that
/// can do neither, such as `EventSource`).
pub struct TokenCaller(pub Claims);

impl<S> FromRequestParts<S> for TokenCaller
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let app = AuthState::from_ref(state);
        let from_header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let from_protocol = || {
            parts.headers.get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL).iter().find_map(|value| {
                value
                    .to_str()
                    .ok()?
                    .split(',')
                    .find_map(|p| p.trim().strip_prefix(TOKEN_SUBPROTOCOL).map(str::to_owned))
            })
        };
        let token = match from_header.or_else(from_protocol) {
            Some(t) => t,
            None => Query::<TokenQuery>::from_request_parts(parts, state)
                .await
                .ok()
                .and_then(|q| q.0.token)
                .ok_or(Error::Unauthenticated)?,
        };
        let claims = app.tokens.verify(token.trim(), app.clock.now_secs())?;
        if app.revocations.is_revoked(&claims) {
            return Err(Error::TokenRevoked);
        }
        Ok(TokenCaller(claims))
    }
}

/// Either kind of caller, for endpoints both may use.
pub enum Caller {
    Session(User),
    Token(Claims),
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        if parts.headers.contains_key(AUTHORIZATION) {
            return Ok(Caller::Token(TokenCaller::from_request_parts(parts, state).await?.0));
        }
        Ok(Caller::Session(SessionUser::from_request_parts(parts, state).await?.0))
    }
}

/// A caller allowed to administer: an admin token or an admin's session.
pub struct AdminCaller {
    pub id: String,
}

impl<S> FromRequestParts<S> for AdminCaller
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let (id, admin) = match Caller::from_request_parts(parts, state).await? {
            Caller::Token(claims) => (claims.sub, claims.role == Role::Admin),
            Caller::Session(user) => (user.id, user.role == UserRole::Admin),
        };
        if !admin {
            return Err(Error::Forbidden("administrators only".into()));
        }
        Ok(AdminCaller { id })
    }
}

/// All of the auth routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AuthState> {
    guest::router().merge(mint::router()).merge(accounts::router()).merge(users::router())
}
