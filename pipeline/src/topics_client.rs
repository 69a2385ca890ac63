//! The pipeline's client for the Parley server: room lookups and publishes.

use serde::Deserialize;

use crate::error::{Error, Result};

use parley_api::Room;

#[derive(Deserialize)]
struct RoomAnswer {
    room: Room,
}

/// Talks to one Parley server with the pipeline's bearer token.
#[derive(Debug, Clone)]
pub struct TopicsClient {
    base_url: String,
    token: String,
    http: reqwest::Client,
}

impl TopicsClient {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>, http: reqwest::Client) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Self { base_url, token: token.into(), http }
    }

    /// Reports characters sent to translation for a room (its daily budget).
    ///
    /// # Errors
    /// [`Error::Upstream`] when the server does not accept it.
    pub async fn report_usage(&self, room: &str, characters: usize) -> Result<()> {
        let response = self
            .http
            .post(format!("{}/api/rooms/{room}/usage", self.base_url))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "characters": characters }))
            .send()
            .await
            .map_err(|e| Error::Upstream(e.to_string()))?;
        if !response.status().is_success() {
            return Err(Error::Upstream(format!("usage report answered {}", response.status())));
        }
        Ok(())
    }

    /// Reads one item of a topic (the pipeline reads publish topics to check edits).
    ///
    /// # Errors
    /// [`Error::Upstream`] when the server does not answer.
    pub async fn item(&self, topic: &str, seq: i64) -> Result<Option<crate::envelope::Delivery>> {
        #[derive(Deserialize)]
        struct Page {
            items: Vec<crate::envelope::Delivery>,
        }
        let response = self
            .http
            .get(format!("{}/api/topics/{topic}/items?before_seq={}&limit=1", self.base_url, seq + 1))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| Error::Upstream(e.to_string()))?;
        if !response.status().is_success() {
            return Err(Error::Upstream(format!("reading {topic} answered {}", response.status())));
        }
        let page: Page = response.json().await.map_err(|e| Error::Upstream(e.to_string()))?;
        Ok(page.items.into_iter().find(|i| i.seq == seq))
    }

    /// Looks up a room's languages and moderation policy.
    ///
    /// # Errors
    /// [`Error::UnknownRoom`] on 404, [`Error::Upstream`] otherwise.
    pub async fn room(&self, room: &str) -> Result<Room> {
        let response = self
            .http
            .get(format!("{}/api/rooms/{room}", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| Error::Upstream(e.to_string()))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(Error::UnknownRoom(room.to_owned()));
        }
        if !response.status().is_success() {
            return Err(Error::Upstream(format!("room lookup answered {}", response.status())));
        }
        let answer: RoomAnswer = response.json().await.map_err(|e| Error::Upstream(e.to_string()))?;
        Ok(answer.room)
    }

    /// Publishes several items in one request (`POST /api/topics`), each
    /// `(topic, idempotency key, value)`; returns their `seq`s in order.
    /// Publishing the same keys again (a redelivered webhook) returns the
    /// first items' `seq`s and appends nothing. With `supersedes`, each item
    /// also replaces the earlier ones of its topic whose keys begin with that
    /// prefix (an edit or deletion erases the earlier versions from history).
    ///
    /// # Errors
    /// [`Error::Upstream`] when the server does not answer 200.
    pub async fn publish_all<T: serde::Serialize>(
        &self,
        items: &[(String, String, T)],
        supersedes: Option<&str>,
    ) -> Result<Vec<i64>> {
        #[derive(Deserialize)]
        struct Published {
            seq: i64,
        }
        #[derive(Deserialize)]
        struct Answer {
            items: Vec<Published>,
        }
        let body = serde_json::json!({
            "items": items
                .iter()
                .map(|(topic, key, value)| {
                    let mut item = serde_json::json!({"topic": topic, "idempotency_key": key, "value": value});
                    if let Some(prefix) = supersedes {
                        item["supersedes"] = serde_json::Value::from(prefix);
                    }
                    item
                })
                .collect::<Vec<_>>(),
        });
        let response = self
            .http
            .post(format!("{}/api/topics", self.base_url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Upstream(e.to_string()))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Upstream(format!("publishing {} items answered {status}: {body}", items.len())));
        }
        let answer: Answer = response.json().await.map_err(|e| Error::Upstream(e.to_string()))?;
        Ok(answer.items.into_iter().map(|p| p.seq).collect())
    }
}
