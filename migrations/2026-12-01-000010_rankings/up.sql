-- Rankings a fan would accept (DESIGN §10): a champion per division, the
-- previous rank of each contender, and every move explained.

-- The champion is not a contender: his row has no rank.
ALTER TABLE divisions
    ADD COLUMN champion_id BIGINT REFERENCES fighters (id) ON DELETE SET NULL,
    ADD COLUMN champion_since TIMESTAMPTZ;
ALTER TABLE rankings ALTER COLUMN rank DROP NOT NULL;
ALTER TABLE rankings ADD COLUMN previous_rank INTEGER CHECK (previous_rank >= 1);

-- Every move of a fighter's rank or rating, and why.
CREATE TABLE ranking_history (
    id               BIGSERIAL PRIMARY KEY,
    fighter_id       BIGINT NOT NULL REFERENCES fighters (id) ON DELETE CASCADE,
    division_id      BIGINT NOT NULL REFERENCES divisions (id) ON DELETE CASCADE,
    fight_id         BIGINT REFERENCES fights (id) ON DELETE SET NULL,
    cause            TEXT NOT NULL CHECK (cause IN ('entered', 'imported', 'fight', 'passed',
                         'amended')),
    -- Null: unranked (the champion, or not yet in the list).
    rank_before      INTEGER,
    rank_after       INTEGER,
    rating_before    DOUBLE PRECISION,
    rating_after     DOUBLE PRECISION NOT NULL,
    -- The full Glicko-2 state on both sides, so a result can be reversed.
    deviation_before DOUBLE PRECISION,
    deviation_after  DOUBLE PRECISION NOT NULL,
    volatility_before DOUBLE PRECISION,
    volatility_after DOUBLE PRECISION NOT NULL,
    reason           TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    -- Set on the winner's row when this fight changed the title: who held
    -- it before (null: vacant) and since when, so a reversal can restore it.
    title_won        BOOLEAN NOT NULL DEFAULT false,
    champion_before  BIGINT REFERENCES fighters (id) ON DELETE SET NULL,
    champion_since_before TIMESTAMPTZ,
    at               TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ranking_history_fighter_idx ON ranking_history (fighter_id, id);
CREATE INDEX ranking_history_fight_idx ON ranking_history (fight_id) WHERE fight_id IS NOT NULL;
