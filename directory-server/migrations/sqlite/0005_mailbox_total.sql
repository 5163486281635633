-- The bytes of sealed messages the whole mailbox holds, kept by triggers so that the
-- directory-wide limit (--mailbox-max-total-bytes) needs no scan of the mailbox per deposit.
-- Deletes by a recipient, the purge and unregistering (ON DELETE CASCADE) all fire the delete
-- trigger.

CREATE TABLE mailbox_total (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    bytes INTEGER NOT NULL
);

INSERT INTO mailbox_total (id, bytes) SELECT 1, COALESCE(SUM(size), 0) FROM mailbox;

CREATE TRIGGER mailbox_total_insert AFTER INSERT ON mailbox
BEGIN
    UPDATE mailbox_total SET bytes = bytes + NEW.size WHERE id = 1;
END;

CREATE TRIGGER mailbox_total_delete AFTER DELETE ON mailbox
BEGIN
    UPDATE mailbox_total SET bytes = bytes - OLD.size WHERE id = 1;
END;
