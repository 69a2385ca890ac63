//! Cost control: translate only into languages someone reads, catch up a
//! language's history when its first reader arrives, and count each room's
//! translated characters against its daily budget.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Role, TokenCaller};
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;
use crate::rooms::RoomsState;
use crate::topics::{Item, Publisher};

/// How many recent messages are re-sent to the pipeline when a language gets its first reader.
pub const BACKFILL_ITEMS: i64 = 200;

/// Records that someone reads `room` in `lang`. The first reader of a
/// language has the room's recent history translated for them: its publish
/// items go to the pipeline again, which now includes the language (the
/// languages already served are deduplicated by idempotency keys).
///
/// # Errors
/// Database errors.
pub async fn record_reader(state: &RoomsState, room: &str, lang: &str) -> Result<()> {
    let now = state.clock.now_ms();
    let first = sqlx::query(
        "insert into room_readers (room, lang, last_join_at) values ($1, $2, $3) on conflict (room, lang) do nothing",
    )
    .bind(room)
    .bind(lang)
    .bind(now)
    .execute(&state.db)
    .await?
    .rows_affected()
        == 1;
    if !first {
        sqlx::query("update room_readers set last_join_at = $1 where room = $2 and lang = $3")
            .bind(now)
            .bind(room)
            .bind(lang)
            .execute(&state.db)
            .await?;
        return Ok(());
    }
    let backfilled = backfill(state, room).await?;
    if backfilled > 0 {
        tracing::info!(room, lang, backfilled, "first reader of a language: recent history sent for translation");
        state.outbox_wakeup.notify_one();
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PublishedRow {
    topic: String,
    seq: i64,
    published_at: i64,
    publisher_id: String,
    publisher_name: String,
    value: String,
}

/// Queues the room's recent publish items for the pipeline again.
async fn backfill(state: &RoomsState, room: &str) -> Result<usize> {
    let webhook = format!("pipeline-{room}");
    let registered =
        sqlx::query("select 1 from webhooks where name = $1").bind(&webhook).fetch_optional(&state.db).await?;
    if registered.is_none() {
        return Ok(0);
    }
    let rows: Vec<PublishedRow> = sqlx::query_as(
        "select topic, seq, published_at, publisher_id, publisher_name, value from items
         where topic = $1 order by seq desc limit $2",
    )
    .bind(format!("{room}-publish"))
    .bind(BACKFILL_ITEMS)
    .fetch_all(&state.db)
    .await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin().await?;
    for row in rows.iter().rev() {
        let item = Item::new(
            row.topic.clone(),
            row.seq,
            row.published_at,
            Publisher { id: row.publisher_id.clone(), name: row.publisher_name.clone() },
            serde_json::from_str(&row.value).unwrap_or_default(),
        );
        sqlx::query(
            "insert into webhook_outbox (id, webhook_name, topic, seq, payload, next_attempt_at, created_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(format!("msg_{}", ulid::Ulid::new()))
        .bind(&webhook)
        .bind(&item.topic)
        .bind(item.seq)
        .bind(item.webhook_payload().to_string())
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

#[derive(Deserialize, ToSchema)]
pub(super) struct Usage {
    /// Characters just sent to translation providers for this room.
    characters: i64,
}

/// Today's translated characters against the room's budget.
#[derive(Serialize, ToSchema)]
pub struct UsageAnswer {
    pub characters_today: i64,
    pub daily_char_budget: Option<i64>,
}

/// Adds to a room's translated characters for today (the pipeline reports here).
#[utoipa::path(
    post,
    path = "/api/rooms/{room}/usage",
    tag = "rooms",
    params(("room" = String, Path)),
    request_body = Usage,
    responses((status = 200, body = UsageAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(super) async fn record_usage(
    State(state): State<RoomsState>,
    TokenCaller(caller): TokenCaller,
    Path(room): Path<String>,
    ApiJson(usage): ApiJson<Usage>,
) -> Result<Json<UsageAnswer>> {
    if !matches!(caller.role, Role::Service | Role::Admin) {
        return Err(Error::Forbidden("only the pipeline reports usage".into()));
    }
    if !(0..=10_000_000).contains(&usage.characters) {
        return Err(Error::Invalid("characters must be between 0 and 10000000".into()));
    }
    let day = super::usage_day(state.clock.now_ms());
    let recorded = super::store::add_usage(&state.db, &state.write_gate, &room, &day, usage.characters).await?;
    let (characters_today, daily_char_budget) = recorded.ok_or_else(|| Error::NotFound(format!("room {room}")))?;
    Ok(Json(UsageAnswer { characters_today, daily_char_budget }))
}
