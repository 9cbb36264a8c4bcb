-- Notifications: the in-app record, the devices push goes to, each user's
-- preferences, and the delivery outbox the push dispatcher drains.

CREATE TABLE push_notifications (
    id                 BIGSERIAL PRIMARY KEY,
    -- NULL for a broadcast to everyone.
    recipient_id       BIGINT REFERENCES users (id) ON DELETE CASCADE,
    notification_type  TEXT NOT NULL CHECK (notification_type IN ('fight_result', 'breaking_news',
                           'ranking_change', 'event_start', 'user_activity', 'system', 'emergency')),
    title              TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    message            TEXT NOT NULL CHECK (length(message) <= 2000),
    action_url         TEXT,
    data               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    is_read            BOOLEAN NOT NULL DEFAULT false,
    read_at            TIMESTAMPTZ,
    opened_at          TIMESTAMPTZ,
    sent_at            TIMESTAMPTZ,
    delivery_status    TEXT NOT NULL DEFAULT 'pending'
                       CHECK (delivery_status IN ('pending', 'sending', 'sent', 'partial', 'failed', 'skipped')),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (is_read = (read_at IS NOT NULL))
);
CREATE INDEX push_notifications_unread_idx ON push_notifications (recipient_id, id DESC) WHERE NOT is_read;
CREATE INDEX push_notifications_recipient_idx ON push_notifications (recipient_id, id DESC);

CREATE TABLE devices (
    id                   BIGSERIAL PRIMARY KEY,
    user_id              BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform             TEXT NOT NULL CHECK (platform IN ('android', 'ios')),
    token                TEXT NOT NULL CHECK (length(token) BETWEEN 1 AND 4096),
    app_id               TEXT NOT NULL CHECK (length(app_id) BETWEEN 1 AND 255),
    is_active            BOOLEAN NOT NULL DEFAULT true,
    deactivated_reason   TEXT,
    last_seen_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Re-registering a token moves it to the new user; it is never duplicated.
    UNIQUE (platform, token)
);
CREATE INDEX devices_user_idx ON devices (user_id) WHERE is_active;
CREATE TRIGGER devices_touch BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

CREATE TABLE notification_preferences (
    user_id            BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    push_enabled       BOOLEAN NOT NULL DEFAULT true,
    fight_results      BOOLEAN NOT NULL DEFAULT true,
    breaking_news      BOOLEAN NOT NULL DEFAULT true,
    ranking_changes    BOOLEAN NOT NULL DEFAULT true,
    event_start        BOOLEAN NOT NULL DEFAULT true,
    user_activity      BOOLEAN NOT NULL DEFAULT true,
    -- Only for followed fighters and events, where a type allows it.
    followed_only      BOOLEAN NOT NULL DEFAULT false,
    -- Minutes after midnight in users.timezone; both NULL when off.
    quiet_start_min    INTEGER CHECK (quiet_start_min BETWEEN 0 AND 1439),
    quiet_end_min      INTEGER CHECK (quiet_end_min BETWEEN 0 AND 1439),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((quiet_start_min IS NULL) = (quiet_end_min IS NULL))
);
CREATE TRIGGER notification_preferences_touch BEFORE UPDATE ON notification_preferences
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

-- The outbox: one row per target device, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE notification_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    notification_id  BIGINT NOT NULL REFERENCES push_notifications (id) ON DELETE CASCADE,
    device_id        BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'invalid_token')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_by       TEXT,
    claimed_at       TIMESTAMPTZ,
    sent_at          TIMESTAMPTZ,
    provider_id      TEXT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (notification_id, device_id)
);
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'in_flight');
CREATE INDEX notification_deliveries_notification_idx ON notification_deliveries (notification_id, status);
