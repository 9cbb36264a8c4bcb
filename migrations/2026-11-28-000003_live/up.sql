-- Live coverage: a live event per event, a live fight per fight on its card,
-- the updates published during it, judges' scores, and the per-channel
-- sequence state and message log that ordered resume replays from.

CREATE TABLE live_events (
    id                 BIGSERIAL PRIMARY KEY,
    event_id           BIGINT NOT NULL UNIQUE REFERENCES events (id) ON DELETE CASCADE,
    status             TEXT NOT NULL DEFAULT 'upcoming'
                       CHECK (status IN ('upcoming', 'live', 'completed', 'cancelled')),
    start_time         TIMESTAMPTZ,
    end_time           TIMESTAMPTZ,
    viewer_count       INTEGER NOT NULL DEFAULT 0 CHECK (viewer_count >= 0),
    peak_viewers       INTEGER NOT NULL DEFAULT 0 CHECK (peak_viewers >= 0),
    is_featured        BOOLEAN NOT NULL DEFAULT false,
    settings           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    -- Slow mode: one comment per this many seconds per user; 0 is off.
    slow_mode_seconds  INTEGER NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 3600),
    current_fight_id   BIGINT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (end_time IS NULL OR start_time IS NULL OR end_time >= start_time)
);
CREATE INDEX live_events_status_idx ON live_events (status, id);
CREATE TRIGGER live_events_touch BEFORE UPDATE ON live_events
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

CREATE TABLE live_fights (
    id                BIGSERIAL PRIMARY KEY,
    live_event_id     BIGINT NOT NULL REFERENCES live_events (id) ON DELETE CASCADE,
    fight_id          BIGINT NOT NULL UNIQUE REFERENCES fights (id) ON DELETE CASCADE,
    status            TEXT NOT NULL DEFAULT 'upcoming'
                      CHECK (status IN ('upcoming', 'live', 'completed', 'cancelled')),
    current_round     INTEGER NOT NULL DEFAULT 0 CHECK (current_round BETWEEN 0 AND 5),
    -- Set while a round runs: clients count the clock from it themselves.
    round_start_time  TIMESTAMPTZ,
    live_stats        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(live_stats) = 'object'),
    -- Running totals per judge, kept with the rows of judge_scores.
    judge_scores      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(judge_scores) = 'object'),
    viewer_count      INTEGER NOT NULL DEFAULT 0 CHECK (viewer_count >= 0),
    started_at        TIMESTAMPTZ,
    ended_at          TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (id, live_event_id)
);
CREATE INDEX live_fights_event_idx ON live_fights (live_event_id);
CREATE TRIGGER live_fights_touch BEFORE UPDATE ON live_fights
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

-- The event's current fight must be one of its own fights.
ALTER TABLE live_events ADD CONSTRAINT live_events_current_fight_fk
    FOREIGN KEY (current_fight_id, id) REFERENCES live_fights (id, live_event_id)
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE live_updates (
    id               BIGSERIAL PRIMARY KEY,
    live_event_id    BIGINT NOT NULL REFERENCES live_events (id) ON DELETE CASCADE,
    live_fight_id    BIGINT,
    update_type      TEXT NOT NULL CHECK (update_type IN ('fight_start', 'round_start', 'round_end',
                         'knockdown', 'submission_attempt', 'result', 'news')),
    title            TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description      TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    round_number     INTEGER CHECK (round_number BETWEEN 1 AND 5),
    data             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    is_verified      BOOLEAN NOT NULL DEFAULT false,
    is_breaking      BOOLEAN NOT NULL DEFAULT false,
    media_asset_id   BIGINT REFERENCES media_assets (id) ON DELETE SET NULL,
    created_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    reviewed_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at      TIMESTAMPTZ,
    rejected         BOOLEAN NOT NULL DEFAULT false,
    -- Position on the event channel, once broadcast.
    seq              BIGINT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (NOT (is_verified AND rejected)),
    CHECK (seq IS NULL OR is_verified),
    FOREIGN KEY (live_fight_id, live_event_id) REFERENCES live_fights (id, live_event_id) ON DELETE CASCADE
);
CREATE INDEX live_updates_event_time_idx ON live_updates (live_event_id, created_at);
CREATE INDEX live_updates_pending_idx ON live_updates (live_event_id, id) WHERE NOT is_verified AND NOT rejected;

-- One row per judge per round: a judge scores a round once, 10-point must.
CREATE TABLE judge_scores (
    id             BIGSERIAL PRIMARY KEY,
    live_fight_id  BIGINT NOT NULL REFERENCES live_fights (id) ON DELETE CASCADE,
    judge          TEXT NOT NULL CHECK (length(judge) BETWEEN 1 AND 100),
    round          INTEGER NOT NULL CHECK (round BETWEEN 1 AND 5),
    red            INTEGER NOT NULL CHECK (red BETWEEN 7 AND 10),
    blue           INTEGER NOT NULL CHECK (blue BETWEEN 7 AND 10),
    entered_by     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (live_fight_id, judge, round),
    CHECK (red = 10 OR blue = 10)
);

-- Per-channel ordering state: `seq` rises by one per durable message; a new
-- `epoch` starts whenever the history behind it cannot be replayed.
CREATE TABLE channel_sequences (
    channel     TEXT PRIMARY KEY CHECK (length(channel) BETWEEN 1 AND 200),
    epoch       TEXT NOT NULL CHECK (epoch ~ '^[A-Za-z0-9_-]{1,32}$'),
    last_seq    BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The durable log a client resumes from after the in-memory window is gone.
CREATE TABLE channel_messages (
    channel     TEXT NOT NULL,
    epoch       TEXT NOT NULL,
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    frame_type  TEXT NOT NULL,
    payload     JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, epoch, seq)
);
