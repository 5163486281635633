-- Full-text search over the history (`/search`, `history --grep`): an SQLite FTS5 index of
-- message text with `messages` as its external content (the text is stored once), kept in
-- step by triggers. unicode61 folds case and, with remove_diacritics 2, accents ("cafe"
-- finds "café"); see https://sqlite.org/fts5.html sections 4.3.1 and 4.4.3.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.

CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    content = 'messages',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Messages stored before this migration.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
END;
