-- Parley's first schema: settings, users, rooms, topics with durable items,
-- webhooks and their delivery outbox. Timestamps are Unix milliseconds.

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
    created_at integer not null
);

create table rooms (
    name text primary key,
    title text not null,
    -- A JSON array of ISO 639-1 codes, e.g. ["en","pt"].
    languages text not null,
    moderation text not null default 'mask' check (moderation in ('mask', 'block', 'flag')),
    created_at integer not null
);

create table topics (
    name text primary key,
    last_seq integer not null default 0
);

create table items (
    topic text not null,
    seq integer not null,
    published_at integer not null,
    publisher_id text not null,
    publisher_name text not null,
    -- The published value as JSON text.
    value text not null,
    primary key (topic, seq)
);

create table webhooks (
    name text primary key,
    topic text not null,
    url text not null,
    secret text not null,
    enabled integer not null default 1,
    created_at integer not null
);

create index webhooks_by_topic on webhooks (topic);

create table webhook_outbox (
    -- The `webhook-id` header: the same on every attempt, so receivers can deduplicate.
    id text primary key,
    webhook_name text not null,
    topic text not null,
    seq integer not null,
    payload text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    -- For pending rows: when the next attempt is due (a lease while one runs).
    next_attempt_at integer not null,
    last_status integer,
    last_error text,
    created_at integer not null,
    finished_at integer
);

create index webhook_outbox_due on webhook_outbox (status, next_attempt_at);
