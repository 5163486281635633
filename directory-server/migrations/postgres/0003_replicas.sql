-- What several directory processes (replicas) sharing this database need to know of each
-- other for signaling (src/signal/cluster.rs):
-- `replicas`: one row per running process, with a random id, the URL other replicas reach it
-- at (for relayed sessions whose two sides arrived at different replicas; NULL when it did
-- not say) and when it last said it is alive (ms since the Unix epoch, every few seconds).
-- A replica silent for longer than the cluster's timeout is deleted by the others, and with
-- it its connections.
-- `signal_connections`: every open signaling connection of every replica, so that presence,
-- hole punches and relay offers see users connected anywhere. `addr` is the IP:PORT the
-- connection came from when the replica saw the port; `rtt_ms` its last measured round trip.

CREATE TABLE replicas (
    replica TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    url     TEXT,
    seen_at BIGINT NOT NULL
);

CREATE TABLE signal_connections (
    replica   TEXT COLLATE "C" NOT NULL REFERENCES replicas (replica) ON DELETE CASCADE,
    id        BIGINT  NOT NULL,
    username  TEXT COLLATE "C" NOT NULL,
    addr      TEXT,
    rtt_ms    INTEGER,
    brief     BOOLEAN NOT NULL,
    opened_at BIGINT  NOT NULL,
    PRIMARY KEY (replica, id)
);

CREATE INDEX signal_connections_by_username ON signal_connections (username);
