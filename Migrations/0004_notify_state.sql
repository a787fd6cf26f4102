-- The last state the daemon reported for each notification subject ("REALSERVER tcp/10.0.0.1:80/10.0.0.11:80"
-- → "DOWN", "SERVICE tcp/10.0.0.1:80" → "QUORUM_LOST"), so that a restarted daemon does not alert
-- again for a state it has already reported. Timestamps: microseconds since 1970-01-01T00:00:00Z.
CREATE TABLE notify_state (
    subject  TEXT    NOT NULL PRIMARY KEY CHECK (length(subject) > 0),
    state    TEXT    NOT NULL CHECK (length(state) > 0),
    sent_at  INTEGER NOT NULL
) STRICT;
