-- Intent before writing: an apply stores one audit row per planned kernel write, result
-- 'planned', committed before its first kernel write, and marks each row with its outcome
-- ('applied' or 'failed') as the kernel answers, a batch per transaction. A process killed in
-- between leaves 'planned' rows; the next command that holds the writer lock compares each with
-- the kernel and marks it 'applied' (found done) or deletes it (never made), so the audit says
-- which writes reached the kernel after any crash. Only the CHECK on `result` changes (the
-- origins stay those of 0009): SQLite cannot alter a CHECK, so the table is rebuilt with the same
-- columns, ids and indexes.

CREATE TABLE audit_0010 (
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
    result        TEXT    NOT NULL CHECK (result IN ('planned', 'applied', 'failed', 'undone')),
    errno         INTEGER,
    kernel_error  TEXT,
    duration_us   INTEGER NOT NULL CHECK (duration_us >= 0),
    origin        TEXT    NOT NULL CHECK (origin IN
                      ('apply', 'rollback', 'undo', 'drift-fix', 'drain', 'health', 'maintenance', 'daemon', 'vrrp', 'bgp'))
) STRICT;

INSERT INTO audit_0010 (
    id, run_id, revision_id, manifest, at, action, service, real_server, before_json, after_json, result, errno,
    kernel_error, duration_us, origin)
SELECT
    id, run_id, revision_id, manifest, at, action, service, real_server, before_json, after_json, result, errno,
    kernel_error, duration_us, origin
FROM audit;

DROP TABLE audit;
ALTER TABLE audit_0010 RENAME TO audit;

CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_manifest ON audit (manifest, at);
CREATE INDEX audit_by_object ON audit (service, real_server, at);
CREATE INDEX audit_by_run ON audit (run_id);
