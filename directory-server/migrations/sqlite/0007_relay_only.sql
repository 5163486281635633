-- 1 when the client asked to be reached only through the relay (`--relay-only`): its
-- addresses are then withheld from its public record.
ALTER TABLE clients ADD COLUMN relay_only INTEGER NOT NULL DEFAULT 0;
