-- The director pair's state (issue #14): the VRRP role of each instance and sync group as
-- keepalived last reported it, and this director's maintenance. Timestamps: microseconds since
-- 1970-01-01T00:00:00Z.
--
-- A VRRP transition is audited like a kernel change: one audit row (origin 'vrrp') in a run of
-- origin 'vrrp'. SQLite cannot change a CHECK constraint in place, so apply_run and audit are
-- rebuilt with 'vrrp' and 'bgp' (the BGP route changes of an ECMP director, issue #16) added to
-- their origins (SQLite's documented procedure: new table, copy, drop, rename; the migrator runs
-- with foreign keys off and checks them at the end). Columns, rows, ids, indexes and every other
-- constraint stay as 0002 made them.

CREATE TABLE apply_run_0009 (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER CHECK (finished_at IS NULL OR finished_at >= started_at),
    manifest     TEXT    REFERENCES manifest(name) ON DELETE RESTRICT,
    revision_id  INTEGER REFERENCES revision(id) ON DELETE RESTRICT,
    origin       TEXT    NOT NULL CHECK (origin IN
                     ('apply', 'rollback', 'undo', 'drift-fix', 'drain', 'health', 'maintenance', 'daemon', 'vrrp', 'bgp')),
    author       TEXT    NOT NULL CHECK (length(author) > 0),
    status       TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'undone')),
    error        TEXT,
    CHECK ((status = 'running') = (finished_at IS NULL))
) STRICT;
INSERT INTO apply_run_0009 (id, started_at, finished_at, manifest, revision_id, origin, author, status, error)
    SELECT id, started_at, finished_at, manifest, revision_id, origin, author, status, error FROM apply_run;

CREATE TABLE audit_0009 (
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
                      ('apply', 'rollback', 'undo', 'drift-fix', 'drain', 'health', 'maintenance', 'daemon', 'vrrp', 'bgp'))
) STRICT;
INSERT INTO audit_0009 (id, run_id, revision_id, manifest, at, action, service, real_server, before_json, after_json,
                        result, errno, kernel_error, duration_us, origin)
    SELECT id, run_id, revision_id, manifest, at, action, service, real_server, before_json, after_json,
           result, errno, kernel_error, duration_us, origin FROM audit;

DROP TABLE audit;
DROP TABLE apply_run;
ALTER TABLE apply_run_0009 RENAME TO apply_run;
ALTER TABLE audit_0009 RENAME TO audit;

CREATE INDEX apply_run_by_manifest ON apply_run (manifest, started_at);
CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_manifest ON audit (manifest, at);
CREATE INDEX audit_by_object ON audit (service, real_server, at);
CREATE INDEX audit_by_run ON audit (run_id);

-- The role of each VRRP instance and sync group, as keepalived last reported it (the notify FIFO
-- or its JSON state dump), and when it changed. `state` is keepalived's word (MASTER, BACKUP,
-- FAULT, STOP, or one lvsctl does not know); `priority` is the instance's last reported priority
-- (NULL for a group).
CREATE TABLE vrrp_role (
    kind        TEXT    NOT NULL CHECK (kind IN ('instance', 'group')),
    name        TEXT    NOT NULL CHECK (length(name) > 0),
    state       TEXT    NOT NULL CHECK (length(state) > 0),
    priority    INTEGER CHECK (priority IS NULL OR priority BETWEEN 0 AND 255),
    changed_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
) STRICT;

-- This director's maintenance (`lvsctl maintenance on`): at most one row; none = not in
-- maintenance. Who, when and why; its history is in the audit.
CREATE TABLE director_maintenance (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    author  TEXT    NOT NULL CHECK (length(author) > 0),
    reason  TEXT,
    since   INTEGER NOT NULL
) STRICT;
