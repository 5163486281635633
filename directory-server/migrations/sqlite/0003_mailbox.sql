-- The offline mailbox: sealed messages kept for a recipient until it fetches and deletes them,
-- or until they expire. The directory cannot read them, and does not record who deposited
-- them: there is deliberately no sender column.
-- `id` is a UUIDv7 in its hyphenated lower-case text form, so ids sort by deposit time;
-- `size` is length(sealed), kept so the per-recipient byte limit needs no blob reads.
-- Timestamps are milliseconds since the Unix epoch (UTC), as in 0001.

CREATE TABLE mailbox (
    id           TEXT    NOT NULL PRIMARY KEY,
    recipient    TEXT    NOT NULL REFERENCES clients (username) ON DELETE CASCADE,
    sealed       BLOB    NOT NULL,
    size         INTEGER NOT NULL CHECK (size > 0),
    deposited_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE INDEX mailbox_by_recipient ON mailbox (recipient, id);
CREATE INDEX mailbox_by_expiry ON mailbox (expires_at);
