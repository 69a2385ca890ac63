-- Parley's schema on PostgreSQL: the same tables, columns and meanings as the
-- SQLite migrations 0001–0007 (timestamps are Unix milliseconds, flags are 0/1,
-- JSON is stored as text), so one set of queries serves both.

create table settings (
    key text primary key,
    value text not null
);

create table users (
    id text primary key,
    username text unique,
    display_name text not null,
    role text not null check (role in ('guest', 'user', 'admin', 'service')),
    password_hash text,
    created_at bigint not null,
    banned bigint not null default 0,
    -- Tokens issued to this user before this instant (Unix seconds) are refused.
    tokens_valid_after bigint not null default 0,
    -- The language a user last joined a room in: offered first next time.
    default_language text
);

create table rooms (
    name text primary key,
    title text not null,
    -- A JSON array of ISO 639-1 codes, e.g. ["en","pt"].
    languages text not null,
    moderation text not null default 'mask' check (moderation in ('mask', 'block', 'flag')),
    created_at bigint not null,
    block_words text not null default '[]',
    allow_words text not null default '[]',
    daily_char_budget bigint,
    locked_languages text not null default '[]'
);

create table topics (
    name text primary key,
    last_seq bigint not null default 0,
    retain_items bigint,
    retain_ms bigint
);

create table items (
    topic text not null,
    seq bigint not null,
    published_at bigint not null,
    publisher_id text not null,
    publisher_name text not null,
    value text not null,
    idempotency_key text,
    primary key (topic, seq)
);
create unique index items_idempotency on items (topic, idempotency_key) where idempotency_key is not null;

create table webhooks (
    name text primary key,
    topic text not null,
    url text not null,
    secret text not null,
    enabled bigint not null default 1,
    created_at bigint not null,
    previous_secret text,
    previous_secret_until bigint,
    internal bigint not null default 0,
    disabled_reason text
);
create index webhooks_by_topic on webhooks (topic);

create table webhook_outbox (
    id text primary key,
    webhook_name text not null,
    topic text not null,
    seq bigint not null,
    payload text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    last_status bigint,
    last_error text,
    created_at bigint not null,
    finished_at bigint,
    last_latency_ms bigint
);
create index webhook_outbox_due on webhook_outbox (status, next_attempt_at);
create index webhook_outbox_by_webhook on webhook_outbox (webhook_name, created_at);

create table revoked_tokens (
    jti text primary key,
    revoked_at bigint not null
);

create table room_readers (
    room text not null,
    lang text not null,
    last_join_at bigint not null,
    primary key (room, lang)
);

create table translation_usage (
    room text not null,
    day text not null,
    characters bigint not null default 0,
    primary key (room, day)
);

create table user_languages (
    user_id text not null,
    room text not null,
    lang text not null,
    primary key (user_id, room, lang)
);

create table sessions (
    id text primary key,
    record text not null,
    expires_at bigint not null
);
create index sessions_expiry on sessions (expires_at);
