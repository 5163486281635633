-- Replies: the id of the message a message answers (16 bytes, either side's), NULL for a
-- message that answers none. The quote is part of the text itself.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.

ALTER TABLE messages ADD COLUMN reply_to BLOB;
