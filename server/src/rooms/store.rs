//! The rooms' storage: rooms with their readers and today's translation
//! usage, with the engine (SQLite's inline connections or sqlx) chosen here
//! and nowhere else.

use rusqlite::OptionalExtension as _;
use sqlx::AnyPool;

use super::Room;
use crate::db::{InlineSqlite, WriteGate};
use crate::error::Result;

#[derive(sqlx::FromRow)]
struct RoomRow {
    name: String,
    title: String,
    languages: String,
    moderation: String,
    block_words: String,
    allow_words: String,
    daily_char_budget: Option<i64>,
    locked_languages: String,
    characters_today: i64,
}

impl RoomRow {
    fn into_room(self, read_languages: Vec<String>) -> Room {
        let row = self;
        let languages: Vec<String> = serde_json::from_str(&row.languages).unwrap_or_default();
        let counts = parley_pipeline::moderate::lists::builtin_counts();
        let moderation_lists = languages
            .iter()
            .map(|lang| (lang.clone(), counts.iter().find(|(l, _)| l == lang).map_or(0, |(_, n)| *n)))
            .collect();
        Room {
            name: row.name,
            title: row.title,
            languages,
            moderation_lists,
            // Only a validated policy is ever stored.
            moderation: row.moderation.parse().unwrap_or_default(),
            block_words: serde_json::from_str(&row.block_words).unwrap_or_default(),
            allow_words: serde_json::from_str(&row.allow_words).unwrap_or_default(),
            read_languages,
            locked_languages: serde_json::from_str(&row.locked_languages).unwrap_or_default(),
            daily_char_budget: row.daily_char_budget,
            characters_today: row.characters_today,
            translation: Default::default(),
        }
    }
}

const ROOM_COLUMNS: &str = "select name, title, languages, moderation, block_words, allow_words, daily_char_budget,
        locked_languages,
        coalesce((select characters from translation_usage u where u.room = rooms.name and u.day = $1), 0)
            as characters_today
    from rooms";

/// Today (UTC) as translation usage is counted, e.g. `2026-11-29`.
pub fn usage_day(now_ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let now = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    now.format(&format).unwrap_or_default()
}

/// `(room, lang)` for every room (`$1` null) or one.
const READERS: &str = "select room, lang from room_readers where $1 is null or room = $1 order by room, lang";

/// The languages each room's members read, `(room, lang)` in order.
async fn readers_of(db: &AnyPool, room: Option<&str>) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(READERS).bind(room).fetch_all(db).await?)
}

/// All rooms, by name.
///
/// # Errors
/// Database errors.
pub async fn all_rooms(db: &AnyPool, now_ms: i64) -> Result<Vec<Room>> {
    let rows: Vec<RoomRow> =
        sqlx::query_as(&format!("{ROOM_COLUMNS} order by name")).bind(usage_day(now_ms)).fetch_all(db).await?;
    let readers = readers_of(db, None).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let langs = readers.iter().filter(|(room, _)| *room == row.name).map(|(_, lang)| lang.clone()).collect();
            row.into_room(langs)
        })
        .collect())
}

/// One room, through the embedded default's inline read connection `reads`
/// when there is one, with its translation usage on the day of `now_ms`.
///
/// # Errors
/// Database errors.
pub async fn find(db: &AnyPool, reads: Option<&InlineSqlite>, name: &str, now_ms: i64) -> Result<Option<Room>> {
    let day = usage_day(now_ms);
    Ok(match reads {
        Some(reads) => reads.with(|conn| {
            let row = conn
                .prepare_cached(&format!("{ROOM_COLUMNS} where name = $2"))?
                .query_row(rusqlite::params![&day, name], |r| {
                    Ok(RoomRow {
                        name: r.get(0)?,
                        title: r.get(1)?,
                        languages: r.get(2)?,
                        moderation: r.get(3)?,
                        block_words: r.get(4)?,
                        allow_words: r.get(5)?,
                        daily_char_budget: r.get(6)?,
                        locked_languages: r.get(7)?,
                        characters_today: r.get(8)?,
                    })
                })
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let langs = conn
                .prepare_cached(READERS)?
                .query_map([name], |r| r.get(1))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(Some(row.into_room(langs)))
        })?,
        None => {
            let row: Option<RoomRow> = sqlx::query_as(&format!("{ROOM_COLUMNS} where name = $2"))
                .bind(&day)
                .bind(name)
                .fetch_optional(db)
                .await?;
            match row {
                Some(row) => {
                    let langs = readers_of(db, Some(name)).await?.into_iter().map(|(_, lang)| lang).collect();
                    Some(row.into_room(langs))
                }
                None => None,
            }
        }
    })
}

/// Creates the configured rooms that do not exist yet (first start).
///
/// # Errors
/// Database errors.
pub async fn seed(db: &AnyPool, rooms: &[(String, Vec<String>)], now_ms: i64) -> Result<()> {
    for (name, languages) in rooms {
        sqlx::query(
            "insert into rooms (name, title, languages, moderation, created_at)
             values ($1, $2, $3, 'mask', $4) on conflict (name) do nothing",
        )
        .bind(name)
        .bind(super::title_case(name))
        .bind(serde_json::to_string(languages).unwrap_or_else(|_| "[]".into()))
        .bind(now_ms)
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Adds `characters` to `room`'s translation usage on `day`: today's total
/// and the room's daily budget, or `None` for no such room. One short write,
/// through the embedded default's write connection when there is one (the
/// pipeline reports after every translated message).
///
/// # Errors
/// Database errors (a busy database is 503 to the caller).
pub async fn add_usage(
    db: &AnyPool,
    gate: &WriteGate,
    room: &str,
    day: &str,
    characters: i64,
) -> Result<Option<(i64, Option<i64>)>> {
    let budget_sql = "select daily_char_budget from rooms where name = $1";
    let add_sql = "insert into translation_usage (room, day, characters) values ($1, $2, $3)
         on conflict (room, day) do update set characters = translation_usage.characters + excluded.characters
         returning characters";
    let turn = gate.enter().await;
    Ok(match turn.sqlite() {
        Some(writer) => writer.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let budget: Option<Option<i64>> =
                tx.prepare_cached(budget_sql)?.query_row([room], |r| r.get(0)).optional()?;
            let Some(budget) = budget else { return Ok(None) };
            let today: i64 =
                tx.prepare_cached(add_sql)?.query_row(rusqlite::params![room, day, characters], |r| r.get(0))?;
            tx.commit()?;
            Ok(Some((today, budget)))
        })?,
        None => {
            let mut tx = db.begin().await?;
            let budget: Option<(Option<i64>,)> = sqlx::query_as(budget_sql).bind(room).fetch_optional(&mut *tx).await?;
            match budget {
                None => None,
                Some((budget,)) => {
                    let (today,): (i64,) =
                        sqlx::query_as(add_sql).bind(room).bind(day).bind(characters).fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    Some((today, budget))
                }
            }
        }
    })
}
