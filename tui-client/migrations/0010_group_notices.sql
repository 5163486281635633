-- A group's notices (who added whom, renames, who left) are kept in its conversation, in
-- order with its posts, so they are there after a restart: notice = 1 marks such a row.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.
ALTER TABLE messages ADD COLUMN notice INTEGER NOT NULL DEFAULT 0;
