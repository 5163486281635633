-- The whole schema of the PostgreSQL backend as of SQLite migration 0007: the same tables,
-- columns and meanings (see migrations/sqlite/ for the history of each column).
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.
-- Timestamps are milliseconds since the Unix epoch (UTC) in BIGINT, as on SQLite, so both
-- backends share one conversion and a copy between them is exact.
-- Usernames and mailbox ids use the "C" collation: the API promises listings in byte order of
-- the username, and mailbox ids (hyphenated lower-case UUIDv7) sort by deposit time only when
-- compared bytewise.

CREATE TABLE clients (
    username      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    port          INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    registered_at BIGINT  NOT NULL,
    last_seen     BIGINT  NOT NULL,
    public_key    TEXT    NOT NULL DEFAULT '',
    observed_host TEXT,
    heartbeat_at  BIGINT,
    candidates    TEXT    NOT NULL DEFAULT '',
    relay_only    BOOLEAN NOT NULL DEFAULT FALSE
);

-- Only the SHA-256 of a token is kept: a copy of this table does not let anyone log in.
CREATE TABLE tokens (
    token_hash BYTEA  NOT NULL PRIMARY KEY,
    username   TEXT COLLATE "C" NOT NULL REFERENCES clients (username) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX tokens_by_username ON tokens (username);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- The offline mailbox: sealed messages the directory cannot read, with no sender column.
CREATE TABLE mailbox (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    recipient    TEXT COLLATE "C" NOT NULL REFERENCES clients (username) ON DELETE CASCADE,
    sealed       BYTEA  NOT NULL,
    size         BIGINT NOT NULL CHECK (size > 0),
    deposited_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE INDEX mailbox_by_recipient ON mailbox (recipient, id);
CREATE INDEX mailbox_by_expiry ON mailbox (expires_at);

-- The bytes the whole mailbox holds, kept by triggers (the directory-wide limit needs no scan).
CREATE TABLE mailbox_total (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    bytes BIGINT  NOT NULL
);

INSERT INTO mailbox_total (id, bytes) VALUES (1, 0);

CREATE FUNCTION mailbox_total_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE mailbox_total SET bytes = bytes + NEW.size WHERE id = 1;
    ELSE
        UPDATE mailbox_total SET bytes = bytes - OLD.size WHERE id = 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER mailbox_total_insert AFTER INSERT ON mailbox
    FOR EACH ROW EXECUTE FUNCTION mailbox_total_track();

CREATE TRIGGER mailbox_total_delete AFTER DELETE ON mailbox
    FOR EACH ROW EXECUTE FUNCTION mailbox_total_track();
