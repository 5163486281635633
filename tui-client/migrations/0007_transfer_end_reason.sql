-- Why a transfer ended, as the peer is told it (the protocol crate's CancelReason as JSON,
-- e.g. "HashMismatch" or {"CannotStore":{"detail":"…"}}: never rename its variants), so a peer that asks about an ended transfer
-- again hears the real reason rather than a plain "cancelled". NULL for transfers ended
-- before this column existed, and for ends without a reason to repeat.
-- Append-only: never edit a migration that has shipped; add a new numbered file instead.

ALTER TABLE transfers ADD COLUMN end_reason TEXT;
