//! What a batch does, whatever the engine: which topics it locks, which items get which `seq`, which keys repeat.

use std::collections::HashMap;

use super::{Pending, Published};

/// The batch's topics in name order: two nodes locking the same topics lock
/// them in the same order, so their batches cannot deadlock.
pub(super) fn topics(batch: &[Pending]) -> Vec<&str> {
    let mut topics: Vec<&str> = batch.iter().map(|p| p.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    topics
}

/// The positions of `topic`'s publishes in the batch, in arrival order.
pub(super) fn members(batch: &[Pending], topic: &str) -> Vec<usize> {
    (0..batch.len()).filter(|&i| batch[i].topic == topic).collect()
}

/// The distinct idempotency keys among `members`, to look up in the database.
pub(super) fn keys<'a>(batch: &'a [Pending], members: &[usize]) -> Vec<&'a str> {
    let mut keys: Vec<&str> = Vec::new();
    for &i in members {
        if let Some(key) = batch[i].key.as_deref()
            && !keys.contains(&key)
        {
            keys.push(key);
        }
    }
    keys
}

/// One topic's part of a batch.
pub(super) struct TopicPlan {
    /// The publishes that append, in arrival order: they take the next seqs.
    pub fresh: Vec<usize>,
    /// Publishes whose key was used before: the earlier `seq`, or the
    /// position in this batch of the first publish with the key.
    duplicates: Vec<(usize, Result<i64, usize>)>,
}

impl TopicPlan {
    /// Sorts `members` into appends and duplicates, given the `seq` of each
    /// key already in the database.
    pub fn new(batch: &[Pending], members: &[usize], earlier: &HashMap<&str, i64>) -> Self {
        let mut fresh = Vec::with_capacity(members.len());
        let mut duplicates = Vec::new();
        let mut first_with: HashMap<&str, usize> = HashMap::new();
        for &i in members {
            match batch[i].key.as_deref() {
                None => fresh.push(i),
                Some(key) => {
                    if let Some(&seq) = earlier.get(key) {
                        duplicates.push((i, Ok(seq)));
                    } else if let Some(&first) = first_with.get(key) {
                        duplicates.push((i, Err(first)));
                    } else {
                        first_with.insert(key, i);
                        fresh.push(i);
                    }
                }
            }
        }
        Self { fresh, duplicates }
    }

    /// How many items the topic's `seq` advances by.
    pub fn appends(&self) -> i64 {
        i64::try_from(self.fresh.len()).unwrap_or(i64::MAX)
    }

    /// Records every member's outcome, the appends ending at `last`.
    pub fn assign(&self, last: i64, outcomes: &mut [Published]) {
        let first = last - self.appends() + 1;
        for (offset, &i) in (0..).zip(&self.fresh) {
            outcomes[i] = Published { seq: first + offset, duplicate: false };
        }
        for &(i, earlier) in &self.duplicates {
            let seq = earlier.unwrap_or_else(|first| outcomes[first].seq);
            outcomes[i] = Published { seq, duplicate: true };
        }
    }
}

/// The webhook body of an appended item.
pub(super) fn payload(pending: &Pending, seq: i64, now: i64) -> String {
    super::super::webhook_payload(&pending.topic, seq, now, &pending.publisher, &pending.value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::Publisher;

    fn pending(topic: &str, key: Option<&str>) -> Pending {
        Pending {
            topic: topic.into(),
            publisher: Publisher { id: "u".into(), name: "U".into() },
            value: serde_json::Value::Null,
            key: key.map(str::to_owned),
            started: std::time::Instant::now(),
            reply: tokio::sync::oneshot::channel().0,
        }
    }

    #[test]
    fn keys_repeated_in_a_batch_or_seen_before_do_not_append() {
        let batch = [
            pending("t", None),
            pending("t", Some("a")),
            pending("t", Some("a")),
            pending("t", Some("old")),
            pending("t", None),
        ];
        let members = members(&batch, "t");
        assert_eq!(keys(&batch, &members), ["a", "old"]);
        let plan = TopicPlan::new(&batch, &members, &HashMap::from([("old", 3)]));
        assert_eq!(plan.fresh, [0, 1, 4]);
        let mut outcomes = vec![Published { seq: 0, duplicate: false }; batch.len()];
        plan.assign(12, &mut outcomes);
        let seqs: Vec<(i64, bool)> = outcomes.iter().map(|o| (o.seq, o.duplicate)).collect();
        assert_eq!(seqs, [(10, false), (11, false), (11, true), (3, true), (12, false)]);
    }

    #[test]
    fn topics_are_locked_in_name_order() {
        let batch = [pending("b", None), pending("a", None), pending("b", None)];
        assert_eq!(topics(&batch), ["a", "b"]);
        assert_eq!(members(&batch, "b"), [0, 2]);
    }
}
