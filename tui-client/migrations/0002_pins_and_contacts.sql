-- Pinned identity keys of peers (trust on first use) and the last contact list seen from the
-- directory, so the client starts with its contacts even when the directory is unreachable.

CREATE TABLE pins (
    peer         TEXT    NOT NULL PRIMARY KEY,
    -- X25519 public key, 32 bytes.
    public_key   BLOB    NOT NULL CHECK (length(public_key) = 32),
    verified     INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    pinned_at_ms INTEGER NOT NULL
);

CREATE TABLE contacts (
    username      TEXT    NOT NULL PRIMARY KEY,
    -- The directory's record as JSON (api::ClientRecord).
    record        TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
