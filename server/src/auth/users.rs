//! User administration (admins): list users, ban or unban, cut off a user's
//! tokens. Granting a room's locked languages is the rooms' business
//! ([`crate::rooms`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminCaller, UserRole};
use crate::auth::AuthState;
use crate::error::{Error, Result};
use crate::openapi::ErrorBody;

pub fn router() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(revoke_tokens))
}

/// A user as admins see it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct UserAdminView {
    pub id: String,
    pub username: Option<String>,
    pub display_name: String,
    #[sqlx(try_from = "String")]
    pub role: UserRole,
    #[sqlx(try_from = "i64")]
    pub banned: Flag,
    /// Granted languages, as `room:lang`.
    #[sqlx(skip)]
    pub grants: Vec<String>,
}

/// SQLite's 0/1 as a boolean.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(v: i64) -> Self {
        Flag(v != 0)
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserAdminView>,
}

/// Lists users, newest first (at most 500).
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    responses((status = 200, body = UserList), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn list_users(State(state): State<AuthState>, _admin: AdminCaller) -> Result<Json<UserList>> {
    let mut users: Vec<UserAdminView> =
        sqlx::query_as("select id, username, display_name, role, banned from users order by created_at desc limit 500")
            .fetch_all(&state.db)
            .await?;
    let grants: Vec<(String, String)> =
        sqlx::query_as("select user_id, room || ':' || lang from user_languages order by room, lang")
            .fetch_all(&state.db)
            .await?;
    for user in &mut users {
        user.grants = grants.iter().filter(|(id, _)| *id == user.id).map(|(_, grant)| grant.clone()).collect();
    }
    Ok(Json(UserList { users }))
}

async fn set_banned(state: &AuthState, id: &str, banned: bool) -> Result<()> {
    let changed = sqlx::query("update users set banned = $1 where id = $2 and role != 'admin'")
        .bind(i64::from(banned))
        .bind(id)
        .execute(&state.db)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(Error::NotFound(format!("user {id} (admins cannot be banned)")));
    }
    Ok(())
}

/// Bans a user: their session stops working, their tokens are cut off and
/// their open subscriptions close.
#[utoipa::path(
    post,
    path = "/api/users/{id}/ban",
    tag = "users",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn ban(State(state): State<AuthState>, _admin: AdminCaller, Path(id): Path<String>) -> Result<StatusCode> {
    set_banned(&state, &id, true).await?;
    state.revocations.cut_off_user(&state.db, &id, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a ban (tokens issued before it stay cut off).
#[utoipa::path(
    post,
    path = "/api/users/{id}/unban",
    tag = "users",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn unban(State(state): State<AuthState>, _admin: AdminCaller, Path(id): Path<String>) -> Result<StatusCode> {
    set_banned(&state, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every token issued to a user so far (their subscriptions close).
#[utoipa::path(
    post,
    path = "/api/users/{id}/revoke-tokens",
    tag = "users",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn revoke_tokens(
    State(state): State<AuthState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    // Any subject, users and service subjects alike (`pipeline`, `admin`).
    if id.is_empty() || id.len() > 64 {
        return Err(Error::BadRequest("not a user or subject id".into()));
    }
    state.revocations.cut_off_user(&state.db, &id, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
