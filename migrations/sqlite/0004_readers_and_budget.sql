-- Cost control: which languages a room's members read, and how many
-- characters were sent to translation providers per room and day.

create table room_readers (
    room text not null,
    lang text not null,
    last_join_at integer not null,
    primary key (room, lang)
);

create table translation_usage (
    room text not null,
    -- UTC day, e.g. 2026-11-29.
    day text not null,
    characters integer not null default 0,
    primary key (room, day)
);

-- Characters per UTC day a room may send to translation (null: no limit).
alter table rooms add column daily_char_budget integer;
