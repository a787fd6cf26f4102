-- Apply runs and the audit log: one audit row per kernel change.
-- Timestamps are integers: microseconds since 1970-01-01T00:00:00Z.

-- One row per apply / rollback / drift fix / daemon pass that wrote something.
CREATE TABLE apply_run (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER CHECK (finished_at IS NULL OR finished_at >= started_at),
    manifest     TEXT    REFERENCES manifest(name) ON DELETE RESTRICT,
    revision_id  INTEGER REFERENCES revision(id) ON DELETE RESTRICT,
    origin       TEXT    NOT NULL CHECK (origin IN
                     ('apply', 'rollback', 'undo', 'drift-fix', 'drain', 'health', 'maintenance', 'daemon')),
    author       TEXT    NOT NULL CHECK (length(author) > 0),
    status       TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'undone')),
    error        TEXT,
    CHECK ((status = 'running') = (finished_at IS NULL))
) STRICT;

CREATE INDEX apply_run_by_manifest ON apply_run (manifest, started_at);

-- `service` is VirtualService.ID's description (NULL only for kernel-wide changes such as
-- timeouts or sync daemons); `real_server` is RealServer.ID's description.
CREATE TABLE audit (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    run_id        INTEGER NOT NULL REFERENCES apply_run(id) ON DELETE RESTRICT,
    revision_id   INTEGER REFERENCES revision(id) ON DELETE RESTRICT,
    manifest      TEXT    NOT NULL REFERENCES manifest(name) ON DELETE RESTRICT,
    at            INTEGER NOT NULL,
    action        TEXT    NOT NULL CHECK (length(action) > 0),
    service       TEXT    CHECK (service IS NULL OR length(service) > 0),
    real_server   TEXT    CHECK (real_server IS NULL OR (service IS NOT NULL AND length(real_server) > 0)),
    before_json   TEXT,
    after_json    TEXT,
    result        TEXT    NOT NULL CHECK (result IN ('applied', 'failed', 'undone')),
    errno         INTEGER,
    kernel_error  TEXT,
    duration_us   INTEGER NOT NULL CHECK (duration_us >= 0),
    origin        TEXT    NOT NULL CHECK (origin IN
                      ('apply', 'rollback', 'undo', 'drift-fix', 'drain', 'health', 'maintenance', 'daemon'))
) STRICT;

CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_manifest ON audit (manifest, at);
CREATE INDEX audit_by_object ON audit (service, real_server, at);
CREATE INDEX audit_by_run ON audit (run_id);
