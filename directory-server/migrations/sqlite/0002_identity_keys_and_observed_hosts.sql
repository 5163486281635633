-- Each peer publishes its long-term X25519 identity public key (64 hex digits), and the
-- directory remembers the address it last saw the peer's own requests come from.
-- Rows registered before this migration have no key yet: '' until their owner sends one
-- with PUT /clients/{username}.

ALTER TABLE clients ADD COLUMN public_key TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN observed_host TEXT;
