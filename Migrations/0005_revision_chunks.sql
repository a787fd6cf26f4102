-- A revision's canonical JSON, stored in pieces rather than in one `revision.content` value: for a
-- large table the text is tens of megabytes, and one value had to be whole in memory twice (the
-- text, then SQLite's record) while an apply held the live table. `lvsctl apply` now writes it
-- piece by piece as it renders it; readers concatenate the pieces in `seq` order.
CREATE TABLE revision_chunk (
    revision_id  INTEGER NOT NULL REFERENCES revision(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL CHECK (seq >= 0),
    text         TEXT    NOT NULL,
    PRIMARY KEY (revision_id, seq)
) STRICT;

-- Existing revisions become one piece each.
INSERT INTO revision_chunk (revision_id, seq, text) SELECT id, 0, content FROM revision;

ALTER TABLE revision DROP COLUMN content;
