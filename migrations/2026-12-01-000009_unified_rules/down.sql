ALTER TABLE fights DROP COLUMN result_details;
ALTER TABLE fights DROP CONSTRAINT fights_result_method_check;
UPDATE fights SET result_method = 'ko_tko' WHERE result_method IN ('ko', 'tko');
UPDATE fights SET result_method = 'submission' WHERE result_method = 'technical_submission';
UPDATE fights SET result_method = 'draw'
    WHERE result_method IN ('unanimous_draw', 'split_draw', 'majority_draw', 'technical_draw');
UPDATE fights SET result_method = 'split_decision' WHERE result_method = 'technical_decision';
ALTER TABLE fights ADD CONSTRAINT fights_result_method_check
    CHECK (result_method IN ('ko_tko', 'submission', 'unanimous_decision',
        'split_decision', 'majority_decision', 'draw', 'dq', 'no_contest'));

DROP TABLE fight_timeline;

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

DROP INDEX live_fights_one_in_progress_idx;
ALTER TABLE live_fights
    DROP COLUMN bout,
    ADD COLUMN round_start_time TIMESTAMPTZ,
    ADD COLUMN live_stats JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(live_stats) = 'object'),
    ADD COLUMN judge_scores JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(judge_scores) = 'object');
ALTER TABLE live_fights DROP CONSTRAINT live_fights_status_check;
UPDATE live_fights SET status = 'live' WHERE status = 'in_progress';
ALTER TABLE live_fights ADD CONSTRAINT live_fights_status_check
    CHECK (status IN ('upcoming', 'live', 'completed', 'cancelled'));
