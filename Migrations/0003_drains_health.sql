-- Draining real servers, health state and maintenance flags (used by the daemon and `lvsctl drain`).
-- Timestamps are integers: microseconds since 1970-01-01T00:00:00Z.

-- A real server kept at weight 0 until its connections end or its deadline passes.
CREATE TABLE drain (
    service          TEXT    NOT NULL CHECK (length(service) > 0),
    real_server      TEXT    NOT NULL CHECK (length(real_server) > 0),
    manifest         TEXT    NOT NULL REFERENCES manifest(name) ON DELETE RESTRICT,
    started_at       INTEGER NOT NULL,
    deadline         INTEGER CHECK (deadline IS NULL OR deadline >= started_at),
    original_weight  INTEGER NOT NULL CHECK (original_weight BETWEEN 0 AND 2147483647),
    reason           TEXT    NOT NULL CHECK (reason IN ('removed-from-manifest', 'maintenance', 'health')),
    PRIMARY KEY (service, real_server)
) STRICT;

CREATE INDEX drain_by_manifest ON drain (manifest);

-- The health checker's view of each real server.
CREATE TABLE health (
    service                TEXT    NOT NULL CHECK (length(service) > 0),
    real_server            TEXT    NOT NULL CHECK (length(real_server) > 0),
    healthy                INTEGER NOT NULL CHECK (healthy IN (0, 1)),
    checked_at             INTEGER,
    last_error             TEXT,
    consecutive_successes  INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_successes >= 0),
    consecutive_failures   INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    changed_at             INTEGER NOT NULL,
    PRIMARY KEY (service, real_server)
) STRICT;

-- Operator maintenance: a whole service (real_server IS NULL) or one real server.
CREATE TABLE maintenance (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    service      TEXT    NOT NULL CHECK (length(service) > 0),
    real_server  TEXT    CHECK (real_server IS NULL OR length(real_server) > 0),
    reason       TEXT,
    author       TEXT    NOT NULL CHECK (length(author) > 0),
    since        INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX maintenance_object ON maintenance (service, ifnull(real_server, ''));
