-- Live analytics: per-minute buckets, summed over nodes, kept after the event.
-- Each node adds what it counted since its last flush (an upsert that adds),
-- so a row is the sum over every node and every flush of that minute.
CREATE TABLE analytics (
    live_event_id BIGINT NOT NULL REFERENCES live_events (id) ON DELETE CASCADE,
    -- The start of a UTC minute.
    minute TIMESTAMPTZ NOT NULL,
    -- message (label: frame type), comment, comment_refused (label: error
    -- code), reaction (label: reaction type); written only by
    -- src/live/analytics.rs, whose names these are.
    metric TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    value BIGINT NOT NULL CHECK (value >= 0),
    PRIMARY KEY (live_event_id, minute, metric, label)
);

-- Viewers are a gauge: each node keeps the most it saw in a minute in its own
-- row; a read sums the nodes per minute.
CREATE TABLE analytics_viewers (
    live_event_id BIGINT NOT NULL REFERENCES live_events (id) ON DELETE CASCADE,
    minute TIMESTAMPTZ NOT NULL,
    node TEXT NOT NULL,
    value BIGINT NOT NULL CHECK (value >= 0),
    PRIMARY KEY (live_event_id, minute, node)
);

-- The monitor: every node writes its own row every few seconds.
CREATE TABLE cluster_nodes (
    node TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    figures JSONB NOT NULL DEFAULT '{}'::jsonb
);
