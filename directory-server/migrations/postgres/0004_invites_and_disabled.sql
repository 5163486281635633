-- As SQLite migration 0009: invite codes (only their SHA-256) and disabled accounts.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.

CREATE TABLE invites (
    id         BIGSERIAL PRIMARY KEY,
    code_hash  BYTEA   NOT NULL UNIQUE,
    note       TEXT    NOT NULL DEFAULT '',
    max_uses   BIGINT CHECK (max_uses > 0),
    uses       BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

ALTER TABLE clients ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
