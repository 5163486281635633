-- Presence comes from running clients only: `heartbeat_at` is the last heartbeat or address
-- update (both sent by a running client), NULL before the first one and after a client signs
-- off. Registration and login still set `last_seen`, but no longer make an account online.
ALTER TABLE clients ADD COLUMN heartbeat_at INTEGER;
