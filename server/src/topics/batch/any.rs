//! A batch's transaction through sqlx (PostgreSQL, and SQLite where no file is open): a few statements for the whole batch.

use std::collections::HashMap;

use sqlx::{Any, AnyPool, Transaction};

use super::plan::{self, TopicPlan};
use super::{Pending, Published, Written};
use crate::topics::outbox::{self, OutboxRow};

/// Values bound per item row.
const ITEM_COLUMNS: usize = 7;

/// Writes the batch in one transaction; returns one outcome per publish.
pub(super) async fn write(db: &AnyPool, batch: &[Pending], now: i64) -> Result<Written, sqlx::Error> {
    let mut outcomes = vec![Published { seq: 0, duplicate: false }; batch.len()];
    let mut tx = db.begin().await?;
    let mut rows = Vec::with_capacity(batch.len());
    let mut hooked: Vec<(String, usize)> = Vec::new();
    for topic in plan::topics(batch) {
        let members = plan::members(batch, topic);
        let keys = plan::keys(batch, &members);
        let mut earlier = HashMap::new();
        if !keys.is_empty() {
            // Takes the topic's row lock before the keys are checked, so two
            // nodes given one key at once append it once.
            bump(&mut tx, topic, 0).await?;
            for key in keys {
                let found: Option<(i64,)> =
                    sqlx::query_as("select seq from items where topic = $1 and idempotency_key = $2")
                        .bind(topic)
                        .bind(key)
                        .fetch_optional(&mut *tx)
                        .await?;
                if let Some((seq,)) = found {
                    earlier.insert(key, seq);
                }
            }
        }
        let plan = TopicPlan::new(batch, &members, &earlier);
        if plan.appends() > 0 {
            let last = bump(&mut tx, topic, plan.appends()).await?;
            plan.assign(last, &mut outcomes);
            for webhook in outbox::names_for(&mut tx, topic).await? {
                hooked.extend(plan.fresh.iter().map(|&i| (webhook.clone(), i)));
            }
        } else {
            plan.assign(0, &mut outcomes);
        }
        rows.extend(plan.fresh);
    }
    insert_items(&mut tx, batch, &rows, &outcomes, now).await?;
    if !hooked.is_empty() {
        let payloads: HashMap<usize, String> =
            hooked.iter().map(|&(_, i)| (i, plan::payload(&batch[i], outcomes[i].seq, now))).collect();
        let deliveries: Vec<OutboxRow<'_>> = hooked
            .iter()
            .map(|(webhook, i)| OutboxRow {
                webhook,
                topic: &batch[*i].topic,
                seq: outcomes[*i].seq,
                payload: &payloads[i],
            })
            .collect();
        outbox::enqueue(&mut tx, &deliveries, now).await?;
    }
    tx.commit().await?;
    Ok(Written { outcomes, outbox_rows: hooked.len() })
}

/// Advances `topic`'s last `seq` by `n` and returns it, creating the topic on
/// its first publish. Taking the row lock is the transaction's first
/// statement, so SQLite's write lock is taken at once (no deadlock on a lock
/// upgrade), and on PostgreSQL a topic's publishes commit one at a time, in
/// `seq` order, across every node.
async fn bump(tx: &mut Transaction<'_, Any>, topic: &str, n: i64) -> Result<i64, sqlx::Error> {
    let next = "update topics set last_seq = last_seq + $2 where name = $1 returning last_seq";
    if let Some((seq,)) = sqlx::query_as::<_, (i64,)>(next).bind(topic).bind(n).fetch_optional(&mut **tx).await? {
        return Ok(seq);
    }
    sqlx::query("insert into topics (name) values ($1) on conflict (name) do nothing")
        .bind(topic)
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query_as::<_, (i64,)>(next).bind(topic).bind(n).fetch_one(&mut **tx).await?.0)
}

/// Inserts the batch's new items, many rows per statement.
async fn insert_items(
    tx: &mut Transaction<'_, Any>,
    batch: &[Pending],
    rows: &[usize],
    outcomes: &[Published],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(64) {
        let sql = format!(
            "insert into items (topic, seq, published_at, publisher_id, publisher_name, value, idempotency_key) values {}",
            crate::db::placeholders(chunk.len(), ITEM_COLUMNS)
        );
        let mut query = sqlx::query(&sql);
        for &i in chunk {
            let p = &batch[i];
            query = query
                .bind(&p.topic)
                .bind(outcomes[i].seq)
                .bind(now)
                .bind(&p.publisher.id)
                .bind(&p.publisher.name)
                .bind(p.value.to_string())
                .bind(p.key.as_deref());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
