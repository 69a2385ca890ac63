-- Production topics and webhooks: revocation, idempotent publishes, retention,
-- secret rotation and a richer delivery log.

create table revoked_tokens (
    jti text primary key,
    revoked_at integer not null
);

-- A publisher-chosen key: publishing the same key twice to a topic returns the
-- first item's seq instead of appending a duplicate (redelivery-safe pipelines).
alter table items add column idempotency_key text;
create unique index items_idempotency on items (topic, idempotency_key) where idempotency_key is not null;

-- Per-topic retention overrides (null: the server's defaults).
alter table topics add column retain_items integer;
alter table topics add column retain_ms integer;

-- During a rotation both secrets sign, until the previous one expires.
alter table webhooks add column previous_secret text;
alter table webhooks add column previous_secret_until integer;
-- Loopback/private targets are refused unless the webhook is the embedded pipeline.
alter table webhooks add column internal integer not null default 0;
alter table webhooks add column disabled_reason text;

alter table webhook_outbox add column last_latency_ms integer;
create index webhook_outbox_by_webhook on webhook_outbox (webhook_name, created_at);
