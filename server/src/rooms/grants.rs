//! Languages a room locks (the "paid" ones), granted to users one by one by admins.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{AdminCaller, find_user};
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;
use crate::rooms::RoomsState;

#[derive(Deserialize, ToSchema)]
pub(super) struct Grant {
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
pub(super) async fn grant(
    State(state): State<RoomsState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    ApiJson(grant): ApiJson<Grant>,
) -> Result<StatusCode> {
    find_user(&state.db, &id).await?.ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    let room = super::find_room(&state, &grant.room).await?;
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
pub(super) async fn withdraw(
    State(state): State<RoomsState>,
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
        state.auth.revocations.cut_off_user(&state.db, &id, state.clock.now_ms()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
