//! Rooms: their languages and moderation policy, and joining one.
//!
//! Joining gives a token that may publish to `{room}-publish` and subscribe
//! only to `{room}-subscribe-{lang}`: nobody can read the unmoderated topic.

use std::sync::Arc;

use axum::Json;
use axum::extract::FromRef;
use axum::extract::Query;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthState;
use crate::auth::{Caller, Claims, Op, Permission, Role, SessionUser, User, UserRole};
use crate::clock::Clock;
use crate::db::{InlineSqlite, WriteGate, format_ms};
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;
use crate::webhooks::PipelineHook;
use parley_pipeline::Pipeline;
use tokio::sync::Notify;

pub mod admin;
mod grants;
pub mod readers;
mod store;

/// What the rooms' endpoints need.
#[derive(Clone, FromRef)]
pub struct RoomsState {
    /// Who is calling, and the key that signs join tokens.
    pub auth: AuthState,
    pub db: AnyPool,
    pub clock: Clock,
    /// One writer at a time on SQLite (usage reports, reader backfills).
    pub write_gate: WriteGate,
    /// The embedded default's inline read connection, for reads made per
    /// message (none on PostgreSQL).
    #[from_ref(skip)]
    pub sqlite_reads: Option<Arc<InlineSqlite>>,
    /// Wakes the webhook worker after a backfill.
    pub outbox_wakeup: Arc<Notify>,
    /// Registers the pipeline on new rooms (none when an admin wires webhooks by hand).
    #[from_ref(skip)]
    pub pipeline_hook: Option<Arc<PipelineHook>>,
    /// The embedded pipeline, for the languages it can translate.
    #[from_ref(skip)]
    pub pipeline: Option<Arc<Pipeline>>,
}

/// How long a join token lives; the client joins again to renew it.
pub const JOIN_TOKEN_TTL_SECS: i64 = 60 * 60;

/// A room as the API shows it (the staff view; [`Audience`] trims it).
pub use parley_api::Room;

pub use store::{all_rooms, seed, usage_day};

/// One room (the pipeline reads its room for every message: on the embedded
/// default through the inline read connection).
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn find_room(state: &RoomsState, name: &str) -> Result<Room> {
    store::find(&state.db, state.sqlite_reads.as_deref(), name, state.clock.now_ms())
        .await?
        .ok_or_else(|| Error::NotFound(format!("room {name}")))
}

pub fn router() -> OpenApiRouter<RoomsState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show, admin::put_room, admin::delete_room))
        .routes(routes!(join))
        .routes(routes!(messages))
        .routes(routes!(readers::record_usage))
        .routes(routes!(grants::grant, grants::withdraw))
}

/// Checks that `user` may read `room` in `lang`: the room has it, and a
/// locked language was granted (admins read everything).
///
/// # Errors
/// [`Error::Forbidden`] or [`Error::LanguageLocked`].
pub async fn ensure_may_read(db: &AnyPool, room: &Room, user: &User, lang: &str) -> Result<()> {
    if !room.languages.iter().any(|l| l == lang) {
        return Err(Error::Forbidden(format!(
            "room {} is not available in {lang:?}; it has {}",
            room.name,
            room.languages.join(", ")
        )));
    }
    if room.locked_languages.iter().any(|l| l == lang) && user.role != UserRole::Admin {
        let granted = sqlx::query("select 1 from user_languages where user_id = $1 and room = $2 and lang = $3")
            .bind(&user.id)
            .bind(&room.name)
            .bind(lang)
            .fetch_optional(db)
            .await?
            .is_some();
        if !granted {
            return Err(Error::LanguageLocked(format!(
                "{lang} in room {} needs a grant from an administrator",
                room.name
            )));
        }
    }
    Ok(())
}

#[derive(Deserialize, IntoParams)]
struct MessagesQuery {
    /// The language to read in.
    lang: String,
    /// Only messages published to the language topic before this seq.
    before_seq: Option<i64>,
    /// 1–500, default 50.
    limit: Option<i64>,
}

/// A page of a room's messages in one language.
#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    /// Chat envelopes, newest last; each `id` once, at its newest version.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<serde_json::Value>,
}

