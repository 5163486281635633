-- File transfers, both ways: the offer as announced, where its bytes are (our source file, or
-- the partial or finished file we receive into), and how far it got. A transfer lives here
-- from the offer on, so it survives restarts like the outbox.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.

CREATE TABLE transfers (
    id BLOB PRIMARY KEY,            -- 16-byte UUIDv7 from the offer
    peer TEXT NOT NULL,
    outgoing INTEGER NOT NULL,      -- 1: we send it
    name TEXT NOT NULL,             -- as offered (the receiver sanitises it before use)
    size INTEGER NOT NULL,          -- bytes
    sha256 BLOB NOT NULL,           -- 32 bytes
    path TEXT,                      -- ours: the source; theirs: partial, then the saved file
    source_mtime_ms INTEGER,        -- ours: the source's modification time when offered
    state INTEGER NOT NULL,         -- 0 offered, 1 accepted, 2 done, 3 ended (see detail)
    detail TEXT,                    -- why it ended
    sent_at_ms INTEGER NOT NULL,    -- when the sender's user offered it
    updated_at_ms INTEGER NOT NULL
);

CREATE INDEX transfers_by_peer ON transfers (peer, state);
