-- Accounts: banning, per-user token cut-off, and languages granted to a user.
alter table users add column banned integer not null default 0;
-- Tokens issued to this user before this instant (Unix seconds) are refused.
alter table users add column tokens_valid_after integer not null default 0;

create table user_languages (
    user_id text not null,
    room text not null,
    lang text not null,
    primary key (user_id, room, lang)
);

-- Languages of a room that need a grant (the "paid" languages), as a JSON array.
alter table rooms add column locked_languages text not null default '[]';
