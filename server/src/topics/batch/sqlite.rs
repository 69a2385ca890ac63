//! A batch's transaction on the embedded default, with cached statements (run through [`crate::db::InlineSqlite`]).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

use super::plan::{self, TopicPlan};
use super::{Pending, Published, Written};

/// Writes the batch in one transaction; returns one outcome per publish.
pub(super) fn write(conn: &mut Connection, batch: &[Pending], now: i64) -> rusqlite::Result<Written> {
    let mut outbox_rows = 0;
    let mut outcomes = vec![Published { seq: 0, duplicate: false }; batch.len()];
    // IMMEDIATE: the write lock is taken at BEGIN, so a batch never fails
    // half-way on a lock upgrade.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut earlier_seq = tx.prepare_cached("select seq from items where topic = ?1 and idempotency_key = ?2")?;
        let mut hooks = tx.prepare_cached("select name from webhooks where topic = ?1")?;
        let mut insert_item = tx.prepare_cached(
            "insert into items (topic, seq, published_at, publisher_id, publisher_name, value, idempotency_key)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut insert_outbox = tx.prepare_cached(
            "insert into webhook_outbox (id, webhook_name, topic, seq, payload, next_attempt_at, created_at)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?;
        for topic in plan::topics(batch) {
            let members = plan::members(batch, topic);
            let mut earlier = HashMap::new();
            for key in plan::keys(batch, &members) {
                if let Some(seq) = earlier_seq.query_row(params![topic, key], |r| r.get::<_, i64>(0)).optional()? {
                    earlier.insert(key, seq);
                }
            }
            let plan = TopicPlan::new(batch, &members, &earlier);
            if plan.appends() == 0 {
                plan.assign(0, &mut outcomes);
                continue;
            }
            let last = bump(&tx, topic, plan.appends())?;
            plan.assign(last, &mut outcomes);
            let webhooks: Vec<String> = hooks.query_map([topic], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for &i in &plan.fresh {
                let p = &batch[i];
                let seq = outcomes[i].seq;
                insert_item.execute(params![
                    p.topic,
                    seq,
                    now,
                    p.publisher.id,
                    p.publisher.name,
                    p.value.to_string(),
                    p.key
                ])?;
                if !webhooks.is_empty() {
                    let payload = plan::payload(p, seq, now);
                    for webhook in &webhooks {
                        let id = format!("msg_{}", ulid::Ulid::new());
                        insert_outbox.execute(params![id, webhook, p.topic, seq, payload, now])?;
                        outbox_rows += 1;
                    }
                }
            }
        }
    }
    tx.commit()?;
    Ok(Written { outcomes, outbox_rows })
}

/// Advances `topic`'s last `seq` by `n` and returns it, creating the topic on its first publish.
fn bump(tx: &rusqlite::Transaction<'_>, topic: &str, n: i64) -> rusqlite::Result<i64> {
    let mut next =
        tx.prepare_cached("update topics set last_seq = last_seq + ?2 where name = ?1 returning last_seq")?;
    if let Some(seq) = next.query_row(params![topic, n], |r| r.get(0)).optional()? {
        return Ok(seq);
    }
    tx.prepare_cached("insert into topics (name) values (?1) on conflict (name) do nothing")?.execute([topic])?;
    next.query_row(params![topic, n], |r| r.get(0))
}