/// Reads a room's history in a language the caller may read.
#[utoipa::path(
    get,
    path = "/api/rooms/{room}/messages",
    tag = "rooms",
    params(("room" = String, Path), MessagesQuery),
    responses((status = 200, body = MessagePage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("session" = []))
)]
async fn messages(
    State(state): State<RoomsState>,
    SessionUser(user): SessionUser,
    Path(room): Path<String>,
    Query(query): Query<MessagesQuery>,
) -> Result<Json<MessagePage>> {
    let messages = readable_messages(&state, &room, &user, &query.lang, query.before_seq, query.limit).await?;
    Ok(Json(MessagePage { messages }))
}

/// A page of a room's messages in a language `user` may read, newest last,
/// each `id` once at its newest version: for the API and for the room
/// page's first HTML.
pub async fn readable_messages(
    state: &RoomsState,
    room: &str,
    user: &User,
    lang: &str,
    before_seq: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<serde_json::Value>> {
    let db = &state.db;
    let room = find_room(state, room).await?;
    ensure_may_read(db, &room, user, lang).await?;
    let topic = format!("{}-subscribe-{lang}", room.name);
    let items = crate::topics::subscribe::history_page(db, &topic, before_seq, limit).await?;
    // Later versions (edits, deletions, translations that arrived late) replace earlier ones.
    let mut newest: Vec<serde_json::Value> = Vec::new();
    for item in items {
        let id = item.value["id"].clone();
        match newest.iter_mut().find(|m| m["id"] == id) {
            Some(existing) if item.value["version"].as_i64() >= existing["version"].as_i64() => *existing = item.value,
            Some(_) => {}
            None => newest.push(item.value),
        }
    }
    newest.sort_by_key(|m| m["source_seq"].as_i64());
    Ok(newest)
}

pub(super) fn title_case(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<Room>,
}

#[derive(Serialize, ToSchema)]
pub struct RoomAnswer {
    pub room: Room,
}

/// Who is asking about rooms, and so what they see of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Nobody signed in: API.md's fields (name, title, languages, moderation).
    Visitor,
    /// A user: those, and which languages are locked (the padlocks).
    Member,
    /// An admin or Parley's pipeline: everything (words, budget, usage, readers).
    Staff,
}

impl Audience {
    fn of(caller: &std::result::Result<Caller, Error>) -> Self {
        match caller {
            Ok(Caller::Token(claims)) if matches!(claims.role, Role::Admin | Role::Service) => Audience::Staff,
            Ok(Caller::Session(user)) if user.role == UserRole::Admin => Audience::Staff,
            Ok(_) => Audience::Member,
            Err(_) => Audience::Visitor,
        }
    }

    /// The room as this audience may see it. Staff also see, per language,
    /// how its readers get the others (when the pipeline runs in this process).
    fn view(self, room: Room, pipeline: Option<&parley_pipeline::Pipeline>) -> serde_json::Value {
        match self {
            Audience::Staff => {
                let mut room = room;
                if let Some(pipeline) = pipeline {
                    room.translation = pipeline.coverage(&room.languages);
                }
                serde_json::to_value(&room).unwrap_or_default()
            }
            Audience::Member => serde_json::json!({
                "name": room.name, "title": room.title, "languages": room.languages,
                "moderation": room.moderation, "locked_languages": room.locked_languages,
            }),
            Audience::Visitor => serde_json::json!({
                "name": room.name, "title": room.title, "languages": room.languages, "moderation": room.moderation,
            }),
        }
    }
}

/// Lists the rooms. Public: the landing page lists them before anyone signs
/// in; visitors see API.md's fields, users also the locked languages, and
/// admins everything (words, budget, usage).
#[utoipa::path(get, path = "/api/rooms", tag = "rooms", responses((status = 200, body = RoomList)))]
async fn list(
    caller: std::result::Result<Caller, Error>,
    State(state): State<RoomsState>,
) -> Result<Json<serde_json::Value>> {
    let audience = Audience::of(&caller);
    let pipeline = state.pipeline.as_deref();
    let rooms: Vec<serde_json::Value> =
        all_rooms(&state.db, state.clock.now_ms()).await?.into_iter().map(|r| audience.view(r, pipeline)).collect();
    Ok(Json(serde_json::json!({ "rooms": rooms })))
}

