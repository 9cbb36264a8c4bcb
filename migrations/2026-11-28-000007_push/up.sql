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
    -- The device's platform, copied at enqueue: claiming reads only this table.
    ADD COLUMN platform TEXT CHECK (platform IN ('android', 'ios')),
    ADD COLUMN lease_until TIMESTAMPTZ,
    ADD COLUMN expires_at TIMESTAMPTZ NOT NULL DEFAULT now() + interval '1 day',
    DROP CONSTRAINT notification_deliveries_status_check,
    ADD CONSTRAINT notification_deliveries_status_check
        CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'invalid_token', 'expired')),
    ADD CONSTRAINT notification_deliveries_lease_check
        CHECK ((status = 'in_flight') = (lease_until IS NOT NULL));
UPDATE notification_deliveries d SET platform = v.platform FROM devices v WHERE v.id = d.device_id;
ALTER TABLE notification_deliveries ALTER COLUMN platform SET NOT NULL;
DROP INDEX notification_deliveries_due_idx;
-- UNIQUE (notification_id, device_id) already serves lookups by notification:
-- one index less to write on every claim and every answer.
DROP INDEX notification_deliveries_notification_idx;
-- Claims walk this index in order: due first, oldest first.
CREATE INDEX notification_deliveries_pending_idx ON notification_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX notification_deliveries_lease_idx ON notification_deliveries (lease_until)
    WHERE status = 'in_flight';

-- The outbox is a queue: one statement fans a notification out to thousands
-- of rows, joining the very notification and device rows each one points
-- at, so per-row foreign-key checks (a lookup and a row lock for each side
-- of each delivery: most of a bulk send's cost) protect nothing. Deleting a
-- device or a notification still deletes its deliveries, once per
-- statement; a delivery whose device vanished in between is dropped when it
-- is claimed, or expires.
ALTER TABLE notification_deliveries
    DROP CONSTRAINT notification_deliveries_notification_id_fkey,
    DROP CONSTRAINT notification_deliveries_device_id_fkey;
CREATE FUNCTION ringside_drop_deliveries_of_devices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notification_deliveries d USING gone g WHERE d.device_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER devices_drop_deliveries AFTER DELETE ON devices
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION ringside_drop_deliveries_of_devices();
CREATE FUNCTION ringside_drop_deliveries_of_notifications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notification_deliveries d USING gone g WHERE d.notification_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER push_notifications_drop_deliveries AFTER DELETE ON push_notifications
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION ringside_drop_deliveries_of_notifications();

-- Minutes after midnight, now, in time zone tz.
CREATE FUNCTION ringside_local_minute(tz TEXT) RETURNS INTEGER
LANGUAGE sql STABLE AS $$
    SELECT floor(extract(epoch FROM (now() AT TIME ZONE tz)::time) / 60)::int
$$;

-- Whether quiet hours [start, end) hold now in time zone tz: minutes after
-- local midnight, wrapping past midnight when start > end (22:00 to 07:00).
-- One expression without FROM, so the planner inlines it.
CREATE FUNCTION ringside_quiet_now(start_min INTEGER, end_min INTEGER, tz TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN start_min IS NULL OR end_min IS NULL OR start_min = end_min THEN false
        WHEN start_min < end_min
            THEN ringside_local_minute(tz) >= start_min AND ringside_local_minute(tz) < end_min
        ELSE ringside_local_minute(tz) >= start_min OR ringside_local_minute(tz) < end_min
    END
$$;
