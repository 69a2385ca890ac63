//! User administration (admins): list users, ban or unban, cut off a user's
//! tokens, and grant the languages a room locks (the "paid" languages).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AdminCaller;
use crate::AppState;
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(revoke_tokens))
        .routes(routes!(grant, withdraw))
}

/// A user as admins see it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct UserAdminView {
    pub id: String,
    pub username: Option<String>,
    pub display_name: String,
    pub role: String,
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
async fn list_users(State(state): State<AppState>, _admin: AdminCaller) -> Result<Json<UserList>> {
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

async fn set_banned(state: &AppState, id: &str, banned: bool) -> Result<()> {
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
async fn ban(State(state): State<AppState>, _admin: AdminCaller, Path(id): Path<String>) -> Result<StatusCode> {
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
async fn unban(State(state): State<AppState>, _admin: AdminCaller, Path(id): Path<String>) -> Result<StatusCode> {
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
    State(state): State<AppState>,
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

#[derive(Deserialize, ToSchema)]
struct Grant {
    room: String,
    language: String,
}

/// Grants a user a language that the room locks.
#[utoipa::path(
    post,
    path = "/api/users/{id}/languages",
    tag = "users",
    params(("id" = String, Path)),
    request_body = Grant,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn grant(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    ApiJson(grant): ApiJson<Grant>,
) -> Result<StatusCode> {
    super::find_user(&state.db, &id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    let room = crate::rooms::find_room(&state, &grant.room).await?;
    if !room.languages.contains(&grant.language) {
        return Err(Error::Invalid(format!("room {} has no language {:?}", room.name, grant.language)));
    }
    sqlx::query("insert into user_languages (user_id, room, lang) values ($1, $2, $3) on conflict do nothing")
        .bind(&id)
        .bind(&grant.room)
        .bind(&grant.language)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraws a granted language.
#[utoipa::path(
    delete,
    path = "/api/users/{id}/languages",
    tag = "users",
    params(("id" = String, Path)),
    request_body = Grant,
    responses((status = 204), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn withdraw(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    ApiJson(grant): ApiJson<Grant>,
) -> Result<StatusCode> {
    let withdrawn = sqlx::query("delete from user_languages where user_id = $1 and room = $2 and lang = $3")
        .bind(&id)
        .bind(&grant.room)
        .bind(&grant.language)
        .execute(&state.db)
        .await?
        .rows_affected();
    if withdrawn > 0 {
        // Their join tokens still name the language: cut them (open streams
        // close; the UI joins again and gets what is left).
        state.revocations.cut_off_user(&state.db, &id, state.clock.now_ms()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
