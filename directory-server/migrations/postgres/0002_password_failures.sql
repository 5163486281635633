-- Wrong passwords per username, for the login back-off (src/throttle.rs): one count for all
-- directory processes sharing this database, so N processes give a guesser no more tries than
-- one. `failures` counts checks that failed or are still running (a check is counted before
-- it runs and forgotten when the password was right); `last_at` is the last one, in ms since
-- the Unix epoch. Unregistered usernames are tracked too, so there is no foreign key; stale
-- rows are purged periodically.

CREATE TABLE password_failures (
    username TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at  BIGINT  NOT NULL
);

CREATE INDEX password_failures_by_time ON password_failures (last_at);
