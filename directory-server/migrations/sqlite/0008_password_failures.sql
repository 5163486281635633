-- Wrong passwords per username, for the login back-off (src/throttle.rs), kept in the
-- database so that every directory process sharing it slows a guesser down alike.
-- `failures` counts checks that failed or are still running (a check is counted before it
-- runs and forgotten when the password was right); `last_at` is the last one, in ms since the
-- Unix epoch. Usernames that are not registered are tracked too (guesses against them must
-- cost the same), so there is no foreign key; stale rows are purged periodically.

CREATE TABLE password_failures (
    username TEXT    NOT NULL PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
);

CREATE INDEX password_failures_by_time ON password_failures (last_at);
