-- Which of our undelivered messages are already sealed in the directory's mailbox, so a later
-- deposit adds only the rest (in order) instead of filling the mailbox with copies.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.
ALTER TABLE messages ADD COLUMN deposited INTEGER NOT NULL DEFAULT 0;
