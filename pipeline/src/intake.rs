//! The webhook intake: verify, then run one message through every stage.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use futures_util::future::join_all;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::clock::Clock;
use crate::detect::{Detected, detect};
use crate::envelope::{ChatMessage, Delivery, Envelope, MessageOp, Original};
use crate::error::{Error, Result};
use crate::metrics::{PipelineMetrics, timed};
use crate::moderate::{Moderation, ModerationAction, Reading, RoomWords, moderate};
use crate::signature::{SignedHeaders, WebhookSecret, verify};
use crate::topics_client::TopicsClient;
use crate::translate::{TranslateError, TranslationService};

/// The largest delivery the intake reads: a 16 KiB item plus its metadata.
pub const MAX_DELIVERY_BYTES: usize = 64 * 1024;

/// How many recent `webhook-id`s the intake remembers to drop redeliveries.
const RECENT_IDS: usize = 4096;

/// One scrape of a pipeline's metrics.
struct Scrape(Arc<Pipeline>);

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pipeline metrics")
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        self.0.encode_metrics(&mut encoder)
    }
}

/// What the pipeline needs to run.
pub struct PipelineConfig {
    /// Secrets that may sign deliveries (more than one during a rotation).
    pub secrets: Vec<WebhookSecret>,
    /// The topics API it republishes to, with a token allowed to publish to
    /// `*-subscribe-*` and read rooms.
    pub topics: TopicsClient,
    pub translator: Arc<TranslationService>,
    /// Injectable so tests can move the replay window.
    pub clock: Clock,
    /// When a delivery whose translation is owed should come back (Retry-After).
    pub pending_retry_after_secs: u64,
}

/// The default wait before retrying a delivery whose provider was down.
pub const PENDING_RETRY_AFTER_SECS: u64 = 30;

/// A running pipeline: configuration plus the memory of recent deliveries.
pub struct Pipeline {
    config: PipelineConfig,
    recent: Mutex<RecentIds>,
    metrics: PipelineMetrics,
}

#[derive(Default)]
struct RecentIds {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl RecentIds {
    fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    fn insert(&mut self, id: &str) {
        if self.set.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
            if self.order.len() > RECENT_IDS
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }
}

/// One message after detection and moderation, ready to go out in each language.
#[derive(Clone, Copy)]
struct Source<'a> {
    /// The message as first published (an edit's or deletion's target).
    origin: &'a Delivery,
    /// The `seq` of this version: the message's own, or the edit's.
    version: i64,
    op: Option<MessageOp>,
    room: &'a parley_api::Room,
    words: &'a RoomWords,
    detected: &'a Detected,
    /// The text as written (empty for a deletion): each reader's copy is
    /// moderated for that reader, whatever language anyone declared.
    text: &'a str,
    /// Translating would exceed the room's daily budget.
    over_budget: bool,
}

impl Source<'_> {
    /// The envelope id of the message: the same in every language and version.
    fn origin_id(&self) -> String {
        format!("{}:{}", self.origin.topic, self.origin.seq)
    }
}

/// The pipeline's routes: `POST /pipeline/webhook`.
pub fn router<S: Clone + Send + Sync + 'static>(pipeline: Arc<Pipeline>) -> Router<S> {
    Router::new()
        .route("/pipeline/webhook", post(receive))
        .layer(DefaultBodyLimit::max(MAX_DELIVERY_BYTES))
        .with_state(pipeline)
}

async fn receive(State(pipeline): State<Arc<Pipeline>>, headers: HeaderMap, body: Bytes) -> Result<StatusCode> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SignedHeaders {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    verify(&pipeline.config.secrets, signed, &body, pipeline.config.clock.now_secs())?;
    let id = signed.id.unwrap_or_default().to_owned();
    if pipeline.seen(&id) {
        tracing::debug!(webhook_id = %id, "duplicate delivery dropped");
        return Ok(StatusCode::OK);
    }
    let delivery: Delivery = serde_json::from_slice(&body).map_err(|e| Error::BadDelivery(e.to_string()))?;
    pipeline.process(&delivery).await?;
    pipeline.remember(&id);
    Ok(StatusCode::OK)
}

impl Pipeline {
    pub fn new(config: PipelineConfig) -> Self {
        Self { config, recent: Mutex::new(RecentIds::default()), metrics: PipelineMetrics::default() }
    }

