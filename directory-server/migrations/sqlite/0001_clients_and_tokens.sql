-- Registered peers and their login tokens.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.
-- Timestamps are milliseconds since the Unix epoch (UTC), so every backend can store them as a
-- plain 64-bit integer.

CREATE TABLE clients (
    username      TEXT    NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    port          INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    registered_at INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL
);

-- Only the SHA-256 of a token is kept: a copy of this table does not let anyone log in.
CREATE TABLE tokens (
    token_hash BLOB    NOT NULL PRIMARY KEY,
    username   TEXT    NOT NULL REFERENCES clients (username) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX tokens_by_username ON tokens (username);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);