/// One room, for signed-in users and token holders (the pipeline reads languages and policy here).
#[utoipa::path(
    get,
    path = "/api/rooms/{room}",
    tag = "rooms",
    params(("room" = String, Path)),
    responses((status = 200, body = RoomAnswer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn show(
    caller: Caller,
    State(state): State<RoomsState>,
    Path(room): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let audience = Audience::of(&Ok(caller));
    let room = find_room(&state, &room).await?;
    Ok(Json(serde_json::json!({ "room": audience.view(room, state.pipeline.as_deref()) })))
}

#[derive(Deserialize, ToSchema)]
struct JoinRequest {
    /// One of the room's languages.
    language: String,
}

/// What joining gives: a token for exactly these two topics.
#[derive(Serialize, ToSchema)]
pub struct JoinAnswer {
    pub token: String,
    pub publish_topic: String,
    pub subscribe_topic: String,
    /// Who is online and typing: `{"kind": "online" | "typing"}` items.
    pub presence_topic: String,
    /// Emoji reactions, the same in every language:
    /// `{"target": "{room}-publish:{seq}", "emoji": "👍", "on": true}` items.
    pub reactions_topic: String,
    pub expires_at: String,
}

/// Items a room's presence topic keeps.
pub const PRESENCE_RETAINED: i64 = 50;

/// Items a room's reactions topic keeps (replayed when a room opens).
pub const REACTIONS_RETAINED: i64 = 5000;

/// Joins a room reading one of its languages.
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/join",
    tag = "rooms",
    params(("room" = String, Path)),
    request_body = JoinRequest,
    responses((status = 200, body = JoinAnswer), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "the room does not have that language"),
              (status = 404, body = ErrorBody)),
    security(("session" = []))
)]
async fn join(
    State(state): State<RoomsState>,
    SessionUser(user): SessionUser,
    Path(room): Path<String>,
    ApiJson(request): ApiJson<JoinRequest>,
) -> Result<Json<JoinAnswer>> {
    let room = find_room(&state, &room).await?;
    ensure_may_read(&state.db, &room, &user, &request.language).await?;
    readers::record_reader(&state, &room.name, &request.language).await?;
    sqlx::query("update users set default_language = $1 where id = $2")
        .bind(&request.language)
        .bind(&user.id)
        .execute(&state.db)
        .await?;
    let publish_topic = format!("{}-publish", room.name);
    let subscribe_topic = format!("{}-subscribe-{}", room.name, request.language);
    let presence_topic = format!("{}-presence", room.name);
    let reactions_topic = format!("{}-reactions", room.name);
    // Presence holds only who is online or typing (the server stamps names):
    // a short history is enough. Reactions are replayed when a room opens.
    for (topic, retained) in [(&presence_topic, PRESENCE_RETAINED), (&reactions_topic, REACTIONS_RETAINED)] {
        sqlx::query("insert into topics (name, retain_items) values ($1, $2) on conflict (name) do nothing")
            .bind(topic)
            .bind(retained)
            .execute(&state.db)
            .await?;
    }
    let exp = state.clock.now_secs() + JOIN_TOKEN_TTL_SECS;
    let token = state.auth.tokens.sign(&Claims::new(
        user.id,
        user.display_name,
        Role::User,
        vec![
            Permission { topic: publish_topic.clone(), ops: vec![Op::Publish] },
            Permission { topic: subscribe_topic.clone(), ops: vec![Op::Subscribe] },
            Permission { topic: presence_topic.clone(), ops: vec![Op::Publish, Op::Subscribe] },
            Permission { topic: reactions_topic.clone(), ops: vec![Op::Publish, Op::Subscribe] },
        ],
        exp,
    ));
    Ok(Json(JoinAnswer {
        token,
        publish_topic,
        subscribe_topic,
        presence_topic,
        reactions_topic,
        expires_at: format_ms(exp * 1000),
    }))
}
