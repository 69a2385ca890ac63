-- Each room's own moderation words (JSON arrays), beyond the built-in lists.
alter table rooms add column block_words text not null default '[]';
alter table rooms add column allow_words text not null default '[]';
