-- Manifests, their revisions, and which manifest owns which kernel service.
-- Timestamps are integers: microseconds since 1970-01-01T00:00:00Z.
-- Shipped migrations are never edited: add a new NNNN_name.sql file instead.

CREATE TABLE manifest (
    name        TEXT    NOT NULL PRIMARY KEY CHECK (length(name) > 0),
    created_at  INTEGER NOT NULL
) STRICT;

-- Every applied manifest, stored whole as canonical JSON, numbered 1, 2, 3… per manifest.
CREATE TABLE revision (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    manifest      TEXT    NOT NULL REFERENCES manifest(name) ON DELETE RESTRICT,
    number        INTEGER NOT NULL CHECK (number >= 1),
    content_hash  TEXT    NOT NULL CHECK (length(content_hash) = 64 AND content_hash NOT GLOB '*[^0-9a-f]*'),
    content       TEXT    NOT NULL,
    author        TEXT    NOT NULL CHECK (length(author) > 0),
    message       TEXT,
    created_at    INTEGER NOT NULL,
    source_path   TEXT,
    kind          TEXT    NOT NULL CHECK (kind IN ('apply', 'rollback', 'adopt', 'import')),
    -- For a rollback: the number of the revision whose content was restored.
    based_on      INTEGER CHECK (based_on IS NULL OR based_on >= 1),
    UNIQUE (manifest, number)
) STRICT;

CREATE INDEX revision_by_hash ON revision (manifest, content_hash);

-- The kernel has no labels: this table records which manifest owns which virtual service.
-- `service` is VirtualService.ID's description, e.g. `tcp/10.0.0.1:80` or `fwmark/7`.
CREATE TABLE ownership (
    service      TEXT    NOT NULL PRIMARY KEY CHECK (length(service) > 0),
    manifest     TEXT    NOT NULL REFERENCES manifest(name) ON DELETE RESTRICT,
    revision_id  INTEGER NOT NULL REFERENCES revision(id) ON DELETE RESTRICT,
    claimed_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX ownership_by_manifest ON ownership (manifest);
