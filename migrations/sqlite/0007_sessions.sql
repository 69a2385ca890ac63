-- Browser sessions (tower-sessions records as JSON), in Parley's own schema so
-- the same table works on SQLite and PostgreSQL.
create table sessions (
    id text primary key,
    record text not null,
    -- Unix seconds after which the session is gone.
    expires_at integer not null
);
create index sessions_expiry on sessions (expires_at);
