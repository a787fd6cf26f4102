-- The BGP routes of this director (issue #16): each virtual address lvsctl decided to announce,
-- drain or withdraw, why, and since when (microseconds since 1970-01-01T00:00:00Z), as the
-- daemon last decided it. `lvsctl status` reads it; the audit (origin 'bgp', one row per
-- transition, in the same transaction) keeps the history.
CREATE TABLE bgp_route (
    address     TEXT    NOT NULL PRIMARY KEY CHECK (length(address) > 0),
    state       TEXT    NOT NULL CHECK (state IN ('announced', 'draining', 'withdrawn')),
    reason      TEXT    NOT NULL,
    changed_at  INTEGER NOT NULL
) STRICT;
