-- Engagement around a live event: comments and their moderation, reactions,
-- polls, follows and the activity log. Generic targets are (target_type, target_id).

CREATE TABLE live_comments (
    id                 BIGSERIAL PRIMARY KEY,
    live_event_id      BIGINT NOT NULL REFERENCES live_events (id) ON DELETE CASCADE,
    live_fight_id      BIGINT,
    user_id            BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content            TEXT NOT NULL CHECK (length(content) BETWEEN 1 AND 1000),
    parent_comment_id  BIGINT,
    status             TEXT NOT NULL DEFAULT 'active'
                       CHECK (status IN ('active', 'held', 'hidden', 'deleted')),
    like_count         INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    reply_count        INTEGER NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
    report_count       INTEGER NOT NULL DEFAULT 0 CHECK (report_count >= 0),
    is_verified_user   BOOLEAN NOT NULL DEFAULT false,
    is_moderator       BOOLEAN NOT NULL DEFAULT false,
    -- Position on comments:{event}, once broadcast.
    seq                BIGINT,
    moderated_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    moderated_at       TIMESTAMPTZ,
    moderation_reason  TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (id, live_event_id),
    FOREIGN KEY (live_fight_id, live_event_id) REFERENCES live_fights (id, live_event_id) ON DELETE CASCADE,
    -- A reply lives in the same event as its parent.
    FOREIGN KEY (parent_comment_id, live_event_id) REFERENCES live_comments (id, live_event_id) ON DELETE CASCADE,
    CHECK (parent_comment_id IS NULL OR parent_comment_id <> id)
);
CREATE INDEX live_comments_room_idx ON live_comments (live_event_id, id);
CREATE INDEX live_comments_parent_idx ON live_comments (parent_comment_id, id) WHERE parent_comment_id IS NOT NULL;
CREATE INDEX live_comments_queue_idx ON live_comments (status, id) WHERE status IN ('held', 'hidden');
CREATE INDEX live_comments_user_idx ON live_comments (user_id, created_at);
CREATE TRIGGER live_comments_touch BEFORE UPDATE ON live_comments
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

CREATE TABLE comment_reports (
    id           BIGSERIAL PRIMARY KEY,
    comment_id   BIGINT NOT NULL REFERENCES live_comments (id) ON DELETE CASCADE,
    reporter_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason       TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    resolved_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    resolved_at  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (comment_id, reporter_id)
);
CREATE INDEX comment_reports_open_idx ON comment_reports (comment_id) WHERE status = 'open';

CREATE TABLE reaction_events (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_type    TEXT NOT NULL CHECK (target_type IN ('update', 'comment', 'fight', 'event')),
    target_id      BIGINT NOT NULL,
    reaction_type  TEXT NOT NULL CHECK (reaction_type IN ('like', 'wow', 'angry', 'sad', 'celebrate')),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reaction_events_target_idx ON reaction_events (target_type, target_id, reaction_type);

CREATE TABLE polls (
    id             BIGSERIAL PRIMARY KEY,
    live_event_id  BIGINT NOT NULL REFERENCES live_events (id) ON DELETE CASCADE,
    live_fight_id  BIGINT,
    question       TEXT NOT NULL CHECK (length(question) BETWEEN 1 AND 300),
    status         TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    created_by     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    opened_at      TIMESTAMPTZ,
    closed_at      TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (live_fight_id, live_event_id) REFERENCES live_fights (id, live_event_id) ON DELETE CASCADE
);
CREATE INDEX polls_event_idx ON polls (live_event_id, id);

CREATE TABLE poll_options (
    id        BIGSERIAL PRIMARY KEY,
    poll_id   BIGINT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL CHECK (position BETWEEN 0 AND 19),
    text      TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 100),
    UNIQUE (poll_id, position),
    UNIQUE (id, poll_id)
);

CREATE TABLE poll_votes (
    id          BIGSERIAL PRIMARY KEY,
    poll_id     BIGINT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    option_id   BIGINT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- One vote per user per poll, and only for one of that poll's options.
    UNIQUE (poll_id, user_id),
    FOREIGN KEY (option_id, poll_id) REFERENCES poll_options (id, poll_id) ON DELETE CASCADE
);
CREATE INDEX poll_votes_option_idx ON poll_votes (option_id);

-- Mutes and bans with their scope and expiry; users.banned_at mirrors an active ban.
CREATE TABLE user_sanctions (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('mute', 'ban')),
    live_event_id  BIGINT REFERENCES live_events (id) ON DELETE CASCADE,
    reason         TEXT NOT NULL DEFAULT '',
    expires_at     TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ,
    created_by     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (kind = 'mute' OR live_event_id IS NULL)
);
CREATE INDEX user_sanctions_user_idx ON user_sanctions (user_id) WHERE revoked_at IS NULL;

-- Who did what, when and why: every moderator action, listable.
CREATE TABLE moderation_actions (
    id             BIGSERIAL PRIMARY KEY,
    moderator_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action         TEXT NOT NULL CHECK (action IN ('hide_comment', 'delete_comment', 'restore_comment',
                       'auto_hide_comment', 'hold_comment', 'mute_user', 'unmute_user', 'ban_user',
                       'unban_user', 'slow_mode', 'approve_update', 'reject_update', 'dismiss_report')),
    target_type    TEXT NOT NULL CHECK (target_type IN ('comment', 'user', 'event', 'update', 'report')),
    target_id      BIGINT NOT NULL,
    live_event_id  BIGINT REFERENCES live_events (id) ON DELETE SET NULL,
    reason         TEXT NOT NULL DEFAULT '',
    details        JSONB NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX moderation_actions_time_idx ON moderation_actions (created_at DESC, id DESC);
CREATE INDEX moderation_actions_target_idx ON moderation_actions (target_type, target_id);

CREATE TABLE follows (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_type  TEXT NOT NULL CHECK (target_type IN ('fighter', 'event')),
    target_id    BIGINT NOT NULL,
    notify       BOOLEAN NOT NULL DEFAULT true,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, target_type, target_id)
);
CREATE INDEX follows_target_idx ON follows (target_type, target_id);

CREATE TABLE user_activities (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT REFERENCES users (id) ON DELETE CASCADE,
    activity_type  TEXT NOT NULL CHECK (activity_type IN ('view', 'comment', 'like', 'share', 'follow', 'react', 'vote')),
    target_type    TEXT,
    target_id      BIGINT,
    session_id     TEXT,
    metadata       JSONB NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((target_type IS NULL) = (target_id IS NULL))
);
CREATE INDEX user_activities_user_idx ON user_activities (user_id, created_at);
CREATE INDEX user_activities_target_idx ON user_activities (target_type, target_id, created_at);
