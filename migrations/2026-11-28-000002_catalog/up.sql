-- The sport itself: divisions, fighters, events and the fights on their cards,
-- rankings, and the editorial content (media assets, articles) around them.

CREATE TABLE divisions (
    id                BIGSERIAL PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    weight_limit_lbs  DOUBLE PRECISION NOT NULL CHECK (weight_limit_lbs > 0 AND weight_limit_lbs < 1000),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER divisions_touch BEFORE UPDATE ON divisions
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

CREATE TABLE fighters (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    nickname     TEXT CHECK (nickname IS NULL OR length(nickname) BETWEEN 1 AND 100),
    division_id  BIGINT NOT NULL REFERENCES divisions (id) ON DELETE RESTRICT,
    wins         INTEGER NOT NULL DEFAULT 0 CHECK (wins >= 0),
    losses       INTEGER NOT NULL DEFAULT 0 CHECK (losses >= 0),
    draws        INTEGER NOT NULL DEFAULT 0 CHECK (draws >= 0),
    no_contests  INTEGER NOT NULL DEFAULT 0 CHECK (no_contests >= 0),
    country      TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX fighters_division_idx ON fighters (division_id);
CREATE TRIGGER fighters_touch BEFORE UPDATE ON fighters
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

CREATE TABLE events (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    venue            TEXT NOT NULL DEFAULT '' CHECK (length(venue) <= 200),
    scheduled_start  TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX events_scheduled_start_idx ON events (scheduled_start);
CREATE TRIGGER events_touch BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

CREATE TABLE fights (
    id                BIGSERIAL PRIMARY KEY,
    event_id          BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    red_fighter_id    BIGINT NOT NULL REFERENCES fighters (id) ON DELETE RESTRICT,
    blue_fighter_id   BIGINT NOT NULL REFERENCES fighters (id) ON DELETE RESTRICT,
    division_id       BIGINT NOT NULL REFERENCES divisions (id) ON DELETE RESTRICT,
    scheduled_rounds  INTEGER NOT NULL DEFAULT 3 CHECK (scheduled_rounds BETWEEN 1 AND 5),
    -- 1 is the main event; the card is shown in this order.
    card_order        INTEGER NOT NULL CHECK (card_order >= 1),
    is_title_fight    BOOLEAN NOT NULL DEFAULT false,
    -- The official result, once there is one.
    winner_corner     TEXT CHECK (winner_corner IN ('red', 'blue')),
    result_method     TEXT CHECK (result_method IN ('ko_tko', 'submission', 'unanimous_decision',
                          'split_decision', 'majority_decision', 'draw', 'dq', 'no_contest')),
    result_round      INTEGER CHECK (result_round BETWEEN 1 AND 5),
    result_time       TEXT CHECK (result_time ~ '^[0-5]?[0-9]:[0-5][0-9]$'),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (red_fighter_id <> blue_fighter_id),
    CHECK (winner_corner IS NULL OR result_method IS NOT NULL),
    CHECK (result_round IS NULL OR result_round <= scheduled_rounds),
    CONSTRAINT fights_card_order_unique UNIQUE (event_id, card_order) DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX fights_red_idx ON fights (red_fighter_id);
CREATE INDEX fights_blue_idx ON fights (blue_fighter_id);
CREATE TRIGGER fights_touch BEFORE UPDATE ON fights
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

-- A fighter's rating (Glicko-2 state) and rank in a division. Recomputed in
-- one transaction after a result, hence the deferred rank uniqueness.
CREATE TABLE rankings (
    id                BIGSERIAL PRIMARY KEY,
    division_id       BIGINT NOT NULL REFERENCES divisions (id) ON DELETE CASCADE,
    fighter_id        BIGINT NOT NULL REFERENCES fighters (id) ON DELETE CASCADE,
    rank              INTEGER NOT NULL CHECK (rank >= 1),
    rating            DOUBLE PRECISION NOT NULL DEFAULT 1500,
    rating_deviation  DOUBLE PRECISION NOT NULL DEFAULT 350 CHECK (rating_deviation > 0),
    volatility        DOUBLE PRECISION NOT NULL DEFAULT 0.06 CHECK (volatility > 0),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (division_id, fighter_id),
    CONSTRAINT rankings_rank_unique UNIQUE (division_id, rank) DEFERRABLE INITIALLY DEFERRED
);
CREATE TRIGGER rankings_touch BEFORE UPDATE ON rankings
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

CREATE TABLE media_assets (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio')),
    url           TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    title         TEXT NOT NULL DEFAULT '',
    mime_type     TEXT,
    width         INTEGER CHECK (width > 0),
    height        INTEGER CHECK (height > 0),
    duration_ms   INTEGER CHECK (duration_ms >= 0),
    uploaded_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE articles (
    id              BIGSERIAL PRIMARY KEY,
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    slug            TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    body            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
    author_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    event_id        BIGINT REFERENCES events (id) ON DELETE SET NULL,
    cover_media_id  BIGINT REFERENCES media_assets (id) ON DELETE SET NULL,
    published_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (status <> 'published' OR published_at IS NOT NULL)
);
CREATE INDEX articles_published_idx ON articles (published_at DESC) WHERE status = 'published';
CREATE TRIGGER articles_touch BEFORE UPDATE ON articles
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();
