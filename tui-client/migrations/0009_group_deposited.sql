-- Which group frames waiting for a member are already sealed in the directory's mailbox, so a
-- later deposit adds only the rest (as messages.deposited does for one-to-one messages).
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.
ALTER TABLE group_outbox ADD COLUMN deposited INTEGER NOT NULL DEFAULT 0;
