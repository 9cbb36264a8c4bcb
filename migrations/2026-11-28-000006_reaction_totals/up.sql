-- Exact reaction totals per target, kept in the same transaction as the
-- reactions they count (reaction_events stays the full log), so live
-- totals are read from a handful of rows instead of counting the log.
CREATE TABLE reaction_totals (
    target_type    TEXT NOT NULL CHECK (target_type IN ('update', 'comment', 'fight', 'event')),
    target_id      BIGINT NOT NULL,
    reaction_type  TEXT NOT NULL CHECK (reaction_type IN ('like', 'wow', 'angry', 'sad', 'celebrate')),
    count          BIGINT NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (target_type, target_id, reaction_type)
);
