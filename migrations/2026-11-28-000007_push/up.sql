-- Mobile push. A campaign is one sending: a trigger firing (a result, a
-- ranking move, breaking news), an admin send or an emergency broadcast. Each
-- recipient gets a push_notifications row in it, and each of their devices a
-- delivery row (the outbox) that the dispatchers claim with a lease.

CREATE TABLE notification_campaigns (
    id                 BIGSERIAL PRIMARY KEY,
    source             TEXT NOT NULL CHECK (source IN ('trigger', 'send', 'broadcast')),
    notification_type  TEXT NOT NULL,
    -- Who it was for, as asked ({"kind": "all"}, {"kind": "users", "users": [..]}, ...).
    audience           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(audience) = 'object'),
    title              TEXT NOT NULL,
    created_by         BIGINT REFERENCES users (id) ON DELETE SET NULL,
    recipients         INTEGER NOT NULL DEFAULT 0 CHECK (recipients >= 0),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX notification_campaigns_created_idx ON notification_campaigns (id DESC);

ALTER TABLE push_notifications
    ADD COLUMN campaign_id BIGINT REFERENCES notification_campaigns (id) ON DELETE SET NULL;
CREATE INDEX push_notifications_campaign_idx ON push_notifications (campaign_id);

-- A claim is a lease: a dispatcher that dies holding rows loses them when the
-- lease runs out and another (or the same, restarted) takes them over.
-- A push nobody could deliver before expires_at is dropped ('expired'): a
-- fight result a day late is noise.
ALTER TABLE notification_deliveries
    ADD COLUMN lease_until TIMESTAMPTZ,
    ADD COLUMN expires_at TIMESTAMPTZ NOT NULL DEFAULT now() + interval '1 day',
    DROP CONSTRAINT notification_deliveries_status_check,
    ADD CONSTRAINT notification_deliveries_status_check
        CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'invalid_token', 'expired')),
    ADD CONSTRAINT notification_deliveries_lease_check
        CHECK ((status = 'in_flight') = (lease_until IS NOT NULL));
DROP INDEX notification_deliveries_due_idx;
CREATE INDEX notification_deliveries_pending_idx ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX notification_deliveries_lease_idx ON notification_deliveries (lease_until)
    WHERE status = 'in_flight';

-- Whether quiet hours [start, end) hold now in time zone tz: minutes after
-- local midnight, wrapping past midnight when start > end (22:00 to 07:00).
CREATE FUNCTION ringside_quiet_now(start_min INTEGER, end_min INTEGER, tz TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN start_min IS NULL OR end_min IS NULL OR start_min = end_min THEN false
        WHEN start_min < end_min THEN m >= start_min AND m < end_min
        ELSE m >= start_min OR m < end_min
    END
    FROM (SELECT floor(extract(epoch FROM (now() AT TIME ZONE tz)::time) / 60)::int AS m) AS local_now
$$;
