DROP FUNCTION ringside_quiet_now(INTEGER, INTEGER, TEXT);
DROP INDEX notification_deliveries_lease_idx;
DROP INDEX notification_deliveries_pending_idx;
UPDATE notification_deliveries SET status = 'failed' WHERE status = 'expired';
ALTER TABLE notification_deliveries
    DROP CONSTRAINT notification_deliveries_lease_check,
    DROP CONSTRAINT notification_deliveries_status_check,
    ADD CONSTRAINT notification_deliveries_status_check
        CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'invalid_token')),
    DROP COLUMN expires_at,
    DROP COLUMN lease_until;
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'in_flight');
DROP INDEX push_notifications_campaign_idx;
ALTER TABLE push_notifications DROP COLUMN campaign_id;
DROP TABLE notification_campaigns;
