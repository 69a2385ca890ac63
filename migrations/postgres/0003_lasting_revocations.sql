-- Revocations that last as long as the tokens they revoke, for every kind of
-- holder: per-subject cut-offs (users, the pipeline's and the admin's service
-- subjects alike, which have no users row) and per-room cut-offs (a deleted
-- room's tokens).

create table token_cutoffs (
    sub text primary key,
    cut_at bigint not null
);
insert into token_cutoffs (sub, cut_at) select id, tokens_valid_after from users where tokens_valid_after > 0;

create table room_cutoffs (
    room text primary key,
    cut_at bigint not null
);
