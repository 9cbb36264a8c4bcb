DROP FUNCTION ringside_quiet_now(INTEGER, INTEGER, TEXT);
DROP TRIGGER push_notifications_drop_deliveries ON push_notifications;
DROP FUNCTION ringside_drop_deliveries_of_notifications();
DROP TRIGGER devices_drop_deliveries ON devices;
DROP FUNCTION ringside_drop_deliveries_of_devices();
DELETE FROM notification_deliveries d
 WHERE NOT EXISTS (SELECT 1 FROM devices v WHERE v.id = d.device_id)
    OR NOT EXISTS (SELECT 1 FROM push_notifications n WHERE n.id = d.notification_id);
ALTER TABLE notification_deliveries
    ADD CONSTRAINT notification_deliveries_notification_id_fkey
        FOREIGN KEY (notification_id) REFERENCES push_notifications (id) ON DELETE CASCADE,
    ADD CONSTRAINT notification_deliveries_device_id_fkey
        FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE;
DROP FUNCTION ringside_local_minute(TEXT);
DROP INDEX notification_deliveries_lease_idx;
DROP INDEX notification_deliveries_pending_idx;
UPDATE notification_deliveries SET status = 'failed' WHERE status = 'expired';
ALTER TABLE notification_deliveries
    DROP CONSTRAINT notification_deliveries_lease_check,
    DROP CONSTRAINT notification_deliveries_status_check,
    ADD CONSTRAINT notification_deliveries_status_check
        CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'invalid_token')),
    DROP COLUMN expires_at,
    DROP COLUMN platform,
    DROP COLUMN lease_until;
CREATE INDEX notification_deliveries_notification_idx ON notification_deliveries (notification_id, status);
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'in_flight');
DROP INDEX push_notifications_campaign_idx;
ALTER TABLE push_notifications DROP COLUMN campaign_id;
DROP TABLE notification_campaigns;
