//! Room administration: create or change a room (languages, moderation
//! policy and words), and delete one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{RoomAnswer, find_room};
use crate::auth::AdminCaller;
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;
use crate::rooms::RoomsState;

/// The most words a room may add to each of its lists.
pub const MAX_ROOM_WORDS: usize = 500;

/// A room's settings, as an admin sets them.
#[derive(Deserialize, ToSchema)]
pub struct RoomSettings {
    /// Shown in room lists (default: the name).
    pub title: Option<String>,
    /// ISO 639-1 codes, 1–12 of them.
    pub languages: Vec<String>,
    /// `mask` (default), `block` or `flag`.
    pub moderation: Option<String>,
    #[serde(default)]
    pub block_words: Vec<String>,
    #[serde(default)]
    pub allow_words: Vec<String>,
    /// Characters per UTC day sent to translation; past it messages are
    /// delivered untranslated with a note. Absent: no limit.
    pub daily_char_budget: Option<i64>,
    /// Languages that need a grant (`POST /api/users/{id}/languages`).
    #[serde(default)]
    pub locked_languages: Vec<String>,
}

/// Room names: 1–48 of `[a-z0-9_-]`, without the words that name a room's
/// topics: a room `friends-subscribe` would own topics matching another
/// room's `friends-subscribe-*` grant, and `x-publish` would alias topics of
/// a room `x`.
pub fn validate_room_name(name: &str) -> Result<()> {
    let ok = (1..=48).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(Error::BadRequest("room names are 1–48 characters of a-z 0-9 _ -".into()));
    }
    let reserved = ["-subscribe", "-publish", "-presence"];
    if reserved.iter().any(|word| name.contains(word)) {
        return Err(Error::BadRequest(
            "room names may not contain -subscribe, -publish or -presence (they name a room's topics)".into(),
        ));
    }
    Ok(())
}

fn validate(settings: &RoomSettings) -> Result<()> {
    if settings.languages.is_empty() || settings.languages.len() > 12 {
        return Err(Error::Invalid("a room has 1 to 12 languages".into()));
    }
    for lang in &settings.languages {
        if parley_pipeline::detect::whatlang_lang(lang).is_none() {
            return Err(Error::Invalid(format!("{lang:?} is not a supported ISO 639-1 language code")));
        }
    }
    let mut unique = settings.languages.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != settings.languages.len() {
        return Err(Error::Invalid("languages must not repeat".into()));
    }
    if let Some(policy) = &settings.moderation
        && !matches!(policy.as_str(), "mask" | "block" | "flag")
    {
        return Err(Error::Invalid("moderation must be mask, block or flag".into()));
    }
    for list in [&settings.block_words, &settings.allow_words] {
        if list.len() > MAX_ROOM_WORDS || list.iter().any(|w| w.trim().is_empty() || w.chars().count() > 64) {
            return Err(Error::Invalid(format!("word lists hold at most {MAX_ROOM_WORDS} words of 1–64 characters")));
        }
    }
    if settings.locked_languages.iter().any(|l| !settings.languages.contains(l)) {
        return Err(Error::Invalid("locked_languages must be among the room's languages".into()));
    }
    if settings.daily_char_budget.is_some_and(|b| b < 0) {
        return Err(Error::Invalid("daily_char_budget must not be negative".into()));
    }
    if settings.title.as_ref().is_some_and(|t| t.trim().is_empty() || t.chars().count() > 80) {
        return Err(Error::Invalid("title must be 1–80 characters".into()));
    }
    Ok(())
}

/// Creates a room (201) or changes one (200), admins only. The change is seen
/// by the pipeline from the next message on, without a restart.
#[utoipa::path(
    put,
    path = "/api/rooms/{room}",
    tag = "rooms",
    params(("room" = String, Path, description = "1–48 of a-z 0-9 _ -")),
    request_body = RoomSettings,
    responses((status = 201, body = RoomAnswer), (status = 200, body = RoomAnswer), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
pub(super) async fn put_room(
    State(state): State<RoomsState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
    ApiJson(settings): ApiJson<RoomSettings>,
) -> Result<(StatusCode, Json<RoomAnswer>)> {
    validate_room_name(&name)?;
    validate(&settings)?;
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let title = settings.title.clone().unwrap_or_else(|| super::title_case(&name));
    let policy = settings.moderation.clone().unwrap_or_else(|| "mask".into());
    let existed =
        sqlx::query("select 1 from rooms where name = $1").bind(&name).fetch_optional(&state.db).await?.is_some();
    sqlx::query(
        "insert into rooms (name, title, languages, moderation, block_words, allow_words, daily_char_budget,
                            locked_languages, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (name) do update set title = excluded.title, languages = excluded.languages,
             moderation = excluded.moderation, block_words = excluded.block_words, allow_words = excluded.allow_words,
             daily_char_budget = excluded.daily_char_budget, locked_languages = excluded.locked_languages",
    )
    .bind(&name)
    .bind(title.trim())
    .bind(json(&settings.languages))
    .bind(&policy)
    .bind(json(&settings.block_words))
    .bind(json(&settings.allow_words))
    .bind(settings.daily_char_budget)
    .bind(json(&settings.locked_languages))
    .bind(state.clock.now_ms())
    .execute(&state.db)
    .await?;
    if let Some(hook) = &state.pipeline_hook {
        hook.register(&state.db, &name, state.clock.now_ms()).await?;
    }
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(RoomAnswer { room: find_room(&state, &name).await? })))
}

/// Deletes a room and its pipeline webhook; its topics' history stays until retention removes it.
#[utoipa::path(
    delete,
    path = "/api/rooms/{room}",
    tag = "rooms",
    params(("room" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
pub(super) async fn delete_room(
    State(state): State<RoomsState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    let deleted =
        sqlx::query("delete from rooms where name = $1").bind(&name).execute(&state.db).await?.rows_affected();
    if deleted == 0 {
        return Err(Error::NotFound(format!("room {name}")));
    }
    sqlx::query("delete from webhooks where name = $1 and internal = 1")
        .bind(format!("pipeline-{name}"))
        .execute(&state.db)
        .await?;
    // Its join tokens would still reach its topics (and a room made again
    // under the name) for up to an hour.
    state.auth.revocations.cut_off_room(&state.db, &name, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
