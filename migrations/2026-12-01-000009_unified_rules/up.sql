-- The fight under the Unified Rules and rankings a fan would accept
-- (DESIGN §9, §10).
--
-- A live fight's rules state (officials, clock, fouls, cards, stats, the
-- result) is the fold of its timeline: `bout` keeps the folded state so a
-- change reads one row, and `fight_timeline` keeps every transition in order.

ALTER TABLE live_fights DROP CONSTRAINT live_fights_status_check;
UPDATE live_fights SET status = 'in_progress' WHERE status = 'live';
ALTER TABLE live_fights ADD CONSTRAINT live_fights_status_check
    CHECK (status IN ('upcoming', 'in_progress', 'completed', 'cancelled'));
ALTER TABLE live_fights
    DROP COLUMN round_start_time,
    DROP COLUMN live_stats,
    DROP COLUMN judge_scores,
    ADD COLUMN bout JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(bout) = 'object');
-- At most one fight of an event is in progress at a time.
CREATE UNIQUE INDEX live_fights_one_in_progress_idx ON live_fights (live_event_id)
    WHERE status = 'in_progress';

-- Judges' rounds are transitions of the timeline now.
DROP TABLE judge_scores;

CREATE TABLE fight_timeline (
    id             BIGSERIAL PRIMARY KEY,
    live_fight_id  BIGINT NOT NULL REFERENCES live_fights (id) ON DELETE CASCADE,
    -- 1, 2, 3… per fight, in the order the transitions happened.
    n              INTEGER NOT NULL CHECK (n >= 1),
    kind           TEXT NOT NULL CHECK (kind IN ('officials_assigned', 'fight_started',
                       'round_started', 'round_paused', 'round_resumed', 'clock_set',
                       'round_ended', 'foul', 'score', 'stats', 'result', 'result_amended',
                       'fight_cancelled')),
    data           JSONB NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    by_user        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- Its position on `fight:{id}` once published.
    seq            BIGINT,
    at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (live_fight_id, n)
);

ALTER TABLE fights DROP CONSTRAINT fights_result_method_check;
UPDATE fights SET result_method = 'tko' WHERE result_method = 'ko_tko';
UPDATE fights SET result_method = 'split_draw' WHERE result_method = 'draw';
ALTER TABLE fights ADD CONSTRAINT fights_result_method_check
    CHECK (result_method IN ('ko', 'tko', 'submission', 'technical_submission',
        'unanimous_decision', 'split_decision', 'majority_decision', 'unanimous_draw',
        'split_draw', 'majority_draw', 'technical_decision', 'technical_draw', 'dq',
        'no_contest'));
-- Technique, stoppage, foul, the cards of a decision, an amendment's reason.
ALTER TABLE fights ADD COLUMN result_details JSONB NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(result_details) = 'object');
