-- The profile's local store: every message sent or received, in one table. Our own messages
-- that are not yet delivered form the outbox.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE messages (
    -- Local order of arrival (or of sending): the key for paging "before seq".
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The sender's message id (UUIDv7, 16 bytes); resends reuse it.
    id           BLOB    NOT NULL,
    -- The other side of the conversation (username).
    peer         TEXT    NOT NULL,
    -- 1 for our own messages, 0 for received ones.
    outgoing     INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
    sent_at_ms   INTEGER NOT NULL,
    stored_at_ms INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    -- Our messages: 0 queued, 1 sent, 2 delivered, 3 failed. Received ones: always 2.
    state        INTEGER NOT NULL,
    -- Why a message failed, for the user.
    detail       TEXT,
    UNIQUE (peer, outgoing, id)
);

CREATE INDEX messages_by_peer ON messages (peer, seq);
CREATE INDEX outbox ON messages (seq) WHERE outgoing = 1 AND state < 2;

-- The newest message the user has seen in each conversation.
CREATE TABLE read_markers (
    peer     TEXT    NOT NULL PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
