-- Fight-night automation (DESIGN §11): jobs that fire once at their time,
-- whichever node takes them, and polls that close themselves.

ALTER TABLE polls ADD COLUMN closes_at TIMESTAMPTZ;

CREATE TABLE automation_jobs (
    id             BIGSERIAL PRIMARY KEY,
    live_event_id  BIGINT NOT NULL REFERENCES live_events (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('auto_start', 'reminder', 'advance', 'round_end',
                       'poll_close', 'complete')),
    live_fight_id  BIGINT REFERENCES live_fights (id) ON DELETE CASCADE,
    poll_id        BIGINT REFERENCES polls (id) ON DELETE CASCADE,
    round          INTEGER,
    due_at         TIMESTAMPTZ NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'done', 'cancelled', 'skipped')),
    -- A node that took the job holds it until then; past it, another may.
    claimed_by     TEXT,
    claimed_until  TIMESTAMPTZ,
    fired_at       TIMESTAMPTZ,
    outcome        TEXT,
    cancelled_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- One pending job per thing it does.
CREATE UNIQUE INDEX automation_jobs_pending_key ON automation_jobs
    (live_event_id, kind, COALESCE(live_fight_id, 0), COALESCE(poll_id, 0), COALESCE(round, 0))
    WHERE status = 'pending';
-- The runners' question: what is due.
CREATE INDEX automation_jobs_due_idx ON automation_jobs (due_at) WHERE status = 'pending';
CREATE INDEX automation_jobs_event_idx ON automation_jobs (live_event_id, id DESC);

ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('hide_comment', 'delete_comment', 'restore_comment',
        'auto_hide_comment', 'hold_comment', 'mute_user', 'unmute_user', 'ban_user',
        'unban_user', 'slow_mode', 'approve_update', 'reject_update', 'dismiss_report',
        'automation', 'cancel_automation'));
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_target_type_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_target_type_check
    CHECK (target_type IN ('comment', 'user', 'event', 'update', 'report', 'fight', 'poll', 'job'));
