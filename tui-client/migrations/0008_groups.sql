-- Groups (docs/decisions/0004-groups-as-pairwise-change-logs.md): each group's log of changes,
-- from which the member list is computed; the group frames waiting for each member; and who
-- wrote each post of a group conversation.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.

CREATE TABLE groups (
    id BLOB PRIMARY KEY,            -- 16-byte GroupId (UUIDv7)
    name TEXT NOT NULL,             -- its name as the log last made it, for listings
    added_by TEXT,                  -- who added us (whose word we take for the log); NULL: we created it
    member INTEGER NOT NULL         -- 1 while we are a member, 0 after we left or were removed
);

CREATE TABLE group_changes (
    group_id BLOB NOT NULL,
    author TEXT NOT NULL,
    seq INTEGER NOT NULL,           -- the author's count of its changes: 1, 2, …
    change BLOB NOT NULL,           -- the Change, postcard-encoded as on the wire
    PRIMARY KEY (group_id, author, seq)
);

-- Group frames (GroupChange, GroupInvite, GroupPost; postcard PeerMessage) waiting for one
-- member, sent in order by that member's sessions and resent until its receipt.
CREATE TABLE group_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    member TEXT NOT NULL,
    id BLOB NOT NULL,               -- the frame's id, which the receipt names
    frame BLOB NOT NULL,
    state INTEGER NOT NULL,         -- 0 queued, 1 sent, 2 delivered (as messages.state)
    UNIQUE (member, id)
);

CREATE INDEX group_outbox_waiting ON group_outbox (member, seq) WHERE state < 2;

-- A group's conversation is stored in messages under the peer '#' followed by the group id;
-- sender names the member who wrote an incoming post (NULL for one-to-one messages).
ALTER TABLE messages ADD COLUMN sender TEXT;
