-- The language a user last joined a room in: offered first next time.
alter table users add column default_language text;
