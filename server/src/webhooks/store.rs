//! The outbox's storage: what the delivery worker reads and writes, with the
//! engine (SQLite's inline writer or sqlx) chosen here and nowhere else.

use sqlx::AnyPool;

use super::EMBEDDED_PIPELINE_URL;
use crate::db::{Backend, WriteGate, WriteTurn};
use crate::error::Result;

/// A row leased for delivery, with its webhook's address and secrets.
#[derive(sqlx::FromRow)]
pub struct Claimed {
    pub id: String,
    pub webhook_name: String,
    pub payload: String,
    pub attempts: i64,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub internal: Option<i64>,
}

/// What a claim asks for.
#[derive(Clone, Copy)]
pub struct Lease<'a> {
    pub now: i64,
    /// Until when the rows are this node's (past the attempt's timeout).
    pub until: i64,
    pub node: &'a str,
    pub limit: i64,
    /// Whether this node serves the embedded pipeline's rows.
    pub with_embedded_pipeline: bool,
}

/// Leases up to `lease.limit` due rows to `lease.node` until `lease.until`.
/// A node without an embedded pipeline leaves that pipeline's rows to the
/// nodes that have one.
///
/// # Errors
/// Database errors (busy ones answer 503 where they reach a client).
pub async fn claim(db: &AnyPool, gate: &WriteGate, lease: &Lease<'_>) -> Result<Vec<Claimed>> {
    let Lease { now, until: lease_until, node, limit, with_embedded_pipeline } = *lease;
    let turn = gate.enter().await;
    // On PostgreSQL several nodes claim at once: each skips the rows another
    // is claiming, and the outer condition (re-checked on a row that changed
    // meanwhile) keeps a row from being leased twice. SQLite has one writer.
    let skip_locked = match Backend::of(db) {
        Backend::Postgres => "for update of o skip locked",
        Backend::Sqlite => "",
    };
    let servable = if with_embedded_pipeline { "" } else { "and w.url <> $5" };
    let sql = format!(
        "update webhook_outbox set next_attempt_at = $1, attempts = attempts + 1, leased_by = $4
         where id in (select o.id from webhook_outbox o join webhooks w on w.name = o.webhook_name
                      where o.status = 'pending' and o.next_attempt_at <= $2 and w.enabled = 1 {servable}
                      order by o.next_attempt_at, o.created_at limit $3 {skip_locked})
           and status = 'pending' and next_attempt_at <= $2
         returning id, webhook_name, payload, attempts,
             (select url from webhooks w where w.name = webhook_outbox.webhook_name) as url,
             (select secret from webhooks w where w.name = webhook_outbox.webhook_name) as secret,
             (select previous_secret from webhooks w where w.name = webhook_outbox.webhook_name) as previous_secret,
             (select previous_secret_until from webhooks w where w.name = webhook_outbox.webhook_name)
                 as previous_secret_until,
             (select internal from webhooks w where w.name = webhook_outbox.webhook_name) as internal",
    );
    if let Some(writer) = turn.sqlite() {
        // The embedded default: one call on this thread. SQLite takes `$n`
        // as names, so they are bound by name.
        return Ok(writer.with(|conn| {
            let mut claim = conn.prepare_cached(&sql)?;
            let mut params: Vec<(&str, &dyn rusqlite::ToSql)> =
                vec![("$1", &lease_until), ("$2", &now), ("$3", &limit), ("$4", &node)];
            if !with_embedded_pipeline {
                params.push(("$5", &EMBEDDED_PIPELINE_URL));
            }
            let rows = claim.query_map(params.as_slice(), |r| {
                Ok(Claimed {
                    id: r.get(0)?,
                    webhook_name: r.get(1)?,
                    payload: r.get(2)?,
                    attempts: r.get(3)?,
                    url: r.get(4)?,
                    secret: r.get(5)?,
                    previous_secret: r.get(6)?,
                    previous_secret_until: r.get(7)?,
                    internal: r.get(8)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?);
    }
    let mut query = sqlx::query_as(&sql).bind(lease_until).bind(now).bind(limit).bind(node);
    if !with_embedded_pipeline {
        query = query.bind(EMBEDDED_PIPELINE_URL);
    }
    Ok(query.fetch_all(db).await?)
}

/// Marks a delivery done, inside the caller's turn at the writer.
///
/// # Errors
/// Database errors.
pub async fn mark_delivered(
    db: &AnyPool,
    turn: &WriteTurn<'_>,
    id: &str,
    status: u16,
    latency_ms: i64,
    now: i64,
) -> Result<()> {
    let delivered = "update webhook_outbox set status = 'delivered', last_status = $1, last_error = null,
             last_latency_ms = $2, finished_at = $3, leased_by = null where id = $4";
    match turn.sqlite() {
        Some(writer) => {
            writer.with(|conn| {
                conn.prepare_cached(delivered)?.execute(rusqlite::params![i64::from(status), latency_ms, now, id])
            })?;
        }
        None => {
            sqlx::query(delivered).bind(i64::from(status)).bind(latency_ms).bind(now).bind(id).execute(db).await?;
        }
    }
    Ok(())
}

/// Puts a delivery back for another attempt at `next_at`.
///
/// # Errors
/// Database errors.
pub async fn schedule_retry(
    db: &AnyPool,
    id: &str,
    next_at: i64,
    status: Option<u16>,
    error: Option<&str>,
    latency_ms: i64,
) -> Result<()> {
    sqlx::query(
        "update webhook_outbox set next_attempt_at = $1, last_status = $2, last_error = $3, last_latency_ms = $4,
             leased_by = null
         where id = $5",
    )
    .bind(next_at)
    .bind(status.map(i64::from))
    .bind(error_text(status, error))
    .bind(latency_ms)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives a delivery up (a dead letter).
///
/// # Errors
/// Database errors.
pub async fn mark_failed(
    db: &AnyPool,
    id: &str,
    status: Option<u16>,
    error: Option<&str>,
    latency_ms: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "update webhook_outbox set status = 'failed', last_status = $1, last_error = $2, last_latency_ms = $3,
             finished_at = $4, leased_by = null where id = $5",
    )
    .bind(status.map(i64::from))
    .bind(error_text(status, error))
    .bind(latency_ms)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// What the delivery log says went wrong: the error, or the HTTP status.
fn error_text(status: Option<u16>, error: Option<&str>) -> Option<String> {
    error.map(str::to_owned).or_else(|| status.map(|s| format!("HTTP {s}")))
}

/// The statuses (`delivered`, `failed`) of a webhook's last `n` finished deliveries, newest first.
///
/// # Errors
/// Database errors.
pub async fn recent_outcomes(db: &AnyPool, webhook: &str, n: u32) -> Result<Vec<String>> {
    let recent: Vec<(String,)> = sqlx::query_as(
        "select status from webhook_outbox where webhook_name = $1 and status in ('delivered', 'failed')
         order by finished_at desc limit $2",
    )
    .bind(webhook)
    .bind(i64::from(n))
    .fetch_all(db)
    .await?;
    Ok(recent.into_iter().map(|(status,)| status).collect())
}

/// Disables an external webhook (Parley's own are never disabled); whether it was enabled.
///
/// # Errors
/// Database errors.
pub async fn disable(db: &AnyPool, webhook: &str, reason: &str) -> Result<bool> {
    let done = sqlx::query("update webhooks set enabled = 0, disabled_reason = $1 where name = $2 and internal = 0")
        .bind(reason)
        .bind(webhook)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
