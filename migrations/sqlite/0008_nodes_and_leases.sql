-- Who holds each webhook lease, and which nodes are alive: a node that dies
-- mid-delivery has its leases released as soon as its heartbeat goes stale
-- (or at once when it restarts), instead of after the whole lease.

create table nodes (
    id text primary key,
    started_at integer not null,
    heartbeat_at integer not null
);

alter table webhook_outbox add column leased_by text;
create index webhook_outbox_leased on webhook_outbox (leased_by) where leased_by is not null;
