-- Other addresses a client published beside host:port (its LAN address, say), as a
-- space-separated list of IP:PORT; empty when none.
ALTER TABLE clients ADD COLUMN candidates TEXT NOT NULL DEFAULT '';