    /// The stage latencies, for benches that read them directly.
    pub fn metrics(&self) -> &PipelineMetrics {
        &self.metrics
    }

    /// Per language of a room, how its readers get the other languages.
    pub fn coverage(
        &self,
        languages: &[String],
    ) -> std::collections::BTreeMap<String, crate::translate::service::Coverage> {
        languages.iter().map(|to| (to.clone(), self.config.translator.coverage(languages, to))).collect()
    }

    /// The pipeline's state, typed, for the admin console.
    pub fn health(&self) -> crate::metrics::Health {
        self.metrics.health(&self.config.translator)
    }

    /// The pipeline's metrics, a whole OpenMetrics exposition (`parley-pipeline`'s `/metrics`).
    pub fn metrics_text(self: &Arc<Self>) -> String {
        crate::metrics::exposition(Scrape(self.clone()))
    }

    /// Writes the pipeline's metric families into an exposition of the server's.
    ///
    /// # Errors
    /// Only the writer's.
    pub fn encode_metrics(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        self.metrics.encode(&self.config.translator, encoder)
    }

    fn seen(&self, id: &str) -> bool {
        self.recent.lock().map(|r| r.contains(id)).unwrap_or(false)
    }

    fn remember(&self, id: &str) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.insert(id);
        }
    }

    /// Runs one delivery through detection, moderation, translation and
    /// republishing. Returns only when every language has been published.
    ///
    /// A language whose provider is down gets the original with a note at
    /// once, and the delivery then fails with [`Error::TranslationPending`]:
    /// the sender retries it later, and the translated envelope (same `id`)
    /// replaces the original. Publishes carry idempotency keys, so a retry
    /// or a duplicate delivery appends nothing twice.
    ///
    /// # Errors
    /// A malformed delivery, an unknown room, a topics server that did not
    /// accept a publish, or translations still pending.
    pub async fn process(&self, delivery: &Delivery) -> Result<()> {
        let room_name = delivery
            .topic
            .strip_suffix("-publish")
            .ok_or_else(|| Error::BadDelivery(format!("{} is not a publish topic", delivery.topic)))?;
        let message = ChatMessage::parse(&delivery.value).map_err(Error::BadDelivery)?;
        let origin = match message.op {
            None => delivery.clone(),
            Some(op) => {
                let target =
                    message.target_seq.ok_or_else(|| Error::BadDelivery(format!("{op:?} needs target_seq")))?;
                let Some(origin) = self.config.topics.item(&delivery.topic, target).await? else {
                    tracing::info!(target, "edit of a message that is gone: ignored");
                    return Ok(());
                };
                if origin.publisher.id != delivery.publisher.id {
                    // The server stamped both publishers: this is someone else's message.
                    tracing::warn!(target, editor = %delivery.publisher.id, "edit of another author's message refused");
                    return Ok(());
                }
                origin
            }
        };
        let room = self.config.topics.room(room_name).await?;
        self.metrics.messages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let detected = timed(&self.metrics.detect, || detect(&message.text, &room.languages, message.lang.as_deref()))
            .ok_or_else(|| Error::BadDelivery(format!("room {room_name} has no languages")))?;
        let words = RoomWords::of(&room);
        let written = if message.op == Some(MessageOp::Delete) { "" } else { message.text.as_str() };
        let targets = room.target_languages(&detected.lang);
        let over_budget = !room.within_budget(written.chars().count(), targets.len().saturating_sub(1));
        let source = Source {
            over_budget,
            origin: &origin,
            version: delivery.seq,
            op: message.op,
            room: &room,
            words: &words,
            detected: &detected,
            text: written,
        };
        // Every language at once: translations run concurrently.
        let started = std::time::Instant::now();
        let outcomes = join_all(targets.iter().map(|lang| self.envelope_for(lang, &source))).await;
        self.metrics.translate.observe(started.elapsed());
        let billed: usize = outcomes.iter().map(|(_, _, billed)| billed).sum();
        if billed > 0
            && let Err(error) = self.config.topics.report_usage(&room.name, billed).await
        {
            tracing::warn!(%error, room = %room.name, billed, "cannot report translation usage");
        }
        // Every language in one request: one transaction on the server.
        let publishes: Vec<(String, String, &Envelope)> = outcomes
            .iter()
            .map(|(envelope, pending, _)| {
                let topic = format!("{}-subscribe-{}", room.name, envelope.lang);
                let key =
                    format!("{}:v{}{}", envelope.id, envelope.version, if *pending { ":untranslated" } else { "" });
                (topic, key, envelope)
            })
            .collect();
        let started = std::time::Instant::now();
        // An edit or a deletion replaces the message's earlier versions in
        // every language's history: a deleted text is not replayed.
        let earlier = message.op.map(|_| format!("{}:", source.origin_id()));
        self.config.topics.publish_all(&publishes, earlier.as_deref()).await?;
        self.metrics.publish.observe(started.elapsed());
        let pending: Vec<&str> = outcomes.iter().filter(|(_, p, _)| *p).map(|(e, ..)| e.lang.as_str()).collect();
        let own = outcomes.iter().find(|(e, ..)| e.lang == detected.lang).map(|(e, ..)| e.moderation.action.as_str());
        tracing::info!(
            room = %room.name,
            source_seq = delivery.seq,
            lang = %detected.lang,
            moderation = own.unwrap_or("none"),
            ?pending,
            "message republished"
        );
        if !pending.is_empty() {
            return Err(Error::TranslationPending {
                languages: pending.join(", "),
                retry_after_secs: self.config.pending_retry_after_secs,
            });
        }
        Ok(())
    }

    /// The envelope for one language, whether its translation is still owed
    /// (the provider failed in a way that may pass), and the characters billed.
    async fn envelope_for(&self, lang: &str, source: &Source<'_>) -> (Envelope, bool, usize) {
        let Source { origin, version, op, room, words, detected, text: written, .. } = *source;
        // The text as this reader may read it: a word that is ordinary in the
        // writer's language may be offensive in theirs (French "con" in a
        // Spanish message), and they see the original untranslated, or one
        // click away. Its translation is made from this copy.
        let (for_reader, moderation) = if op == Some(MessageOp::Delete) {
            (String::new(), Moderation::clean())
        } else {
            timed(&self.metrics.moderate, || moderate(written, Reading::own(lang), room.moderation, words))
        };
        let mut envelope = Envelope {
            id: source.origin_id(),
            room: room.name.clone(),
            source_seq: origin.seq,
            author: origin.publisher.clone(),
            lang: lang.to_owned(),
            text: for_reader.clone(),
            original: Original {
                lang: detected.lang.clone(),
                confidence: detected.confidence,
                text: for_reader.clone(),
            },
            translated: false,
            provider: None,
            note: None,
            note_code: None,
            moderation,
            sent_at: origin.published_at.clone(),
            version,
            edited: op == Some(MessageOp::Edit),
            deleted: op == Some(MessageOp::Delete),
        };
        if lang == detected.lang || envelope.moderation.action == ModerationAction::Blocked || envelope.deleted {
            return (envelope, false, 0);
        }
        if source.over_budget {
            envelope.note = Some("the room's daily translation budget is used up; delivered untranslated".into());
            envelope.note_code = Some("over_budget".into());
            return (envelope, false, 0);
        }
        // Translate the moderated text, then moderate the translation: a
        // translation can create words the source did not have.
        match self.config.translator.translate(&for_reader, &detected.lang, lang).await {
            Ok(translation) => {
                let (text, translated_moderation) =
                    moderate(&translation.text, Reading::own(lang), room.moderation, words);
                envelope.moderation = envelope.moderation.merged(&translated_moderation);
                envelope.text = text;
                envelope.translated = true;
                envelope.provider = Some(translation.provider.to_owned());
                (envelope, false, translation.billed_chars)
            }
            Err(error) => {
                // Readers get a fixed note; what the provider said (its URL,
                // the models' directory) goes to the log only.
                let pending = !matches!(error, TranslateError::UnsupportedPair { .. });
                let pair = format!("{}→{lang}", detected.lang);
                if pending {
                    tracing::warn!(%error, %pair, "translation failed; delivering the original for now");
                    envelope.note = Some(format!(
                        "translation {pair} is unavailable right now; the translation follows when the provider is back"
                    ));
                    envelope.note_code = Some("translation_pending".into());
                } else {
                    tracing::info!(%error, %pair, "no translation for this pair; delivering the original");
                    envelope.note = Some(format!("no {pair} translation is installed; shown in the original language"));
                    envelope.note_code = Some("no_translation".into());
                }
                (envelope, pending, 0)
            }
        }
    }
}
