-- Who may register (src/registration.rs) and accounts the operator switched off.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.
-- `invites`: codes the operator made with `p2p-chat-directory invite create`. Only the SHA-256
-- of a code is kept, as for login tokens. `max_uses` NULL: no limit; `expires_at` NULL: never;
-- `revoked_at` set by `invite revoke`. Times in ms since the Unix epoch.
-- `clients.disabled`: 1 after `users disable`: the account cannot log in, its tokens stop
-- working and lookups, listings and the mailbox treat it as absent; `users enable` undoes it.

CREATE TABLE invites (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash  BLOB    NOT NULL UNIQUE,
    note       TEXT    NOT NULL DEFAULT '',
    max_uses   INTEGER CHECK (max_uses > 0),
    uses       INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

ALTER TABLE clients ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
